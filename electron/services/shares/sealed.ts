// SLIP-39 shares sealed to a custodian's smartcard: the envelope format (custos.sealedshare v1,
// docs/FORMAT.md), sealing in Node and reading envelopes. Opening on the card is in cards.ts.
//
// Sealing happens here, in Node, with the card's PUBLIC key only, so a share can be sealed at the
// ceremony or offline from a PEM file. Opening happens inside the card (electron/hsm/host/sealing.ts):
// the card's private key recovers the content key into a session key and the token decrypts; only
// the share comes back, and it is checked against the share-set record before anyone uses it.
//
//   RSA:  content key K (32 random bytes) → RSA-OAEP (RFC 8017 §7.1, SHA-1 by default because
//         SoftHSM and many cards do OAEP only with SHA-1; SHA-256 on request)
//   EC:   ephemeral-static ECDH on P-256 (NIST SP 800-56A Rev. 3 §5.7.1.2, §6.2.2) →
//         K = Z (kdf "none": CKD_NULL, what SoftHSM 2.6 can do) or K = ANSI X9.63 KDF(Z) with
//         SHA-256 (kdf "x963-sha256": CKD_SHA256_KDF; SEC 1 v2 §3.6.1, SP 800-135 Rev. 1 §4.1)
//   then: AES-256-GCM (NIST SP 800-38D) of the share's words under K, 96-bit random IV, 128-bit tag,
//         with the envelope's header as additional authenticated data, so a header moved onto
//         another envelope's ciphertext is detected inside the token.
import { constants as cryptoConstants, createCipheriv, createDecipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { groupHex } from '../../../shared/components';
import { pctEncode } from '../../../shared/pkcs11-uri';
import { CustosError, fail } from '../../../shared/result';
import { formatFingerprint, sameHolder, shareCheckError, sharePosition, verifyShareAgainstRecord, type ShareRecordEntry, type ShareSetRecord } from '../../../shared/shares';
import type { SealAlg, SealedPayload, SealKdf } from '../../hsm/protocol';

// Public keys are parsed with @peculiar/asn1-*, loaded only when a share is sealed or a card's key
// is matched: a command that only reads envelopes or records does not pay for them.
export const publicKeys = () => import('../formats/publicKey');

export const SEALED_FORMAT = 'custos.sealedshare';
export const SEALED_VERSION = 1;
/** ANSI X9.63 KDF SharedInfo for kdf "x963-sha256" (ASCII). */
export const SEALED_SHARED_INFO = 'custos.sealedshare.v1';
const MIN_RSA_BITS = 2048; // NIST SP 800-57 Part 1 Rev. 5 Table 4: below 2048 bits is disallowed

export type OaepHash = 'sha1' | 'sha256';

export interface SealedShare {
  format: typeof SEALED_FORMAT;
  version: typeof SEALED_VERSION;
  createdAt: string;
  ceremonyId: string | null;
  /** Which share is inside: the same position and fingerprint as in the share-set record. */
  share: { setId: number; groupIndex: number; memberIndex: number; fingerprint: string; holder: string | null };
  /** Whose card opens it. Only spkiSha256 identifies the key; the rest helps find the card. */
  recipient: {
    keyType: 'rsa' | 'ec-p256';
    spkiSha256: string;
    keyId: string | null;
    keyLabel: string | null;
    tokenLabel: string | null;
    tokenSerial: string | null;
  };
  alg: SealAlg;
  kdf: SealKdf | null;
  /** RSA: the OAEP ciphertext of the content key (modulus length), lowercase hex. */
  encryptedKey: string | null;
  /** ECDH: the ephemeral public key, uncompressed point 04 ‖ X ‖ Y (65 bytes), lowercase hex. */
  ephemeralPublicKey: string | null;
  iv: string;
  /** AES-256-GCM ciphertext of the share's words ‖ 16-byte tag, lowercase hex. */
  ciphertext: string;
}

/** The public key a share is sealed to, and where it lives (hints for finding the card later). */
export interface Recipient {
  /** Canonical SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  keyId?: string | null;
  keyLabel?: string | null;
  tokenLabel?: string | null;
  tokenSerial?: string | null;
}

export interface SealInput {
  mnemonic: string;
  record: ShareSetRecord;
  /** The holder the record names for this share: checked, so a share is not sealed for the wrong person. */
  holder: string;
  recipient: Recipient;
  oaepHash?: OaepHash;
  kdf?: SealKdf;
  createdAt?: Date;
}

const AS_WRITTEN = 'Use the envelope file exactly as it was written at the ceremony (custos shares seal).';

/** The words as sealed: lower case, single spaces (SLIP-39 ignores case; the record fingerprint ignores spacing). */
const canonicalMnemonic = (m: string): string => m.trim().toLowerCase().split(/\s+/).join(' ');

/**
 * Additional authenticated data: the header fields that say what is inside and for whom, as the
 * compact JSON array below (UTF-8; JSON.stringify, or Python json.dumps(..., separators=(',', ':'),
 * ensure_ascii=False)).
 */
export function sealedAad(env: Pick<SealedShare, 'alg' | 'kdf' | 'recipient' | 'share'>): Buffer {
  const s = env.share;
  return Buffer.from(
    JSON.stringify([SEALED_FORMAT, SEALED_VERSION, env.alg, env.kdf, env.recipient.spkiSha256, s.setId, s.groupIndex, s.memberIndex, s.fingerprint, s.holder]),
    'utf8',
  );
}

/** ANSI X9.63 KDF (SEC 1 v2 §3.6.1) with SHA-256, 32 bytes out: SHA-256(Z ‖ 00000001 ‖ SharedInfo). */
export function x963Sha256(z: Uint8Array, sharedInfo: Uint8Array): Buffer {
  return createHash('sha256').update(z).update(Buffer.from([0, 0, 0, 1])).update(sharedInfo).digest();
}

/** The recipient key's type; RSA below 2048 bits and curves other than P-256 are refused. */
export async function recipientKind(spki: Uint8Array): Promise<{ keyType: 'rsa' | 'ec-p256'; key: KeyObject }> {
  const info = (await publicKeys()).inspectSpki(spki);
  if (info.kind === 'rsa') {
    if ((info.bits ?? 0) < MIN_RSA_BITS) fail('KEY_SIZE_UNSUPPORTED', `The custodian's RSA key has ${info.bits} bits; at least ${MIN_RSA_BITS} are needed.`, 'Generate a 2048-bit or larger RSA key on the card.');
    return { keyType: 'rsa', key: createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }) };
  }
  if (info.kind === 'ec' && info.curve === 'P-256') return { keyType: 'ec-p256', key: createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }) };
  return fail(
    'KEY_TYPE_MISMATCH',
    `Shares can be sealed to an RSA key or an EC P-256 key; this is ${info.kind === 'ec' ? `an EC ${info.curve} key` : `an ${info.kind} key`}.`,
    'Choose the custodian key generated for share encryption (RSA with usage wrap or encrypt, or EC P-256 with usage derive).',
  );
}

/** Seals one share to a public key, in Node. Refuses a share that is not the record's share for `holder`. */
export async function sealShare(input: SealInput): Promise<SealedShare> {
  const check = await verifyShareAgainstRecord(input.mnemonic, input.record, { holder: input.holder });
  if (!check.ok) throw new CustosError(shareCheckError(check));
  const { keyType, key: publicKey } = await recipientKind(input.recipient.spki);
  const { spkiFingerprint } = await publicKeys();
  const alg: SealAlg = keyType === 'ec-p256' ? 'ECDH-P256+A256GCM' : input.oaepHash === 'sha256' ? 'RSA-OAEP-SHA256+A256GCM' : 'RSA-OAEP-SHA1+A256GCM';
  const kdf: SealKdf | null = keyType === 'ec-p256' ? (input.kdf ?? 'none') : null;
  const header = {
    alg,
    kdf,
    share: { setId: input.record.set.identifier, groupIndex: check.entry.groupIndex, memberIndex: check.entry.memberIndex, fingerprint: check.fingerprint, holder: check.entry.holder },
    recipient: {
      keyType,
      spkiSha256: spkiFingerprint(input.recipient.spki).hex,
      keyId: input.recipient.keyId ?? null,
      keyLabel: input.recipient.keyLabel ?? null,
      tokenLabel: input.recipient.tokenLabel ?? null,
      tokenSerial: input.recipient.tokenSerial ?? null,
    },
  };
  const plaintext = Buffer.from(canonicalMnemonic(input.mnemonic), 'utf8');
  let contentKey: Buffer | null = null;
  let encryptedKey: string | null = null;
  let ephemeralPublicKey: string | null = null;
  try {
    if (keyType === 'rsa') {
      contentKey = randomBytes(32);
      encryptedKey = publicEncrypt({ key: publicKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: input.oaepHash ?? 'sha1' }, contentKey).toString('hex');
    } else {
      // A fresh ephemeral key per envelope (SP 800-56A §6.2.2 C(1e, 1s)): Z is never reused.
      const eph = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const zz = diffieHellman({ privateKey: eph.privateKey, publicKey });
      const j = eph.publicKey.export({ format: 'jwk' });
      ephemeralPublicKey = Buffer.concat([Buffer.from([4]), Buffer.from(j.x!, 'base64url'), Buffer.from(j.y!, 'base64url')]).toString('hex');
      if (kdf === 'x963-sha256') {
        contentKey = x963Sha256(zz, Buffer.from(SEALED_SHARED_INFO, 'ascii'));
        zz.fill(0);
      } else {
        contentKey = zz;
      }
    }
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', contentKey, iv);
    cipher.setAAD(sealedAad(header));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return parseSealedShare({
      format: SEALED_FORMAT,
      version: SEALED_VERSION,
      createdAt: (input.createdAt ?? new Date()).toISOString(),
      ceremonyId: input.record.ceremonyId,
      ...header,
      encryptedKey,
      ephemeralPublicKey,
      iv: iv.toString('hex'),
      ciphertext: ct.toString('hex'),
    });
  } finally {
    plaintext.fill(0);
    contentKey?.fill(0);
  }
}

/** Seals one share to a public key given as PEM or JWK (offline: no card attached). */
export async function sealToPublicKey(publicKeyText: string, input: Omit<SealInput, 'recipient'>): Promise<SealedShare> {
  const { parsePublicKey } = await publicKeys();
  return sealShare({ ...input, recipient: { spki: parsePublicKey(publicKeyText).spki } });
}

// ---- Reading envelopes --------------------------------------------------------------------------

const hex = (min: number, max = min) => z.string().regex(new RegExp(`^(?:[0-9a-f]{2}){${min},${max}}$`), `must be ${min === max ? min : `${min}-${max}`} bytes of lowercase hex`);
const text = (max: number) => z.string().min(1).max(max).nullable();
const int = (min: number, max: number) => z.number().int().min(min).max(max);

const envelopeSchema = z.object({
  format: z.literal(SEALED_FORMAT),
  version: z.literal(SEALED_VERSION),
  createdAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 date-time'),
  ceremonyId: text(128),
  share: z.object({ setId: int(0, 0x7fff), groupIndex: int(0, 15), memberIndex: int(0, 15), fingerprint: hex(8), holder: text(64) }),
  recipient: z.object({ keyType: z.enum(['rsa', 'ec-p256']), spkiSha256: hex(32), keyId: hex(1, 255).nullable(), keyLabel: text(255), tokenLabel: text(32), tokenSerial: text(16) }),
  alg: z.enum(['RSA-OAEP-SHA1+A256GCM', 'RSA-OAEP-SHA256+A256GCM', 'ECDH-P256+A256GCM']),
  kdf: z.enum(['none', 'x963-sha256']).nullable(),
  encryptedKey: hex(128, 1024).nullable(),
  ephemeralPublicKey: hex(65).nullable(),
  iv: hex(12),
  ciphertext: hex(17, 4096),
});

/** Validates a parsed JSON value as a version 1 envelope (unknown extra fields are dropped). */
export function parseSealedShare(value: unknown): SealedShare {
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== SEALED_FORMAT) fail('SEALED_SHARE_INVALID', 'This file is not a Custos sealed share.', AS_WRITTEN);
  const version = (value as { version?: unknown }).version;
  if (typeof version === 'number' && version > SEALED_VERSION) {
    fail('SEALED_SHARE_INVALID', `This sealed share has format version ${version}; this version of Custos reads version ${SEALED_VERSION}.`, 'Use a newer version of Custos to open it.');
  }
  const parsed = envelopeSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || 'envelope'}: ${i.message}`);
    fail('SEALED_SHARE_INVALID', `The sealed share is malformed (${problems.join('; ')}).`, AS_WRITTEN);
  }
  const e = parsed.data as SealedShare;
  const rsa = e.alg.startsWith('RSA-');
  if (rsa !== (e.recipient.keyType === 'rsa')) fail('SEALED_SHARE_INVALID', 'The sealed share names an algorithm that does not fit its recipient key type.', AS_WRITTEN);
  if (rsa && (e.encryptedKey === null || e.ephemeralPublicKey !== null || e.kdf !== null)) fail('SEALED_SHARE_INVALID', 'An RSA sealed share needs encryptedKey, and no ephemeralPublicKey or kdf.', AS_WRITTEN);
  if (!rsa && (e.ephemeralPublicKey === null || e.encryptedKey !== null || e.kdf === null)) fail('SEALED_SHARE_INVALID', 'An ECDH sealed share needs ephemeralPublicKey and kdf, and no encryptedKey.', AS_WRITTEN);
  if (!rsa && !e.ephemeralPublicKey!.startsWith('04')) fail('SEALED_SHARE_INVALID', 'The ephemeral public key is not an uncompressed point.', AS_WRITTEN);
  return e;
}

export function parseSealedShareJson(textValue: string): SealedShare {
  let value: unknown;
  try {
    value = JSON.parse(textValue);
  } catch {
    return fail('SEALED_SHARE_INVALID', 'The sealed share is not valid JSON.', AS_WRITTEN);
  }
  return parseSealedShare(value);
}

/** Stable JSON text (2-space indent, trailing newline). */
export function serializeSealedShare(env: SealedShare): string {
  return JSON.stringify(parseSealedShare(env), null, 2) + '\n';
}

/** What the token needs to open the envelope. */
export function sealedPayload(env: SealedShare): SealedPayload {
  const b = (h: string) => Buffer.from(h, 'hex');
  return {
    alg: env.alg,
    ...(env.kdf ? { kdf: env.kdf } : {}),
    ...(env.kdf === 'x963-sha256' ? { sharedInfo: Buffer.from(SEALED_SHARED_INFO, 'ascii') } : {}),
    ...(env.encryptedKey ? { encryptedKey: b(env.encryptedKey) } : {}),
    ...(env.ephemeralPublicKey ? { ephemeralPoint: b(env.ephemeralPublicKey) } : {}),
    iv: b(env.iv),
    ciphertext: b(env.ciphertext),
    aad: sealedAad(env),
  };
}

/**
 * Opens an envelope with a private key held in Node: the format's reference implementation (for
 * tests and for a recovery team with an exported key). Custos itself opens envelopes in the token.
 */
export function openSealedShareWithPrivateKey(env: SealedShare, privateKey: KeyObject): Buffer {
  const failed = (): never => fail('DECRYPTION_FAILED', 'The sealed share could not be opened with this key: the envelope was altered, or it was sealed to another key.', 'Check the key and the file.');
  let contentKey: Buffer | null = null;
  try {
    try {
      if (env.encryptedKey) {
        contentKey = privateDecrypt({ key: privateKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: env.alg === 'RSA-OAEP-SHA256+A256GCM' ? 'sha256' : 'sha1' }, Buffer.from(env.encryptedKey, 'hex'));
      } else {
        const p = Buffer.from(env.ephemeralPublicKey!, 'hex');
        const eph = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: p.subarray(1, 33).toString('base64url'), y: p.subarray(33).toString('base64url') }, format: 'jwk' });
        const zz = diffieHellman({ privateKey, publicKey: eph });
        contentKey = env.kdf === 'x963-sha256' ? x963Sha256(zz, Buffer.from(SEALED_SHARED_INFO, 'ascii')) : zz;
        if (contentKey !== zz) zz.fill(0);
      }
    } catch {
      return failed();
    }
    if (contentKey.length !== 32) return failed();
    const ct = Buffer.from(env.ciphertext, 'hex');
    const d = createDecipheriv('aes-256-gcm', contentKey, Buffer.from(env.iv, 'hex'));
    d.setAAD(sealedAad(env));
    d.setAuthTag(ct.subarray(ct.length - 16));
    try {
      return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
    } catch {
      return failed();
    }
  } finally {
    contentKey?.fill(0);
  }
}

/** "share 2 of 3 of set 7421 (held by Alice)" for messages. */
function envelopeShareText(env: SealedShare, record?: ShareSetRecord): string {
  const pos = record ? sharePosition(record, env.share.groupIndex, env.share.memberIndex) : `group ${env.share.groupIndex + 1}, share ${env.share.memberIndex + 1}`;
  return `${pos} of set ${env.share.setId}${env.share.holder ? ` (held by ${env.share.holder})` : ''}`;
}

/** "card "Alice" (serial 1234), key "custodian"" — where the envelope says its key lives. */
export function describeRecipient(env: SealedShare): string {
  const r = env.recipient;
  const card = r.tokenLabel || r.tokenSerial ? `card "${r.tokenLabel ?? '?'}"${r.tokenSerial ? ` (serial ${r.tokenSerial})` : ''}` : 'a card not named in the envelope';
  return `${card}, ${r.keyLabel ? `key "${r.keyLabel}"` : 'its key'} with public-key fingerprint ${groupHex(r.spkiSha256.slice(0, 16))}`;
}

/** A token selector for the card the envelope names (RFC 7512 URI with serial and label), or null. */
export function envelopeTokenSelector(env: SealedShare): string | null {
  const r = env.recipient;
  const parts: string[] = [];
  if (r.tokenSerial) parts.push(`serial=${pctEncode(r.tokenSerial)}`);
  if (r.tokenLabel) parts.push(`token=${pctEncode(r.tokenLabel)}`);
  return parts.length ? `pkcs11:${parts.join(';')}` : null;
}

/**
 * The record entry the envelope claims to hold, before any card is touched: same set, a listed
 * position, the same fingerprint and holder. Throws the share-check codes otherwise.
 */
export function envelopeRecordEntry(env: SealedShare, record: ShareSetRecord): ShareRecordEntry {
  const s = env.share;
  if (s.setId !== record.set.identifier) {
    fail('SHARE_SET_MISMATCH', `This envelope holds a share of set ${s.setId}, but the record describes set ${record.set.identifier}.`, 'Use the record of the ceremony that sealed this share.');
  }
  const entry = record.shares.find((e) => e.groupIndex === s.groupIndex && e.memberIndex === s.memberIndex);
  if (!entry || entry.fingerprint !== s.fingerprint) {
    fail(
      'SHARE_NOT_IN_RECORD',
      `This envelope says it holds ${envelopeShareText(env, record)} with fingerprint ${formatFingerprint(s.fingerprint)}, but the record lists ${entry ? `fingerprint ${formatFingerprint(entry.fingerprint)} there` : 'no such share'}.`,
      'The envelope was not sealed from this share set, or it was altered. Report it to the key owner.',
    );
  }
  const holdersAgree = entry.holder === null ? s.holder === null : s.holder !== null && sameHolder(entry.holder, s.holder);
  if (!holdersAgree) {
    fail('SHARE_WRONG_HOLDER', `This envelope names ${s.holder ?? 'no holder'} for ${sharePosition(record, s.groupIndex, s.memberIndex)}, but the record names ${entry.holder ?? 'no holder'}.`, 'The envelope was altered or belongs to another ceremony. Report it to the key owner.');
  }
  return entry;
}
