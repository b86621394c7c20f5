// PKCS#11's EC key attributes: CKA_EC_PARAMS (which curve) and CKA_EC_POINT (the public point, in
// the DER OCTET STRING PKCS#11 specifies or bare, as some tokens return it), for the curves Custos
// supports. Standards: PKCS#11 v2.40 §2.3.3; PKCS#11 v3.0 "Edwards Elliptic curve public key
// objects"; RFC 5480 §2.1.1.1 (namedCurve); RFC 8410 §3 (id-Ed25519); X9.62 (point encodings).
import { ECDH } from 'node:crypto';
import { CustosError, invalidInput } from '../../../shared/result';
import { CHECK_SOURCE, TAG, decodeOidContent, encodeOid, readOnly, readTlv } from './der';

export type EcCurve = 'P-256' | 'P-384' | 'P-521';

// RFC 8410 §3.
export const OID_ED25519 = '1.3.101.112';

export const CURVES: Record<EcCurve, { oid: string; nodeName: string; fieldBytes: number; bits: number }> = {
  'P-256': { oid: '1.2.840.10045.3.1.7', nodeName: 'prime256v1', fieldBytes: 32, bits: 256 },
  'P-384': { oid: '1.3.132.0.34', nodeName: 'secp384r1', fieldBytes: 48, bits: 384 },
  'P-521': { oid: '1.3.132.0.35', nodeName: 'secp521r1', fieldBytes: 66, bits: 521 },
};
export const CURVE_BY_NODE_NAME: Record<string, EcCurve> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

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
export function unwrapEcPoint(ecPoint: Uint8Array, rawLengths: number[], what: string): Buffer {
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

/** The uncompressed point (0x04 ‖ X ‖ Y), decompressing a compressed one; refuses a point not on the curve. */
export function uncompressedPoint(curve: EcCurve, point: Buffer, what: string): Buffer {
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
