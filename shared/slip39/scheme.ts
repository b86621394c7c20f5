/**
 * The two-level scheme (SLIP-0039 "Two level scheme", "Generating the shares",
 * "Combining the shares"): the encrypted master secret (EMS) is split GT-of-G into group
 * shares, and each group share T_i-of-N_i into member shares. Only member shares are
 * written out as mnemonics.
 */

import { decrypt, encrypt } from './cipher';
import { compareCommon, compareInGroup, plural } from './checks';
import { randomBytes, type Slip39Crypto } from './crypto';
import { Slip39Error } from './errors';
import type { Point } from './gf256';
import { MAX_SHARE_COUNT, recoverShares, splitShares } from './shamir';
import { decodeShare, encodeMnemonic, METADATA_WORDS, MIN_SECRET_BYTES, RADIX_BITS, type Share } from './share';

export interface GroupSpec {
  /** T_i: members of this group needed to rebuild the group share. */
  threshold: number;
  /** N_i: member shares to create for this group. */
  count: number;
}

export interface SplitParams {
  /** The master secret: >= 16 bytes, even length (e.g. a 16- or 32-byte BIP-32 seed). */
  secret: Uint8Array;
  /** Printable ASCII (0x20-0x7E) only. Defaults to empty. */
  passphrase?: Uint8Array;
  /** GT: groups needed to recover. */
  groupThreshold: number;
  groups: GroupSpec[];
  /** PBKDF2 work factor e (0..15): 10000·2^e iterations in total. Default 1. */
  iterationExponent?: number;
  /** Set the extendable flag (default true: the spec says new shares SHOULD). */
  extendable?: boolean;
  /** 15-bit identifier; random when omitted. Only fix it for tests or re-splitting. */
  identifier?: number;
}

/**
 * Largest secret we will split. RS1024 is a Reed–Solomon code of length 1023 over
 * GF(1024); its detection guarantee holds only while customization string (up to 17
 * symbols) plus mnemonic stay within that length. 1248 bytes -> 1006-word mnemonics.
 */
export const MAX_SECRET_BYTES =
  Math.floor((((1023 - 'shamir_extendable'.length - METADATA_WORDS) * RADIX_BITS) / 16)) * 2;

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function invalid(message: string): Slip39Error {
  return new Slip39Error('INVALID_PARAMETERS', message);
}

/** SLIP-0039 "Passphrase": MUST contain only printable ASCII (code points 32-126). */
function isPrintableAscii(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b < 0x20 || b > 0x7e) return false;
  return true;
}

function validateSplit(p: SplitParams): void {
  if (!(p.secret instanceof Uint8Array)) throw invalid('The secret must be a Uint8Array.');
  const n = p.secret.length;
  // "Format of the share mnemonic": at least 128 bits and a multiple of 16 bits.
  if (n < MIN_SECRET_BYTES || n % 2 !== 0 || n > MAX_SECRET_BYTES) {
    throw new Slip39Error(
      'SECRET_LENGTH',
      `The secret is ${n} bytes long. SLIP-39 needs at least ${MIN_SECRET_BYTES} bytes and an ` +
        `even number of bytes (at most ${MAX_SECRET_BYTES} here); 16 and 32 bytes are the usual sizes.`,
      { actual: n },
    );
  }
  if (p.passphrase !== undefined && !isPrintableAscii(p.passphrase)) {
    throw new Slip39Error(
      'INVALID_PASSPHRASE',
      'The passphrase may only contain printable ASCII characters (letters, digits, ' +
        'punctuation and space); other tools could not reproduce anything else.',
    );
  }
  const g = p.groups;
  if (!Array.isArray(g) || g.length < 1 || g.length > MAX_SHARE_COUNT) {
    throw invalid(`There must be between 1 and ${MAX_SHARE_COUNT} groups.`);
  }
  g.forEach((grp, i) => {
    const label = `Group ${i + 1}`;
    if (!isInt(grp?.count, 1, MAX_SHARE_COUNT)) {
      throw invalid(`${label}: the number of shares must be between 1 and ${MAX_SHARE_COUNT}.`);
    }
    if (!isInt(grp.threshold, 1, grp.count)) {
      throw invalid(`${label}: the threshold must be between 1 and the number of shares (${grp.count}).`);
    }
    // "If the member threshold T_i of a group is 1, then the size N_i of the group SHOULD
    // also be equal to 1" (rationale 2): 1-of-N shares differ only in the member index
    // and checksum, so N > 1 adds nothing and is most likely a mistake.
    if (grp.threshold === 1 && grp.count > 1) {
      throw invalid(
        `${label}: a threshold of 1 with ${grp.count} shares gives every holder the whole ` +
          'group share. Use 1 share with threshold 1 (and copy it), or raise the threshold.',
      );
    }
  });
  if (!isInt(p.groupThreshold, 1, g.length)) {
    throw invalid(`The group threshold must be between 1 and the number of groups (${g.length}).`);
  }
  if (p.iterationExponent !== undefined && !isInt(p.iterationExponent, 0, 15)) {
    throw invalid('The iteration exponent must be an integer from 0 to 15.');
  }
  if (p.identifier !== undefined && !isInt(p.identifier, 0, 0x7fff)) {
    throw invalid('The identifier must be an integer from 0 to 32767 (15 bits).');
  }
  if (p.extendable !== undefined && typeof p.extendable !== 'boolean') {
    throw invalid('The extendable flag must be true or false.');
  }
}

/**
 * GenerateShares: encrypt the secret with the passphrase and split it. Returns the
 * mnemonics per group, in group order; within a group in member-index order.
 */
export async function splitSecret(params: SplitParams, crypto: Slip39Crypto): Promise<string[][]> {
  validateSplit(params);
  const passphrase = params.passphrase ?? new Uint8Array(0);
  const iterationExponent = params.iterationExponent ?? 1;
  const extendable = params.extendable ?? true;
  let identifier = params.identifier;
  if (identifier === undefined) {
    const r = randomBytes(crypto, 2);
    identifier = (((r[0] as number) << 8) | (r[1] as number)) & 0x7fff;
  }
  const { groupThreshold, groups } = params;

  const ems = await encrypt(params.secret, { passphrase, iterationExponent, identifier, extendable }, crypto);
  const groupShares = await splitShares(groupThreshold, groups.length, ems, crypto);
  ems.fill(0);

  const result: string[][] = [];
  for (const [gi, spec] of groups.entries()) {
    const groupShare = groupShares[gi] as Point;
    const members = await splitShares(spec.threshold, spec.count, groupShare.y, crypto);
    result.push(
      members.map((m) => {
        const mnemonic = encodeMnemonic({
          identifier: identifier as number,
          extendable,
          iterationExponent,
          groupIndex: gi,
          groupThreshold,
          groupCount: groups.length,
          memberIndex: m.x,
          memberThreshold: spec.threshold,
          value: m.y,
        });
        m.y.fill(0);
        return mnemonic;
      }),
    );
    groupShare.y.fill(0);
  }
  return result;
}

interface IndexedShare {
  share: Share;
  /** Position in the caller's list, for messages. */
  entry: number;
}

/**
 * Decode and cross-check a complete share set, throwing the first problem found:
 * decoding errors, then set-wide mismatches, then in-group conflicts, then counts.
 * Returns the shares bucketed by group index.
 */
function validateSet(mnemonics: readonly string[]): { ref: Share; groups: Map<number, IndexedShare[]> } {
  if (mnemonics.length === 0) {
    throw new Slip39Error('TOO_FEW_SHARES', 'No shares were given. Enter the shares to combine.', {
      actual: 0,
    });
  }
  const shares = mnemonics.map((m, i) => decodeShare(m, i));
  const ref = shares[0] as Share;

  const groups = new Map<number, IndexedShare[]>();
  for (const [entry, share] of shares.entries()) {
    const mismatch = compareCommon(ref, 0, share, entry);
    if (mismatch) throw mismatch;
    const bucket = groups.get(share.groupIndex) ?? [];
    for (const other of bucket) {
      const conflict = compareInGroup(other.share, other.entry, share, entry);
      if (conflict) throw conflict;
    }
    bucket.push({ share, entry });
    groups.set(share.groupIndex, bucket);
  }

  // "Let GM be the number of pairwise distinct group indices ... GM MUST be equal to GT."
  const gt = ref.groupThreshold;
  if (groups.size < gt) {
    throw new Slip39Error(
      'TOO_FEW_GROUPS',
      `Shares from ${plural(groups.size, 'group were', 'groups were')} given, but this backup ` +
        `needs shares from ${gt} of its ${ref.groupCount} groups. Add shares from ` +
        `${plural(gt - groups.size, 'more group', 'more groups')}.`,
      { expected: gt, actual: groups.size },
    );
  }
  if (groups.size > gt) {
    throw new Slip39Error(
      'TOO_MANY_GROUPS',
      `Shares from ${groups.size} groups were given, but exactly ${gt} are used. ` +
        `Remove the shares of ${plural(groups.size - gt, 'group', 'groups')}.`,
      { expected: gt, actual: groups.size },
    );
  }
  // "... their count M_i MUST be equal to T_i."
  for (const [groupIndex, bucket] of groups) {
    const t = (bucket[0] as IndexedShare).share.memberThreshold;
    if (bucket.length < t) {
      throw new Slip39Error(
        'TOO_FEW_SHARES',
        `Group ${groupIndex + 1} has ${plural(bucket.length, 'share', 'shares')} but needs ${t}. ` +
          `Add ${plural(t - bucket.length, 'more share', 'more shares')} from that group.`,
        { groupIndex, expected: t, actual: bucket.length },
      );
    }
    if (bucket.length > t) {
      throw new Slip39Error(
        'TOO_MANY_SHARES',
        `Group ${groupIndex + 1} has ${bucket.length} shares but exactly ${t} are used. ` +
          `Remove ${plural(bucket.length - t, 'share', 'shares')} of that group.`,
        { groupIndex, expected: t, actual: bucket.length },
      );
    }
  }
  return { ref, groups };
}

/**
 * Combine exactly a threshold set of shares (GT groups with T_i shares each) and decrypt
 * with the passphrase. A wrong passphrase is NOT detected: it yields a different secret
 * by design (spec "Passphrase"). The passphrase bytes are not restricted here, so shares
 * made by tools that allowed non-ASCII passphrases can still be recovered.
 */
export async function combineMnemonics(
  mnemonics: readonly string[],
  passphrase: Uint8Array,
  crypto: Slip39Crypto,
): Promise<Uint8Array> {
  const { ref, groups } = validateSet(mnemonics);

  const groupShares: Point[] = [];
  try {
    for (const [groupIndex, bucket] of groups) {
      const points = bucket.map(({ share }) => ({ x: share.memberIndex, y: share.value }));
      const threshold = (bucket[0] as IndexedShare).share.memberThreshold;
      groupShares.push({ x: groupIndex, y: await recoverShares(threshold, points, crypto, groupIndex) });
    }
    const ems = await recoverShares(ref.groupThreshold, groupShares, crypto);
    try {
      return await decrypt(
        ems,
        {
          passphrase,
          iterationExponent: ref.iterationExponent,
          identifier: ref.identifier,
          extendable: ref.extendable,
        },
        crypto,
      );
    } finally {
      ems.fill(0);
    }
  } finally {
    for (const g of groupShares) g.y.fill(0);
    for (const bucket of groups.values()) for (const { share } of bucket) share.value.fill(0);
  }
}
