// Share-set records (custos.shareset v1, docs/FORMAT.md) as the service hands them out, and checking
// shares against them: one custodian, alone, checks their share against the record written at the
// ceremony — which share it is and who holds it, or exactly why not. Nothing is kept.
//
// Every message names positions, holders, set numbers and fingerprints, never a word of a share.
import type { ShareSetView, ShareVerdict, ShareView } from '../../../shared/contract';
import { CustosError, fail } from '../../../shared/result';
import {
  formatFingerprint,
  parseShareSetRecordJson,
  shareCheckError,
  sharePosition,
  verifyShareAgainstRecord,
  type ShareRecordEntry,
  type ShareSetRecord,
} from '../../../shared/shares';
import { nodeSha256 } from './secret';

/**
 * Longest share the app's screen takes: 44 words (400 characters of input). Shares of 128- to
 * 256-bit secrets have 20 to 33 words; longer ones are checked with `custos shares verify`.
 */
export const MAX_SCREEN_WORDS = 44;

export const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

function quorumSentence(r: ShareSetRecord): string {
  if (r.set.groupCount === 1) {
    const g = r.groups[0]!;
    return `${g.memberThreshold} of the ${plural(g.memberCount, 'share is', 'shares are')} needed to recover the secret.`;
  }
  const per = r.groups.map((g) => `group ${g.groupIndex + 1}: ${g.memberThreshold} of ${g.memberCount}`).join('; ');
  return `Shares from ${r.set.groupThreshold} of the ${r.set.groupCount} groups are needed (${per}).`;
}

export function shareView(r: ShareSetRecord, e: Pick<ShareRecordEntry, 'groupIndex' | 'memberIndex'>): ShareView {
  const entry = r.shares.find((x) => x.groupIndex === e.groupIndex && x.memberIndex === e.memberIndex);
  return {
    groupIndex: e.groupIndex,
    memberIndex: e.memberIndex,
    holder: entry?.holder ?? null,
    position: sharePosition(r, e.groupIndex, e.memberIndex),
    fingerprint: entry ? formatFingerprint(entry.fingerprint) : '',
  };
}

export function recordView(r: ShareSetRecord): ShareSetView {
  return {
    identifier: r.set.identifier,
    label: r.label,
    ceremonyId: r.ceremonyId,
    createdAt: r.createdAt,
    words: r.set.words,
    secretBytes: r.set.secretBytes,
    extendable: r.set.extendable,
    iterationExponent: r.set.iterationExponent,
    groupThreshold: r.set.groupThreshold,
    groupCount: r.set.groupCount,
    groups: r.groups.map((g) => ({ groupIndex: g.groupIndex, memberThreshold: g.memberThreshold, memberCount: g.memberCount })),
    shares: r.shares.map((e) => shareView(r, e)),
    secretCheck: r.secretCheck,
    quorum: quorumSentence(r),
  };
}

/** Parses and checks record JSON for the app's screen; refuses shares too long for it. */
export function readRecord(json: string): ShareSetRecord {
  const r = parseShareSetRecordJson(json);
  if (r.set.words > MAX_SCREEN_WORDS) {
    fail(
      'INVALID_INPUT',
      `The shares of set ${r.set.identifier} have ${r.set.words} words; this screen takes shares of up to ${MAX_SCREEN_WORDS} words.`,
      'Check these shares with the command line: custos shares verify --record FILE.',
    );
  }
  return r;
}

export const readRecordView = (json: string): ShareSetView => recordView(readRecord(json));

/** shares.verify (the app): one share against its record, alone. A share that fails is a verdict, not an error. */
export async function verifyShare(recordJson: string, mnemonic: string, holder?: string): Promise<ShareVerdict> {
  const record = readRecord(recordJson);
  const check = await verifyShareAgainstRecord(mnemonic, record, { sha256: nodeSha256, ...(holder === undefined ? {} : { holder }) });
  if (check.ok) return { ok: true, share: shareView(record, check.entry), message: check.message };
  return {
    ok: false,
    reason: check.reason,
    error: shareCheckError(check),
    ...(check.word !== undefined ? { word: check.word } : {}),
    ...(check.entry ? { share: shareView(record, check.entry) } : {}),
  };
}

export interface CheckedShare {
  entry: ShareRecordEntry;
  /** "group 1, share 2 of 3" */
  position: string;
  /** One sentence: which share it is, whose, and that it matches the record. */
  message: string;
}

/** One share against its record (and its holder, when given); a share that fails is an error (the CLI's `shares verify`). */
export async function checkShare(record: ShareSetRecord, mnemonic: string, holder?: string): Promise<CheckedShare> {
  const check = await verifyShareAgainstRecord(mnemonic, record, { sha256: nodeSha256, ...(holder === undefined ? {} : { holder }) });
  if (!check.ok) throw new CustosError(shareCheckError(check));
  return { entry: check.entry, position: sharePosition(record, check.entry.groupIndex, check.entry.memberIndex), message: check.message };
}

/** Every share against the record before any is combined; the error names the share by its place in the input ("Share 2: …"). */
export async function checkEveryShare(record: ShareSetRecord, mnemonics: readonly string[]): Promise<void> {
  for (const [i, m] of mnemonics.entries()) {
    const check = await verifyShareAgainstRecord(m, record, { sha256: nodeSha256 });
    if (!check.ok) {
      const e = shareCheckError(check);
      throw new CustosError({ ...e, message: `Share ${i + 1}: ${e.message}`, details: { ...e.details, share: i + 1 } });
    }
  }
}
