// Signature encodings between PKCS#11 and X.509/OpenSSL, and the hash inputs the raw mechanisms need.
//
// ECDSA: CKM_ECDSA returns r‖s, each left-padded to the length of the group order (PKCS#11 v2.40
// §2.3.1 "EC Signatures"); X.509 (RFC 5480 §2.2 → RFC 3279 §2.2.3 Ecdsa-Sig-Value) and OpenSSL want
// DER SEQUENCE { INTEGER r, INTEGER s }. DER INTEGERs are minimal and signed (X.690 §8.3), so a value
// whose top bit is set gets a 0x00 in front and leading zero bytes are dropped; getting either wrong
// makes a signature that strict verifiers (OpenSSL 3 included) reject.
//
// RSA PKCS#1 v1.5: CKM_RSA_PKCS only pads (EMSA-PKCS1-v1_5 steps 3–5, RFC 8017 §9.2), so the caller
// must hand it the DER DigestInfo of the hash; digestInfo() builds it from the fixed prefixes in
// RFC 8017 §9.2 Note 1.

import { createHash } from 'node:crypto';
import { invalidInput } from '../../../shared/result';
import { TAG, decodeUnsignedIntegerContent, encodeUnsignedInteger, readOnly, readTlv, sequence } from './der';

export type EcdsaHash = 'sha256' | 'sha384' | 'sha512';
export type DigestInfoHash = 'sha256' | 'sha384' | 'sha512';

/** Bytes per component (r or s) for each supported curve: ceil(log2(n) / 8). */
export const ECDSA_COMPONENT_SIZE = { 'P-256': 32, 'P-384': 48, 'P-521': 66 } as const;
const COMPONENT_SIZES: readonly number[] = Object.values(ECDSA_COMPONENT_SIZE);

const HASH_LENGTH: Record<string, number> = { sha256: 32, sha384: 48, sha512: 64 };

const CHECK_SIGNATURE = 'Check that the signature came from the expected key and mechanism.';

function asBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) invalidInput(`${what} must be bytes.`, CHECK_SIGNATURE);
  return value;
}

/**
 * r‖s (CKM_ECDSA output) → DER Ecdsa-Sig-Value. The length tells the curve: 64 bytes for P-256,
 * 96 for P-384, 132 for P-521. r and s must be non-zero (a zero component is never a valid ECDSA
 * signature, and usually means an uninitialised buffer).
 */
export function ecdsaRawToDer(raw: Uint8Array): Buffer {
  asBytes(raw, 'The raw ECDSA signature');
  if (!COMPONENT_SIZES.includes(raw.length / 2)) {
    invalidInput(`A raw ECDSA signature (r‖s) is 64, 96 or 132 bytes for P-256, P-384 or P-521; this one is ${raw.length} bytes.`, CHECK_SIGNATURE);
  }
  const half = raw.length / 2;
  const r = raw.subarray(0, half);
  const s = raw.subarray(half);
  if (r.every((b) => b === 0) || s.every((b) => b === 0)) invalidInput('The raw ECDSA signature has r or s equal to zero, so it cannot be valid.', CHECK_SIGNATURE);
  return sequence(encodeUnsignedInteger(r), encodeUnsignedInteger(s));
}

/**
 * DER Ecdsa-Sig-Value → r‖s with each half left-padded to `size` bytes (32, 48 or 66). Strict: no
 * trailing data, exactly two positive minimal INTEGERs, and neither wider than `size`.
 */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Buffer {
  asBytes(der, 'The DER ECDSA signature');
  if (!COMPONENT_SIZES.includes(size)) invalidInput(`The component size must be 32, 48 or 66 bytes (P-256, P-384, P-521); got ${String(size)}.`, 'Pass the size for the key\'s curve.');
  const what = 'The DER ECDSA signature';
  if (der[0] !== TAG.SEQUENCE) {
    invalidInput(
      COMPONENT_SIZES.includes(der.length / 2)
        ? `${what} does not start with a SEQUENCE; at ${der.length} bytes it looks like raw r‖s (CKM_ECDSA output).`
        : `${what} does not start with a SEQUENCE, so it is not DER.`,
      'Convert raw r‖s with ecdsaRawToDer, or check where the signature came from.',
    );
  }
  const body = readOnly(der, TAG.SEQUENCE, what);
  const rT = readTlv(body, 0, what);
  const sT = readTlv(body, rT.end, what);
  if (rT.tag !== TAG.INTEGER || sT.tag !== TAG.INTEGER) invalidInput(`${what} is not SEQUENCE { INTEGER r, INTEGER s }.`, CHECK_SIGNATURE);
  if (sT.end !== body.length) invalidInput(`${what} has extra elements after r and s.`, CHECK_SIGNATURE);
  const out = Buffer.alloc(2 * size);
  for (const [i, t] of [rT, sT].entries()) {
    const v = decodeUnsignedIntegerContent(t.content, what);
    if (v.length === 1 && v[0] === 0) invalidInput(`${what} has ${i === 0 ? 'r' : 's'} equal to zero, so it cannot be valid.`, CHECK_SIGNATURE);
    if (v.length > size) invalidInput(`${what} has an ${i === 0 ? 'r' : 's'} of ${v.length} bytes, longer than ${size} bytes for this curve.`, 'Check that the signature matches the key\'s curve.');
    v.copy(out, i * size + (size - v.length));
  }
  return out;
}

/**
 * The hash CKM_ECDSA expects as its input (the mechanism does not hash: PKCS#11 v2.40 §2.3.6,
 * "corresponds only to the part of ECDSA that processes the hash value"). The token truncates a hash
 * longer than the group order itself, per the ECDSA definition.
 */
export function hashForEcdsa(alg: EcdsaHash, data: Uint8Array): Buffer {
  if (!(alg in HASH_LENGTH)) invalidInput(`Unsupported hash "${String(alg)}" for ECDSA.`, 'Use sha256, sha384 or sha512.');
  asBytes(data, 'The data to hash');
  return createHash(alg).update(data).digest();
}

// RFC 8017 §9.2 Note 1: DER of DigestInfo { AlgorithmIdentifier { id-shaX, NULL }, OCTET STRING }
// up to and including the OCTET STRING header; the hash follows.
const DIGEST_INFO_PREFIX: Record<DigestInfoHash, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/**
 * DigestInfo DER for signing with CKM_RSA_PKCS (RSASSA-PKCS1-v1_5 with the hashing done outside the
 * token). The hash must already be computed and have the right length for `alg`.
 */
export function digestInfo(alg: DigestInfoHash, hash: Uint8Array): Buffer {
  const prefix = DIGEST_INFO_PREFIX[alg];
  if (!prefix) invalidInput(`Unsupported hash "${String(alg)}" for a PKCS#1 v1.5 DigestInfo.`, 'Use sha256, sha384 or sha512.');
  asBytes(hash, 'The hash');
  if (hash.length !== HASH_LENGTH[alg]) {
    invalidInput(`A ${alg} hash is ${HASH_LENGTH[alg]} bytes; this one is ${hash.length}. Pass the hash, not the data.`, 'Hash the data first (for example with hashForEcdsa or createHash).');
  }
  return Buffer.concat([prefix, hash]);
}
