// Canonical SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), built and read: the exact DER that OpenSSL,
// Go and Node emit for a key (named curve, uncompressed point, rsaEncryption with NULL parameters,
// minimal INTEGERs), so that a fingerprint over it is the same whichever tool or token the key came
// from (publicKey.ts has the whole rule and the standards).
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { invalidInput } from '../../../shared/result';
import { CHECK_SOURCE, TAG, encodeOid, encodeUnsignedInteger, readOnly, sequence, stripLeadingZeros } from './der';
import { CURVES, CURVE_BY_NODE_NAME, OID_ED25519, type EcCurve } from './ecParams';

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

// RFC 5480 §2.1.1, RFC 3279 §2.3.1.
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';

/** RSA sizes accepted as a sanity bound: below 1024 bits is not a real key; above 16384 OpenSSL refuses. */
const RSA_MIN_BITS = 1024;
const RSA_MAX_BITS = 16384;

function bitLength(unsigned: Uint8Array): number {
  const v = stripLeadingZeros(unsigned);
  if (v.length === 1 && v[0] === 0) return 0;
  return (v.length - 1) * 8 + (32 - Math.clz32(v[0]!));
}

export function ecSpki(curve: EcCurve, uncompressed: Buffer): Buffer {
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

export function ed25519Spki(key: Buffer): Buffer {
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

export function rsaSpki(modulus: Buffer, exponent: Buffer): Buffer {
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

/** The RSA numbers' sanity bounds; returns the modulus size in bits. */
export function checkRsaNumbers(modulus: Buffer, exponent: Buffer, what: string): number {
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
export function loadKeyObject(spki: Buffer, what: string): KeyObject {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch (e) {
    return invalidInput(`${what} is not a valid public key (${e instanceof Error ? e.message : String(e)}).`, CHECK_SOURCE);
  }
}

export interface LoadedSpki {
  info: ParsedPublicKey;
  key: KeyObject;
  jwk: JsonWebKey;
}

/**
 * Parses a key object into our description plus its canonical SPKI, rebuilt from the key's numbers
 * with the builders above (so trailing bytes, compressed points and odd encodings disappear).
 */
export function describeKey(key: KeyObject, what: string): LoadedSpki {
  const type = key.asymmetricKeyType;
  if (type !== 'ec' && type !== 'ed25519' && type !== 'rsa') {
    if (type === 'rsa-pss') {
      invalidInput(`${what} is an RSA key restricted to PSS (id-RSASSA-PSS); Custos expects plain rsaEncryption public keys.`, 'Export the key as a plain RSA public key (openssl pkey -pubout).');
    }
    invalidInput(`${what} is a ${type ?? 'unknown'} key, which Custos does not support.`, 'Use an RSA (2048 to 16384 bits), P-256, P-384, P-521 or Ed25519 key.');
  }
  // The curve is checked before the JWK export: Node exports only the curves JWK names (RFC 7518
  // §6.2.1.1), and a brainpool key would otherwise fail there with an untyped error (issue #11).
  const nodeName = type === 'ec' ? (key.asymmetricKeyDetails?.namedCurve ?? '') : '';
  const curve = type === 'ec' ? CURVE_BY_NODE_NAME[nodeName] : undefined;
  if (type === 'ec' && !curve) invalidInput(`${what} is on the curve ${nodeName || '(unknown)'}, which Custos does not support.`, 'Use an RSA (2048 to 16384 bits), P-256, P-384, P-521 or Ed25519 key.');
  const jwk = key.export({ format: 'jwk' });
  if (type === 'ec' && curve) {
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

/** Loads an SPKI that callers pass around; it must already be canonical (see publicKey.ts). */
export function loadSpki(spki: Uint8Array, what = 'The public key'): LoadedSpki {
  if (!(spki instanceof Uint8Array) || spki.length === 0) invalidInput(`${what} is empty.`, CHECK_SOURCE);
  const der = Buffer.from(spki);
  readOnly(der, TAG.SEQUENCE, what);
  const loaded = describeKey(loadKeyObject(der, what), what);
  if (!loaded.info.spki.equals(der)) {
    invalidInput(
      `${what} is a valid key but not in canonical DER (for example a compressed point or extra bytes), so its fingerprint would not match other tools.`,
      'Read it through parsePublicKey (or re-export it with openssl pkey -pubin -pubout) to normalise it.',
    );
  }
  return loaded;
}
