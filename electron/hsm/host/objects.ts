// Finding and reading objects on a token, inside the HSM host process. Objects are named by CKA_ID
// and/or label and kind (ObjectRef), never by handle: handles are per session. findOne keeps a
// small cache of handles per session (below); every other key operation finds its keys here.
import type { ObjectRef, PublicKeyAttrs, RawObject, RestrictResult } from '../protocol';
import { CKA, CKK, CKO, CURVE_OIDS } from '../protocol/constants';
import { fail, p11, p11Failure } from './failure';
import type { TokenContext } from './session';
import type { Handle, Template } from './templates';

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

/** How an error names the object a ref asked for. */
export function describeRef(ref: ObjectRef): string {
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

/** The attributes the token will reveal, asked together (or singly when one of them fails the call). */
export function readAttrs(ctx: TokenContext, h: Handle, types: number[]): Map<number, Buffer> {
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

export const ulong = (b: Buffer | undefined): number | null => (b && b.length ? b.readUIntLE(0, Math.min(6, b.length)) : null);
export const bool = (b: Buffer | undefined): boolean | null => (b && b.length ? b[0] !== 0 : null);

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
  // Read apart from the rest: they are not valid for every class, and one invalid attribute makes
  // a token refuse the whole read (which would then go attribute by attribute).
  const trust = kind === 'secret' ? readAttrs(ctx, h, [CKA.WRAP_WITH_TRUSTED, CKA.TRUSTED]) : kind === 'private' ? readAttrs(ctx, h, [CKA.WRAP_WITH_TRUSTED]) : kind === 'public' ? readAttrs(ctx, h, [CKA.TRUSTED]) : new Map<number, Buffer>();
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
    wrapWithTrusted: bool(trust.get(CKA.WRAP_WITH_TRUSTED)),
    trusted: bool(trust.get(CKA.TRUSTED)),
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

/**
 * A rotated-out version keeps processing (decrypt, verify, unwrap) but stops protecting: SP 800-57
 * Pt 1 §5.3.4 ends the originator-usage period at deactivation. PKCS#11 v2.40 §4.4 lets CKA_ENCRYPT,
 * CKA_SIGN and CKA_WRAP be changed to CK_FALSE on a modifiable object; a token may still refuse
 * (CKA_MODIFIABLE false, CKR_ATTRIBUTE_READ_ONLY, CKR_ACTION_PROHIBITED), so each attribute is set
 * on its own and a refusal is reported to the caller, who records it, instead of failing halfway.
 * CKA_DERIVE is left alone: a static key-agreement key derives to read old messages too.
 */
export function restrictUsage(ctx: TokenContext, ref: ObjectRef): RestrictResult {
  const handles = findHandles(ctx, ref);
  if (handles.length === 0) findOne(ctx, ref);
  const refused: RestrictResult['refused'] = [];
  const ATTRS = [
    ['encrypt', CKA.ENCRYPT],
    ['sign', CKA.SIGN],
    ['wrap', CKA.WRAP],
  ] as const;
  for (const h of handles) {
    const before = describe(ctx, h);
    for (const [name, type] of ATTRS) {
      if (!before.usage[name]) continue;
      try {
        ctx.m.p11.C_SetAttributeValue(ctx.session, h, [{ type, value: false }]);
      } catch (e) {
        refused.push({ kind: before.kind, attribute: name, ckr: String(p11Failure(e, 'C_SetAttributeValue').details?.ckr ?? 'unknown') });
      }
    }
  }
  return { objects: handles.map((h) => describe(ctx, h)), refused };
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

/** The public half's attributes, for export (SPKI, PEM and JWK are built in the main process). */
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
