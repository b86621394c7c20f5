/**
 * Share-set records (format "custos.shareset", version 1; docs/FORMAT.md).
 *
 * At a SLIP-39 ceremony, Custos writes a record of the set: its public parameters, and for
 * every share who holds it and a fingerprint of it. The record never contains a share, a
 * word of one, the secret or the passphrase, so it can be filed with the ceremony minutes
 * and copied to every custodian. With it, a custodian can check their share alone, at any
 * time, without anyone else's share: verifyShareAgainstRecord().
 *
 * Share fingerprint (version 1): the first 8 bytes of
 *   SHA-256( "custos.shareset.v1.share-fingerprint" ‖ 0x00 ‖
 *            u16 identifier ‖ u8 extendable ‖ u8 iteration exponent ‖
 *            u8 group index ‖ u8 group threshold ‖ u8 group count ‖
 *            u8 member index ‖ u8 member threshold ‖
 *            u16 value length ‖ share value )          (integers big-endian)
 * over the share's decoded fields (SLIP-0039 "Format of the share mnemonic"), not over its
 * words, so case and spacing do not matter. The domain string keeps the hash from meaning
 * anything in another protocol. 64 bits is plenty to tell shares apart and reveals nothing
 * usable: a share value has at least 128 bits of entropy, so the hash cannot be inverted by
 * search, and fewer than the threshold of shares say nothing about the secret anyway.
 *
 * Pure: SHA-256 is injected, defaulting to WebCrypto (globalThis.crypto.subtle), present in
 * browsers, Electron and Node >= 20.
 */
// Over 400 lines because it holds the whole share-set record format — schema, writer and the
// one-share check — as docs/FORMAT.md describes it, in one place.

import { z } from 'zod';
import { CustosError } from '../result';
import { toHex, groupHex } from '../components/hex';
import { decodeMnemonic, mnemonicWordCount, Slip39Error, type Share } from '../slip39';
import { slip39Failure, type ShareFailureReason } from './errors';

export const SHARESET_FORMAT = 'custos.shareset';
export const SHARESET_VERSION = 1;
const FINGERPRINT_DOMAIN = 'custos.shareset.v1.share-fingerprint';
export const FINGERPRINT_BYTES = 8;
/** Bytes of a secret check value kept in the record (X9.24-1:2017 caps a CMAC KCV at 40 bits). */
export const SECRET_CHECK_BYTES = 5;
export const MAX_HOLDER_LENGTH = 64;

export type Sha256 = (data: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/** SHA-256 via WebCrypto. */
export const webCryptoSha256: Sha256 = async (data) => {
  const copy = new Uint8Array(data.length);
  copy.set(data);
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', copy));
  copy.fill(0);
  return digest;
};

/**
 * A check value of the master secret, so that after recombination the custodians can tell
 * the right secret from the wrong one (SLIP-39 gives a different secret, without error, for
 * a wrong passphrase). Computed outside shared/ (it needs a block cipher): see
 * electron/services/kcv.ts secretCheckValue().
 *  - AES-CMAC: 16/24/32-byte secrets, the X9.24-1:2017 KCV (CMAC of a zero block, 5 bytes)
 *    of the secret taken as an AES key;
 *  - SHA-256: other lengths, first 5 bytes of SHA-256("custos.secret-check.v1" ‖ 0x00 ‖ secret).
 */
export interface SecretCheckValue {
  method: 'AES-CMAC' | 'SHA-256';
  /** Lowercase hex, SECRET_CHECK_BYTES bytes. */
  value: string;
}

export interface ShareSetParameters {
  /** SLIP-39 identifier, 15 bits: the same in every share of the set ("set 7421"). */
  identifier: number;
  extendable: boolean;
  iterationExponent: number;
  groupThreshold: number;
  groupCount: number;
  /** Length of the master secret (and of every share value) in bytes. */
  secretBytes: number;
  /** Words per share (20 for 16 bytes, 33 for 32 bytes). */
  words: number;
}

export interface ShareGroupRecord {
  /** 0-based, as stored in the shares; people see groupIndex + 1. */
  groupIndex: number;
  memberThreshold: number;
  memberCount: number;
}

export interface ShareRecordEntry {
  /** 0-based, as stored in the share; people see groupIndex + 1. */
  groupIndex: number;
  /** 0-based, as stored in the share; people see memberIndex + 1. */
  memberIndex: number;
  /** Who holds this share; null when not assigned at the ceremony. */
  holder: string | null;
  /** Lowercase hex, FINGERPRINT_BYTES bytes. */
  fingerprint: string;
}

export interface ShareSetRecord {
  format: typeof SHARESET_FORMAT;
  version: typeof SHARESET_VERSION;
  /** ISO 8601 date-time of the ceremony. */
  createdAt: string;
  ceremonyId: string | null;
  /** What the secret is, in the ceremony's words ("Root CA key backup"). */
  label: string | null;
  set: ShareSetParameters;
  groups: ShareGroupRecord[];
  shares: ShareRecordEntry[];
  secretCheck: SecretCheckValue | null;
}

/** Fingerprint of a decoded share: lowercase hex (see the module comment). */
export async function shareFingerprint(share: Share, sha256: Sha256 = webCryptoSha256): Promise<string> {
  const domain = new TextEncoder().encode(FINGERPRINT_DOMAIN);
  const header = [
    share.identifier >>> 8,
    share.identifier & 0xff,
    share.extendable ? 1 : 0,
    share.iterationExponent,
    share.groupIndex,
    share.groupThreshold,
    share.groupCount,
    share.memberIndex,
    share.memberThreshold,
    share.value.length >>> 8,
    share.value.length & 0xff,
  ];
  const data = new Uint8Array(domain.length + 1 + header.length + share.value.length);
  data.set(domain, 0);
  data[domain.length] = 0;
  data.set(header, domain.length + 1);
  data.set(share.value, domain.length + 1 + header.length);
  try {
    const digest = await sha256(data);
    if (!(digest instanceof Uint8Array) || digest.length !== 32) {
      throw new CustosError({ code: 'INTERNAL', message: 'The SHA-256 provider returned a malformed digest.', action: 'Report this.' });
    }
    return toHex(digest.subarray(0, FINGERPRINT_BYTES));
  } finally {
    data.fill(0);
  }
}

/** "9F3A 01C2 7BE4 55D0": how a fingerprint is shown and printed. */
export const formatFingerprint = (hex: string): string => groupHex(hex, 4);

/** "share 2 of 3" (one group) or "group 1, share 2 of 3": numbers as people count them. */
export function sharePosition(record: Pick<ShareSetRecord, 'set' | 'groups'>, groupIndex: number, memberIndex: number): string {
  const group = record.groups.find((g) => g.groupIndex === groupIndex);
  const member = `share ${memberIndex + 1}${group && memberIndex < group.memberCount ? ` of ${group.memberCount}` : ''}`;
  return record.set.groupCount === 1 ? member : `group ${groupIndex + 1}, ${member}`;
}

/** Validates a holder name: trimmed, 1-64 characters, no control characters. */
export function normalizeHolder(name: string): string {
  const n = name.normalize('NFC').trim();
  if (n.length === 0 || n.length > MAX_HOLDER_LENGTH || /\p{Cc}/u.test(n)) {
    throw new CustosError({
      code: 'INVALID_INPUT',
      message: `A holder name must be 1 to ${MAX_HOLDER_LENGTH} characters, without control characters.`,
      action: 'Correct the holder names.',
    });
  }
  return n;
}

/** Holder names compare without regard to case or surrounding spaces. */
export function sameHolder(a: string, b: string): boolean {
  return a.normalize('NFC').trim().toLowerCase() === b.normalize('NFC').trim().toLowerCase();
}

export interface CreateRecordInput {
  /** The mnemonics as splitSecret() returns them: per group, in member order. */
  mnemonics: readonly (readonly string[])[];
  /** One name per share in the same order (group by group), or omitted for none. */
  holders?: readonly (string | null)[];
  createdAt: Date | string;
  ceremonyId?: string | null;
  label?: string | null;
  secretCheck?: SecretCheckValue | null;
}

function invalidInput(message: string, action: string): CustosError {
  return new CustosError({ code: 'INVALID_INPUT', message, action });
}

function isoDate(d: Date | string): string {
  const date = typeof d === 'string' ? new Date(d) : d;
  if (Number.isNaN(date.getTime())) throw invalidInput('The ceremony date is not a valid date.', 'Give the date as YYYY-MM-DD or an ISO 8601 date-time.');
  return date.toISOString();
}

/**
 * Builds the record of a freshly split set. Decodes every mnemonic (so a record can only be
 * made from well-formed shares of one set) and fingerprints it.
 */
export async function createShareSetRecord(input: CreateRecordInput, sha256: Sha256 = webCryptoSha256): Promise<ShareSetRecord> {
  const flat = input.mnemonics.flatMap((g) => [...g]);
  if (flat.length === 0) throw invalidInput('There are no shares to record.', 'Split a secret first.');
  const holders = input.holders;
  if (holders && holders.length !== flat.length) {
    throw invalidInput(
      `${holders.length} holder name${holders.length === 1 ? ' was' : 's were'} given for ${flat.length} shares.`,
      'Give exactly one name per share, in order: group 1 first, then group 2, and so on.',
    );
  }
  const decoded: Share[] = [];
  try {
    for (const [i, m] of flat.entries()) {
      try {
        decoded.push(decodeMnemonic(m));
      } catch (e) {
        if (e instanceof Slip39Error) throw new CustosError(slip39Failure(e, { shareNumber: i + 1 }).error);
        throw e;
      }
    }
    const ref = decoded[0]!;
    const set: ShareSetParameters = {
      identifier: ref.identifier,
      extendable: ref.extendable,
      iterationExponent: ref.iterationExponent,
      groupThreshold: ref.groupThreshold,
      groupCount: ref.groupCount,
      secretBytes: ref.value.length,
      words: mnemonicWordCount(ref.value.length),
    };
    const groups = new Map<number, ShareGroupRecord>();
    const shares: ShareRecordEntry[] = [];
    for (const [i, s] of decoded.entries()) {
      const same =
        s.identifier === set.identifier &&
        s.extendable === set.extendable &&
        s.iterationExponent === set.iterationExponent &&
        s.groupThreshold === set.groupThreshold &&
        s.groupCount === set.groupCount &&
        s.value.length === set.secretBytes;
      if (!same) {
        throw new CustosError({ code: 'SHARE_SET_MISMATCH', message: `Share ${i + 1} is not from the same set as share 1.`, action: 'Record the shares of one split only.' });
      }
      const g = groups.get(s.groupIndex);
      if (g && g.memberThreshold !== s.memberThreshold) {
        throw new CustosError({ code: 'SHARE_SET_MISMATCH', message: `Share ${i + 1} disagrees with another share of group ${s.groupIndex + 1} on how many shares are needed.`, action: 'Record the shares of one split only.' });
      }
      if (shares.some((e) => e.groupIndex === s.groupIndex && e.memberIndex === s.memberIndex)) {
        throw new CustosError({ code: 'SHARE_DUPLICATE', message: `Share ${i + 1} is listed twice.`, action: 'Record each share once.' });
      }
      groups.set(s.groupIndex, { groupIndex: s.groupIndex, memberThreshold: s.memberThreshold, memberCount: (g?.memberCount ?? 0) + 1 });
      const name = holders?.[i];
      shares.push({
        groupIndex: s.groupIndex,
        memberIndex: s.memberIndex,
        holder: name === undefined || name === null ? null : normalizeHolder(name),
        fingerprint: await shareFingerprint(s, sha256),
      });
    }
    // Every group of the set must be present: a record is made at the ceremony, from the
    // complete output of the split.
    if (groups.size !== set.groupCount) {
      throw invalidInput(`The shares cover ${groups.size} of the set's ${set.groupCount} groups.`, 'Record every share of the split.');
    }
    const record: ShareSetRecord = {
      format: SHARESET_FORMAT,
      version: SHARESET_VERSION,
      createdAt: isoDate(input.createdAt),
      ceremonyId: input.ceremonyId ?? null,
      label: input.label ?? null,
      set,
      groups: [...groups.values()].sort((a, b) => a.groupIndex - b.groupIndex),
      shares: shares.sort((a, b) => a.groupIndex - b.groupIndex || a.memberIndex - b.memberIndex),
      secretCheck: input.secretCheck ?? null,
    };
    return parseShareSetRecord(record);
  } finally {
    for (const s of decoded) s.value.fill(0);
  }
}

// ---- Reading records ------------------------------------------------------------------------

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const lowerHex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `must be ${bytes * 2} lowercase hex digits`);

const recordSchema = z.object({
  format: z.literal(SHARESET_FORMAT),
  version: z.literal(SHARESET_VERSION),
  createdAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 date-time'),
  ceremonyId: z.string().min(1).max(128).nullable(),
  label: z.string().min(1).max(200).nullable(),
  set: z.object({
    identifier: int(0, 0x7fff),
    extendable: z.boolean(),
    iterationExponent: int(0, 15),
    groupThreshold: int(1, 16),
    groupCount: int(1, 16),
    secretBytes: int(16, 2048).refine((n) => n % 2 === 0, 'must be even'),
    words: int(20, 2048),
  }),
  groups: z.array(z.object({ groupIndex: int(0, 15), memberThreshold: int(1, 16), memberCount: int(1, 16) })).min(1).max(16),
  shares: z
    .array(
      z.object({
        groupIndex: int(0, 15),
        memberIndex: int(0, 15),
        holder: z.string().min(1).max(MAX_HOLDER_LENGTH).nullable(),
        fingerprint: lowerHex(FINGERPRINT_BYTES),
      }),
    )
    .min(1)
    .max(256),
  secretCheck: z.object({ method: z.enum(['AES-CMAC', 'SHA-256']), value: lowerHex(SECRET_CHECK_BYTES) }).nullable(),
});

function recordError(message: string, action = 'Use the record file written at the ceremony (custos shares split --record-out).'): CustosError {
  return new CustosError({ code: 'RECORD_INVALID', message, action });
}

/**
 * Validates a parsed JSON value as a version 1 share-set record. Unknown extra fields are
 * ignored (dropped), so a later version-1 writer may add optional fields; a higher version
 * number is refused, since its meaning may differ.
 */
export function parseShareSetRecord(value: unknown): ShareSetRecord {
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== SHARESET_FORMAT) {
    throw recordError('This file is not a Custos share-set record.');
  }
  const version = (value as { version?: unknown }).version;
  if (typeof version === 'number' && version > SHARESET_VERSION) {
    throw recordError(
      `This share-set record has format version ${version}; this version of Custos reads version ${SHARESET_VERSION}.`,
      'Use a newer version of Custos to read it.',
    );
  }
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success) {
    // Paths and rules only; a record holds nothing secret, but keep messages short.
    const problems = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || 'record'}: ${i.message}`);
    throw recordError(`The share-set record is malformed (${problems.join('; ')}).`);
  }
  const r = parsed.data as ShareSetRecord;
  const { set } = r;
  if (set.groupThreshold > set.groupCount) throw recordError('The record says more groups are needed than exist.');
  if (set.words !== mnemonicWordCount(set.secretBytes)) throw recordError('The record\'s word count does not match its secret length.');
  if (r.groups.length !== set.groupCount) throw recordError(`The record lists ${r.groups.length} groups but says the set has ${set.groupCount}.`);
  r.groups.forEach((g, i) => {
    if (g.groupIndex !== i) throw recordError('The record\'s groups are not listed in order 1, 2, 3, ...');
    if (g.memberThreshold > g.memberCount) throw recordError(`The record says group ${i + 1} needs more shares than it has.`);
  });
  const seen = new Set<string>();
  for (const s of r.shares) {
    const g = r.groups[s.groupIndex];
    if (!g || s.memberIndex >= g.memberCount) throw recordError('The record lists a share outside its groups.');
    const key = `${s.groupIndex}/${s.memberIndex}`;
    if (seen.has(key)) throw recordError('The record lists the same share position twice.');
    seen.add(key);
  }
  return r;
}

/** Parses record JSON text (for files). */
export function parseShareSetRecordJson(text: string): ShareSetRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw recordError('The share-set record is not valid JSON.');
  }
  return parseShareSetRecord(value);
}

/** Stable JSON text of a record (2-space indent, trailing newline). */
export function serializeShareSetRecord(record: ShareSetRecord): string {
  return JSON.stringify(parseShareSetRecord(record), null, 2) + '\n';
}

// ---- Checking one share against a record ------------------------------------------------------

export type ShareCheck =
  | {
      ok: true;
      entry: ShareRecordEntry;
      /** Lowercase hex. */
      fingerprint: string;
      /** One sentence for the custodian. */
      message: string;
    }
  | {
      ok: false;
      reason: ShareFailureReason;
      message: string;
      action: string;
      /** The record entry the share claims to be (when it decodes and its position is listed). */
      entry?: ShareRecordEntry;
      /** 1-based word number, for UNKNOWN_WORD. */
      word?: number;
    };

export interface VerifyOptions {
  /** If given, the share must be the one the record assigns to this holder. */
  holder?: string;
  sha256?: Sha256;
}

function setName(record: ShareSetRecord, identifier = record.set.identifier): string {
  return `set ${identifier}`;
}

function ceremonyNote(record: ShareSetRecord): string {
  return record.ceremonyId ? ` (ceremony ${record.ceremonyId})` : '';
}

/**
 * Checks one mnemonic against a record, with nothing else: no other share, no passphrase.
 * Says which share it is and who holds it, or exactly why it does not match. Never throws for
 * a bad share (only for programming errors); the answer is data.
 */
export async function verifyShareAgainstRecord(mnemonic: string, record: ShareSetRecord, opts: VerifyOptions = {}): Promise<ShareCheck> {
  let share: Share;
  try {
    share = decodeMnemonic(mnemonic);
  } catch (e) {
    if (!(e instanceof Slip39Error)) throw e;
    const f = slip39Failure(e);
    return { ok: false, reason: f.reason, message: f.error.message, action: f.error.action, ...(f.word ? { word: f.word } : {}) };
  }
  try {
    const set = record.set;
    if (share.identifier !== set.identifier) {
      return {
        ok: false,
        reason: 'DIFFERENT_SET',
        message: `This share belongs to ${setName(record, share.identifier)}, but the record describes ${setName(record)}${ceremonyNote(record)}.`,
        action: 'Use the record of the ceremony that made this share, or find the share of this set.',
      };
    }
    const differs: string[] = [];
    if (share.extendable !== set.extendable) differs.push('extendable flag');
    if (share.iterationExponent !== set.iterationExponent) differs.push('iteration exponent');
    if (share.groupThreshold !== set.groupThreshold) differs.push('number of groups needed');
    if (share.groupCount !== set.groupCount) differs.push('number of groups');
    if (share.value.length !== set.secretBytes) differs.push('length');
    if (differs.length > 0) {
      return {
        ok: false,
        reason: 'DIFFERENT_SET',
        message:
          `This share carries the number of ${setName(record)} but differs from the record in its ${differs.join(', ')}, ` +
          'so it is not a share of the recorded set (another split that happened to get the same number, or an altered share).',
        action: 'Find the share made at the recorded ceremony.',
      };
    }
    const position = sharePosition(record, share.groupIndex, share.memberIndex);
    const entry = record.shares.find((e) => e.groupIndex === share.groupIndex && e.memberIndex === share.memberIndex);
    const group = record.groups[share.groupIndex];
    if (!entry || !group || group.memberThreshold !== share.memberThreshold) {
      return {
        ok: false,
        reason: 'NOT_IN_RECORD',
        message: `This share says it is ${position} of ${setName(record)}, but the record lists no such share${group && group.memberThreshold !== share.memberThreshold ? ' (the number of shares needed in its group differs)' : ''}.`,
        action: 'The share is not one made at the recorded ceremony, or it was altered. Report it to the key owner.',
      };
    }
    const fingerprint = await shareFingerprint(share, opts.sha256);
    if (fingerprint !== entry.fingerprint) {
      return {
        ok: false,
        reason: 'FINGERPRINT_MISMATCH',
        entry,
        message:
          `This share says it is ${position} of ${setName(record)}, but its content differs from the share recorded there ` +
          `(fingerprint ${formatFingerprint(fingerprint)}, recorded ${formatFingerprint(entry.fingerprint)}).`,
        action:
          'Compare every word with the written share. If they agree, the share is not the one made at the ceremony: ' +
          'report it to the key owner.',
      };
    }
    const holderText = entry.holder ? `, held by ${entry.holder}` : '';
    if (opts.holder !== undefined && (entry.holder === null || !sameHolder(opts.holder, entry.holder))) {
      return {
        ok: false,
        reason: 'WRONG_HOLDER',
        entry,
        message: entry.holder
          ? `This is ${position} of ${setName(record)}, recorded as held by ${entry.holder}, not by ${opts.holder.trim()}.`
          : `This is ${position} of ${setName(record)}; the record names no holder for it.`,
        action: 'Check that you have your own share; if shares were swapped, tell the key owner.',
      };
    }
    return {
      ok: true,
      entry,
      fingerprint,
      message: `This share matches ${position} of ${setName(record)}${ceremonyNote(record)}${holderText}; fingerprint ${formatFingerprint(fingerprint)}.`,
    };
  } finally {
    share.value.fill(0);
  }
}
