// Public-key formats: from PKCS#11 attributes to SubjectPublicKeyInfo (SPKI) and back, PEM, JWK,
// fingerprints, and a forgiving-but-honest parser for keys that people paste in.
//
// One rule runs through these files: every SPKI it produces or accepts is *canonical* — the exact DER
// that OpenSSL, Go and Node emit for the key (named curve, uncompressed point, rsaEncryption with
// NULL parameters, minimal INTEGERs). Fingerprints are taken over that DER, so the same key always
// gets the same fingerprint, whichever tool or token it came from. Anything else is either
// normalised on the way in (parsePublicKey) or refused with a reason.
//
// Standards:
//   RFC 5280 §4.1.2.7 SubjectPublicKeyInfo; RFC 5480 (EC SPKI: id-ecPublicKey + namedCurve, the
//   point as the BIT STRING); RFC 3279 §2.3.1 (rsaEncryption, parameters NULL) and RFC 8017
//   Appendix A.1.1 (RSAPublicKey); RFC 8410 §3–4 (Ed25519: id-Ed25519, parameters absent, the
//   32-byte key as the BIT STRING); RFC 7468 (PEM); RFC 7517/7518/8037 (JWK for RSA, EC and OKP);
//   RFC 7638 (JWK thumbprint); PKCS#11 v2.40 §2.3.3 (CKA_EC_PARAMS, CKA_EC_POINT) and §2.1.2
//   (CKA_MODULUS, CKA_PUBLIC_EXPONENT); PKCS#11 v3.0 "Edwards Elliptic curve public key objects"
//   (CKK_EC_EDWARDS: CKA_EC_PARAMS is the RFC 8410 OID *or* the PrintableString "edwards25519").
//
// This file is the front door; the parts live beside it: ecParams.ts (CKA_EC_PARAMS, CKA_EC_POINT),
// spki.ts (building and loading canonical SPKI), publicKeyText.ts (pasted PEM and JWK).

import { createHash } from 'node:crypto';
import { invalidInput } from '../../../shared/result';
import { CHECK_SOURCE, octetString, stripLeadingZeros, toPem } from './der';
import { CURVES, curveFromEcParams, ecParamsForCurve, uncompressedPoint, unwrapEcPoint, type EcCurve } from './ecParams';
import { parseJwkText, parsePemText } from './publicKeyText';
import { checkRsaNumbers, ecSpki, ed25519Spki, loadKeyObject, loadSpki, rsaSpki, type ParsedPublicKey } from './spki';

export interface SpkiFingerprint {
  /** SHA-256 over the SPKI DER as upper-case hex pairs joined by colons (the `openssl -fingerprint` style). */
  sha256: string;
  /** The same digest as plain lower-case hex. */
  hex: string;
  /** The first 8 bytes in four groups of four hex digits, for reading aloud during a ceremony. */
  short: string;
}

export type PublicJwk =
  | { kty: 'EC'; crv: EcCurve; x: string; y: string; kid: string }
  | { kty: 'RSA'; n: string; e: string; kid: string }
  | { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string };

/** Attribute values for creating a public-key object on a token with C_CreateObject. */
export type Pkcs11PublicKeyAttrs =
  /** CKK_EC: CKA_EC_PARAMS = namedCurve OID (DER), CKA_EC_POINT = DER OCTET STRING of the uncompressed point. */
  | { keyType: 'ec'; curve: EcCurve; ecParams: Buffer; ecPoint: Buffer }
  /** CKK_EC_EDWARDS: CKA_EC_PARAMS = id-Ed25519 OID (DER), CKA_EC_POINT = DER OCTET STRING of the 32-byte key. */
  | { keyType: 'ec-edwards'; curve: 'Ed25519'; ecParams: Buffer; ecPoint: Buffer }
  /** CKK_RSA: unsigned big-endian CKA_MODULUS and CKA_PUBLIC_EXPONENT without leading zeros. */
  | { keyType: 'rsa'; bits: number; modulus: Buffer; publicExponent: Buffer };

/**
 * SPKI for an EC or Ed25519 key read from a token: CKA_EC_PARAMS and CKA_EC_POINT. The point may be
 * the DER OCTET STRING PKCS#11 specifies or the bare point some tokens return; a compressed P-curve
 * point is decompressed, so the SPKI is always the canonical uncompressed form.
 */
export function ecSpkiFromPkcs11(ecParamsDer: Uint8Array, ecPointDer: Uint8Array): Buffer {
  const curve = curveFromEcParams(ecParamsDer);
  const what = 'The public point (CKA_EC_POINT)';
  if (curve === 'Ed25519') {
    // RFC 8032 §5.1.5: the public key is 32 octets; PKCS#11 v3.0 wraps it as an OCTET STRING.
    const key = unwrapEcPoint(ecPointDer, [32], what);
    const spki = ed25519Spki(key);
    loadKeyObject(spki, what);
    return spki;
  }
  const f = CURVES[curve].fieldBytes;
  const point = uncompressedPoint(curve, unwrapEcPoint(ecPointDer, [1 + 2 * f, 1 + f], what), what);
  const spki = ecSpki(curve, point);
  loadKeyObject(spki, `${what} for ${curve}`);
  return spki;
}

/**
 * SPKI for an RSA key read from a token: CKA_MODULUS and CKA_PUBLIC_EXPONENT are unsigned
 * big-endian "Big integer" byte arrays (PKCS#11 v2.40 §2.1.2); leading zero bytes are tolerated.
 */
export function rsaSpkiFromPkcs11(modulus: Uint8Array, publicExponent: Uint8Array): Buffer {
  if (!(modulus instanceof Uint8Array) || modulus.length === 0) invalidInput('The RSA modulus (CKA_MODULUS) is empty.', CHECK_SOURCE);
  if (!(publicExponent instanceof Uint8Array) || publicExponent.length === 0) invalidInput('The RSA public exponent (CKA_PUBLIC_EXPONENT) is empty.', CHECK_SOURCE);
  const n = stripLeadingZeros(modulus);
  const e = stripLeadingZeros(publicExponent);
  checkRsaNumbers(n, e, 'The RSA public key');
  const spki = rsaSpki(n, e);
  loadKeyObject(spki, 'The RSA public key');
  return spki;
}

/** Kind, curve and size of a canonical SPKI. */
export function inspectSpki(spki: Uint8Array): ParsedPublicKey {
  return loadSpki(spki).info;
}

/** PEM "PUBLIC KEY" (RFC 7468 §13) for a canonical SPKI. */
export function spkiToPem(spki: Uint8Array): string {
  return toPem('PUBLIC KEY', loadSpki(spki).info.spki);
}

/**
 * SHA-256 fingerprint of the SPKI DER. This is the value `openssl pkey -pubin -outform der | sha256sum`
 * gives and that certificate tooling calls the SPKI or public-key pin (RFC 7469 §2.4 uses the same
 * input), so a custodian can compare it with an independent tool.
 */
export function spkiFingerprint(spki: Uint8Array): SpkiFingerprint {
  const digest = createHash('sha256').update(loadSpki(spki).info.spki).digest();
  const hex = digest.toString('hex');
  const upper = hex.toUpperCase();
  return {
    sha256: upper.match(/../g)!.join(':'),
    hex,
    short: upper.slice(0, 16).match(/..../g)!.join(' '),
  };
}

// RFC 7638 §3.2: the thumbprint input is the JSON object of the *required* members only, in
// lexicographic order, with no whitespace. Required members: RFC 7638 §3.2.1 (RSA: e, kty, n),
// RFC 7638 §3.2.1 / RFC 7518 §6.2.1 (EC: crv, kty, x, y), RFC 8037 §2 (OKP: crv, kty, x).
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
};

/** RFC 7638 JWK SHA-256 thumbprint, base64url without padding. Extra members (kid, alg, use) are ignored. */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  const kty = typeof jwk.kty === 'string' ? jwk.kty : '';
  const members = THUMBPRINT_MEMBERS[kty];
  if (!members) invalidInput(`A JWK thumbprint needs kty EC, RSA or OKP; got "${kty}".`, CHECK_SOURCE);
  const parts = members.map((m) => {
    const v = jwk[m];
    if (typeof v !== 'string' || v === '') invalidInput(`The JWK is missing its "${m}" member.`, CHECK_SOURCE);
    return `${JSON.stringify(m)}:${JSON.stringify(v)}`;
  });
  return createHash('sha256').update(`{${parts.join(',')}}`, 'utf8').digest('base64url');
}

/** Public JWK for a canonical SPKI, with `kid` set to its RFC 7638 thumbprint. */
export function spkiToJwk(spki: Uint8Array): PublicJwk {
  const { info, jwk } = loadSpki(spki);
  if (info.kind === 'ec') {
    const base = { kty: 'EC' as const, crv: info.curve as EcCurve, x: jwk.x!, y: jwk.y! };
    return { ...base, kid: jwkThumbprint(base) };
  }
  if (info.kind === 'ed25519') {
    const base = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: jwk.x! };
    return { ...base, kid: jwkThumbprint(base) };
  }
  const base = { kty: 'RSA' as const, n: jwk.n!, e: jwk.e! };
  return { ...base, kid: jwkThumbprint(base) };
}

/** Attribute values to create this public key on a token (C_CreateObject with CKO_PUBLIC_KEY). */
export function pkcs11AttrsFromSpki(spki: Uint8Array): Pkcs11PublicKeyAttrs {
  const { info, jwk } = loadSpki(spki);
  if (info.kind === 'ec') {
    const curve = info.curve as EcCurve;
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    return { keyType: 'ec', curve, ecParams: ecParamsForCurve(curve), ecPoint: octetString(point) };
  }
  if (info.kind === 'ed25519') {
    // PKCS#11 v3.0 allows the OID or the PrintableString here; the OID (RFC 8410) is what
    // SoftHSM, OpenSC and most HSMs generate and accept. The point is wrapped like CKK_EC's.
    return { keyType: 'ec-edwards', curve: 'Ed25519', ecParams: ecParamsForCurve('Ed25519'), ecPoint: octetString(Buffer.from(jwk.x!, 'base64url')) };
  }
  return {
    keyType: 'rsa',
    bits: info.bits!,
    modulus: stripLeadingZeros(Buffer.from(jwk.n!, 'base64url')),
    publicExponent: stripLeadingZeros(Buffer.from(jwk.e!, 'base64url')),
  };
}

/**
 * Reads a public key pasted by a person: PEM "PUBLIC KEY" (SPKI), PEM "RSA PUBLIC KEY" (PKCS#1), or
 * a JWK (JSON). Returns the canonical SPKI. Private keys are refused outright, and every other
 * mistake gets a message saying what was found and what to do.
 */
export function parsePublicKey(text: string): ParsedPublicKey {
  if (typeof text !== 'string') invalidInput('The public key must be given as text.', CHECK_SOURCE);
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') invalidInput('No public key was given.', 'Paste a PEM public key or a JWK.');
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return parseJwkText(trimmed);
  if (/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+) /.test(trimmed)) {
    invalidInput('This is an OpenSSH public key, which Custos does not read.', 'Convert it first: ssh-keygen -e -m PKCS8 -f key.pub');
  }
  return parsePemText(trimmed);
}
