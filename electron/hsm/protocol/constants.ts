// PKCS#11 numbers the host needs, from pkcs11t.h (v2.40 and v3.0). pkcs11js lacks the v3.0 ones
// (EdDSA, AES-KWP per RFC 5649, RSA-AES key wrap), so all are listed here under one roof. They sit
// with the protocol because messages carry them (a mechanism list, the wrap probe's verdict), and
// the main side reads those answers (services/keys.ts) without loading pkcs11js.

export const CKO = { DATA: 0x0, CERTIFICATE: 0x1, PUBLIC_KEY: 0x2, PRIVATE_KEY: 0x3, SECRET_KEY: 0x4 } as const;

export const CKK = {
  RSA: 0x0,
  EC: 0x3,
  GENERIC_SECRET: 0x10,
  DES3: 0x15,
  AES: 0x1f,
  EC_EDWARDS: 0x40,
} as const;

export const CKA = {
  CLASS: 0x0,
  TOKEN: 0x1,
  PRIVATE: 0x2,
  LABEL: 0x3,
  APPLICATION: 0x10,
  VALUE: 0x11,
  KEY_TYPE: 0x100,
  ID: 0x102,
  SENSITIVE: 0x103,
  ENCRYPT: 0x104,
  DECRYPT: 0x105,
  WRAP: 0x106,
  UNWRAP: 0x107,
  SIGN: 0x108,
  SIGN_RECOVER: 0x109,
  VERIFY: 0x10a,
  VERIFY_RECOVER: 0x10b,
  DERIVE: 0x10c,
  START_DATE: 0x110,
  END_DATE: 0x111,
  MODULUS: 0x120,
  MODULUS_BITS: 0x121,
  PUBLIC_EXPONENT: 0x122,
  VALUE_LEN: 0x161,
  EXTRACTABLE: 0x162,
  LOCAL: 0x163,
  NEVER_EXTRACTABLE: 0x164,
  ALWAYS_SENSITIVE: 0x165,
  KEY_GEN_MECHANISM: 0x166,
  MODIFIABLE: 0x170,
  COPYABLE: 0x171,
  DESTROYABLE: 0x172,
  EC_PARAMS: 0x180,
  EC_POINT: 0x181,
  CHECK_VALUE: 0x90,
  TRUSTED: 0x86,
  WRAP_WITH_TRUSTED: 0x210,
} as const;

export const CKM = {
  RSA_PKCS_KEY_PAIR_GEN: 0x0,
  RSA_PKCS: 0x1,
  RSA_X_509: 0x3,
  RSA_PKCS_OAEP: 0x9,
  RSA_PKCS_PSS: 0xd,
  SHA256_RSA_PKCS: 0x40,
  SHA384_RSA_PKCS: 0x41,
  SHA512_RSA_PKCS: 0x42,
  SHA256_RSA_PKCS_PSS: 0x43,
  SHA384_RSA_PKCS_PSS: 0x44,
  SHA512_RSA_PKCS_PSS: 0x45,
  DES3_KEY_GEN: 0x131,
  DES3_ECB: 0x132,
  DES3_CMAC: 0x138,
  SHA_1: 0x220,
  SHA256: 0x250,
  SHA256_HMAC: 0x251,
  SHA384: 0x260,
  SHA384_HMAC: 0x261,
  SHA512: 0x270,
  SHA512_HMAC: 0x271,
  GENERIC_SECRET_KEY_GEN: 0x350,
  EC_KEY_PAIR_GEN: 0x1040,
  ECDSA: 0x1041,
  ECDSA_SHA256: 0x1044,
  ECDSA_SHA384: 0x1045,
  ECDH1_DERIVE: 0x1050,
  RSA_AES_KEY_WRAP: 0x1054,
  EC_EDWARDS_KEY_PAIR_GEN: 0x1055,
  EDDSA: 0x1057,
  AES_KEY_GEN: 0x1080,
  AES_ECB: 0x1081,
  AES_CBC: 0x1082,
  AES_CBC_PAD: 0x1085,
  AES_GCM: 0x1087,
  AES_CMAC: 0x108a,
  AES_KEY_WRAP: 0x2109,
  AES_KEY_WRAP_PAD: 0x210a,
  AES_KEY_WRAP_KWP: 0x210b,
} as const;

export const MECHANISM_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(CKM).map(([name, value]) => [value, `CKM_${name}`]),
);

export const CKG_MGF1 = { SHA1: 0x1, SHA256: 0x2, SHA384: 0x3, SHA512: 0x4 } as const;
export const CKZ_DATA_SPECIFIED = 0x1;

// CK_MECHANISM_INFO flags, PKCS#11 v2.40 §3.3
export const CKF_MECH = {
  HW: 0x1,
  ENCRYPT: 0x100,
  DECRYPT: 0x200,
  DIGEST: 0x400,
  SIGN: 0x800,
  VERIFY: 0x2000,
  GENERATE: 0x8000,
  GENERATE_KEY_PAIR: 0x10000,
  WRAP: 0x20000,
  UNWRAP: 0x40000,
  DERIVE: 0x80000,
} as const;

/** DER OIDs of named curves, as CKA_EC_PARAMS holds them (RFC 5480 §2.1.1.1). */
export const CURVE_OIDS: Record<string, string> = {
  'P-256': '06082a8648ce3d030107',
  'P-384': '06052b81040022',
  'P-521': '06052b81040023',
  // RFC 8410: id-Ed25519 1.3.101.112 (PKCS#11 v3.0 also allows the printable string "edwards25519")
  Ed25519: '06032b6570',
};
