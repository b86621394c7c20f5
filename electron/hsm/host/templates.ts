// PKCS#11 attribute templates shared by the HSM host's key operations (generate, probe, wrap, ...)
// and sealing (sealing.ts). Every usage attribute is set explicitly: SoftHSM, among others,
// defaults unset CKA_SIGN/CKA_WRAP/... to true (DESIGN.md).
import * as pkcs11js from 'pkcs11js';
import { KEY_TYPES, type KeyTypeName } from '../../../shared/keys';
import type { KeyUsage, UnwrapTemplate } from '../protocol';
import { CKA, CKK, CKO } from '../protocol/constants';
import { fail, p11 } from './failure';
import type { TokenContext } from './session';

export type Template = pkcs11js.Template;
export type Handle = Buffer;

/** The same bytes as a Buffer, without a copy (pkcs11js wants Buffers). */
export const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export function destroyQuietly(ctx: TokenContext, h: Handle | null | undefined): void {
  if (!h) return;
  try {
    ctx.m.p11.C_DestroyObject(ctx.session, h);
  } catch {
    /* a session object goes with its session anyway */
  }
}

const ALLOWED_USAGES = new Map<KeyTypeName, readonly KeyUsage[]>(KEY_TYPES.map((k) => [k.type, k.usages]));

/** The usages a key type may have: the ones the app and the CLI offer (shared/keys.ts KEY_TYPES), enforced here as well. */
export function allowedUsages(type: KeyTypeName): readonly KeyUsage[] {
  return ALLOWED_USAGES.get(type) ?? [];
}

/** Refuses a key with no usage, or with one its type cannot have, naming the ones it can. */
export function checkUsages(type: string, usages: KeyUsage[], allowed: readonly KeyUsage[]): void {
  const bad = usages.filter((u) => !allowed.includes(u));
  if (bad.length || usages.length === 0) {
    fail({
      code: 'TEMPLATE_INVALID',
      message: usages.length === 0 ? 'A key needs at least one usage.' : `A ${type} key cannot be used for ${bad.join(', ')}.`,
      action: `Choose from: ${allowed.join(', ')}.`,
    });
  }
}

type SecretFlag = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'wrap' | 'unwrap' | 'derive';

/** All seven usage attributes of a secret key (PKCS#11 v2.40 §4.10), each false unless given. */
export function secretFlags(flags: Partial<Record<SecretFlag, boolean>>): Template {
  return [
    { type: CKA.ENCRYPT, value: flags.encrypt ?? false },
    { type: CKA.DECRYPT, value: flags.decrypt ?? false },
    { type: CKA.SIGN, value: flags.sign ?? false },
    { type: CKA.VERIFY, value: flags.verify ?? false },
    { type: CKA.WRAP, value: flags.wrap ?? false },
    { type: CKA.UNWRAP, value: flags.unwrap ?? false },
    { type: CKA.DERIVE, value: flags.derive ?? false },
  ];
}

export function usageAttrs(usages: KeyUsage[], kind: 'secret' | 'private' | 'public'): Template {
  const has = (u: KeyUsage) => usages.includes(u);
  // Only the attributes valid for the object class (PKCS#11 v2.40 §4.8–4.10): SoftHSM rejects
  // CKA_DECRYPT on a public key with CKR_ATTRIBUTE_TYPE_INVALID, and defaults any unset one to true.
  const pub: Template = [
    { type: CKA.ENCRYPT, value: has('encrypt') },
    { type: CKA.VERIFY, value: has('sign') },
    { type: CKA.VERIFY_RECOVER, value: false },
    { type: CKA.WRAP, value: has('wrap') },
    { type: CKA.DERIVE, value: has('derive') },
  ];
  const priv: Template = [
    { type: CKA.DECRYPT, value: has('encrypt') },
    { type: CKA.SIGN, value: has('sign') },
    { type: CKA.SIGN_RECOVER, value: false },
    { type: CKA.UNWRAP, value: has('wrap') },
    { type: CKA.DERIVE, value: has('derive') },
  ];
  if (kind === 'public') return pub;
  if (kind === 'private') return priv;
  return secretFlags({
    encrypt: has('encrypt'),
    decrypt: has('encrypt'),
    sign: has('sign'),
    verify: has('sign'),
    wrap: has('wrap'),
    unwrap: has('wrap'),
    derive: has('derive'),
  });
}

// ---------------------------------------------------------------------------------------------
// Key templates: class, key type, where the object lives, how it is protected, and its usages.
// Every key the host creates is built from these, so no template can forget an attribute.

/** Where a new key lives, and the label and CKA_ID a ref finds it by (transient keys have neither). */
export interface Placement {
  /** false: a session object, gone when the session ends (transport, probe and content keys). */
  onToken: boolean;
  label?: string;
  idHex?: string;
}

/** How a secret or private key is protected. */
export interface Protection {
  /** CKA_PRIVATE: visible only after login, as custodial keys must be; probe keys are public so that a probe needs no login. */
  privateObject: boolean;
  /** CKA_SENSITIVE: the value can never be read in plaintext. */
  sensitive: boolean;
  /** CKA_EXTRACTABLE: with sensitive, the key may leave the token wrapped, never in plaintext. */
  extractable: boolean;
  /** CKA_WRAP_WITH_TRUSTED: only a CKA_TRUSTED key may wrap it (set only when asked; it can never be cleared). */
  wrapWithTrusted?: boolean;
}

function placed(keyClass: number, keyType: number, p: Placement): Template {
  return [
    { type: CKA.CLASS, value: keyClass },
    { type: CKA.KEY_TYPE, value: keyType },
    { type: CKA.TOKEN, value: p.onToken },
    ...(p.label !== undefined ? [{ type: CKA.LABEL, value: p.label }] : []),
    ...(p.idHex !== undefined ? [{ type: CKA.ID, value: Buffer.from(p.idHex, 'hex') }] : []),
  ];
}

function protectedBy(q: Protection): Template {
  return [
    { type: CKA.PRIVATE, value: q.privateObject },
    { type: CKA.SENSITIVE, value: q.sensitive },
    { type: CKA.EXTRACTABLE, value: q.extractable },
    ...(q.wrapWithTrusted ? [{ type: CKA.WRAP_WITH_TRUSTED, value: true }] : []),
  ];
}

/** A secret key; `usage` is usageAttrs(…, 'secret') or secretFlags(…). CKA_VALUE_LEN only where the call needs it (SoftHSM refuses it in an unwrap template). */
export function secretKeyTemplate(keyType: number, p: Placement, q: Protection, usage: Template, valueLen?: number): Template {
  return [...placed(CKO.SECRET_KEY, keyType, p), ...protectedBy(q), ...(valueLen !== undefined ? [{ type: CKA.VALUE_LEN, value: valueLen }] : []), ...usage];
}

/** A public key (never a private object); `params` are its key-type attributes (modulus, curve, point). */
export function publicKeyTemplate(keyType: number, p: Placement, usages: KeyUsage[], params: Template = []): Template {
  return [...placed(CKO.PUBLIC_KEY, keyType, p), { type: CKA.PRIVATE, value: false }, ...usageAttrs(usages, 'public'), ...params];
}

export function privateKeyTemplate(keyType: number, p: Placement, q: Protection, usages: KeyUsage[]): Template {
  return [...placed(CKO.PRIVATE_KEY, keyType, p), ...protectedBy(q), ...usageAttrs(usages, 'private')];
}

const PKCS11_KEY_TYPES: Record<UnwrapTemplate['keyType'], number> = { aes: CKK.AES, 'generic-secret': CKK.GENERIC_SECRET, tdes: CKK.DES3, rsa: CKK.RSA, ec: CKK.EC, ed25519: CKK.EC_EDWARDS };

/** A key arriving wrapped or imported (C_UnwrapKey, C_CreateObject): a private object, sensitive always, extractable (under wrap) only if asked. */
export function keyTemplate(t: UnwrapTemplate): Template {
  const p: Placement = { onToken: t.onToken, label: t.label, idHex: t.idHex };
  const q: Protection = { privateObject: true, sensitive: true, extractable: t.extractable, wrapWithTrusted: t.wrapWithTrusted === true };
  const keyType = PKCS11_KEY_TYPES[t.keyType];
  const base = t.kind === 'secret' ? secretKeyTemplate(keyType, p, q, usageAttrs(t.usages, 'secret')) : privateKeyTemplate(keyType, p, q, t.usages);
  return [...base, ...dates(t)];
}

/**
 * CKA_START_DATE / CKA_END_DATE as CK_DATE (PKCS#11 v3.0 §3.3: four ASCII digits of the year, two of
 * the month, two of the day). The standard stores them "for reference only" (§4.7): no token
 * refuses a key past its end date; Custos's own operations do (key-service.ts).
 */
function dates(t: UnwrapTemplate): Template {
  const ck = (d: string) => Buffer.from(d.replace(/-/g, ''), 'ascii');
  return [...(t.startDate ? [{ type: CKA.START_DATE, value: ck(t.startDate) }] : []), ...(t.endDate ? [{ type: CKA.END_DATE, value: ck(t.endDate) }] : [])];
}


/** A session secret key with the given value (C_CreateObject). */
export function createSecret(ctx: TokenContext, value: Buffer, keyType: number, q: Protection, usage: Template): Handle {
  return p11('C_CreateObject', () => ctx.m.p11.C_CreateObject(ctx.session, [...secretKeyTemplate(keyType, { onToken: false }, q, usage), { type: CKA.VALUE, value }]));
}
