// Key types, usages and mechanisms as custodians choose them, with the words the UI shows. Pure data:
// the renderer builds its forms from this, main validates against it, the HSM host maps it to PKCS#11.

/** A token as every layer names it: the PKCS#11 module's path and the token's RFC 7512 URI (or label). */
export interface TokenRef {
  module: string;
  /** PKCS#11 URI of the token (from the token list), or its label in the CLI. */
  token: string;
}

export type KeyTypeName =
  | 'aes-128'
  | 'aes-192'
  | 'aes-256'
  | 'hmac-256'
  | 'tdes'
  | 'rsa-2048'
  | 'rsa-3072'
  | 'rsa-4096'
  | 'ec-p256'
  | 'ec-p384'
  | 'ed25519';

export type KeyUsageName = 'encrypt' | 'sign' | 'wrap' | 'derive';

export interface KeyTypeInfo {
  type: KeyTypeName;
  title: string;
  family: 'symmetric' | 'asymmetric';
  /** Usages this type can have; the first is the usual one. */
  usages: KeyUsageName[];
  note: string;
}

export const KEY_TYPES: readonly KeyTypeInfo[] = [
  { type: 'aes-256', title: 'AES-256', family: 'symmetric', usages: ['encrypt', 'wrap', 'sign'], note: 'Data encryption keys, key-encryption keys (KEKs), CMAC.' },
  { type: 'aes-192', title: 'AES-192', family: 'symmetric', usages: ['encrypt', 'wrap', 'sign'], note: 'For systems that require 192-bit AES.' },
  { type: 'aes-128', title: 'AES-128', family: 'symmetric', usages: ['encrypt', 'wrap', 'sign'], note: 'For systems that require 128-bit AES.' },
  { type: 'hmac-256', title: 'HMAC secret (256-bit)', family: 'symmetric', usages: ['sign'], note: 'Message authentication (HMAC-SHA-256/384/512).' },
  { type: 'tdes', title: 'Triple DES (3-key)', family: 'symmetric', usages: ['encrypt', 'wrap', 'sign'], note: 'Legacy payment systems only.' },
  { type: 'ec-p256', title: 'EC P-256', family: 'asymmetric', usages: ['sign', 'derive'], note: 'ECDSA signatures, ECDH. Widely supported.' },
  { type: 'ec-p384', title: 'EC P-384', family: 'asymmetric', usages: ['sign', 'derive'], note: 'ECDSA for CA roots and long-lived keys.' },
  { type: 'ed25519', title: 'Ed25519', family: 'asymmetric', usages: ['sign'], note: 'EdDSA signatures, where the token offers it.' },
  { type: 'rsa-3072', title: 'RSA-3072', family: 'asymmetric', usages: ['sign', 'encrypt', 'wrap'], note: 'Signatures and key transport; good until 2030+ (NIST SP 800-57).' },
  { type: 'rsa-2048', title: 'RSA-2048', family: 'asymmetric', usages: ['sign', 'encrypt', 'wrap'], note: 'For compatibility; prefer 3072 for new keys.' },
  { type: 'rsa-4096', title: 'RSA-4096', family: 'asymmetric', usages: ['sign', 'encrypt', 'wrap'], note: 'Cloud KMS import wrapping keys, long-lived roots.' },
];

export const USAGE_WORDS: Record<KeyUsageName, string> = {
  encrypt: 'Encrypt and decrypt data',
  sign: 'Sign and verify (MAC for secret keys)',
  wrap: 'Wrap and unwrap other keys',
  derive: 'Derive keys (ECDH)',
};

export type SignMechanismName =
  | 'ecdsa-sha256'
  | 'ecdsa-sha384'
  | 'rsa-pkcs1-sha256'
  | 'rsa-pkcs1-sha384'
  | 'rsa-pss-sha256'
  | 'rsa-pss-sha384'
  | 'ed25519'
  | 'hmac-sha256'
  | 'hmac-sha384'
  | 'hmac-sha512'
  | 'aes-cmac';

export const SIGN_MECHANISMS: readonly SignMechanismName[] = [
  'ecdsa-sha256',
  'ecdsa-sha384',
  'rsa-pkcs1-sha256',
  'rsa-pkcs1-sha384',
  'rsa-pss-sha256',
  'rsa-pss-sha384',
  'ed25519',
  'hmac-sha256',
  'hmac-sha384',
  'hmac-sha512',
  'aes-cmac',
];

export type WrapMechanismName = 'aes-kw' | 'aes-kwp' | 'rsa-oaep-sha1' | 'rsa-oaep-sha256' | 'rsa-aes-kwp-sha1' | 'rsa-aes-kwp-sha256';

export const WRAP_MECHANISMS: readonly WrapMechanismName[] = ['aes-kw', 'aes-kwp', 'rsa-oaep-sha1', 'rsa-oaep-sha256', 'rsa-aes-kwp-sha1', 'rsa-aes-kwp-sha256'];

export const EXTRACTABLE_WORDS = {
  no: 'Never leaves the token. It cannot be backed up, archived or exported; if the token is lost, so is the key.',
  yes: 'Can leave the token only wrapped (encrypted) under another key, for backup, archive or transfer. Never in plaintext.',
} as const;

export interface KeyUsageFlags {
  encrypt: boolean;
  decrypt: boolean;
  sign: boolean;
  verify: boolean;
  wrap: boolean;
  unwrap: boolean;
  derive: boolean;
}

/**
 * The first bytes of the CKA_ID of every key an archive retrieval brings back (ASCII "RETR"): Custos's
 * operations look for the key's limits record only for such keys (docs/FORMAT.md, "Retrieved keys").
 */
export const RETRIEVED_ID_PREFIX = '52455452';

export interface KeyEntry {
  label: string;
  idHex: string;
  uri: string;
  kind: 'secret' | 'pair' | 'private' | 'public';
  keyType: 'aes' | 'generic-secret' | 'tdes' | 'rsa' | 'ec' | 'ed25519' | 'other' | null;
  bits: number | null;
  curve: string | null;
  sensitive: boolean | null;
  extractable: boolean | null;
  neverExtractable: boolean | null;
  local: boolean | null;
  usage: KeyUsageFlags;
  onToken: boolean;
}

export interface KeyDetail extends KeyEntry {
  /** Secret keys: AES/TDES check values (CMAC per X9.24-1:2017, 5 bytes; legacy ECB, 3 bytes). */
  checkValue: { cmac: string | null; legacy: string | null; note?: string } | null;
  /** Public keys: SHA-256 over the SubjectPublicKeyInfo. */
  fingerprint: { sha256: string; short: string } | null;
  publicKeyPem: string | null;
}

export type GeneratedKey = KeyDetail;

export interface TokenCapabilities {
  mechanisms: Array<{ type: number; name: string; minKeySize: number; maxKeySize: number; flags: number }>;
  keyTypes: KeyTypeName[];
  sign: SignMechanismName[];
  wrap: WrapMechanismName[];
  wrapProbe: { aesKw: string | null; aesKwp: { mechanism: string; wrap: 'any' | 'aligned' | 'none' } | null; notes: string[] };
  rsaAesNative: boolean;
}
