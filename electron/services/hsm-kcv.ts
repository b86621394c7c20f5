// Check values and fingerprints of keys that stay in an HSM: the key service (`custos key show`,
// the Keys screen) and the archive (what it records, and what a restore is compared with) read
// them through these functions, so each convention is written once. The HSM host computes every
// value; only the value comes back, never the key. (kcv.ts computes the same X9.24-1 values in
// software, for keys and components that are in this process's memory; it stays free of the
// HSM client and the ASN.1 code so that the CLI's share commands load little.)
import type { HsmClient } from '../hsm/client';
import type { ObjectRef, RawObject } from '../hsm/protocol';
import { ecSpkiFromPkcs11, rsaSpkiFromPkcs11, spkiFingerprint, type SpkiFingerprint } from './formats/publicKey';
import { CMAC_KCV_BYTES } from './kcv';

/** A token as the HSM host's calls name it: module path and token (label or RFC 7512 URI). */
export interface HsmScope {
  hsm: HsmClient;
  path: string;
  token: string;
}

/** The data over which Custos computes a generic-secret (HMAC) key's check value: 32 zero bytes. */
export const HMAC_CHECK_DATA = new Uint8Array(32);
/** HMAC check values are cut to 5 bytes, the length of the X9.24-1 CMAC method's. */
export const HMAC_CHECK_BYTES = CMAC_KCV_BYTES;

/** Both X9.24-1:2017 values as the HSM computed them (CMAC method, 5 bytes; legacy ECB, 3 bytes). */
export interface HsmCheckValues {
  cmac: string | null;
  legacy: string | null;
  /** Why a value is missing (a key type with no convention, or usages that forbid it). */
  note?: string;
}

/** A secret key's X9.24-1 check values (AES, TDES; other types get nulls and a note from the host). */
export async function hsmCheckValues(s: HsmScope, ref: ObjectRef): Promise<HsmCheckValues> {
  const cv = await s.hsm.call('checkValue', { path: s.path, token: s.token, ref: { ...ref, kind: 'secret' } });
  return { cmac: cv.cmacHex, legacy: cv.ecbHex, ...(cv.note ? { note: cv.note } : {}) };
}

/** The first HMAC_CHECK_BYTES of an HMAC over HMAC_CHECK_DATA, as lower-case hex. */
export function hmacCheckOf(mac: Uint8Array): string {
  return Buffer.from(mac).subarray(0, HMAC_CHECK_BYTES).toString('hex');
}

/**
 * An HMAC key's check value: HMAC-SHA256 of 32 zero bytes, first 5 bytes. No standard check value
 * exists for HMAC keys (X9.24-1 covers block-cipher keys), so this is Custos's convention,
 * written down in docs/FORMAT.md; it needs the key's sign usage.
 */
export async function hsmHmacCheck(s: HsmScope, ref: ObjectRef): Promise<string> {
  const [mac] = await s.hsm.call('sign', { path: s.path, token: s.token, ref: { ...ref, kind: 'secret' }, mechanism: 'hmac-sha256', data: [HMAC_CHECK_DATA] });
  return hmacCheckOf(mac!);
}

/** The public half of a key pair as a SubjectPublicKeyInfo, and its SHA-256 fingerprint. */
export async function hsmPublicKey(s: HsmScope, ref: ObjectRef): Promise<{ spki: Buffer; fingerprint: SpkiFingerprint }> {
  const attrs = await s.hsm.call('publicKey', { path: s.path, token: s.token, ref: { ...ref, kind: 'public' } });
  const spki = attrs.keyType === 'rsa' ? rsaSpkiFromPkcs11(attrs.modulus!, attrs.publicExponent!) : ecSpkiFromPkcs11(attrs.ecParams!, attrs.ecPoint!);
  return { spki, fingerprint: spkiFingerprint(spki) };
}

/** What identifies a key without revealing it; which field is set depends on the key. */
export interface HsmKeyCheck {
  /** Secret keys (unless `hmac` gave an HMAC value): the X9.24-1 check values. */
  checkValues: HsmCheckValues | null;
  /** HMAC keys that may sign, when the caller asked for it: Custos's HMAC check value. */
  hmac: string | null;
  /** Private and public keys: the public half, read from the token. */
  publicKey: { spki: Buffer; fingerprint: SpkiFingerprint } | null;
}

/**
 * The one place that decides how a key on a token is identified:
 *   secret keys            X9.24-1 check values (hsmCheckValues)
 *   HMAC keys, with hmac   the HMAC check value instead (hsmHmacCheck), if the key may sign
 *   private / public keys  the public half's SPKI and fingerprint (hsmPublicKey); a private key
 *                          whose public half is not on the token fails with OBJECT_NOT_FOUND
 */
export async function hsmKeyCheck(
  s: HsmScope,
  key: { ref: ObjectRef; kind: 'secret' | 'private' | 'public'; keyType?: RawObject['keyType']; canSign?: boolean },
  opts: { hmac?: boolean } = {},
): Promise<HsmKeyCheck> {
  if (key.kind !== 'secret') return { checkValues: null, hmac: null, publicKey: await hsmPublicKey(s, key.ref) };
  if (opts.hmac && key.keyType === 'generic-secret' && key.canSign) return { checkValues: null, hmac: await hsmHmacCheck(s, key.ref), publicKey: null };
  return { checkValues: await hsmCheckValues(s, key.ref), hmac: null, publicKey: null };
}
