// Batched PKCS#11 loops for the Custos HSM host.
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
#include <dlfcn.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
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

// A Uint8Array (or Buffer) argument.
static int get_bytes(napi_env env, napi_value v, bytes_t *out) {
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value ab;
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  out->data = (uint8_t *)data;
  out->length = length;
  return 1;
}

// A Uint32Array of end offsets, each within `limit` and none before the previous one.
static int get_ends(napi_env env, napi_value v, size_t limit, const uint32_t **ends, size_t *count) {
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value ab;
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok) return 0;
  if (type != napi_uint32_array) return 0;
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

// gcmEncrypt(list, session, key, ivs, aad, tagBits, input, inEnds, output) -> outEnds
// ivs holds 12 bytes per item; output receives each ciphertext with its tag, back to back.
static napi_value gcm_encrypt(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CK_FUNCTION_LIST_PTR f;
  CK_ULONG session, key, tag_bits;
  bytes_t ivs, aad, input, output;
  const uint32_t *in_ends;
  size_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 9 || !get_list(env, argv[0], &f) || !get_handle(env, argv[1], &session) || !get_handle(env, argv[2], &key) ||
      !get_bytes(env, argv[3], &ivs) || !get_bytes(env, argv[4], &aad) || !get_ulong(env, argv[5], &tag_bits) ||
      !get_bytes(env, argv[6], &input) || !get_ends(env, argv[7], input.length, &in_ends, &n) || !get_bytes(env, argv[8], &output)) {
    return throw_type(env, "gcmEncrypt(list, session, key, ivs, aad, tagBits, input, inEnds, output): bad arguments");
  }
  if (ivs.length != 12 * n || tag_bits == 0 || tag_bits > 128 || tag_bits % 8 != 0) return throw_type(env, "gcmEncrypt: need 12 IV bytes per item and a tag of 8-128 bits");
  uint32_t *out_ends;
  napi_value result = make_ends(env, n, &out_ends);
  if (!result) return throw_type(env, "gcmEncrypt: out of memory");
  CK_GCM_PARAMS params = {NULL, 12, 96, aad.length ? aad.data : NULL, aad.length, tag_bits};
  CK_MECHANISM mech = {CKM_AES_GCM, &params, sizeof params};
  size_t in_off = 0, out_off = 0;
  for (size_t i = 0; i < n; i++) {
    params.iv_ptr = ivs.data + 12 * i;
    CK_RV rv = f->C_EncryptInit(session, &mech, key);
    if (rv != CKR_OK) return throw_rv(env, rv, "C_EncryptInit", i);
    CK_ULONG out_len = output.length - out_off;
    rv = f->C_Encrypt(session, input.data + in_off, in_ends[i] - in_off, output.data + out_off, &out_len);
    if (rv != CKR_OK) return throw_rv(env, rv, "C_Encrypt", i);
    if (out_len > output.length - out_off) return throw_rv(env, CKR_GENERAL_ERROR, "C_Encrypt", i);
    out_off += out_len;
    out_ends[i] = (uint32_t)out_off;
    in_off = in_ends[i];
  }
  return result;
}

// sign(list, session, key, mechanism, input, inEnds, output) -> outEnds
// For mechanisms without parameters (CKM_ECDSA, CKM_EDDSA, CKM_SHA256_RSA_PKCS, HMACs, CMAC).
static napi_value sign(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CK_FUNCTION_LIST_PTR f;
  CK_ULONG session, key, mech_type;
  bytes_t input, output;
  const uint32_t *in_ends;
  size_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 7 || !get_list(env, argv[0], &f) || !get_handle(env, argv[1], &session) || !get_handle(env, argv[2], &key) ||
      !get_ulong(env, argv[3], &mech_type) || !get_bytes(env, argv[4], &input) || !get_ends(env, argv[5], input.length, &in_ends, &n) ||
      !get_bytes(env, argv[6], &output)) {
    return throw_type(env, "sign(list, session, key, mechanism, input, inEnds, output): bad arguments");
  }
  uint32_t *out_ends;
  napi_value result = make_ends(env, n, &out_ends);
  if (!result) return throw_type(env, "sign: out of memory");
  CK_MECHANISM mech = {mech_type, NULL, 0};
  size_t in_off = 0, out_off = 0;
  for (size_t i = 0; i < n; i++) {
    CK_RV rv = f->C_SignInit(session, &mech, key);
    if (rv != CKR_OK) return throw_rv(env, rv, "C_SignInit", i);
    CK_ULONG out_len = output.length - out_off;
    rv = f->C_Sign(session, input.data + in_off, in_ends[i] - in_off, output.data + out_off, &out_len);
    if (rv != CKR_OK) return throw_rv(env, rv, "C_Sign", i);
    if (out_len > output.length - out_off) return throw_rv(env, CKR_GENERAL_ERROR, "C_Sign", i);
    out_off += out_len;
    out_ends[i] = (uint32_t)out_off;
    in_off = in_ends[i];
  }
  return result;
}

// wrap(list, session, mechanism, wrappingKey, targets, output) -> outEnds
// targets holds one CK_ULONG handle per item; for mechanisms without parameters (AES-KW, AES-KWP).
static napi_value wrap(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CK_FUNCTION_LIST_PTR f;
  CK_ULONG session, mech_type, wrapping;
  bytes_t targets, output;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 6 || !get_list(env, argv[0], &f) || !get_handle(env, argv[1], &session) || !get_ulong(env, argv[2], &mech_type) ||
      !get_handle(env, argv[3], &wrapping) || !get_bytes(env, argv[4], &targets) || targets.length % sizeof(CK_ULONG) != 0 ||
      !get_bytes(env, argv[5], &output)) {
    return throw_type(env, "wrap(list, session, mechanism, wrappingKey, targets, output): bad arguments");
  }
  size_t n = targets.length / sizeof(CK_ULONG);
  uint32_t *out_ends;
  napi_value result = make_ends(env, n, &out_ends);
  if (!result) return throw_type(env, "wrap: out of memory");
  CK_MECHANISM mech = {mech_type, NULL, 0};
  size_t out_off = 0;
  for (size_t i = 0; i < n; i++) {
    CK_ULONG target;
    memcpy(&target, targets.data + i * sizeof(CK_ULONG), sizeof target);
    CK_ULONG out_len = output.length - out_off;
    CK_RV rv = f->C_WrapKey(session, &mech, wrapping, target, output.data + out_off, &out_len);
    if (rv != CKR_OK) return throw_rv(env, rv, "C_WrapKey", i);
    if (out_len > output.length - out_off) return throw_rv(env, CKR_GENERAL_ERROR, "C_WrapKey", i);
    out_off += out_len;
    out_ends[i] = (uint32_t)out_off;
  }
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, open_library, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gcmEncrypt", NULL, gcm_encrypt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sign", NULL, sign, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wrap", NULL, wrap, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
