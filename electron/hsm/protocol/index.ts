// Messages between the HSM client (main process) and the HSM host process, which is the only
// place pkcs11js is loaded. A vendor library that crashes or hangs takes down only the host.
//
// electron/hsm/protocol/ is what both sides share and nothing else: these messages, the PKCS#11
// numbers they carry (constants.ts), the packed transport (packing.ts), the shared arena's layout
// (arena.ts) and the one loader of the batch addon (addon.ts). The main side (client/) and the host
// side (host/) each import it and never each other; lint rules hold both lines. The file is the
// folder's index so that `hsm/protocol` names the messages for every importer.
import type { KeyTypeName, KeyUsageName, SignMechanismName, WrapMechanismName } from '../../../shared/keys';
import type { AppError } from '../../../shared/result';

export interface RawLibraryInfo {
  manufacturer: string;
  description: string;
  version: string;
  cryptokiVersion: string;
}

export interface RawTokenInfo {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  flags: number;
  minPinLength: number;
  maxPinLength: number;
  loggedIn: 'user' | 'so' | null;
}

export interface RawSlot {
  slotId: string;
  description: string;
  manufacturer: string;
  flags: number;
  token: RawTokenInfo | null;
}

// One vocabulary with the renderer and the CLI: the names are defined once, in shared/keys.ts.
export type KeyType = KeyTypeName;

/** What a key may be used for. Every PKCS#11 usage attribute is set from this, explicitly. */
export type KeyUsage = KeyUsageName;

export type ObjectKind = 'secret' | 'private' | 'public';

/** What restrictUsage did: each object after the change, and each attribute the token would not change (with its CKR name). */
export interface RestrictResult {
  objects: RawObject[];
  refused: Array<{ kind: RawObject['kind']; attribute: 'encrypt' | 'sign' | 'wrap'; ckr: string }>;
}

/** Objects are found by CKA_ID and/or label (and kind), never by handle: handles are per session. */
export interface ObjectRef {
  idHex?: string;
  label?: string;
  kind?: ObjectKind;
}

export interface RawObject {
  kind: ObjectKind | 'certificate' | 'data' | 'other';
  keyType: 'aes' | 'generic-secret' | 'tdes' | 'rsa' | 'ec' | 'ed25519' | 'other' | null;
  label: string;
  idHex: string;
  onToken: boolean;
  private: boolean;
  sensitive: boolean | null;
  extractable: boolean | null;
  neverExtractable: boolean | null;
  alwaysSensitive: boolean | null;
  local: boolean | null;
  usage: { encrypt: boolean; decrypt: boolean; sign: boolean; verify: boolean; wrap: boolean; unwrap: boolean; derive: boolean };
  /** Key size in bits (secret: CKA_VALUE_LEN × 8; RSA: modulus bits; EC: curve size). */
  bits: number | null;
  curve: string | null;
  /** CKA_CHECK_VALUE if the token keeps one (PKCS#11 v2.40: legacy 3-byte value). */
  checkValueHex: string | null;
  /** Secret and private keys: CKA_WRAP_WITH_TRUSTED (only keys marked CKA_TRUSTED may wrap it); null where the token does not say. */
  wrapWithTrusted: boolean | null;
  /** Secret and public keys: CKA_TRUSTED (set by the SO only); null where the token does not say. */
  trusted: boolean | null;
}

export interface GenerateSpec {
  type: KeyType;
  label: string;
  idHex: string;
  usages: KeyUsage[];
  /** Extractable under wrap only: CKA_EXTRACTABLE true but CKA_SENSITIVE always true. */
  extractable: boolean;
  /**
   * CKA_WRAP_WITH_TRUSTED: only a key the SO marked CKA_TRUSTED may wrap this one, so the token
   * itself keeps it from being wrapped out with the user PIN alone. It cannot be set later
   * (SoftHSM: CKR_ATTRIBUTE_READ_ONLY), so it is set at generation.
   */
  wrapWithTrusted?: boolean;
}

export type SignMechanism = SignMechanismName;

export type CipherMechanism = 'aes-gcm' | 'rsa-oaep-sha1' | 'rsa-oaep-sha256';

export type WrapMechanism = WrapMechanismName;

export interface MechanismEntry {
  type: number;
  name: string;
  minKeySize: number;
  maxKeySize: number;
  flags: number;
}

export interface WrapProbe {
  /** The mechanism that reproduced every RFC 3394 vector, if any. */
  aesKw: number | null;
  /**
   * The mechanism that unwraps every RFC 5649 vector (names are not trusted), and how far its wrap
   * output can be trusted: for any key length, or only for lengths that are a multiple of 8 bytes.
   */
  aesKwp: { mechanism: number; wrap: 'any' | 'aligned' | 'none' } | null;
  notes: string[];
}

export interface UnwrapTemplate {
  kind: 'secret' | 'private';
  keyType: 'aes' | 'generic-secret' | 'tdes' | 'rsa' | 'ec' | 'ed25519';
  label: string;
  idHex: string;
  usages: KeyUsage[];
  extractable: boolean;
  /** false: a session object that disappears when the session ends (transport and test keys). */
  onToken: boolean;
  /** CKA_WRAP_WITH_TRUSTED on the new key (see GenerateSpec.wrapWithTrusted). */
  wrapWithTrusted?: boolean;
  /** CKA_START_DATE / CKA_END_DATE (YYYY-MM-DD): stored by the token, which enforces neither (PKCS#11 v3.0 §4.7). */
  startDate?: string;
  endDate?: string;
}

/** What a retrieval allowed a key: its dates (YYYY-MM-DD) and uses, and the uses so far. */
export interface KeyLimits {
  validFrom: string | null;
  validUntil: string | null;
  maxUses: number | null;
  used: number;
}

export interface PublicKeyAttrs {
  keyType: 'rsa' | 'ec' | 'ed25519';
  modulus?: Uint8Array;
  publicExponent?: Uint8Array;
  ecParams?: Uint8Array;
  ecPoint?: Uint8Array;
}

type Tok = { path: string; token: string };

export interface HostMethods {
  /** nativeBatch: whether batches run in one native call (native/p11batch) or item by item through pkcs11js. */
  ping: { params: Record<string, never>; result: { pid: number; nativeBatch: boolean; arena: boolean; arenaBytesRead: number } };
  /** The shared arena: the host creates it (null without the addon), the client maps it and says so. */
  arenaCreate: { params: { size: number }; result: { fd: number; pid: number } | null };
  arenaMapped: { params: Record<string, never>; result: { mapped: boolean } };
  load: { params: { path: string }; result: RawLibraryInfo };
  unload: { params: { path: string }; result: { unloaded: boolean } };
  slots: { params: { path: string }; result: RawSlot[] };
  initToken: { params: { path: string; slotId: string; soPin: string; label: string }; result: RawSlot };
  initUserPin: { params: { path: string; token: string; soPin: string; userPin: string }; result: RawSlot };
  login: { params: { path: string; token: string; role: 'user' | 'so'; pin: string }; result: RawSlot };
  logout: { params: { path: string; token: string }; result: RawSlot };
  finalizeAll: { params: Record<string, never>; result: { finalized: number } };
  changePin: { params: Tok & { oldPin: string; newPin: string }; result: RawSlot };
  mechanisms: { params: Tok; result: MechanismEntry[] };
  probeWrap: { params: Tok; result: WrapProbe };
  generate: { params: Tok & { spec: GenerateSpec }; result: RawObject[] };
  objects: { params: Tok & { ref: ObjectRef }; result: RawObject[] };
  setLabel: { params: Tok & { ref: ObjectRef; newLabel: string }; result: RawObject[] };
  /** Turns the protecting uses off (CKA_ENCRYPT, CKA_SIGN, CKA_WRAP) on every object of ref; what the token refused is reported, not thrown. */
  restrictUsage: { params: Tok & { ref: ObjectRef }; result: RestrictResult };
  destroy: { params: Tok & { ref: ObjectRef }; result: { destroyed: number } };
  publicKey: { params: Tok & { ref: ObjectRef }; result: PublicKeyAttrs };
  importPublic: { params: Tok & { label: string; idHex: string; attrs: PublicKeyAttrs; usages: KeyUsage[]; onToken: boolean }; result: RawObject };
  checkValue: { params: Tok & { ref: ObjectRef }; result: { cmacHex: string | null; ecbHex: string | null; note?: string } };
  sign: { params: Tok & { ref: ObjectRef; mechanism: SignMechanism; data: Uint8Array[] }; result: Uint8Array[] };
  verify: { params: Tok & { ref: ObjectRef; mechanism: SignMechanism; data: Uint8Array; signature: Uint8Array }; result: { valid: boolean } };
  encrypt: { params: Tok & { ref: ObjectRef; mechanism: CipherMechanism; data: Uint8Array[]; aad?: Uint8Array }; result: Array<{ iv: Uint8Array | null; ciphertext: Uint8Array }> };
  decrypt: { params: Tok & { ref: ObjectRef; mechanism: CipherMechanism; ciphertext: Uint8Array; iv?: Uint8Array; aad?: Uint8Array }; result: { plaintext: Uint8Array } };
  random: { params: Tok & { length: number }; result: Uint8Array };
  wrap: { params: Tok & { wrapping: ObjectRef; targets: ObjectRef[]; mechanism: WrapMechanism }; result: Uint8Array[] };
  unwrap: { params: Tok & { unwrapping: ObjectRef; wrapped: Uint8Array; mechanism: WrapMechanism; template: UnwrapTemplate }; result: RawObject };
  /**
   * Archive KEK rotation (host/rewrap.ts): each RFC 5649 blob unwrapped under `from` into a session
   * object, wrapped under `to`, and verified (the new blob unwrapped and wrapped back under `from`
   * must give the original bytes). Returns the new blobs; the plaintext never leaves the token.
   */
  rewrap: { params: Tok & { from: ObjectRef; to: ObjectRef; items: Array<{ wrapped: Uint8Array; kind: UnwrapTemplate['kind']; keyType: UnwrapTemplate['keyType'] }> }; result: Uint8Array[] };
  /**
   * The limits record beside a retrieved key (host/limits.ts): create it, read it, remove it, or
   * `use` it on `today` (counted only inside the dates and while uses are left). null: none.
   */
  keyLimits: { params: Tok & { keyIdHex: string; create?: KeyLimits & { onToken: boolean }; use?: { today: string }; remove?: boolean }; result: { limits: KeyLimits; counted: boolean; refused?: 'before' | 'after' | 'uses' } | null };
  /** Test hooks, only answered when CUSTOS_HSM_TEST_HOOKS=1 is in the host's environment. */
  'test.hang': { params: { ms: number }; result: { done: boolean } };
  'test.crash': { params: Record<string, never>; result: never };
  // Sealed shares (host/sealing.ts) and wrapped secret import (host/secret-import.ts).
  /** Whether ECDH on this token can apply the ANSI X9.63 SHA-256 KDF (probed with throw-away session keys). */
  probeSealing: { params: Tok; result: SealingProbe };
  /** Decrypts a sealed share inside the token with the custodian's private key; returns only the share bytes. */
  unsealShare: { params: Tok & { ref: ObjectRef; payload: SealedPayload }; result: { plaintext: Uint8Array } };
  /** Step 1 of a wrapped import: an ephemeral RSA-2048 session key pair; its public half comes back. */
  importSecretBegin: { params: Tok; result: ImportTransport };
  /** Step 2: RSA-OAEP-SHA1 C_UnwrapKey of the key bytes into a new key; the ephemeral pair is destroyed either way. */
  importSecretWrapped: { params: Tok & { transportId: string; wrapped: Uint8Array; template: UnwrapTemplate }; result: RawObject };
  /** Destroys an ephemeral transport pair left by a step 1 whose step 2 never came. */
  importSecretAbort: { params: Tok & { transportId: string }; result: { destroyed: number } };
  /** Documented fallback for tokens without RSA-OAEP unwrap: C_CreateObject with the key value. */
  importSecretPlain: { params: Tok & { value: Uint8Array; template: UnwrapTemplate }; result: RawObject };
  /**
   * The SO creates a trusted AES-256 wrapping key (CKA_TRUSTED, wrap only, public token object: an
   * SO session writes only public objects) with the given value; a user session in another process
   * then wraps keys marked CKA_WRAP_WITH_TRUSTED with it and destroys it (docs/ARCHITECTURE.md
   * "Trusted wrapping"). Needs an SO login on the token.
   */
  createTrustedKey: { params: Tok & { value: Uint8Array; label: string; idHex: string }; result: RawObject };
}

export type HostMethod = keyof HostMethods;

export interface HostRequest<M extends HostMethod = HostMethod> {
  id: number;
  method: M;
  params: HostMethods[M]['params'];
  /** Room in the shared arena for this request's large response columns: [offset, capacity] (protocol/arena.ts). */
  arenaOut?: [number, number];
}

export type HostResponse =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: AppError };

/** Methods whose parameters carry a PIN: never logged, never echoed. */
export const SECRET_BEARING: ReadonlySet<HostMethod> = new Set(['initToken', 'initUserPin', 'login', 'changePin', 'decrypt', 'importSecretPlain', 'createTrustedKey']);

// ---------------------------------------------------------------------------------------------
// Sealed shares (custos.sealedshare v1, docs/FORMAT.md) and wrapped secret import

/** Envelope algorithms: how the 256-bit content key reaches the custodian's token. */
export type SealAlg = 'RSA-OAEP-SHA1+A256GCM' | 'RSA-OAEP-SHA256+A256GCM' | 'ECDH-P256+A256GCM';

/** ECDH key derivation: none (CKD_NULL, the shared secret Z is the key) or ANSI X9.63 with SHA-256 (CKD_SHA256_KDF). */
export type SealKdf = 'none' | 'x963-sha256';

/** What the token needs to open one sealed share. Nothing here is secret. */
export interface SealedPayload {
  alg: SealAlg;
  /** ECDH only. */
  kdf?: SealKdf;
  /** ECDH with x963-sha256: the KDF's SharedInfo. */
  sharedInfo?: Uint8Array;
  /** RSA: the OAEP ciphertext of the content key. */
  encryptedKey?: Uint8Array;
  /** ECDH: the sender's ephemeral public point, uncompressed (04 ‖ X ‖ Y). */
  ephemeralPoint?: Uint8Array;
  iv: Uint8Array;
  /** AES-GCM ciphertext ‖ 128-bit tag. */
  ciphertext: Uint8Array;
  aad: Uint8Array;
}

export interface SealingProbe {
  ecdh: boolean;
  ecdhX963Sha256: boolean;
  notes: string[];
}

export interface ImportTransport {
  /** CKA_ID (hex) of the ephemeral pair: names it for step 2 or the abort. */
  transportId: string;
  modulus: Uint8Array;
  publicExponent: Uint8Array;
}
