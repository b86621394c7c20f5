// Key operations inside the HSM host process. Templates set every usage attribute explicitly
// (SoftHSM, among others, defaults unset CKA_SIGN/CKA_WRAP/... to true), keys are sensitive and
// non-extractable unless asked, and temporary objects are session objects destroyed in `finally`.
import { constants as cryptoConstants, createHash, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import rfc3394 from '../../../test/vectors/keywrap/rfc3394.json';
import kwpAligned from '../../../test/vectors/keywrap/custos-kwp-aligned.json';
import rfc5649 from '../../../test/vectors/keywrap/rfc5649.json';
import { CKA, CKG_MGF1, CKK, CKM, CKO, CURVE_OIDS, MECHANISM_NAMES } from '../protocol/constants';
import type { AppError } from '../../../shared/result';
import type {
  CipherMechanism,
  GenerateSpec,
  KeyUsage,
  MechanismEntry,
  ObjectRef,
  PublicKeyAttrs,
  RawObject,
  SignMechanism,
  UnwrapTemplate,
  WrapMechanism,
  WrapProbe,
} from '../protocol';
import { nativeBatch, packItems, splitOutput } from './batch';
import { fail, HostFailure, p11, p11Failure } from './failure';
import type { TokenContext } from './session';
import { buf, createSecret, destroyQuietly, oaepMechanism, secretFlags, usageAttrs, type Handle, type Template } from './templates';

const ALLOWED_USAGES: Record<GenerateSpec['type'], KeyUsage[]> = {
  'aes-128': ['encrypt', 'wrap', 'sign'],
  'aes-192': ['encrypt', 'wrap', 'sign'],
  'aes-256': ['encrypt', 'wrap', 'sign'],
  'hmac-256': ['sign'],
  tdes: ['encrypt', 'wrap', 'sign'],
  'rsa-2048': ['sign', 'encrypt', 'wrap'],
  'rsa-3072': ['sign', 'encrypt', 'wrap'],
  'rsa-4096': ['sign', 'encrypt', 'wrap'],
  'ec-p256': ['sign', 'derive'],
  'ec-p384': ['sign', 'derive'],
  ed25519: ['sign'],
};

function checkUsages(type: GenerateSpec['type'] | string, usages: KeyUsage[], allowed: KeyUsage[]): void {
  const bad = usages.filter((u) => !allowed.includes(u));
  if (bad.length || usages.length === 0) {
    fail({
      code: 'TEMPLATE_INVALID',
      message: usages.length === 0 ? 'A key needs at least one usage.' : `A ${type} key cannot be used for ${bad.join(', ')}.`,
      action: `Choose from: ${allowed.join(', ')}.`,
    });
  }
}

export function generate(ctx: TokenContext, spec: GenerateSpec): RawObject[] {
  const { m, session } = ctx;
  checkUsages(spec.type, spec.usages, ALLOWED_USAGES[spec.type]);
  const common: Template = [
    { type: CKA.TOKEN, value: true },
    { type: CKA.LABEL, value: spec.label },
    { type: CKA.ID, value: Buffer.from(spec.idHex, 'hex') },
  ];
  const secretBase = (keyType: number): Template => [
    { type: CKA.CLASS, value: CKO.SECRET_KEY },
    { type: CKA.KEY_TYPE, value: keyType },
    ...common,
    { type: CKA.PRIVATE, value: true },
    { type: CKA.SENSITIVE, value: true },
    { type: CKA.EXTRACTABLE, value: spec.extractable },
    ...usageAttrs(spec.usages, 'secret'),
  ];
  const aes = /^aes-(\d+)$/.exec(spec.type);
  if (aes) {
    const h = p11('C_GenerateKey', () =>
      m.p11.C_GenerateKey(session, { mechanism: CKM.AES_KEY_GEN }, [...secretBase(CKK.AES), { type: CKA.VALUE_LEN, value: Number(aes[1]) / 8 }]),
    );
    return [describe(ctx, h)];
  }
  if (spec.type === 'hmac-256') {
    const h = p11('C_GenerateKey', () =>
      m.p11.C_GenerateKey(session, { mechanism: CKM.GENERIC_SECRET_KEY_GEN }, [...secretBase(CKK.GENERIC_SECRET), { type: CKA.VALUE_LEN, value: 32 }]),
    );
    return [describe(ctx, h)];
  }
  if (spec.type === 'tdes') {
    const h = p11('C_GenerateKey', () => m.p11.C_GenerateKey(session, { mechanism: CKM.DES3_KEY_GEN }, secretBase(CKK.DES3)));
    return [describe(ctx, h)];
  }
  const pubCommon: Template = [{ type: CKA.CLASS, value: CKO.PUBLIC_KEY }, ...common, { type: CKA.PRIVATE, value: false }, ...usageAttrs(spec.usages, 'public')];
  const privCommon: Template = [
    { type: CKA.CLASS, value: CKO.PRIVATE_KEY },
    ...common,
    { type: CKA.PRIVATE, value: true },
    { type: CKA.SENSITIVE, value: true },
    { type: CKA.EXTRACTABLE, value: spec.extractable },
    ...usageAttrs(spec.usages, 'private'),
  ];
  const rsa = /^rsa-(\d+)$/.exec(spec.type);
  let pair: { publicKey: Handle; privateKey: Handle };
  if (rsa) {
    pair = p11('C_GenerateKeyPair', () =>
      m.p11.C_GenerateKeyPair(
        session,
        { mechanism: CKM.RSA_PKCS_KEY_PAIR_GEN },
        [...pubCommon, { type: CKA.KEY_TYPE, value: CKK.RSA }, { type: CKA.MODULUS_BITS, value: Number(rsa[1]) }, { type: CKA.PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }],
        [...privCommon, { type: CKA.KEY_TYPE, value: CKK.RSA }],
      ),
    );
  } else if (spec.type === 'ed25519') {
    pair = p11('C_GenerateKeyPair', () =>
      m.p11.C_GenerateKeyPair(
        session,
        { mechanism: CKM.EC_EDWARDS_KEY_PAIR_GEN },
        [...pubCommon, { type: CKA.KEY_TYPE, value: CKK.EC_EDWARDS }, { type: CKA.EC_PARAMS, value: Buffer.from(CURVE_OIDS.Ed25519!, 'hex') }],
        [...privCommon, { type: CKA.KEY_TYPE, value: CKK.EC_EDWARDS }],
      ),
    );
  } else {
    const curve = spec.type === 'ec-p256' ? 'P-256' : 'P-384';
    pair = p11('C_GenerateKeyPair', () =>
      m.p11.C_GenerateKeyPair(
        session,
        { mechanism: CKM.EC_KEY_PAIR_GEN },
        [...pubCommon, { type: CKA.KEY_TYPE, value: CKK.EC }, { type: CKA.EC_PARAMS, value: Buffer.from(CURVE_OIDS[curve]!, 'hex') }],
        [...privCommon, { type: CKA.KEY_TYPE, value: CKK.EC }],
      ),
    );
  }
  return [describe(ctx, pair.privateKey), describe(ctx, pair.publicKey)];
}

// ---------------------------------------------------------------------------------------------
// Finding and describing objects

const KIND_CLASS: Record<string, number> = { secret: CKO.SECRET_KEY, private: CKO.PRIVATE_KEY, public: CKO.PUBLIC_KEY };

export function findHandles(ctx: TokenContext, ref: ObjectRef): Handle[] {
  const { m, session } = ctx;
  const tmpl: Template = [];
  if (ref.kind) tmpl.push({ type: CKA.CLASS, value: KIND_CLASS[ref.kind]! });
  if (ref.label !== undefined) tmpl.push({ type: CKA.LABEL, value: ref.label });
  if (ref.idHex !== undefined) tmpl.push({ type: CKA.ID, value: Buffer.from(ref.idHex, 'hex') });
  p11('C_FindObjectsInit', () => m.p11.C_FindObjectsInit(session, tmpl));
  const out: Handle[] = [];
  try {
    for (;;) {
      const batch = p11('C_FindObjects', () => m.p11.C_FindObjects(session, 64));
      out.push(...batch);
      if (batch.length < 64) break;
    }
  } finally {
    try {
      m.p11.C_FindObjectsFinal(session);
    } catch {
      /* the search is over either way */
    }
  }
  return out;
}

function describeRef(ref: ObjectRef): string {
  return [ref.kind ? `${ref.kind} key` : 'object', ref.label !== undefined ? `labelled "${ref.label}"` : '', ref.idHex ? `with id ${ref.idHex}` : '']
    .filter(Boolean)
    .join(' ');
}

/**
 * Handles found by findOne, per session (a new session, after logout or a token removal, starts
 * empty). Only refs that name the object's CKA_ID are cached, and a hit is re-checked by reading
 * the object's class, id and label: a destroyed object fails that read, a relabelled one no
 * longer matches, and either way the search runs again. A search costs 0.1–0.2 ms on SoftHSM with
 * a few dozen token objects (it reads every object's file); the check is one attribute read.
 * Objects created by this host clear the cache (forgetHandles), so a second object with the same
 * id and label is reported as ambiguous, not silently ignored.
 */
let handleCache = new WeakMap<Buffer, Map<string, Handle>>();

export function forgetHandles(): void {
  handleCache = new WeakMap();
}

function cachedHandle(ctx: TokenContext, ref: ObjectRef, key: string): Handle | null {
  const h = handleCache.get(ctx.session)?.get(key);
  if (!h) return null;
  try {
    const a = ctx.m.p11.C_GetAttributeValue(ctx.session, h, [{ type: CKA.CLASS }, { type: CKA.ID }, { type: CKA.LABEL }]);
    const [cls, id, label] = a.map((x) => x.value);
    if (
      (ref.kind === undefined || ulong(cls) === KIND_CLASS[ref.kind]) &&
      id?.toString('hex') === ref.idHex!.toLowerCase() &&
      (ref.label === undefined || label?.toString('utf8') === ref.label)
    ) {
      return h;
    }
  } catch {
    /* gone: search again */
  }
  handleCache.get(ctx.session)?.delete(key);
  return null;
}

/** Exactly one object, or a typed error that says which and why. */
export function findOne(ctx: TokenContext, ref: ObjectRef): Handle {
  const key = ref.idHex === undefined ? null : JSON.stringify([ref.kind ?? null, ref.idHex.toLowerCase(), ref.label ?? null]);
  if (key !== null) {
    const hit = cachedHandle(ctx, ref, key);
    if (hit) return hit;
  }
  const found = findHandles(ctx, ref);
  if (found.length === 0) {
    return fail({
      code: 'OBJECT_NOT_FOUND',
      message: `There is no ${describeRef(ref)} on this token${ctx.token.loggedIn ? '' : ' (private keys are only visible after logging in)'}.`,
      action: 'Check the label or id (custos key list), and log in if the key is private.',
      details: { token: ctx.token.label },
    });
  }
  if (found.length > 1) {
    return fail({
      code: 'OBJECT_AMBIGUOUS',
      message: `${found.length} objects match ${describeRef(ref)}; Custos will not guess which one you meant.`,
      action: 'Name the key by its PKCS#11 URI, which includes its id.',
    });
  }
  if (key !== null) {
    let perSession = handleCache.get(ctx.session);
    if (!perSession) handleCache.set(ctx.session, (perSession = new Map()));
    perSession.set(key, found[0]!);
  }
  return found[0]!;
}

function readAttrs(ctx: TokenContext, h: Handle, types: number[]): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  try {
    for (const a of ctx.m.p11.C_GetAttributeValue(ctx.session, h, types.map((type) => ({ type })))) out.set(a.type, a.value);
    return out;
  } catch {
    // One attribute the token does not know (or will not reveal) fails the whole call; ask singly.
    for (const type of types) {
      try {
        const [a] = ctx.m.p11.C_GetAttributeValue(ctx.session, h, [{ type }]);
        if (a) out.set(a.type, a.value);
      } catch {
        /* not applicable to this object */
      }
    }
    return out;
  }
}

const ulong = (b: Buffer | undefined): number | null => (b && b.length ? b.readUIntLE(0, Math.min(6, b.length)) : null);
const bool = (b: Buffer | undefined): boolean | null => (b && b.length ? b[0] !== 0 : null);

function curveOf(ecParams: Buffer | undefined): string | null {
  if (!ecParams) return null;
  const hex = ecParams.toString('hex');
  for (const [name, oid] of Object.entries(CURVE_OIDS)) if (oid === hex) return name;
  // PKCS#11 v3.0 §2.3.5: Edwards curves may be named by a PrintableString.
  if (ecParams[0] === 0x13 && ecParams.subarray(2).toString() === 'edwards25519') return 'Ed25519';
  return `unknown (${hex.slice(0, 32)})`;
}

export function describe(ctx: TokenContext, h: Handle): RawObject {
  const a = readAttrs(ctx, h, [
    CKA.CLASS, CKA.KEY_TYPE, CKA.LABEL, CKA.ID, CKA.TOKEN, CKA.PRIVATE, CKA.SENSITIVE, CKA.EXTRACTABLE, CKA.NEVER_EXTRACTABLE,
    CKA.ALWAYS_SENSITIVE, CKA.LOCAL, CKA.ENCRYPT, CKA.DECRYPT, CKA.SIGN, CKA.VERIFY, CKA.WRAP, CKA.UNWRAP, CKA.DERIVE,
    CKA.VALUE_LEN, CKA.MODULUS_BITS, CKA.MODULUS, CKA.EC_PARAMS, CKA.CHECK_VALUE,
  ]);
  const cls = ulong(a.get(CKA.CLASS));
  const kt = ulong(a.get(CKA.KEY_TYPE));
  const kind: RawObject['kind'] =
    cls === CKO.SECRET_KEY ? 'secret' : cls === CKO.PRIVATE_KEY ? 'private' : cls === CKO.PUBLIC_KEY ? 'public' : cls === CKO.CERTIFICATE ? 'certificate' : cls === CKO.DATA ? 'data' : 'other';
  const keyType: RawObject['keyType'] =
    kt === null ? null : kt === CKK.AES ? 'aes' : kt === CKK.GENERIC_SECRET ? 'generic-secret' : kt === CKK.DES3 ? 'tdes' : kt === CKK.RSA ? 'rsa' : kt === CKK.EC ? 'ec' : kt === CKK.EC_EDWARDS ? 'ed25519' : 'other';
  const curve = keyType === 'ec' || keyType === 'ed25519' ? curveOf(a.get(CKA.EC_PARAMS)) : null;
  let bits: number | null = null;
  if (keyType === 'rsa') bits = ulong(a.get(CKA.MODULUS_BITS)) ?? (a.get(CKA.MODULUS)?.length ?? 0) * 8;
  else if (keyType === 'tdes') bits = 192;
  else if (kind === 'secret') bits = (ulong(a.get(CKA.VALUE_LEN)) ?? 0) * 8 || null;
  else if (curve) bits = curve === 'P-256' || curve === 'Ed25519' ? 256 : curve === 'P-384' ? 384 : curve === 'P-521' ? 521 : null;
  const check = a.get(CKA.CHECK_VALUE);
  return {
    kind,
    keyType,
    label: a.get(CKA.LABEL)?.toString('utf8') ?? '',
    idHex: a.get(CKA.ID)?.toString('hex') ?? '',
    onToken: bool(a.get(CKA.TOKEN)) ?? false,
    private: bool(a.get(CKA.PRIVATE)) ?? false,
    sensitive: bool(a.get(CKA.SENSITIVE)),
    extractable: bool(a.get(CKA.EXTRACTABLE)),
    neverExtractable: bool(a.get(CKA.NEVER_EXTRACTABLE)),
    alwaysSensitive: bool(a.get(CKA.ALWAYS_SENSITIVE)),
    local: bool(a.get(CKA.LOCAL)),
    usage: {
      encrypt: bool(a.get(CKA.ENCRYPT)) ?? false,
      decrypt: bool(a.get(CKA.DECRYPT)) ?? false,
      sign: bool(a.get(CKA.SIGN)) ?? false,
      verify: bool(a.get(CKA.VERIFY)) ?? false,
      wrap: bool(a.get(CKA.WRAP)) ?? false,
      unwrap: bool(a.get(CKA.UNWRAP)) ?? false,
      derive: bool(a.get(CKA.DERIVE)) ?? false,
    },
    bits,
    curve,
    checkValueHex: check && check.length ? check.toString('hex') : null,
  };
}

export function objects(ctx: TokenContext, ref: ObjectRef): RawObject[] {
  return findHandles(ctx, ref).map((h) => describe(ctx, h));
}

export function setLabel(ctx: TokenContext, ref: ObjectRef, newLabel: string): RawObject[] {
  // A key pair shares label and id: relabel both halves together.
  const handles = findHandles(ctx, ref);
  if (handles.length === 0) findOne(ctx, ref);
  for (const h of handles) p11('C_SetAttributeValue', () => ctx.m.p11.C_SetAttributeValue(ctx.session, h, [{ type: CKA.LABEL, value: newLabel }]));
  return handles.map((h) => describe(ctx, h));
}

export function destroy(ctx: TokenContext, ref: ObjectRef): { destroyed: number } {
  const handles = findHandles(ctx, ref);
  if (handles.length === 0) findOne(ctx, ref);
  let destroyed = 0;
  for (const h of handles) {
    p11('C_DestroyObject', () => ctx.m.p11.C_DestroyObject(ctx.session, h));
    destroyed++;
  }
  return { destroyed };
}

// ---------------------------------------------------------------------------------------------
// Capabilities

// Names for every mechanism pkcs11js knows (v2.40), plus the v3.0 ones it lacks (constants.ts).
const PKCS11JS_NAMES = new Map<number, string>(
  Object.entries(pkcs11js as unknown as Record<string, unknown>)
    .filter((e): e is [string, number] => e[0].startsWith('CKM_') && typeof e[1] === 'number')
    .map(([name, value]) => [value, name]),
);

function mechanismName(type: number): string {
  return MECHANISM_NAMES[type] ?? PKCS11JS_NAMES.get(type) ?? `CKM_0x${type.toString(16)}`;
}

export function mechanisms(ctx: TokenContext): MechanismEntry[] {
  const list = p11('C_GetMechanismList', () => ctx.m.p11.C_GetMechanismList(ctx.slot));
  return list.map((type) => {
    let info = { minKeySize: 0, maxKeySize: 0, flags: 0 };
    try {
      info = ctx.m.p11.C_GetMechanismInfo(ctx.slot, type);
    } catch {
      /* listed but not described: keep zeros */
    }
    return { type, name: mechanismName(type), ...info };
  });
}

/** A batch applies a key through a session copy of it when it uses the key at least this often. */
const WORKING_COPY_MIN_USES = 8;

/**
 * A session object, under a label and id no search for the original can match. It stays private
 * like the original: SoftHSM refuses CKA_PRIVATE true → false in C_CopyObject (as it should), and
 * decrypts a private object's value for every C_*Init, which the C baseline's public session keys
 * do not pay (measured: AES-GCM 4 KiB 17–27 µs per item with a private session key, 13–20 µs with
 * a public one).
 */
const WORKING_COPY_TEMPLATE: Template = [
  { type: CKA.TOKEN, value: false },
  { type: CKA.LABEL, value: 'custos batch working copy' },
  { type: CKA.ID, value: Buffer.alloc(0) },
];

/**
 * Session copies of keys that one batch uses many times. SoftHSM's file store re-reads a token
 * object's file on every use: measured here, AES-GCM 4 KiB costs 42 µs per item with the token
 * object and 28 µs with a session copy, and each copy (C_CopyObject + C_DestroyObject) 63 µs. The
 * copy changes only CKA_TOKEN (false), the label and the id (so that no search for the original
 * finds two objects); every other attribute (private, sensitive, non-extractable, usages) is the
 * original's, so it can do nothing the key itself could not. It exists only in the host's
 * session, is destroyed when the batch ends (release, in `finally`), and goes with the session if
 * the host dies. A key the token will not copy (CKA_COPYABLE false, or no C_CopyObject) is used
 * directly. Errors are explained from the original key.
 */
class WorkingCopies {
  private readonly copies = new Map<string, Handle>();

  constructor(private readonly ctx: TokenContext) {}

  /** The handle to use for `uses` operations on `h`. */
  of(h: Handle, uses: number): Handle {
    if (uses < WORKING_COPY_MIN_USES) return h;
    const k = h.toString('hex');
    let copy = this.copies.get(k);
    if (!copy) {
      try {
        copy = this.ctx.m.p11.C_CopyObject(this.ctx.session, h, WORKING_COPY_TEMPLATE);
      } catch {
        copy = h;
      }
      this.copies.set(k, copy);
    }
    return copy;
  }

  release(): void {
    for (const [k, copy] of this.copies) if (copy.toString('hex') !== k) destroyQuietly(this.ctx, copy);
    this.copies.clear();
  }
}

/**
 * Mechanism names are not trusted: NSS's CKM_AES_KEY_WRAP_PAD is PKCS#7-padded KW, not RFC 5649
 * (RFC 5649 is CKM_AES_KEY_WRAP_KWP there). Each candidate must reproduce the RFC vectors, in both
 * directions, with throw-away session keys, before Custos uses it.
 */
export function probeWrap(ctx: TokenContext): WrapProbe {
  const cached = ctx.m.probes.get(`wrap:${ctx.key}`) as WrapProbe | undefined;
  if (cached) return cached;
  const notes: string[] = [];
  type Vector = { kek: string; plaintext: string; ciphertext: string };
  /** Unwraps the vector's ciphertext and re-wraps the result: each direction's verdict. */
  const check = (mech: number, v: Vector): { unwrap: boolean; wrap: boolean } => {
    let kek: Handle | null = null;
    let unwrapped: Handle | null = null;
    const verdict = { unwrap: false, wrap: false };
    try {
      kek = createSecret(ctx, Buffer.from(v.kek, 'hex'), CKK.AES, [
        ...secretFlags({ wrap: true, unwrap: true }),
        { type: CKA.SENSITIVE, value: false },
        { type: CKA.EXTRACTABLE, value: true },
      ]);
      unwrapped = ctx.m.p11.C_UnwrapKey(ctx.session, { mechanism: mech }, kek, Buffer.from(v.ciphertext, 'hex'), [
        { type: CKA.CLASS, value: CKO.SECRET_KEY },
        { type: CKA.KEY_TYPE, value: CKK.GENERIC_SECRET },
        { type: CKA.TOKEN, value: false },
        { type: CKA.PRIVATE, value: false },
        { type: CKA.SENSITIVE, value: false },
        { type: CKA.EXTRACTABLE, value: true },
        { type: CKA.SIGN, value: false },
        { type: CKA.VERIFY, value: false },
        { type: CKA.DERIVE, value: false },
      ]);
      const [value] = ctx.m.p11.C_GetAttributeValue(ctx.session, unwrapped, [{ type: CKA.VALUE }]);
      verdict.unwrap = value?.value.toString('hex') === v.plaintext;
      const rewrapped = ctx.m.p11.C_WrapKey(ctx.session, { mechanism: mech }, kek, unwrapped, Buffer.alloc(v.ciphertext.length / 2 + 16));
      verdict.wrap = rewrapped.toString('hex') === v.ciphertext;
    } catch (e) {
      notes.push(`${MECHANISM_NAMES[mech] ?? mech}: ${p11Failure(e, 'probe').details?.ckr ?? 'failed'} on a ${v.plaintext.length / 2}-byte vector`);
    } finally {
      destroyQuietly(ctx, unwrapped);
      destroyQuietly(ctx, kek);
    }
    return verdict;
  };
  const listed = new Set(p11('C_GetMechanismList', () => ctx.m.p11.C_GetMechanismList(ctx.slot)));
  let aesKw: number | null = null;
  if (listed.has(CKM.AES_KEY_WRAP)) {
    const results = rfc3394.vectors.map((v) => check(CKM.AES_KEY_WRAP, v));
    if (results.every((r) => r.unwrap && r.wrap)) aesKw = CKM.AES_KEY_WRAP;
    else notes.push('CKM_AES_KEY_WRAP is listed but does not reproduce the RFC 3394 vectors; not used');
  }
  let aesKwp: WrapProbe['aesKwp'] = null;
  for (const mech of [CKM.AES_KEY_WRAP_KWP, CKM.AES_KEY_WRAP_PAD]) {
    if (!listed.has(mech)) continue;
    const unaligned = rfc5649.vectors.map((v) => check(mech, v));
    const aligned = kwpAligned.vectors.map((v) => check(mech, v));
    const all = [...unaligned, ...aligned];
    if (!all.every((r) => r.unwrap)) {
      notes.push(`${MECHANISM_NAMES[mech]} is listed but does not read RFC 5649 data; not used for AES-KWP`);
      continue;
    }
    const wrap = all.every((r) => r.wrap) ? 'any' : aligned.every((r) => r.wrap) ? 'aligned' : 'none';
    if (wrap !== 'any') {
      notes.push(
        `${MECHANISM_NAMES[mech]} reads RFC 5649 data but its wrap output is RFC 5649 ${wrap === 'aligned' ? 'only for key data that is a multiple of 8 bytes' : 'in no tested case'}`,
      );
    }
    aesKwp = { mechanism: mech, wrap };
    break;
  }
  const result = { aesKw, aesKwp, notes };
  ctx.m.probes.set(`wrap:${ctx.key}`, result);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Public keys

export function publicKey(ctx: TokenContext, ref: ObjectRef): PublicKeyAttrs {
  const h = findOne(ctx, { ...ref, kind: 'public' });
  const a = readAttrs(ctx, h, [CKA.KEY_TYPE, CKA.MODULUS, CKA.PUBLIC_EXPONENT, CKA.EC_PARAMS, CKA.EC_POINT]);
  const kt = ulong(a.get(CKA.KEY_TYPE));
  if (kt === CKK.RSA) return { keyType: 'rsa', modulus: a.get(CKA.MODULUS)!, publicExponent: a.get(CKA.PUBLIC_EXPONENT)! };
  if (kt === CKK.EC || kt === CKK.EC_EDWARDS) {
    return { keyType: kt === CKK.EC ? 'ec' : 'ed25519', ecParams: a.get(CKA.EC_PARAMS)!, ecPoint: a.get(CKA.EC_POINT)! };
  }
  return fail({ code: 'KEY_TYPE_MISMATCH', message: 'This public key is of a type Custos cannot export yet.', action: 'Export it with the vendor tool.' });
}

export function importPublic(ctx: TokenContext, label: string, idHex: string, attrs: PublicKeyAttrs, usages: KeyUsage[], onToken: boolean): RawObject {
  const tmpl: Template = [
    { type: CKA.CLASS, value: CKO.PUBLIC_KEY },
    { type: CKA.TOKEN, value: onToken },
    { type: CKA.PRIVATE, value: false },
    { type: CKA.LABEL, value: label },
    { type: CKA.ID, value: Buffer.from(idHex, 'hex') },
    ...usageAttrs(usages, 'public'),
  ];
  if (attrs.keyType === 'rsa') {
    tmpl.push({ type: CKA.KEY_TYPE, value: CKK.RSA }, { type: CKA.MODULUS, value: buf(attrs.modulus!) }, { type: CKA.PUBLIC_EXPONENT, value: buf(attrs.publicExponent!) });
  } else {
    tmpl.push(
      { type: CKA.KEY_TYPE, value: attrs.keyType === 'ec' ? CKK.EC : CKK.EC_EDWARDS },
      { type: CKA.EC_PARAMS, value: buf(attrs.ecParams!) },
      { type: CKA.EC_POINT, value: buf(attrs.ecPoint!) },
    );
  }
  const h = p11('C_CreateObject', () => ctx.m.p11.C_CreateObject(ctx.session, tmpl));
  return describe(ctx, h);
}

// ---------------------------------------------------------------------------------------------
// Check values

/**
 * AES: CMAC of one zero block, 5 bytes (ANSI X9.24-1:2017 / PCI PIN 15-1) and the legacy
 * ECB-of-zeros value, 3 bytes. TDES: ECB of zeros, 3 bytes, and TDES-CMAC. Computed inside the
 * HSM. A key whose own usages forbid the computation is copied to a session object that may
 * (C_CopyObject), measured, and the copy destroyed: the key value never leaves the token.
 */
export function checkValue(ctx: TokenContext, ref: ObjectRef): { cmacHex: string | null; ecbHex: string | null; note?: string } {
  const h = findOne(ctx, { ...ref, kind: 'secret' });
  const info = describe(ctx, h);
  if (info.keyType !== 'aes' && info.keyType !== 'tdes') {
    return { cmacHex: null, ecbHex: null, note: 'No check value convention exists for this key type; compare key fingerprints or MACs of agreed data instead.' };
  }
  const block = Buffer.alloc(info.keyType === 'aes' ? 16 : 8);
  const cmacMech = info.keyType === 'aes' ? CKM.AES_CMAC : CKM.DES3_CMAC;
  const ecbMech = info.keyType === 'aes' ? CKM.AES_ECB : CKM.DES3_ECB;
  const compute = (key: Handle) => {
    let cmacHex: string | null = null;
    let ecbHex: string | null = null;
    try {
      ctx.m.p11.C_SignInit(ctx.session, { mechanism: cmacMech }, key);
      cmacHex = ctx.m.p11.C_Sign(ctx.session, block, Buffer.alloc(16)).subarray(0, 5).toString('hex');
    } catch {
      /* not permitted or not supported: try via a copy below */
    }
    try {
      ctx.m.p11.C_EncryptInit(ctx.session, { mechanism: ecbMech }, key);
      ecbHex = ctx.m.p11.C_Encrypt(ctx.session, block, Buffer.alloc(block.length)).subarray(0, 3).toString('hex');
    } catch {
      ecbHex = info.checkValueHex ? info.checkValueHex.slice(0, 6) : null;
    }
    return { cmacHex, ecbHex };
  };
  let result = compute(h);
  if (result.cmacHex === null) {
    let copy: Handle | null = null;
    try {
      copy = ctx.m.p11.C_CopyObject(ctx.session, h, [
        { type: CKA.TOKEN, value: false },
        { type: CKA.SIGN, value: true },
        { type: CKA.ENCRYPT, value: true },
      ]);
      result = { ...compute(copy), ...(result.ecbHex ? { ecbHex: result.ecbHex } : {}) };
    } catch {
      return { ...result, note: 'The token does not allow computing a CMAC check value for this key (its usages forbid it and it cannot be copied).' };
    } finally {
      destroyQuietly(ctx, copy);
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Sign, verify, encrypt, decrypt, random

function mechanismListed(ctx: TokenContext, mech: number): boolean {
  const key = `mechs:${ctx.key}`;
  let set = ctx.m.probes.get(key) as Set<number> | undefined;
  if (!set) {
    set = new Set(p11('C_GetMechanismList', () => ctx.m.p11.C_GetMechanismList(ctx.slot)));
    ctx.m.probes.set(key, set);
  }
  return set.has(mech);
}

// RFC 8017 §9.2 note 1: DER DigestInfo prefixes for EMSA-PKCS1-v1_5 over a host-side hash.
const DIGEST_INFO: Record<string, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
};

interface PreparedSign {
  mechanism: pkcs11js.Mechanism;
  /** Applied to each input before the token signs it (host-side hashing). */
  prepare(data: Buffer): Buffer;
  outLen: number;
}

function signMechanism(ctx: TokenContext, mech: SignMechanism): PreparedSign {
  const hash = (alg: string) => (d: Buffer) => createHash(alg).update(d).digest();
  const same = (d: Buffer) => d;
  switch (mech) {
    case 'ecdsa-sha256':
    case 'ecdsa-sha384':
      // SoftHSM has no CKM_ECDSA_SHA256: hash here, sign the digest with CKM_ECDSA (raw r‖s).
      return { mechanism: { mechanism: CKM.ECDSA }, prepare: hash(mech === 'ecdsa-sha256' ? 'sha256' : 'sha384'), outLen: 132 };
    case 'rsa-pkcs1-sha256':
    case 'rsa-pkcs1-sha384': {
      const alg = mech.endsWith('256') ? 'sha256' : 'sha384';
      const native = alg === 'sha256' ? CKM.SHA256_RSA_PKCS : CKM.SHA384_RSA_PKCS;
      if (mechanismListed(ctx, native)) return { mechanism: { mechanism: native }, prepare: same, outLen: 512 };
      return { mechanism: { mechanism: CKM.RSA_PKCS }, prepare: (d) => Buffer.concat([Buffer.from(DIGEST_INFO[alg]!, 'hex'), hash(alg)(d)]), outLen: 512 };
    }
    case 'rsa-pss-sha256':
    case 'rsa-pss-sha384': {
      const is256 = mech.endsWith('256');
      const parameter = {
        type: pkcs11js.CK_PARAMS_RSA_PSS,
        hashAlg: is256 ? CKM.SHA256 : CKM.SHA384,
        mgf: is256 ? CKG_MGF1.SHA256 : CKG_MGF1.SHA384,
        saltLen: is256 ? 32 : 48,
      } as pkcs11js.RsaPSS;
      const native = is256 ? CKM.SHA256_RSA_PKCS_PSS : CKM.SHA384_RSA_PKCS_PSS;
      if (mechanismListed(ctx, native)) return { mechanism: { mechanism: native, parameter }, prepare: same, outLen: 512 };
      return { mechanism: { mechanism: CKM.RSA_PKCS_PSS, parameter }, prepare: hash(is256 ? 'sha256' : 'sha384'), outLen: 512 };
    }
    case 'ed25519':
      return { mechanism: { mechanism: CKM.EDDSA }, prepare: same, outLen: 64 };
    case 'hmac-sha256':
      return { mechanism: { mechanism: CKM.SHA256_HMAC }, prepare: same, outLen: 32 };
    case 'hmac-sha384':
      return { mechanism: { mechanism: CKM.SHA384_HMAC }, prepare: same, outLen: 48 };
    case 'hmac-sha512':
      return { mechanism: { mechanism: CKM.SHA512_HMAC }, prepare: same, outLen: 64 };
    case 'aes-cmac':
      return { mechanism: { mechanism: CKM.AES_CMAC }, prepare: same, outLen: 16 };
  }
}

const SIGN_KIND: Record<SignMechanism, 'private' | 'secret'> = {
  'ecdsa-sha256': 'private',
  'ecdsa-sha384': 'private',
  'rsa-pkcs1-sha256': 'private',
  'rsa-pkcs1-sha384': 'private',
  'rsa-pss-sha256': 'private',
  'rsa-pss-sha384': 'private',
  ed25519: 'private',
  'hmac-sha256': 'secret',
  'hmac-sha384': 'secret',
  'hmac-sha512': 'secret',
  'aes-cmac': 'secret',
};

export function sign(ctx: TokenContext, ref: ObjectRef, mech: SignMechanism, data: Uint8Array[]): Uint8Array[] {
  const key = findOne(ctx, { ...ref, kind: SIGN_KIND[mech] });
  const prepared = signMechanism(ctx, mech);
  const out: Uint8Array[] = [];
  const scratch = Buffer.alloc(prepared.outLen);
  const copies = new WorkingCopies(ctx);
  let fn = 'C_CopyObject';
  try {
    const use = copies.of(key, data.length);
    const native = prepared.mechanism.parameter === undefined ? nativeBatch(ctx.m, data.length) : null;
    if (native) {
      fn = 'C_Sign';
      const { bytes, ends } = packItems(data.map((d) => prepared.prepare(buf(d))));
      const output = Buffer.alloc(prepared.outLen * data.length);
      return splitOutput(output, native.addon.sign(native.list, ctx.session, use, prepared.mechanism.mechanism, bytes, ends, output));
    }
    for (const d of data) {
      fn = 'C_SignInit';
      ctx.m.p11.C_SignInit(ctx.session, prepared.mechanism, use);
      fn = 'C_Sign';
      out.push(Buffer.from(ctx.m.p11.C_Sign(ctx.session, prepared.prepare(buf(d)), scratch)));
    }
  } catch (e) {
    return fail(keyMisfit(ctx, key, mech, 'sign', p11Failure(e, fn)));
  } finally {
    copies.release();
  }
  return out;
}

export function verify(ctx: TokenContext, ref: ObjectRef, mech: SignMechanism, data: Uint8Array, signature: Uint8Array): { valid: boolean } {
  const kind = SIGN_KIND[mech] === 'private' ? 'public' : 'secret';
  const key = findOne(ctx, { ...ref, kind });
  const prepared = signMechanism(ctx, mech);
  try {
    p11('C_VerifyInit', () => ctx.m.p11.C_VerifyInit(ctx.session, prepared.mechanism, key));
  } catch (e) {
    return fail(keyMisfit(ctx, key, mech, 'verify', p11Failure(e, 'C_VerifyInit')));
  }
  try {
    return { valid: ctx.m.p11.C_Verify(ctx.session, prepared.prepare(buf(data)), buf(signature)) };
  } catch (e) {
    // SoftHSM throws CKR_SIGNATURE_INVALID rather than returning false: both mean "not valid".
    const f = p11Failure(e, 'C_Verify');
    if (f.code === 'SIGNATURE_INVALID') return { valid: false };
    return fail(keyMisfit(ctx, key, mech, 'verify', f));
  }
}

/** Key types each mechanism accepts: to name the real problem when a token answers vaguely. */
const MECHANISM_KEY_TYPES: Record<SignMechanism | CipherMechanism, Array<RawObject['keyType']>> = {
  'ecdsa-sha256': ['ec'],
  'ecdsa-sha384': ['ec'],
  'rsa-pkcs1-sha256': ['rsa'],
  'rsa-pkcs1-sha384': ['rsa'],
  'rsa-pss-sha256': ['rsa'],
  'rsa-pss-sha384': ['rsa'],
  ed25519: ['ed25519'],
  'hmac-sha256': ['generic-secret'],
  'hmac-sha384': ['generic-secret'],
  'hmac-sha512': ['generic-secret'],
  'aes-cmac': ['aes'],
  'aes-gcm': ['aes'],
  'rsa-oaep-sha1': ['rsa'],
  'rsa-oaep-sha256': ['rsa'],
};

/**
 * A failed operation on a key of the wrong type or without the usage, as a typed error. Tokens
 * answer these differently: SoftHSM says CKR_GENERAL_ERROR for a wrong key type (and for ECDSA
 * with an RSA key), NSS says CKR_KEY_TYPE_INCONSISTENT for a missing usage. Only inspected after a
 * failure, so the common path costs nothing.
 */
function keyMisfit(ctx: TokenContext, key: Handle, mech: SignMechanism | CipherMechanism, usage: keyof RawObject['usage'], f: AppError): AppError {
  if (f.code !== 'DEVICE_ERROR' && f.code !== 'KEY_TYPE_MISMATCH' && f.code !== 'KEY_USAGE_NOT_PERMITTED') return f;
  let info: RawObject;
  try {
    info = describe(ctx, key);
  } catch {
    return f;
  }
  const allowed = MECHANISM_KEY_TYPES[mech];
  const details = { ...(f.details ?? {}), mechanism: mech, keyType: info.keyType ?? 'unknown' };
  if (!allowed.includes(info.keyType)) {
    return {
      code: 'KEY_TYPE_MISMATCH',
      message: `${mech} needs a key of type ${allowed.join(' or ')}; this key is of type ${info.keyType ?? 'unknown'}.`,
      action: `Choose a key of the right type for ${mech}, or an algorithm that fits this key.`,
      details,
    };
  }
  if (!info.usage[usage]) {
    return {
      code: 'KEY_USAGE_NOT_PERMITTED',
      message: `The key was created without permission to ${usage}.`,
      action: 'Use a key generated for this purpose; key usages cannot be widened after generation.',
      details,
    };
  }
  return f;
}

const GCM_TAG_BITS = 128;

function gcmParams(iv: Buffer, aad?: Uint8Array): pkcs11js.Mechanism {
  // pkcs11js: CK_PARAMS_GCM (v2.40 layout) with tagBits; CK_PARAMS_AES_GCM is buggy (DESIGN.md).
  return {
    mechanism: CKM.AES_GCM,
    parameter: { type: pkcs11js.CK_PARAMS_GCM, iv, ivBits: 96, aad: aad ? buf(aad) : Buffer.alloc(0), tagBits: GCM_TAG_BITS } as pkcs11js.GcmParams,
  };
}

const oaepParams = (mech: 'rsa-oaep-sha1' | 'rsa-oaep-sha256'): pkcs11js.Mechanism => oaepMechanism(mech === 'rsa-oaep-sha1' ? 'sha1' : 'sha256');

export function random(ctx: TokenContext, length: number): Uint8Array {
  return Buffer.from(p11('C_GenerateRandom', () => ctx.m.p11.C_GenerateRandom(ctx.session, Buffer.alloc(length))));
}

let scratch: Buffer | null = null;

/** A reusable output buffer for native batches (ciphertexts only: nothing secret is left in it). */
function outputScratch(length: number): Buffer {
  if (!scratch || scratch.length < length) scratch = Buffer.alloc(Math.max(length, 64 * 1024));
  return scratch.subarray(0, length);
}

export function encrypt(ctx: TokenContext, ref: ObjectRef, mech: CipherMechanism, data: Uint8Array[], aad?: Uint8Array): Array<{ iv: Uint8Array | null; ciphertext: Uint8Array }> {
  const out: Array<{ iv: Uint8Array | null; ciphertext: Uint8Array }> = [];
  if (mech === 'aes-gcm') {
    const key = findOne(ctx, { ...ref, kind: 'secret' });
    // A fresh 96-bit IV from the token's RNG for every message (NIST SP 800-38D §8.2.2), drawn for
    // the whole batch in one call; ciphertexts are slices of one buffer (no copy; IPC sends only
    // each slice's bytes).
    const ivs = Buffer.from(random(ctx, 12 * Math.max(1, data.length)));
    const outLength = data.reduce((n, d) => n + d.length + 16, 0);
    let off = 0;
    // One mechanism object for the batch; only its IV changes (pkcs11js reads it at C_EncryptInit).
    const params = gcmParams(ivs.subarray(0, 12), aad);
    const gcm = params.parameter as pkcs11js.GcmParams;
    const copies = new WorkingCopies(ctx);
    let fn = 'C_CopyObject';
    try {
      const use = copies.of(key, data.length);
      const native = nativeBatch(ctx.m, data.length);
      if (native) {
        fn = 'C_Encrypt';
        const { bytes, ends } = packItems(data);
        // Ciphertexts go into a buffer kept for the next batch: a fresh one would take a page
        // fault per 4 KiB inside the loop. The result is copied out (arena or message) before
        // the next request is read, as the host handles one request at a time.
        const out = outputScratch(outLength);
        const outEnds = native.addon.gcmEncrypt(native.list, ctx.session, use, ivs, aad ?? new Uint8Array(0), GCM_TAG_BITS, bytes, ends, out);
        return splitOutput(out, outEnds).map((ciphertext, i) => ({ iv: ivs.subarray(12 * i, 12 * i + 12), ciphertext }));
      }
      const slab = Buffer.alloc(outLength);
      for (let i = 0; i < data.length; i++) {
        const d = data[i]!;
        const iv = ivs.subarray(12 * i, 12 * i + 12);
        gcm.iv = iv;
        fn = 'C_EncryptInit';
        ctx.m.p11.C_EncryptInit(ctx.session, params, use);
        fn = 'C_Encrypt';
        const ct = ctx.m.p11.C_Encrypt(ctx.session, buf(d), slab.subarray(off, off + d.length + 16));
        off += ct.length;
        out.push({ iv, ciphertext: ct });
      }
    } catch (e) {
      return fail(keyMisfit(ctx, key, mech, 'encrypt', p11Failure(e, fn)));
    } finally {
      copies.release();
    }
    return out;
  }
  const key = findOne(ctx, { ...ref, kind: 'public' });
  // RFC 8017 §7.1.1: at most k − 2·hLen − 2 bytes. Checked here because SoftHSM answers longer
  // input with CKR_GENERAL_ERROR rather than CKR_DATA_LEN_RANGE.
  const k = readAttrs(ctx, key, [CKA.MODULUS]).get(CKA.MODULUS)?.length ?? 0;
  const max = k - 2 * (mech === 'rsa-oaep-sha1' ? 20 : 32) - 2;
  const tooLong = k > 0 ? data.find((d) => d.length > max) : undefined;
  if (tooLong) {
    return fail({
      code: 'DATA_TOO_LARGE',
      message: `RSA-OAEP (${mech}) with this ${k * 8}-bit key can encrypt at most ${max} bytes; this is ${tooLong.length} bytes.`,
      action: 'Encrypt a key (for example an AES key) with RSA-OAEP and the data with that key, or use a larger RSA key.',
      details: { maxBytes: max, bytes: tooLong.length },
    });
  }
  try {
    for (const d of data) {
      oaepCall(mech, 'C_EncryptInit', () => ctx.m.p11.C_EncryptInit(ctx.session, oaepParams(mech), key));
      out.push({ iv: null, ciphertext: Buffer.from(p11('C_Encrypt', () => ctx.m.p11.C_Encrypt(ctx.session, buf(d), Buffer.alloc(1024)))) });
    }
  } catch (e) {
    return fail(keyMisfit(ctx, key, mech, 'encrypt', p11Failure(e, 'C_Encrypt')));
  }
  return out;
}

export function decrypt(ctx: TokenContext, ref: ObjectRef, mech: CipherMechanism, ciphertext: Uint8Array, iv?: Uint8Array, aad?: Uint8Array): { plaintext: Uint8Array } {
  if (mech === 'aes-gcm') {
    if (!iv || iv.length !== 12) return fail({ code: 'DATA_INVALID', message: 'AES-GCM decryption needs the 12-byte IV that came with the ciphertext.', action: 'Give the IV produced at encryption.' });
    const key = findOne(ctx, { ...ref, kind: 'secret' });
    try {
      p11('C_DecryptInit', () => ctx.m.p11.C_DecryptInit(ctx.session, gcmParams(buf(iv), aad), key));
    } catch (e) {
      return fail(keyMisfit(ctx, key, mech, 'decrypt', p11Failure(e, 'C_DecryptInit')));
    }
    try {
      return { plaintext: Buffer.from(ctx.m.p11.C_Decrypt(ctx.session, buf(ciphertext), Buffer.alloc(ciphertext.length))) };
    } catch (e) {
      const f = p11Failure(e, 'C_Decrypt');
      // SoftHSM reports a GCM tag mismatch as CKR_GENERAL_ERROR: in this call it means tampering or a wrong key.
      if (f.code === 'DEVICE_ERROR' || f.code === 'DECRYPTION_FAILED' || f.code === 'DATA_INVALID') {
        return fail({ code: 'DECRYPTION_FAILED', message: 'The data could not be decrypted: the authentication tag does not match (wrong key, wrong IV or additional data, or the data was altered).', action: 'Check the key, IV and additional data; if they are right, the data was altered — do not use it.', details: f.details ?? {} });
      }
      return fail(f);
    }
  }
  const key = findOne(ctx, { ...ref, kind: 'private' });
  try {
    oaepCall(mech, 'C_DecryptInit', () => ctx.m.p11.C_DecryptInit(ctx.session, oaepParams(mech), key));
  } catch (e) {
    return fail(keyMisfit(ctx, key, mech, 'decrypt', p11Failure(e, 'C_DecryptInit')));
  }
  try {
    return { plaintext: Buffer.from(ctx.m.p11.C_Decrypt(ctx.session, buf(ciphertext), Buffer.alloc(1024))) };
  } catch (e) {
    const f = p11Failure(e, 'C_Decrypt');
    if (f.code === 'DEVICE_ERROR' || f.code === 'DATA_INVALID' || f.code === 'DATA_TOO_LARGE') {
      return fail({ code: 'DECRYPTION_FAILED', message: 'The data could not be decrypted with this RSA key (wrong key, wrong OAEP hash, or altered data).', action: 'Check the key and algorithm; if they are right, the data was altered.', details: f.details ?? {} });
    }
    return fail(f);
  }
}

// ---------------------------------------------------------------------------------------------
// Wrap and unwrap

/**
 * The trusted RFC 5649 mechanism for this direction. For wrapping, `keyBytes` is the length of the
 * key data when it is known (secret keys): a token whose output is RFC 5649 only for aligned data
 * may still wrap an AES key, never a private key (its PKCS#8 encoding has any length).
 */
function kwpMechanism(ctx: TokenContext, direction: 'wrap' | 'unwrap', keyBytes?: number | null): number {
  const probe = probeWrap(ctx);
  const kwp = probe.aesKwp;
  const usable =
    kwp !== null &&
    (direction === 'unwrap' || kwp.wrap === 'any' || (kwp.wrap === 'aligned' && keyBytes !== undefined && keyBytes !== null && keyBytes % 8 === 0));
  if (!usable) {
    return fail({
      code: 'WRAP_MECHANISM_UNTRUSTED',
      message:
        kwp === null
          ? 'This token has no AES key wrap with padding that reproduces the RFC 5649 test vectors.'
          : "This token's AES-KWP output is standard (RFC 5649) only for keys whose length is a multiple of 8 bytes, and this key is not one of them.",
      action: 'Wrap this key on another token, or use RSA-OAEP transport for it; data wrapped here could not be read by other tools.',
      details: { notes: probe.notes.join('; ') },
    });
  }
  return kwp!.mechanism;
}

function kwMechanism(ctx: TokenContext): number {
  const probe = probeWrap(ctx);
  if (probe.aesKw === null) {
    return fail({ code: 'WRAP_MECHANISM_UNTRUSTED', message: 'This token has no AES key wrap that reproduces the RFC 3394 test vectors.', action: 'Use another wrap mechanism or token.', details: { notes: probe.notes.join('; ') } });
  }
  return probe.aesKw;
}

/**
 * What wrap needs to know of a target, in one C_GetAttributeValue: whether it may leave the token,
 * and the byte length of a secret key's value (null for private keys, whose wrapped form is PKCS#8).
 * Not describe(): its 23-attribute read fails on every key that lacks one of them (a secret key has
 * no CKA_MODULUS...) and falls back to 23 single reads, ~3 ms a key on SoftHSM token objects.
 */
function wrapTarget(ctx: TokenContext, h: Handle): { extractable: boolean | null; secretBytes: number | null; maxBytes: number | null } {
  // A private key has no CKA_VALUE_LEN: readAttrs then asks singly (private keys only).
  const a = readAttrs(ctx, h, [CKA.CLASS, CKA.KEY_TYPE, CKA.EXTRACTABLE, CKA.VALUE_LEN]);
  const extractable = bool(a.get(CKA.EXTRACTABLE));
  if (ulong(a.get(CKA.CLASS)) !== CKO.SECRET_KEY) return { extractable, secretBytes: null, maxBytes: null };
  const len = ulong(a.get(CKA.VALUE_LEN));
  if (len) return { extractable, secretBytes: len, maxBytes: len };
  // SoftHSM 2.6 reports CKA_VALUE_LEN 0 for every key it unwrapped (and refuses it in the unwrap
  // template). AES keys (16, 24 or 32 bytes) and DES3 keys (24) are whole 8-byte blocks anyway:
  // secretBytes stands for the alignment, maxBytes bounds the wrapped size.
  const kt = ulong(a.get(CKA.KEY_TYPE));
  if (kt === CKK.AES) return { extractable, secretBytes: 16, maxBytes: 32 };
  if (kt === CKK.DES3) return { extractable, secretBytes: 24, maxBytes: 24 };
  return { extractable, secretBytes: null, maxBytes: null };
}

const ephemeralAesTemplate: Template = [
  { type: CKA.CLASS, value: CKO.SECRET_KEY },
  { type: CKA.KEY_TYPE, value: CKK.AES },
  { type: CKA.TOKEN, value: false },
  { type: CKA.PRIVATE, value: true },
  { type: CKA.SENSITIVE, value: true },
  { type: CKA.EXTRACTABLE, value: true },
  { type: CKA.VALUE_LEN, value: 32 },
  ...secretFlags({ wrap: true, unwrap: true }),
];

export function wrap(ctx: TokenContext, wrappingRef: ObjectRef, targets: ObjectRef[], mech: WrapMechanism): Uint8Array[] {
  // Each distinct target is found and inspected once, however often the batch names it.
  const distinct = new Map<string, { h: Handle; secretBytes: number | null; maxBytes: number | null; uses: number; use?: Handle; mechanism?: pkcs11js.Mechanism }>();
  const resolved = targets.map((t) => {
    const k = `${t.idHex ?? ''}\u0001${t.label ?? '\u0002'}\u0001${t.kind ?? ''}`;
    let r = distinct.get(k);
    if (!r) {
      const h = findOne(ctx, { ...t, kind: t.kind ?? undefined });
      const info = wrapTarget(ctx, h);
      // NSS's softoken (3.87) wraps keys whose CKA_EXTRACTABLE is false, with AES-KW and RSA-OAEP
      // alike: the host enforces the attribute itself, for every token.
      if (info.extractable === false) {
        fail({
          code: 'KEY_NOT_EXTRACTABLE',
          message: `The ${describeRef(t)} was created non-extractable: it cannot leave the token, not even wrapped.`,
          action: 'Only keys generated as extractable can be wrapped; generate a new, extractable key if it must be exported.',
          details: { ckr: 'CKR_KEY_UNEXTRACTABLE', function: 'C_WrapKey' },
        });
      }
      distinct.set(k, (r = { h, secretBytes: info.secretBytes, maxBytes: info.maxBytes, uses: 0 }));
    }
    r.uses++;
    return r;
  });
  const out: Uint8Array[] = [];
  const scratch = Buffer.alloc(8192);
  if (mech === 'aes-kw' || mech === 'aes-kwp') {
    const kek = findOne(ctx, { ...wrappingRef, kind: 'secret' });
    const copies = new WorkingCopies(ctx);
    try {
      const useKek = copies.of(kek, resolved.length);
      const native = resolved.every((r) => r.maxBytes !== null) ? nativeBatch(ctx.m, resolved.length) : null;
      if (native) {
        // One mechanism for the whole batch, once every distinct target passed its length check.
        const distinctTargets = [...new Set(resolved)];
        const m = mech === 'aes-kw' ? kwMechanism(ctx) : distinctTargets.map((r) => kwpMechanism(ctx, 'wrap', r.secretBytes))[0]!;
        const handles = Buffer.concat(resolved.map((r) => (r.use ??= copies.of(r.h, r.uses))));
        // RFC 3394/5649 output: the key rounded up to whole 8-byte blocks, plus one block.
        const output = Buffer.alloc(resolved.reduce((n, r) => n + Math.ceil(r.maxBytes! / 8) * 8 + 8, 0));
        return splitOutput(output, native.addon.wrap(native.list, ctx.session, m, useKek, handles, output));
      }
      for (const r of resolved) {
        r.mechanism ??= { mechanism: mech === 'aes-kw' ? kwMechanism(ctx) : kwpMechanism(ctx, 'wrap', r.secretBytes) };
        r.use ??= copies.of(r.h, r.uses);
        out.push(Buffer.from(ctx.m.p11.C_WrapKey(ctx.session, r.mechanism, useKek, r.use, scratch)));
      }
    } catch (e) {
      return fail(p11Failure(e, 'C_WrapKey'));
    } finally {
      copies.release();
    }
    return out;
  }
  const rsaPub = findOne(ctx, { ...wrappingRef, kind: 'public' });
  if (mech === 'rsa-oaep-sha1' || mech === 'rsa-oaep-sha256') {
    for (const { h } of resolved) out.push(Buffer.from(oaepCall(mech, 'C_WrapKey', () => ctx.m.p11.C_WrapKey(ctx.session, oaepParams(mech), rsaPub, h, scratch))));
    return out;
  }
  // CKM_RSA_AES_KEY_WRAP layout (PKCS#11 v2.40 §2.1.21): OAEP(ephemeral AES key) ‖ KWP(target).
  // pkcs11js has no parameter type for the native mechanism, so it is always composed from the
  // two steps here, inside the token; the ephemeral key is a session object destroyed at once.
  const oaep = oaepParams(mech === 'rsa-aes-kwp-sha1' ? 'rsa-oaep-sha1' : 'rsa-oaep-sha256');
  for (const { h, secretBytes } of resolved) {
    const kwp = kwpMechanism(ctx, 'wrap', secretBytes);
    let eph: Handle | null = null;
    try {
      eph = p11('C_GenerateKey', () => ctx.m.p11.C_GenerateKey(ctx.session, { mechanism: CKM.AES_KEY_GEN }, ephemeralAesTemplate));
      const wrappedTarget = Buffer.from(p11('C_WrapKey', () => ctx.m.p11.C_WrapKey(ctx.session, { mechanism: kwp }, eph!, h, scratch)));
      let wrappedEph: Buffer;
      try {
        wrappedEph = Buffer.from(ctx.m.p11.C_WrapKey(ctx.session, oaep, rsaPub, eph, scratch));
      } catch (e) {
        const f = p11Failure(e, 'C_WrapKey');
        if (mech !== 'rsa-aes-kwp-sha256' || !oaepUnsupported(f)) return fail(f);
        destroyQuietly(ctx, eph);
        eph = null;
        out.push(composeOaepOnHost(ctx, rsaPub, h, kwp, scratch));
        continue;
      }
      out.push(Buffer.concat([wrappedEph, wrappedTarget]));
    } finally {
      destroyQuietly(ctx, eph);
    }
  }
  return out;
}

/** An OAEP call whose "bad arguments" answer is translated: the token lacks that OAEP hash. */
function oaepCall<T>(mech: string, fn: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    const f = p11Failure(e, fn);
    if (mech.includes('sha256') && oaepUnsupported(f)) {
      return fail({
        code: 'MECHANISM_UNSUPPORTED',
        message: 'This token does RSA-OAEP only with SHA-1, not SHA-256.',
        action: 'Choose the SHA-1 variant (still safe for OAEP), or use a token that supports OAEP with SHA-256.',
        details: f.details ?? {},
      });
    }
    return fail(f);
  }
}

/** SoftHSM (among others) does RSA-OAEP only with SHA-1 and answers other hashes with CKR_ARGUMENTS_BAD. */
function oaepUnsupported(f: { code: string; details?: Record<string, unknown> }): boolean {
  return f.code === 'MECHANISM_UNSUPPORTED' || f.details?.ckr === 'CKR_ARGUMENTS_BAD';
}

/**
 * RSA-OAEP-SHA256 + AES-KWP for a token that lacks OAEP with SHA-256. The ephemeral AES key comes
 * from the token's RNG, is imported as a session object to KWP-wrap the target inside the token,
 * and is OAEP-encrypted here with the (public) RSA key; its bytes are zeroised straight after.
 * The target key never leaves the token unwrapped.
 */
function composeOaepOnHost(ctx: TokenContext, rsaPub: Handle, target: Handle, kwp: number, scratch: Buffer): Buffer {
  const a = readAttrs(ctx, rsaPub, [CKA.MODULUS, CKA.PUBLIC_EXPONENT]);
  const n = a.get(CKA.MODULUS);
  const e = a.get(CKA.PUBLIC_EXPONENT);
  if (!n || !e) return fail({ code: 'KEY_TYPE_MISMATCH', message: 'The wrapping key is not an RSA public key.', action: 'Choose an RSA public key (for example the one a cloud KMS gave you for import).' });
  const ephValue = Buffer.from(random(ctx, 32));
  let eph: Handle | null = null;
  try {
    eph = createSecret(ctx, ephValue, CKK.AES, [...secretFlags({ wrap: true }), { type: CKA.SENSITIVE, value: true }, { type: CKA.EXTRACTABLE, value: false }], true);
    const wrappedTarget = Buffer.from(p11('C_WrapKey', () => ctx.m.p11.C_WrapKey(ctx.session, { mechanism: kwp }, eph!, target, scratch)));
    const key = createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
    const wrappedEph = publicEncrypt({ key, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, ephValue);
    return Buffer.concat([wrappedEph, wrappedTarget]);
  } finally {
    ephValue.fill(0);
    destroyQuietly(ctx, eph);
  }
}

function unwrapTemplate(t: UnwrapTemplate): Template {
  const keyType = { aes: CKK.AES, 'generic-secret': CKK.GENERIC_SECRET, tdes: CKK.DES3, rsa: CKK.RSA, ec: CKK.EC, ed25519: CKK.EC_EDWARDS }[t.keyType];
  return [
    { type: CKA.CLASS, value: t.kind === 'secret' ? CKO.SECRET_KEY : CKO.PRIVATE_KEY },
    { type: CKA.KEY_TYPE, value: keyType },
    { type: CKA.TOKEN, value: t.onToken },
    { type: CKA.PRIVATE, value: true },
    { type: CKA.LABEL, value: t.label },
    { type: CKA.ID, value: Buffer.from(t.idHex, 'hex') },
    { type: CKA.SENSITIVE, value: true },
    { type: CKA.EXTRACTABLE, value: t.extractable },
    ...usageAttrs(t.usages, t.kind),
  ];
}

export function unwrap(ctx: TokenContext, unwrappingRef: ObjectRef, wrapped: Uint8Array, mech: WrapMechanism, template: UnwrapTemplate): RawObject {
  try {
    return unwrapWith(ctx, unwrappingRef, wrapped, mech, template);
  } catch (e) {
    const f = p11Failure(e, 'C_UnwrapKey');
    // SoftHSM answers a failed AES-KW/KWP integrity check and a bad RSA-OAEP block with
    // CKR_GENERAL_ERROR (NSS: CKR_WRAPPED_KEY_INVALID). In C_UnwrapKey it means the wrapped data.
    // Random garbage sometimes yields CKR_FUNCTION_FAILED or a data-length error instead.
    if (['DEVICE_ERROR', 'FUNCTION_FAILED', 'DATA_INVALID', 'DATA_TOO_LARGE'].includes(f.code) && f.details?.function === 'C_UnwrapKey') {
      return fail({
        code: 'WRAPPED_KEY_INVALID',
        message: 'The wrapped key could not be unwrapped: the unwrapping key is not the one it was wrapped with, the mechanism differs, or the data was altered.',
        action: 'Check the unwrapping key and mechanism, and that the wrapped key was copied completely.',
        details: f.details,
      });
    }
    return fail(f);
  }
}

function unwrapWith(ctx: TokenContext, unwrappingRef: ObjectRef, wrapped: Uint8Array, mech: WrapMechanism, template: UnwrapTemplate): RawObject {
  const tmpl = unwrapTemplate(template);
  if (mech === 'aes-kw' || mech === 'aes-kwp') {
    const kek = findOne(ctx, { ...unwrappingRef, kind: 'secret' });
    const m = mech === 'aes-kw' ? kwMechanism(ctx) : kwpMechanism(ctx, 'unwrap');
    return describe(ctx, p11('C_UnwrapKey', () => ctx.m.p11.C_UnwrapKey(ctx.session, { mechanism: m }, kek, buf(wrapped), tmpl)));
  }
  const rsaPriv = findOne(ctx, { ...unwrappingRef, kind: 'private' });
  if (mech === 'rsa-oaep-sha1' || mech === 'rsa-oaep-sha256') {
    return describe(ctx, oaepCall(mech, 'C_UnwrapKey', () => ctx.m.p11.C_UnwrapKey(ctx.session, oaepParams(mech), rsaPriv, buf(wrapped), tmpl)));
  }
  const oaep = oaepParams(mech === 'rsa-aes-kwp-sha1' ? 'rsa-oaep-sha1' : 'rsa-oaep-sha256');
  // The private key has no CKA_MODULUS_BITS on every token; its CKA_MODULUS length is the size.
  const modulusBytes = readAttrs(ctx, rsaPriv, [CKA.MODULUS]).get(CKA.MODULUS)?.length ?? 0;
  if (!modulusBytes || wrapped.length <= modulusBytes + 8) {
    return fail({ code: 'WRAPPED_KEY_INVALID', message: 'The wrapped key is too short for RSA-OAEP + AES-KWP under this RSA key.', action: 'Check that the file is complete and that you chose the right unwrapping key.' });
  }
  let eph: Handle | null = null;
  try {
    const ephTmpl = ephemeralAesTemplate.filter((a) => a.type !== CKA.VALUE_LEN);
    eph = oaepCall(mech, 'C_UnwrapKey', () => ctx.m.p11.C_UnwrapKey(ctx.session, oaep, rsaPriv, buf(wrapped.subarray(0, modulusBytes)), ephTmpl));
    const kwp = kwpMechanism(ctx, 'unwrap');
    return describe(ctx, p11('C_UnwrapKey', () => ctx.m.p11.C_UnwrapKey(ctx.session, { mechanism: kwp }, eph!, buf(wrapped.subarray(modulusBytes)), tmpl)));
  } finally {
    destroyQuietly(ctx, eph);
  }
}

export const newKeyId = (): string => randomBytes(16).toString('hex');
export { HostFailure };
