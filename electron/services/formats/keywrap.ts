// AES key wrap (RFC 3394), AES key wrap with padding (RFC 5649), and the RSA-AES composition that
// PKCS#11 calls CKM_RSA_AES_KEY_WRAP and the cloud KMSs use for "bring your own key" imports.
//
// These are reference implementations in Node for tests and for composing blobs outside a token. The
// block-cipher work is OpenSSL's (through node:crypto), not ours: Node 20 exposes the OpenSSL wrap
// ciphers id-aes{128,192,256}-wrap (RFC 3394, default IV A6A6A6A6A6A6A6A6) and
// id-aes{128,192,256}-wrap-pad (RFC 5649, AIV A65959A6 ‖ 32-bit length), which
// test/vectors/keywrap pins against the RFC vectors. This file only chooses the cipher, checks sizes
// and turns OpenSSL's failures into messages.
//
// CKM_RSA_AES_KEY_WRAP (PKCS#11 v2.40 §2.1.21): generate a temporary AES key; wrap the target key
// with it using CKM_AES_KEY_WRAP_PAD (RFC 5649); wrap the temporary key with the RSA public key using
// CKM_RSA_PKCS_OAEP; output = RSA-OAEP part ‖ AES-KWP part. The RSA part is always exactly k bytes
// (the modulus length), which is how a receiver splits the blob. A private target key is wrapped as
// its PKCS#8 PrivateKeyInfo DER, a secret key as its raw value.

import { constants, createCipheriv, createDecipheriv, createPublicKey, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { CustosError, invalidInput } from '../../../shared/result';
import { inspectSpki } from './publicKey';

export type OaepHash = 'sha1' | 'sha256';

// RFC 3394 §2.2.3.1 default IV; RFC 5649 §3 alternative IV (the 32-bit MLI follows inside the cipher).
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const KWP_AIV = Buffer.from('a65959a6', 'hex');

function bytes(value: unknown, what: string): Buffer {
  if (!(value instanceof Uint8Array)) invalidInput(`${what} must be bytes.`, 'Pass a Buffer or Uint8Array.');
  return Buffer.from(value);
}

function kekBits(kek: Buffer): 128 | 192 | 256 {
  if (kek.length === 16 || kek.length === 24 || kek.length === 32) return (kek.length * 8) as 128 | 192 | 256;
  return invalidInput(`The key-encryption key is ${kek.length} bytes; an AES key is 16, 24 or 32 bytes.`, 'Use an AES-128, AES-192 or AES-256 key.');
}

function run(cipher: 'wrap' | 'wrap-pad', direction: 'wrap' | 'unwrap', kek: Buffer, input: Buffer): Buffer {
  const name = `id-aes${kekBits(kek)}-${cipher}`;
  const iv = cipher === 'wrap' ? KW_IV : KWP_AIV;
  try {
    const c = direction === 'wrap' ? createCipheriv(name, kek, iv) : createDecipheriv(name, kek, iv);
    return Buffer.concat([c.update(input), c.final()]);
  } catch (e) {
    if (direction === 'unwrap') {
      // RFC 3394 §2.2.3 / RFC 5649 §3: the integrity check value did not match.
      return invalidInput(
        'Unwrapping failed the integrity check: the key-encryption key is wrong or the wrapped data was altered.',
        'Check that the right key-encryption key was used and that the wrapped key was copied completely.',
      );
    }
    throw new CustosError({ code: 'INTERNAL', message: `AES key wrap failed (${e instanceof Error ? e.message : String(e)}).`, action: 'Report this.' });
  }
}

/** RFC 3394 AES Key Wrap. The key to wrap must be a multiple of 8 bytes and at least 16 bytes (RFC 3394 §2: n ≥ 2). */
export function aesKeyWrap(kek: Uint8Array, key: Uint8Array): Buffer {
  const k = bytes(kek, 'The key-encryption key');
  const p = bytes(key, 'The key to wrap');
  kekBits(k);
  if (p.length < 16 || p.length % 8 !== 0) {
    invalidInput(`RFC 3394 key wrap needs key data of at least 16 bytes in whole 8-byte blocks; this is ${p.length} bytes.`, 'Use aesKeyWrapPad (RFC 5649) for other lengths.');
  }
  return run('wrap', 'wrap', k, p);
}

/** RFC 3394 AES Key Unwrap; throws INVALID_INPUT if the integrity check fails. */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Buffer {
  const k = bytes(kek, 'The key-encryption key');
  const c = bytes(wrapped, 'The wrapped key');
  kekBits(k);
  if (c.length < 24 || c.length % 8 !== 0) {
    invalidInput(`An RFC 3394 wrapped key is at least 24 bytes in whole 8-byte blocks; this is ${c.length} bytes.`, 'Check that the wrapped key was copied completely.');
  }
  return run('wrap', 'unwrap', k, c);
}

/** RFC 5649 AES Key Wrap with Padding: any key length from 1 byte up. */
export function aesKeyWrapPad(kek: Uint8Array, key: Uint8Array): Buffer {
  const k = bytes(kek, 'The key-encryption key');
  const p = bytes(key, 'The key to wrap');
  kekBits(k);
  if (p.length === 0) invalidInput('There is no key data to wrap.', 'Pass the key to wrap.');
  // RFC 5649 §3: the MLI is 32 bits. Far beyond anything a key could be, but stated for completeness.
  if (p.length > 0xffffffff) invalidInput('The key data is too long for RFC 5649.', 'Wrap less data.');
  return run('wrap-pad', 'wrap', k, p);
}

/** RFC 5649 AES Key Unwrap with Padding; checks the AIV, the length indicator and the zero padding. */
export function aesKeyUnwrapPad(kek: Uint8Array, wrapped: Uint8Array): Buffer {
  const k = bytes(kek, 'The key-encryption key');
  const c = bytes(wrapped, 'The wrapped key');
  kekBits(k);
  if (c.length < 16 || c.length % 8 !== 0) {
    invalidInput(`An RFC 5649 wrapped key is at least 16 bytes in whole 8-byte blocks; this is ${c.length} bytes.`, 'Check that the wrapped key was copied completely.');
  }
  return run('wrap-pad', 'unwrap', k, c);
}

// ---------------------------------------------------------------------------------------------
// RSA-AES key wrap (CKM_RSA_AES_KEY_WRAP)

export interface RsaAesKeyWrapInput {
  /** The receiver's RSA wrapping public key, canonical SPKI DER (from parsePublicKey). */
  rsaPublicSpki: Uint8Array;
  /** Hash for RSA-OAEP; MGF1 uses the same hash and the label is empty. */
  oaepHash: OaepHash;
  /** The key to transport: raw bytes for a secret key, PKCS#8 PrivateKeyInfo DER for a private key. */
  targetKey: Uint8Array;
  /** A fresh random AES-256 key from the caller (a token's C_GenerateRandom or crypto.randomBytes). */
  ephemeralAesKey: Uint8Array;
}

/** Smallest RSA wrapping key accepted: 2048 bits (NIST SP 800-131A Rev. 2; every profile below needs at least this). */
const RSA_WRAP_MIN_BITS = 2048;

function oaepHashOf(value: unknown): OaepHash {
  if (value !== 'sha1' && value !== 'sha256') invalidInput(`The OAEP hash must be sha1 or sha256; got "${String(value)}".`, 'Use the hash the receiving service asks for (see byokProfiles()).');
  return value;
}

/**
 * RSA-OAEP(ephemeral AES key) ‖ AES-KWP(ephemeral, target key) — the PKCS#11 CKM_RSA_AES_KEY_WRAP
 * output, as AWS KMS, Google Cloud KMS and Vault transit accept it for key import. RSA-OAEP is
 * randomised, so the first part differs on every call; the second part is deterministic.
 */
export function rsaAesKeyWrapCompose(input: RsaAesKeyWrapInput): Buffer {
  if (typeof input !== 'object' || input === null) invalidInput('No wrap input was given.', 'Pass rsaPublicSpki, oaepHash, targetKey and ephemeralAesKey.');
  const hash = oaepHashOf(input.oaepHash);
  const info = inspectSpki(input.rsaPublicSpki);
  if (info.kind !== 'rsa') invalidInput(`The wrapping key must be an RSA public key; this is an ${info.kind === 'ed25519' ? 'Ed25519' : 'EC'} key.`, 'Use the RSA wrapping key the receiving service gave you.');
  if (info.bits! < RSA_WRAP_MIN_BITS) invalidInput(`The RSA wrapping key is ${info.bits} bits; at least ${RSA_WRAP_MIN_BITS} bits are required.`, 'Ask the receiving service for a larger wrapping key.');
  const ephemeral = bytes(input.ephemeralAesKey, 'The ephemeral AES key');
  if (ephemeral.length !== 32) {
    invalidInput(`The ephemeral AES key is ${ephemeral.length} bytes; it must be 32 bytes (AES-256), which every supported service requires.`, 'Generate 32 random bytes for it.');
  }
  if (ephemeral.every((b) => b === ephemeral[0])) {
    invalidInput('The ephemeral AES key has every byte the same, so it was not filled with random data.', 'Generate it with a random number generator for every wrap.');
  }
  const target = bytes(input.targetKey, 'The target key');
  if (target.length === 0) invalidInput('The target key is empty.', 'Pass the key to transport.');

  const rsaPart = publicEncrypt(
    // Node uses oaepHash for both the OAEP hash and MGF1 (PKCS#11 CK_RSA_PKCS_OAEP_PARAMS with
    // hashAlg = CKM_SHAx, mgf = CKG_MGF1_SHAx, source empty), and the label defaults to empty.
    { key: createPublicKey({ key: Buffer.from(info.spki), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
    ephemeral,
  );
  const kwpPart = aesKeyWrapPad(ephemeral, target);
  return Buffer.concat([rsaPart, kwpPart]);
}

/**
 * The inverse, with Node's crypto only — for tests and for checking a blob before it leaves the
 * ceremony room. Returns the target key. Throws INVALID_INPUT if the RSA or AES layer fails.
 */
export function rsaAesKeyUnwrap(rsaPrivateKeyObject: KeyObject, wrapped: Uint8Array, oaepHash: OaepHash): Buffer {
  const hash = oaepHashOf(oaepHash);
  if (typeof rsaPrivateKeyObject !== 'object' || rsaPrivateKeyObject === null || rsaPrivateKeyObject.type !== 'private' || rsaPrivateKeyObject.asymmetricKeyType !== 'rsa') {
    invalidInput('Unwrapping needs an RSA private key object.', 'Pass the RSA private key as a node:crypto KeyObject.');
  }
  const blob = bytes(wrapped, 'The wrapped blob');
  const k = Math.ceil(rsaPrivateKeyObject.asymmetricKeyDetails!.modulusLength! / 8);
  if (blob.length < k + 16) invalidInput(`The wrapped blob is ${blob.length} bytes; with a ${k * 8}-bit RSA key it must be at least ${k + 16}.`, 'Check that the blob was copied completely and matches this key.');
  let ephemeral: Buffer;
  try {
    ephemeral = privateDecrypt({ key: rsaPrivateKeyObject, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, blob.subarray(0, k));
  } catch {
    return invalidInput('The RSA-OAEP part does not decrypt with this key and hash.', 'Check the private key and the OAEP hash (sha1 or sha256).');
  }
  try {
    return aesKeyUnwrapPad(ephemeral, blob.subarray(k));
  } finally {
    ephemeral.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------
// Cloud "bring your own key" profiles

export interface ByokProfile {
  /** Service and the name it gives the wrapping method. */
  name: string;
  /** RSA wrapping-key sizes the service offers for this method. */
  rsaBits: number[];
  /** OAEP hash; MGF1 uses the same hash and the label is empty in every profile. */
  oaepHash: OaepHash;
  /** Bytes of the blob, first to last. */
  layout: string;
  targetKeyEncoding: { symmetric: string; asymmetric: string };
  notes?: string;
  sources: string[];
}

const LAYOUT = 'RSA-OAEP(ephemeral AES-256 key) [k = modulus bytes] ‖ AES-KWP RFC 5649 (ephemeral key, target key)';

// The services' documented import formats, as documented when this was written (they can change):
//
// | profile                               | RSA bits         | OAEP/MGF1 | target: symmetric | target: asymmetric      |
// |---------------------------------------|------------------|-----------|-------------------|-------------------------|
// | AWS KMS RSA_AES_KEY_WRAP_SHA_1        | 2048, 3072, 4096 | SHA-1     | raw bytes         | PKCS#8 DER private key  |
// | AWS KMS RSA_AES_KEY_WRAP_SHA_256      | 2048, 3072, 4096 | SHA-256   | raw bytes         | PKCS#8 DER private key  |
// | GCP KMS RSA_OAEP_3072_SHA1_AES_256    | 3072             | SHA-1     | raw bytes         | PKCS#8 DER private key  |
// | GCP KMS RSA_OAEP_4096_SHA1_AES_256    | 4096             | SHA-1     | raw bytes         | PKCS#8 DER private key  |
// | GCP KMS RSA_OAEP_3072_SHA256_AES_256  | 3072             | SHA-256   | raw bytes         | PKCS#8 DER private key  |
// | GCP KMS RSA_OAEP_4096_SHA256_AES_256  | 4096             | SHA-256   | raw bytes         | PKCS#8 DER private key  |
// | Vault transit import (hash_function)  | 4096             | SHA-256*  | raw bytes         | PKCS#8 DER private key  |
//
// All of them: ephemeral AES-256 key, RSA part first, then the RFC 5649 part. *Vault's default;
// it also accepts SHA1, SHA224, SHA384 and SHA512 when hash_function says so.
const PROFILES: readonly ByokProfile[] = [
  {
    name: 'AWS KMS RSA_AES_KEY_WRAP_SHA_1',
    rsaBits: [2048, 3072, 4096],
    oaepHash: 'sha1',
    layout: LAYOUT,
    targetKeyEncoding: { symmetric: 'raw key bytes (e.g. 32 bytes for SYMMETRIC_DEFAULT, the HMAC key for HMAC specs)', asymmetric: 'private key only, PKCS#8 PrivateKeyInfo DER (AWS derives the public key)' },
    notes: 'Wrapping key spec RSA_2048/3072/4096 chosen in GetParametersForImport. Not available in China Regions.',
    sources: [
      'https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html',
      'https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-get-public-key-and-token.html',
      'https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html',
    ],
  },
  {
    name: 'AWS KMS RSA_AES_KEY_WRAP_SHA_256',
    rsaBits: [2048, 3072, 4096],
    oaepHash: 'sha256',
    layout: LAYOUT,
    targetKeyEncoding: { symmetric: 'raw key bytes (e.g. 32 bytes for SYMMETRIC_DEFAULT, the HMAC key for HMAC specs)', asymmetric: 'private key only, PKCS#8 PrivateKeyInfo DER (AWS derives the public key)' },
    notes: 'Wrapping key spec RSA_2048/3072/4096 chosen in GetParametersForImport. Not available in China Regions.',
    sources: [
      'https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html',
      'https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-get-public-key-and-token.html',
      'https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html',
    ],
  },
  ...(
    [
      [3072, 'sha1'],
      [4096, 'sha1'],
      [3072, 'sha256'],
      [4096, 'sha256'],
    ] as const
  ).map(
    ([bits, hash]): ByokProfile => ({
      name: `Google Cloud KMS RSA_OAEP_${bits}_${hash.toUpperCase()}_AES_256`,
      rsaBits: [bits],
      oaepHash: hash,
      layout: LAYOUT,
      targetKeyEncoding: {
        symmetric: 'raw key bytes, not hex or base64 (32 bytes for encryption keys; the hash length for HMAC keys)',
        asymmetric: 'PKCS#8 PrivateKeyInfo DER (RFC 5208)',
      },
      notes: 'ImportCryptoKeyVersion field rsaAesWrappedKey; the ImportJob fixes the RSA size and hash.',
      sources: [
        'https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.importJobs#ImportMethod',
        'https://cloud.google.com/kms/docs/key-wrapping',
        'https://cloud.google.com/kms/docs/formatting-keys-for-import',
      ],
    }),
  ),
  {
    name: 'HashiCorp Vault transit import (BYOK)',
    rsaBits: [4096],
    oaepHash: 'sha256',
    layout: LAYOUT,
    targetKeyEncoding: {
      symmetric: 'raw key bytes (aes128-gcm96, aes256-gcm96, chacha20-poly1305, hmac)',
      asymmetric: 'PKCS#8 PrivateKeyInfo DER (ecdsa-p256/p384/p521, ed25519, rsa-2048/3072/4096)',
    },
    notes:
      'Wrapping key from transit/wrapping_key (RSA-4096; Vault splits at byte 512). The ephemeral key must be 32 bytes. hash_function defaults to SHA256; SHA1, SHA224, SHA384 and SHA512 are accepted when named. The ciphertext is sent base64-encoded.',
    sources: [
      'https://developer.hashicorp.com/vault/docs/secrets/transit/key-wrapping-guide',
      'https://developer.hashicorp.com/vault/api-docs/secret/transit#import-key',
      'https://github.com/hashicorp/vault/blob/main/builtin/logical/transit/path_import.go',
    ],
  },
];

/** The import formats of the key-management services Custos can prepare keys for. */
export function byokProfiles(): ByokProfile[] {
  return PROFILES.map((p) => ({ ...p, rsaBits: [...p.rsaBits], targetKeyEncoding: { ...p.targetKeyEncoding }, sources: [...p.sources] }));
}
