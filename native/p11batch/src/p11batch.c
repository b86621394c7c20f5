// Batched PKCS#11 loops for the Custos HSM host, and the shared-memory arena that carries batch
// data between the app and the host (see "Arena" below).
//
// pkcs11js makes one JavaScript-to-native transition per PKCS#11 call and converts its mechanism
// parameters from JavaScript objects each time; for a batch of small operations that costs as much
// as the token's own work (measured on SoftHSM: AES-GCM 4 KiB 0.62–0.84x of a C loop). These
// functions run a whole batch in one native call, over the same library instance and the same
// session that pkcs11js opened: the library is found with RTLD_NOLOAD, so it must already be
// loaded and initialised, and nothing here initialises, logs in or opens sessions.
//
// Inputs arrive packed (one buffer plus end offsets); outputs are written into one caller-owned
// buffer and their end offsets returned. Every index and length is checked before use. On the
// first failing item the function throws an Error with `code` (the CK_RV), `method` (the PKCS#11
// function) and `index` (the item); items before it are complete, nothing after it is attempted.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <node_api.h>
#include <sys/mman.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11.h"

#define CHECK(call)                                          \
  do {                                                       \
    if ((call) != napi_ok) return throw_type(env, #call);    \
  } while (0)

static napi_value throw_type(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, NULL, what);
  return NULL;
}

static napi_value throw_rv(napi_env env, CK_RV rv, const char *method, size_t index) {
  napi_value msg, err, code, m, idx;
  char text[96];
  snprintf(text, sizeof text, "%s failed: 0x%08lx (item %zu)", method, (unsigned long)rv, index);
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) != napi_ok) return NULL;
  if (napi_create_error(env, NULL, msg, &err) != napi_ok) return NULL;
  napi_create_double(env, (double)rv, &code);
  napi_create_string_utf8(env, method, NAPI_AUTO_LENGTH, &m);
  napi_create_double(env, (double)index, &idx);
  napi_set_named_property(env, err, "code", code);
  napi_set_named_property(env, err, "method", m);
  napi_set_named_property(env, err, "index", idx);
  napi_throw(env, err);
  return NULL;
}

typedef struct {
  uint8_t *data;
  size_t length;
} bytes_t;

// A typed array argument of the given element type: its data and element count.
static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  size_t offset;
  napi_value ab;
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, length, data, &ab, &offset) != napi_ok) return 0;
  return type == want;
}

// A Uint8Array (or Buffer) argument.
static int get_bytes(napi_env env, napi_value v, bytes_t *out) {
  void *data;
  size_t length;
  if (!get_typed(env, v, napi_uint8_array, &data, &length)) return 0;
  out->data = (uint8_t *)data;
  out->length = length;
  return 1;
}

// A Uint32Array of end offsets, each within `limit` and none before the previous one.
static int get_ends(napi_env env, napi_value v, size_t limit, const uint32_t **ends, size_t *count) {
  void *data;
  size_t length;
  if (!get_typed(env, v, napi_uint32_array, &data, &length)) return 0;
  const uint32_t *e = (const uint32_t *)data;
  uint32_t prev = 0;
  for (size_t i = 0; i < length; i++) {
    if (e[i] < prev || e[i] > limit) return 0;
    prev = e[i];
  }
  *ends = e;
  *count = length;
  return 1;
}

// A pkcs11js handle: a Buffer holding one CK_ULONG in host byte order.
static int get_handle(napi_env env, napi_value v, CK_ULONG *out) {
  bytes_t b;
  if (!get_bytes(env, v, &b) || b.length != sizeof(CK_ULONG)) return 0;
  memcpy(out, b.data, sizeof(CK_ULONG));
  return 1;
}

static int get_ulong(napi_env env, napi_value v, CK_ULONG *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > 4294967295.0 || d != (double)(CK_ULONG)d) return 0;
  *out = (CK_ULONG)d;
  return 1;
}

static void no_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  (void)hint;
}

// open(path): the function list of a library that is already loaded (by pkcs11js).
static napi_value open_library(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  char path[4096];
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1) {
    return throw_type(env, "open(path): path must be a string");
  }
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (!lib) {
    napi_throw_error(env, NULL, "the PKCS#11 library is not loaded in this process");
    return NULL;
  }
  CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
  CK_FUNCTION_LIST_PTR list = NULL;
  // The reference taken by this dlopen is kept: the library must outlive every external below.
  if (!get || get(&list) != CKR_OK || !list) {
    napi_throw_error(env, NULL, "C_GetFunctionList failed");
    return NULL;
  }
  CHECK(napi_create_external(env, list, no_finalize, NULL, &result));
  return result;
}

static int get_list(napi_env env, napi_value v, CK_FUNCTION_LIST_PTR *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return 0;
  return napi_get_value_external(env, v, (void **)out) == napi_ok && *out != NULL;
}

static napi_value make_ends(napi_env env, size_t count, uint32_t **data) {
  napi_value ab, ta;
  void *raw;
  if (napi_create_arraybuffer(env, count * sizeof(uint32_t), &raw, &ab) != napi_ok) return NULL;
  if (napi_create_typedarray(env, napi_uint32_array, count, ab, 0, &ta) != napi_ok) return NULL;
  *data = (uint32_t *)raw;
  return ta;
}

// The loop every batch shares: item i reads input[in_ends[i-1], in_ends[i]) (nothing for wrap) and
// appends its output; out_ends[i] is where it ended. The first failing item stops the batch.
typedef struct {
  CK_FUNCTION_LIST_PTR f;
  CK_SESSION_HANDLE session;
  CK_MECHANISM mech;
  CK_OBJECT_HANDLE key;
  CK_GCM_PARAMS gcm;      // gcmEncrypt: the mechanism's parameter; its IV changes per item
  const uint8_t *ivs;     // gcmEncrypt: 12 bytes per item
  const uint8_t *targets; // wrap: one CK_ULONG handle per item
} batch_t;

typedef CK_RV (*item_fn)(batch_t *b, size_t i, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len, const char **method);

static napi_value run_batch(napi_env env, batch_t *b, item_fn fn, size_t n, const bytes_t *input, const uint32_t *in_ends, bytes_t output) {
  uint32_t *out_ends;
  napi_value result = make_ends(env, n, &out_ends);
  if (!result) return throw_type(env, "batch: out of memory");
  size_t in_off = 0, out_off = 0;
  for (size_t i = 0; i < n; i++) {
    size_t in_end = in_ends ? in_ends[i] : 0;
    CK_ULONG out_len = output.length - out_off;
    const char *method = "C_Batch";
    CK_RV rv = fn(b, i, input ? input->data + in_off : NULL, in_end - in_off, output.data + out_off, &out_len, &method);
    if (rv != CKR_OK) return throw_rv(env, rv, method, i);
    if (out_len > output.length - out_off) return throw_rv(env, CKR_GENERAL_ERROR, method, i);
    out_off += out_len;
    out_ends[i] = (uint32_t)out_off;
    in_off = in_end;
  }
  return result;
}

static CK_RV gcm_item(batch_t *b, size_t i, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len, const char **method) {
  b->gcm.iv_ptr = (unsigned char *)b->ivs + 12 * i;
  *method = "C_EncryptInit";
  CK_RV rv = b->f->C_EncryptInit(b->session, &b->mech, b->key);
  if (rv != CKR_OK) return rv;
  *method = "C_Encrypt";
  return b->f->C_Encrypt(b->session, in, in_len, out, out_len);
}

static CK_RV sign_item(batch_t *b, size_t i, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len, const char **method) {
  (void)i;
  *method = "C_SignInit";
  CK_RV rv = b->f->C_SignInit(b->session, &b->mech, b->key);
  if (rv != CKR_OK) return rv;
  *method = "C_Sign";
  return b->f->C_Sign(b->session, in, in_len, out, out_len);
}

static CK_RV wrap_item(batch_t *b, size_t i, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len, const char **method) {
  (void)in;
  (void)in_len;
  CK_ULONG target;
  memcpy(&target, b->targets + i * sizeof(CK_ULONG), sizeof target);
  *method = "C_WrapKey";
  return b->f->C_WrapKey(b->session, &b->mech, b->key, target, out, out_len);
}

// gcmEncrypt(list, session, key, ivs, aad, tagBits, input, inEnds, output) -> outEnds
// ivs holds 12 bytes per item; output receives each ciphertext with its tag, back to back.
static napi_value gcm_encrypt(napi_env env, napi_callback_info info) {
  size_t argc = 9, n;
  napi_value argv[9];
  batch_t b = {0};
  CK_ULONG tag_bits;
  bytes_t ivs, aad, input, output;
  const uint32_t *in_ends;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 9 || !get_list(env, argv[0], &b.f) || !get_handle(env, argv[1], &b.session) || !get_handle(env, argv[2], &b.key) ||
      !get_bytes(env, argv[3], &ivs) || !get_bytes(env, argv[4], &aad) || !get_ulong(env, argv[5], &tag_bits) ||
      !get_bytes(env, argv[6], &input) || !get_ends(env, argv[7], input.length, &in_ends, &n) || !get_bytes(env, argv[8], &output)) {
    return throw_type(env, "gcmEncrypt(list, session, key, ivs, aad, tagBits, input, inEnds, output): bad arguments");
  }
  if (ivs.length != 12 * n || tag_bits == 0 || tag_bits > 128 || tag_bits % 8 != 0) return throw_type(env, "gcmEncrypt: need 12 IV bytes per item and a tag of 8-128 bits");
  b.gcm = (CK_GCM_PARAMS){NULL, 12, 96, aad.length ? aad.data : NULL, aad.length, tag_bits};
  b.mech = (CK_MECHANISM){CKM_AES_GCM, &b.gcm, sizeof b.gcm};
  b.ivs = ivs.data;
  return run_batch(env, &b, gcm_item, n, &input, in_ends, output);
}

// sign(list, session, key, mechanism, input, inEnds, output) -> outEnds
// For mechanisms without parameters (CKM_ECDSA, CKM_EDDSA, CKM_SHA256_RSA_PKCS, HMACs, CMAC).
static napi_value sign(napi_env env, napi_callback_info info) {
  size_t argc = 7, n;
  napi_value argv[7];
  batch_t b = {0};
  CK_ULONG mech_type;
  bytes_t input, output;
  const uint32_t *in_ends;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 7 || !get_list(env, argv[0], &b.f) || !get_handle(env, argv[1], &b.session) || !get_handle(env, argv[2], &b.key) ||
      !get_ulong(env, argv[3], &mech_type) || !get_bytes(env, argv[4], &input) || !get_ends(env, argv[5], input.length, &in_ends, &n) ||
      !get_bytes(env, argv[6], &output)) {
    return throw_type(env, "sign(list, session, key, mechanism, input, inEnds, output): bad arguments");
  }
  b.mech = (CK_MECHANISM){mech_type, NULL, 0};
  return run_batch(env, &b, sign_item, n, &input, in_ends, output);
}

// wrap(list, session, mechanism, wrappingKey, targets, output) -> outEnds
// targets holds one CK_ULONG handle per item; for mechanisms without parameters (AES-KW, AES-KWP).
static napi_value wrap(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  batch_t b = {0};
  CK_ULONG mech_type;
  bytes_t targets, output;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 6 || !get_list(env, argv[0], &b.f) || !get_handle(env, argv[1], &b.session) || !get_ulong(env, argv[2], &mech_type) ||
      !get_handle(env, argv[3], &b.key) || !get_bytes(env, argv[4], &targets) || targets.length % sizeof(CK_ULONG) != 0 ||
      !get_bytes(env, argv[5], &output)) {
    return throw_type(env, "wrap(list, session, mechanism, wrappingKey, targets, output): bad arguments");
  }
  b.mech = (CK_MECHANISM){mech_type, NULL, 0};
  b.targets = targets.data;
  return run_batch(env, &b, wrap_item, targets.length / sizeof(CK_ULONG), NULL, NULL, output);
}

// A template: attribute types (one CK_ULONG each, host byte order) and their values packed back to
// back with end offsets (CK_BBOOL as 1 byte, CK_ULONG as its native bytes, strings as UTF-8).
#define MAX_TEMPLATE 32
static int get_template(napi_env env, napi_value types_v, napi_value values_v, napi_value ends_v, CK_ATTRIBUTE *attrs, CK_ULONG *count) {
  bytes_t types, values;
  const uint32_t *ends;
  size_t n;
  if (!get_bytes(env, types_v, &types) || !get_bytes(env, values_v, &values) || !get_ends(env, ends_v, values.length, &ends, &n)) return 0;
  if (types.length % sizeof(CK_ULONG) != 0 || types.length / sizeof(CK_ULONG) != n || n > MAX_TEMPLATE) return 0;
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    memcpy(&attrs[i].type, types.data + i * sizeof(CK_ULONG), sizeof(CK_ULONG));
    attrs[i].pValue = ends[i] > start ? values.data + start : NULL;
    attrs[i].ulValueLen = ends[i] - start;
    start = ends[i];
  }
  *count = (CK_ULONG)n;
  return 1;
}

// rewrap(list, session, unwrapMechanism, wrapMechanism, oldKek, newKek, attrTypes, attrValues,
//        attrEnds, input, inEnds, output) -> outEnds
// The Archive KEK rotation's inner loop (electron/hsm/host/rewrap.ts): for each blob wrapped under
// the old KEK, C_UnwrapKey into a session object made from the template, C_WrapKey under the new
// KEK (the output), then the verification — C_UnwrapKey of the new blob under the new KEK, C_WrapKey
// of that under the old KEK, and a byte comparison with the input (RFC 5649 is deterministic).
// Both objects are destroyed whatever happens. A mismatch throws with method "custos:verify".
static napi_value rewrap(napi_env env, napi_callback_info info) {
  size_t argc = 12, n;
  napi_value argv[12];
  CK_FUNCTION_LIST_PTR f;
  CK_SESSION_HANDLE session;
  CK_ULONG unwrap_type, wrap_type, count;
  CK_OBJECT_HANDLE old_kek, new_kek;
  CK_ATTRIBUTE attrs[MAX_TEMPLATE];
  bytes_t input, output;
  const uint32_t *in_ends;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 12 || !get_list(env, argv[0], &f) || !get_handle(env, argv[1], &session) || !get_ulong(env, argv[2], &unwrap_type) ||
      !get_ulong(env, argv[3], &wrap_type) || !get_handle(env, argv[4], &old_kek) || !get_handle(env, argv[5], &new_kek) ||
      !get_template(env, argv[6], argv[7], argv[8], attrs, &count) || !get_bytes(env, argv[9], &input) ||
      !get_ends(env, argv[10], input.length, &in_ends, &n) || !get_bytes(env, argv[11], &output)) {
    return throw_type(env, "rewrap(list, session, unwrapMechanism, wrapMechanism, oldKek, newKek, attrTypes, attrValues, attrEnds, input, inEnds, output): bad arguments");
  }
  CK_MECHANISM um = {unwrap_type, NULL, 0}, wm = {wrap_type, NULL, 0};
  uint32_t *out_ends;
  napi_value result = make_ends(env, n, &out_ends);
  if (!result) return throw_type(env, "rewrap: out of memory");
  CK_BYTE back[8192];
  size_t in_off = 0, out_off = 0;
  for (size_t i = 0; i < n; i++) {
    CK_BYTE_PTR in = input.data + in_off;
    CK_ULONG in_len = in_ends[i] - in_off;
    CK_OBJECT_HANDLE first = CK_INVALID_HANDLE, second = CK_INVALID_HANDLE;
    CK_ULONG out_len = output.length - out_off, back_len = sizeof back;
    const char *method = "C_UnwrapKey";
    CK_RV rv = f->C_UnwrapKey(session, &um, old_kek, in, in_len, attrs, count, &first);
    if (rv == CKR_OK) {
      method = "C_WrapKey";
      rv = f->C_WrapKey(session, &wm, new_kek, first, output.data + out_off, &out_len);
    }
    if (rv == CKR_OK && out_len > output.length - out_off) rv = CKR_BUFFER_TOO_SMALL;
    if (rv == CKR_OK) {
      method = "C_UnwrapKey";
      rv = f->C_UnwrapKey(session, &um, new_kek, output.data + out_off, out_len, attrs, count, &second);
    }
    if (rv == CKR_OK) {
      method = "C_WrapKey";
      rv = f->C_WrapKey(session, &wm, old_kek, second, back, &back_len);
    }
    if (first != CK_INVALID_HANDLE) f->C_DestroyObject(session, first);
    if (second != CK_INVALID_HANDLE) f->C_DestroyObject(session, second);
    if (rv != CKR_OK) return throw_rv(env, rv, method, i);
    if (back_len != in_len || memcmp(back, in, in_len) != 0) {
      memset(back, 0, sizeof back);
      return throw_rv(env, CKR_GENERAL_ERROR, "custos:verify", i);
    }
    out_off += out_len;
    out_ends[i] = (uint32_t)out_off;
    in_off = in_ends[i];
  }
  memset(back, 0, sizeof back);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Arena: an anonymous shared-memory region (memfd) mapped by the app's main process and the HSM
// host, so that a batch's bytes cross between them with one memcpy on each side instead of a trip
// through the IPC pipe and two serializers. The host creates it; the app maps it through
// /proc/<host pid>/fd/<fd> and the host then closes its descriptor, so the region is reachable only
// through the two mappings. It has no name in any file system and is unmapped when its external is
// collected or the process ends. Callers zero what they wrote once a request is done. Access is by
// copy (read, write, zero) with every offset checked: no JavaScript view points into it, which also
// keeps it usable where V8's memory cage forbids external buffers (Electron).

typedef struct {
  uint8_t *base;
  size_t size;
} arena_t;

static void arena_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  arena_t *a = (arena_t *)data;
  if (a->base) munmap(a->base, a->size);
  free(a);
}

static napi_value wrap_arena(napi_env env, uint8_t *base, size_t size) {
  arena_t *a = (arena_t *)malloc(sizeof *a);
  napi_value result;
  if (!a) {
    munmap(base, size);
    return throw_type(env, "arena: out of memory");
  }
  a->base = base;
  a->size = size;
  if (napi_create_external(env, a, arena_finalize, NULL, &result) != napi_ok) {
    arena_finalize(env, a, NULL);
    return throw_type(env, "arena: cannot create the handle");
  }
  return result;
}

static int get_arena(napi_env env, napi_value v, arena_t **out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return 0;
  return napi_get_value_external(env, v, (void **)out) == napi_ok && *out != NULL && (*out)->base != NULL;
}

static int get_size(napi_env env, napi_value v, size_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > 9007199254740991.0 || d != (double)(size_t)d) return 0;
  *out = (size_t)d;
  return 1;
}

static int in_arena(const arena_t *a, size_t offset, size_t length) { return offset <= a->size && length <= a->size - offset; }

static napi_value throw_errno(napi_env env, const char *what) {
  char text[160];
  snprintf(text, sizeof text, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, text);
  return NULL;
}

// arenaCreate(size) -> { arena, fd }: the host's side; close fd once the app has mapped it.
static napi_value arena_create(napi_env env, napi_callback_info info) {
  size_t argc = 1, size;
  napi_value argv[1], result, fdv, handle;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || !get_size(env, argv[0], &size) || size == 0 || size > ((size_t)1 << 32)) return throw_type(env, "arenaCreate(size): 0 < size <= 4 GiB");
  int fd = memfd_create("custos-hsm-arena", MFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "memfd_create");
  if (ftruncate(fd, (off_t)size) != 0) {
    close(fd);
    return throw_errno(env, "ftruncate");
  }
  void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    close(fd);
    return throw_errno(env, "mmap");
  }
  handle = wrap_arena(env, (uint8_t *)base, size);
  if (!handle) {
    close(fd);
    return NULL;
  }
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_int32(env, fd, &fdv));
  CHECK(napi_set_named_property(env, result, "arena", handle));
  CHECK(napi_set_named_property(env, result, "fd", fdv));
  return result;
}

// arenaOpen(path, size) -> arena: the app's side, path = /proc/<host pid>/fd/<fd>.
static napi_value arena_open(napi_env env, napi_callback_info info) {
  size_t argc = 2, size, len;
  napi_value argv[2];
  char path[256];
  struct stat st;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1 ||
      !get_size(env, argv[1], &size) || size == 0) {
    return throw_type(env, "arenaOpen(path, size): bad arguments");
  }
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "open");
  if (fstat(fd, &st) != 0 || (size_t)st.st_size != size) {
    close(fd);
    napi_throw_error(env, NULL, "arenaOpen: the region does not have the announced size");
    return NULL;
  }
  void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) return throw_errno(env, "mmap");
  return wrap_arena(env, (uint8_t *)base, size);
}

// closeFd(fd)
static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 3) return throw_type(env, "closeFd(fd)");
  close(fd);
  return NULL;
}

// arenaWriteItems(arena, offset, items: Uint8Array[]) -> total bytes written (items back to back).
static napi_value arena_write_items(napi_env env, napi_callback_info info) {
  size_t argc = 3, offset;
  napi_value argv[3], result;
  arena_t *a;
  bool is_array = false;
  uint32_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3 || !get_arena(env, argv[0], &a) || !get_size(env, argv[1], &offset) || napi_is_array(env, argv[2], &is_array) != napi_ok ||
      !is_array || napi_get_array_length(env, argv[2], &n) != napi_ok) {
    return throw_type(env, "arenaWriteItems(arena, offset, items): bad arguments");
  }
  size_t off = offset;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    bytes_t b;
    if (napi_get_element(env, argv[2], i, &item) != napi_ok || !get_bytes(env, item, &b)) return throw_type(env, "arenaWriteItems: items must be Uint8Arrays");
    if (!in_arena(a, off, b.length)) return throw_type(env, "arenaWriteItems: beyond the arena");
    if (b.length) memcpy(a->base + off, b.data, b.length);
    off += b.length;
  }
  CHECK(napi_create_double(env, (double)(off - offset), &result));
  return result;
}

// arenaRead(arena, offset, length) -> Buffer (a copy)
static napi_value arena_read(napi_env env, napi_callback_info info) {
  size_t argc = 3, offset, length;
  napi_value argv[3], result;
  arena_t *a;
  void *data;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3 || !get_arena(env, argv[0], &a) || !get_size(env, argv[1], &offset) || !get_size(env, argv[2], &length) || !in_arena(a, offset, length)) {
    return throw_type(env, "arenaRead(arena, offset, length): bad arguments or beyond the arena");
  }
  CHECK(napi_create_buffer_copy(env, length, a->base + offset, &data, &result));
  return result;
}

// arenaReadInto(arena, offset, dst): fills dst from the arena (no allocation).
static napi_value arena_read_into(napi_env env, napi_callback_info info) {
  size_t argc = 3, offset;
  napi_value argv[3];
  arena_t *a;
  bytes_t dst;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3 || !get_arena(env, argv[0], &a) || !get_size(env, argv[1], &offset) || !get_bytes(env, argv[2], &dst) || !in_arena(a, offset, dst.length)) {
    return throw_type(env, "arenaReadInto(arena, offset, dst): bad arguments or beyond the arena");
  }
  if (dst.length) memcpy(dst.data, a->base + offset, dst.length);
  return NULL;
}

// arenaZero(arena, offset, length)
static napi_value arena_zero(napi_env env, napi_callback_info info) {
  size_t argc = 3, offset, length;
  napi_value argv[3];
  arena_t *a;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3 || !get_arena(env, argv[0], &a) || !get_size(env, argv[1], &offset) || !get_size(env, argv[2], &length) || !in_arena(a, offset, length)) {
    return throw_type(env, "arenaZero(arena, offset, length): bad arguments or beyond the arena");
  }
  memset(a->base + offset, 0, length);
  return NULL;
}

// ---------------------------------------------------------------------------------------------
// Lifeline: the HSM host must not outlive the process that started it. A host blocked inside a
// vendor library never sees its IPC channel close, so the kernel and a watchdog thread do it:
//  - PR_SET_PDEATHSIG (Linux) sends `signal` the moment the parent dies; the host's JavaScript
//    handler logs out and calls C_Finalize when its event loop is free;
//  - a detached thread polls getppid() and, `graceMs` after the parent is gone, sends SIGKILL:
//    that ends a host whose JavaScript thread is stuck in a C call and cannot run the handler.
// The parent may already have died between fork and this call, so the parent id is checked after
// prctl (a reparented child has another parent id).
typedef struct {
  pid_t parent;
  unsigned grace_ms;
} lifeline_t;

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

static void *lifeline_watch(void *arg) {
  lifeline_t config = *(lifeline_t *)arg;
  free(arg);
  for (;;) {
    sleep_ms(200);
    if (getppid() != config.parent) {
      sleep_ms(config.grace_ms);
      kill(getpid(), SIGKILL);
      return NULL;
    }
  }
}

// lifeline(parentPid, signal, graceMs) -> boolean: false when the parent is already gone.
static napi_value lifeline(napi_env env, napi_callback_info info) {
  size_t argc = 3, parent, sig, grace;
  napi_value argv[3], result;
  pthread_t thread;
  pthread_attr_t attr;
  lifeline_t *config;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3 || !get_size(env, argv[0], &parent) || !get_size(env, argv[1], &sig) || !get_size(env, argv[2], &grace) || parent < 2 || sig < 1 || sig > 64 || grace > 60000) {
    return throw_type(env, "lifeline(parentPid, signal, graceMs): bad arguments");
  }
#ifdef __linux__
  if (prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0) != 0) return throw_type(env, "lifeline: prctl(PR_SET_PDEATHSIG) failed");
#endif
  if (getppid() != (pid_t)parent) {
    CHECK(napi_get_boolean(env, false, &result));
    return result;
  }
  config = malloc(sizeof *config);
  if (!config) return throw_type(env, "lifeline: out of memory");
  config->parent = (pid_t)parent;
  config->grace_ms = (unsigned)grace;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&thread, &attr, lifeline_watch, config) != 0) {
    pthread_attr_destroy(&attr);
    free(config);
    return throw_type(env, "lifeline: pthread_create failed");
  }
  pthread_attr_destroy(&attr);
  CHECK(napi_get_boolean(env, true, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, open_library, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gcmEncrypt", NULL, gcm_encrypt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sign", NULL, sign, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wrap", NULL, wrap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rewrap", NULL, rewrap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"arenaCreate", NULL, arena_create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"arenaOpen", NULL, arena_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"arenaWriteItems", NULL, arena_write_items, NULL, NULL, NULL, napi_enumerable, NULL},
      {"arenaRead", NULL, arena_read, NULL, NULL, NULL, napi_enumerable, NULL},
      {"arenaReadInto", NULL, arena_read_into, NULL, NULL, NULL, napi_enumerable, NULL},
      {"arenaZero", NULL, arena_zero, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lifeline", NULL, lifeline, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
