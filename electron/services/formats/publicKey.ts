// Public-key formats: from PKCS#11 attributes to SubjectPublicKeyInfo (SPKI) and back, PEM, JWK,
// fingerprints, and a forgiving-but-honest parser for keys that people paste in.
//
// One rule runs through this file: every SPKI it produces or accepts is *canonical* — the exact DER
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

import { createHash, createPublicKey, ECDH, type JsonWebKey, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { CustosError, invalidInput } from '../../../shared/result';
import {
  TAG,
  decodeOidContent,
  encodeOid,
  encodeUnsignedInteger,
  octetString,
  readOnly,
  readTlv,
  sequence,
  stripLeadingZeros,
  toPem,
} from './der';

export type EcCurve = 'P-256' | 'P-384' | 'P-521';
export type PublicKeyKind = 'ec' | 'rsa' | 'ed25519';

export interface ParsedPublicKey {
  /** Canonical SubjectPublicKeyInfo DER. */
  spki: Buffer;
  kind: PublicKeyKind;
  /** 'P-256' | 'P-384' | 'P-521' for EC, 'Ed25519' for Ed25519; absent for RSA. */
  curve?: EcCurve | 'Ed25519';
  /** Modulus bits for RSA, field size for EC (256/384/521), 256 for Ed25519. */
  bits?: number;
}

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

// RFC 5480 §2.1.1 / §2.1.1.1, RFC 8410 §3, RFC 3279 §2.3.1.
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_ED25519 = '1.3.101.112';
const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';

const CURVES: Record<EcCurve, { oid: string; nodeName: string; fieldBytes: number; bits: number }> = {
  'P-256': { oid: '1.2.840.10045.3.1.7', nodeName: 'prime256v1', fieldBytes: 32, bits: 256 },
  'P-384': { oid: '1.3.132.0.34', nodeName: 'secp384r1', fieldBytes: 48, bits: 384 },
  'P-521': { oid: '1.3.132.0.35', nodeName: 'secp521r1', fieldBytes: 66, bits: 521 },
};
const CURVE_BY_NODE_NAME: Record<string, EcCurve> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

// Curves a token may report that we recognise by name, so the message can say what they are.
const KNOWN_UNSUPPORTED_OIDS: Record<string, string> = {
  '1.3.132.0.10': 'secp256k1',
  '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1',
  '1.3.36.3.3.2.8.1.1.11': 'brainpoolP384r1',
  '1.3.36.3.3.2.8.1.1.13': 'brainpoolP512r1',
  '1.3.101.110': 'X25519 (a key-agreement key, not a signing key)',
  '1.3.101.111': 'X448 (a key-agreement key, not a signing key)',
  '1.3.101.113': 'Ed448',
};

/** RSA sizes accepted as a sanity bound: below 1024 bits is not a real key; above 16384 OpenSSL refuses. */
const RSA_MIN_BITS = 1024;
const RSA_MAX_BITS = 16384;

const CHECK_SOURCE = 'Check that the value came from the right place and was not truncated or altered.';

function bitLength(unsigned: Uint8Array): number {
  const v = stripLeadingZeros(unsigned);
  if (v.length === 1 && v[0] === 0) return 0;
  return (v.length - 1) * 8 + (32 - Math.clz32(v[0]!));
}

// ---------------------------------------------------------------------------------------------
// CKA_EC_PARAMS

export type EcParamsCurve = EcCurve | 'Ed25519';

/**
 * The curve named by a CKA_EC_PARAMS value. Accepts the namedCurve OID (PKCS#11 v2.40 §2.3.3,
 * RFC 5480 §2.1.1.1) and, for Edwards keys, either the RFC 8410 OID or the PrintableString
 * "edwards25519" that PKCS#11 v3.0 also allows. Explicit parameters and implicitlyCA are refused:
 * a custodian should only ever see named curves.
 */
export function curveFromEcParams(ecParamsDer: Uint8Array): EcParamsCurve {
  const what = 'The EC parameters (CKA_EC_PARAMS)';
  if (!(ecParamsDer instanceof Uint8Array) || ecParamsDer.length === 0) invalidInput(`${what} are empty.`, CHECK_SOURCE);
  const t = readTlv(ecParamsDer, 0, what);
  if (t.end !== ecParamsDer.length) invalidInput(`${what} have ${ecParamsDer.length - t.end} unexpected byte(s) after the value.`, CHECK_SOURCE);
  switch (t.tag) {
    case TAG.OID: {
      const oid = decodeOidContent(t.content, what);
      if (oid === OID_ED25519) return 'Ed25519';
      const curve = (Object.keys(CURVES) as EcCurve[]).find((c) => CURVES[c].oid === oid);
      if (curve) return curve;
      const known = KNOWN_UNSUPPORTED_OIDS[oid];
      return invalidInput(
        `${what} name ${known ? `the curve ${known}` : `an unknown curve (OID ${oid})`}, which Custos does not support.`,
        'Use a P-256, P-384, P-521 or Ed25519 key.',
        { oid },
      );
    }
    case TAG.PRINTABLE_STRING: {
      const name = t.content.toString('latin1');
      if (name === 'edwards25519') return 'Ed25519';
      return invalidInput(
        `${what} name the curve "${name.replace(/[^\x20-\x7e]/g, '?')}", which Custos does not support.`,
        'Use a P-256, P-384, P-521 or Ed25519 key.',
      );
    }
    case TAG.SEQUENCE:
      return invalidInput(`${what} spell out the curve explicitly instead of naming it.`, 'Generate the key on a named curve (P-256, P-384, P-521 or Ed25519).');
    case TAG.NULL:
      return invalidInput(`${what} are implicitlyCA (NULL), so the curve is unknown.`, 'Generate the key on a named curve (P-256, P-384, P-521 or Ed25519).');
    default:
      return invalidInput(`${what} are not an OBJECT IDENTIFIER or a curve name (ASN.1 tag 0x${t.tag.toString(16)}).`, CHECK_SOURCE);
  }
}

/** CKA_EC_PARAMS for a key-generation template: the DER namedCurve / id-Ed25519 OID. */
export function ecParamsForCurve(curve: EcParamsCurve): Buffer {
  if (curve === 'Ed25519') return encodeOid(OID_ED25519);
  const c = CURVES[curve];
  if (!c) invalidInput(`Unknown curve "${String(curve)}".`, 'Use P-256, P-384, P-521 or Ed25519.');
  return encodeOid(c.oid);
}

// ---------------------------------------------------------------------------------------------
// CKA_EC_POINT

/**
 * Removes the DER OCTET STRING that PKCS#11 puts around the point (v2.40 §2.3.3: "DER-encoding of
 * ANSI X9.62 ECPoint value Q"), or accepts the bare point that some tokens return instead. The
 * decision is made by length, which is unambiguous for a known curve: the bare forms are 1+2f
 * (uncompressed) or 1+f (compressed) bytes for P-curves and 32 bytes for Ed25519, and a wrapped
 * value is always 2–3 bytes longer.
 */
function unwrapEcPoint(ecPoint: Uint8Array, rawLengths: number[], what: string): Buffer {
  if (!(ecPoint instanceof Uint8Array) || ecPoint.length === 0) invalidInput(`${what} is empty.`, CHECK_SOURCE);
  if (ecPoint[0] === TAG.OCTET_STRING) {
    try {
      const inner = readOnly(ecPoint, TAG.OCTET_STRING, what);
      if (rawLengths.includes(inner.length)) return Buffer.from(inner);
    } catch (e) {
      if (!(e instanceof CustosError)) throw e;
      // Not a well-formed OCTET STRING: fall through and try it as a bare point.
    }
  }
  if (rawLengths.includes(ecPoint.length)) return Buffer.from(ecPoint);
  return invalidInput(
    `${what} is ${ecPoint.length} bytes, which is neither a bare point (${rawLengths.join(' or ')} bytes) nor a DER OCTET STRING holding one.`,
    CHECK_SOURCE,
  );
}

function uncompressedPoint(curve: EcCurve, point: Buffer, what: string): Buffer {
  const { fieldBytes, nodeName } = CURVES[curve];
  const prefix = point[0];
  if (point.length === 1 + 2 * fieldBytes) {
    if (prefix !== 0x04) invalidInput(`${what} does not start with 0x04 (uncompressed point); found 0x${(prefix ?? 0).toString(16)}.`, CHECK_SOURCE);
    return point;
  }
  if (prefix !== 0x02 && prefix !== 0x03) invalidInput(`${what} is a compressed-length point but does not start with 0x02 or 0x03.`, CHECK_SOURCE);
  try {
    // X9.62 point decompression; OpenSSL refuses x-coordinates that are not on the curve.
    return ECDH.convertKey(point, nodeName, undefined, undefined, 'uncompressed') as Buffer;
  } catch {
    return invalidInput(`${what} is not a point on ${curve}.`, CHECK_SOURCE);
  }
}

// ---------------------------------------------------------------------------------------------
// SPKI builders

function ecSpki(curve: EcCurve, uncompressed: Buffer): Buffer {
  return Buffer.from(
    AsnConvert.serialize(
      new SubjectPublicKeyInfo({
        // RFC 5480 §2.1.1: parameters is ECParameters, and only namedCurve is allowed.
        algorithm: new AlgorithmIdentifier({ algorithm: OID_EC_PUBLIC_KEY, parameters: toArrayBuffer(encodeOid(CURVES[curve].oid)) }),
        // RFC 5480 §2.2: the ECPoint octets are the BIT STRING contents; uncompressed form is the one everyone accepts.
        subjectPublicKey: toArrayBuffer(uncompressed),
      }),
    ),
  );
}

function ed25519Spki(key: Buffer): Buffer {
  return Buffer.from(
    AsnConvert.serialize(
      new SubjectPublicKeyInfo({
        // RFC 8410 §3: "the parameters MUST be absent".
        algorithm: new AlgorithmIdentifier({ algorithm: OID_ED25519 }),
        subjectPublicKey: toArrayBuffer(key),
      }),
    ),
  );
}

function rsaSpki(modulus: Buffer, exponent: Buffer): Buffer {
  // RFC 8017 A.1.1 RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }. Built
  // here rather than with asn1-rsa's class because the INTEGERs must be made positive and minimal.
  const rsaPublicKey = sequence(encodeUnsignedInteger(modulus), encodeUnsignedInteger(exponent));
  return Buffer.from(
    AsnConvert.serialize(
      new SubjectPublicKeyInfo({
        // RFC 3279 §2.3.1: "the parameters field MUST have ASN.1 type NULL for this algorithm identifier".
        algorithm: new AlgorithmIdentifier({ algorithm: OID_RSA_ENCRYPTION, parameters: null }),
        subjectPublicKey: toArrayBuffer(rsaPublicKey),
      }),
    ),
  );
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(b.length);
  copy.set(b);
  return copy.buffer;
}

function checkRsaNumbers(modulus: Buffer, exponent: Buffer, what: string): number {
  const bits = bitLength(modulus);
  if (bits < RSA_MIN_BITS) invalidInput(`${what}: the modulus is ${bits} bits; an RSA key must be at least ${RSA_MIN_BITS} bits.`, CHECK_SOURCE);
  if (bits > RSA_MAX_BITS) invalidInput(`${what}: the modulus is ${bits} bits; the largest RSA key supported is ${RSA_MAX_BITS} bits.`, CHECK_SOURCE);
  if (!(modulus[modulus.length - 1]! & 1)) invalidInput(`${what}: the modulus is even, so it cannot be an RSA modulus.`, CHECK_SOURCE);
  const eBits = bitLength(exponent);
  if (eBits < 2 || !(exponent[exponent.length - 1]! & 1)) invalidInput(`${what}: the public exponent must be an odd number of at least 3.`, CHECK_SOURCE);
  if (eBits > 64) invalidInput(`${what}: the public exponent is ${eBits} bits; OpenSSL and most HSMs accept at most 64.`, CHECK_SOURCE);
  return bits;
}

/** Validates DER with OpenSSL (on-curve check for EC, structure for all) and returns the key object. */
function loadKeyObject(spki: Buffer, what: string): KeyObject {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch (e) {
    return invalidInput(`${what} is not a valid public key (${e instanceof Error ? e.message : String(e)}).`, CHECK_SOURCE);
  }
}

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

// ---------------------------------------------------------------------------------------------
// Reading an SPKI

interface LoadedSpki {
  info: ParsedPublicKey;
  key: KeyObject;
  jwk: JsonWebKey;
}

/**
 * Parses a key object into our description plus its canonical SPKI, rebuilt from the key's numbers
 * with the builders above (so trailing bytes, compressed points and odd encodings disappear).
 */
function describe(key: KeyObject, what: string): LoadedSpki {
  const type = key.asymmetricKeyType;
  if (type !== 'ec' && type !== 'ed25519' && type !== 'rsa') {
    if (type === 'rsa-pss') {
      invalidInput(`${what} is an RSA key restricted to PSS (id-RSASSA-PSS); Custos expects plain rsaEncryption public keys.`, 'Export the key as a plain RSA public key (openssl pkey -pubout).');
    }
    invalidInput(`${what} is a ${type ?? 'unknown'} key, which Custos does not support.`, 'Use an RSA, P-256, P-384, P-521 or Ed25519 key.');
  }
  const jwk = key.export({ format: 'jwk' });
  if (type === 'ec') {
    const nodeName = key.asymmetricKeyDetails?.namedCurve ?? '';
    const curve = CURVE_BY_NODE_NAME[nodeName];
    if (!curve) invalidInput(`${what} is on the curve ${nodeName || '(unknown)'}, which Custos does not support.`, 'Use a P-256, P-384, P-521 or Ed25519 key.');
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    return { key, jwk, info: { spki: ecSpki(curve, point), kind: 'ec', curve, bits: CURVES[curve].bits } };
  }
  if (type === 'ed25519') {
    return { key, jwk, info: { spki: ed25519Spki(Buffer.from(jwk.x!, 'base64url')), kind: 'ed25519', curve: 'Ed25519', bits: 256 } };
  }
  const n = stripLeadingZeros(Buffer.from(jwk.n!, 'base64url'));
  const e = stripLeadingZeros(Buffer.from(jwk.e!, 'base64url'));
  const bits = checkRsaNumbers(n, e, what);
  return { key, jwk, info: { spki: rsaSpki(n, e), kind: 'rsa', bits } };
}

/** Loads an SPKI that callers pass around; it must already be canonical (see the file header). */
function loadSpki(spki: Uint8Array, what = 'The public key'): LoadedSpki {
  if (!(spki instanceof Uint8Array) || spki.length === 0) invalidInput(`${what} is empty.`, CHECK_SOURCE);
  const der = Buffer.from(spki);
  readOnly(der, TAG.SEQUENCE, what);
  const loaded = describe(loadKeyObject(der, what), what);
  if (!loaded.info.spki.equals(der)) {
    invalidInput(
      `${what} is a valid key but not in canonical DER (for example a compressed point or extra bytes), so its fingerprint would not match other tools.`,
      'Read it through parsePublicKey (or re-export it with openssl pkey -pubin -pubout) to normalise it.',
    );
  }
  return loaded;
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

// ---------------------------------------------------------------------------------------------
// Parsing pasted text

const PRIVATE_REFUSAL = 'this is a PRIVATE key; only public keys are accepted';
const PRIVATE_ACTION = 'Do not paste private keys anywhere. Export only the public half (for example: openssl pkey -in key.pem -pubout).';

function privateRefusal(where: string): never {
  return invalidInput(`The ${where} is not a public key: ${PRIVATE_REFUSAL}.`, PRIVATE_ACTION);
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function jwkBytes(jwk: Record<string, unknown>, member: string, expectedLength?: number): Buffer {
  const v = jwk[member];
  if (v === undefined) invalidInput(`The JWK is missing its "${member}" member.`, 'Paste the complete JWK.');
  if (typeof v !== 'string' || !B64URL.test(v) || v.length % 4 === 1) {
    invalidInput(`The JWK member "${member}" is not base64url (RFC 7515 §2: letters, digits, "-" and "_", no padding).`, CHECK_SOURCE);
  }
  const bytes = Buffer.from(v, 'base64url');
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    // RFC 7518 §6.2.1.2–3: EC coordinates are always the full field length.
    invalidInput(`The JWK member "${member}" is ${bytes.length} bytes; it must be exactly ${expectedLength}.`, CHECK_SOURCE);
  }
  return bytes;
}

function parseJwkText(text: string): ParsedPublicKey {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return invalidInput(`The text looks like JSON but does not parse (${e instanceof Error ? e.message : String(e)}).`, 'Paste the complete JWK object.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalidInput('The JSON is not a JWK object.', 'Paste a single JWK such as {"kty":"EC",...}.');
  const jwk = value as Record<string, unknown>;
  if (Array.isArray(jwk.keys)) {
    if (jwk.keys.some((k) => typeof k === 'object' && k !== null && 'd' in k)) privateRefusal('JWK Set');
    invalidInput(`This is a JWK Set with ${jwk.keys.length} key(s).`, 'Paste the one key you mean, not the whole set.');
  }
  // RFC 7518 §6.2.2 (EC "d"), §6.3.2 (RSA "d", "p", "q", "dp", "dq", "qi", "oth"), RFC 8037 §2 (OKP "d").
  if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'].some((m) => m in jwk)) privateRefusal('JWK');
  if (jwk.kty === 'oct' || 'k' in jwk) {
    invalidInput('The JWK is a symmetric (secret) key, not a public key.', 'Never paste secret keys. Paste the public key of an asymmetric key pair.');
  }
  if (jwk.kty === undefined) invalidInput('The JWK has no "kty" member, so its key type is unknown.', 'Paste a JWK with kty EC, RSA or OKP.');

  let key: KeyObject;
  if (jwk.kty === 'EC') {
    const crv = jwk.crv;
    if (crv !== 'P-256' && crv !== 'P-384' && crv !== 'P-521') {
      invalidInput(`The JWK curve ${crv === undefined ? 'is missing' : `"${String(crv)}" is not supported`}.`, 'Use crv P-256, P-384 or P-521.');
    }
    const f = CURVES[crv].fieldBytes;
    const x = jwkBytes(jwk, 'x', f);
    const y = jwkBytes(jwk, 'y', f);
    const spki = ecSpki(crv, Buffer.concat([Buffer.from([4]), x, y]));
    key = loadKeyObject(spki, 'The JWK');
  } else if (jwk.kty === 'OKP') {
    if (jwk.crv !== 'Ed25519') {
      invalidInput(`The JWK curve ${jwk.crv === undefined ? 'is missing' : `"${String(jwk.crv)}" is not supported`}.`, 'Use crv Ed25519 (RFC 8037).');
    }
    key = loadKeyObject(ed25519Spki(jwkBytes(jwk, 'x', 32)), 'The JWK');
  } else if (jwk.kty === 'RSA') {
    const n = stripLeadingZeros(jwkBytes(jwk, 'n'));
    const e = stripLeadingZeros(jwkBytes(jwk, 'e'));
    checkRsaNumbers(n, e, 'The JWK');
    key = loadKeyObject(rsaSpki(n, e), 'The JWK');
  } else {
    return invalidInput(`The JWK key type "${String(jwk.kty)}" is not supported.`, 'Use kty EC, RSA or OKP.');
  }
  return describe(key, 'The JWK').info;
}

const PEM_BLOCK = /-----BEGIN ([^\r\n-]*)-----([\s\S]*?)-----END ([^\r\n-]*)-----/g;

function decodePemBody(label: string, body: string): Buffer {
  if (/^[ \t]*[A-Za-z-]+:/m.test(body)) {
    // RFC 1421 headers (Proc-Type, DEK-Info) only appear on legacy encrypted private keys.
    invalidInput(`The PEM block "${label}" has RFC 1421 headers, which public keys never have.`, 'Paste a plain "PUBLIC KEY" block.');
  }
  const b64 = body.replace(/\s+/g, '');
  if (b64.length === 0) invalidInput(`The PEM block "${label}" is empty.`, CHECK_SOURCE);
  // RFC 7468 §3: standard base64 alphabet, padding only at the end, whole quanta.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    invalidInput(`The PEM block "${label}" is not valid base64 (stray characters, bad padding, or a truncated line).`, 'Copy the whole block again, including every line.');
  }
  const der = Buffer.from(b64, 'base64');
  if (der.toString('base64') !== b64) invalidInput(`The PEM block "${label}" is not canonical base64.`, 'Copy the whole block again, including every line.');
  return der;
}

function parsePemText(text: string): ParsedPublicKey {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const begins = (text.match(/-----BEGIN /g) ?? []).length;
  const labels = blocks.map((b) => b[1]!.trim());
  if (labels.some((l) => /PRIVATE KEY$/.test(l)) || /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) privateRefusal('PEM block');
  if (begins === 0) invalidInput('No PEM block was found.', 'Paste a key that starts with -----BEGIN PUBLIC KEY-----, or a JWK.');
  if (blocks.length !== begins) invalidInput('A PEM block is not closed with a matching -----END ...----- line.', 'Copy the whole block again, including the END line.');
  if (blocks.length > 1) invalidInput(`The text holds ${blocks.length} PEM blocks (${labels.join(', ')}).`, 'Paste exactly one public key.');
  const block = blocks[0]!;
  const label = labels[0]!;
  if (label !== block[3]!.trim()) invalidInput(`The PEM block begins as "${label}" but ends as "${block[3]!.trim()}".`, 'Copy the whole block again.');

  if (label === 'CERTIFICATE' || label === 'TRUSTED CERTIFICATE' || label === 'X509 CERTIFICATE') {
    invalidInput('This is a certificate, not a bare public key.', 'Extract its public key first: openssl x509 -in cert.pem -pubkey -noout');
  }
  if (label === 'CERTIFICATE REQUEST' || label === 'NEW CERTIFICATE REQUEST') {
    invalidInput('This is a certificate signing request, not a bare public key.', 'Extract its public key first: openssl req -in req.pem -pubkey -noout');
  }
  if (label !== 'PUBLIC KEY' && label !== 'RSA PUBLIC KEY') {
    invalidInput(`The PEM label "${label}" is not a public key.`, 'Paste a "PUBLIC KEY" (SPKI) or "RSA PUBLIC KEY" (PKCS#1) block.');
  }
  const der = decodePemBody(label, block[2]!);
  const what = label === 'PUBLIC KEY' ? 'The PUBLIC KEY block' : 'The RSA PUBLIC KEY block';
  // Strict outer structure first, so trailing junk inside the base64 is reported rather than ignored.
  readOnly(der, TAG.SEQUENCE, what);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: label === 'PUBLIC KEY' ? 'spki' : 'pkcs1' });
  } catch (e) {
    return invalidInput(`${what} does not hold a valid key (${e instanceof Error ? e.message : String(e)}).`, 'Check that the block was copied completely and has the right label.');
  }
  return describe(key, what).info;
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
