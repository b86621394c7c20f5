/**
 * Progress while shares are being entered, without the passphrase or any crypto.
 *
 * Everything here comes from share metadata (SLIP-0039 "Format of the share mnemonic"):
 * every share states the group threshold GT, the group count G, its group index and its
 * group's member threshold T_i, so after one share we know the shape of the whole set.
 * The digest check (a forged or mistyped-but-checksum-valid share) needs HMAC and only
 * happens in combineMnemonics.
 */

import { compareCommon, compareInGroup, plural, sameBytes } from './checks';
import { Slip39Error } from './errors';
import { decodeShare, mnemonicWordCount, type Share } from './share';
import { splitMnemonic } from './words';

export type EntryStatus =
  /** Blank input: ignored. */
  | 'empty'
  /** Valid and counted towards its group. */
  | 'accepted'
  /** Valid, but its group already has enough shares: not needed. */
  | 'surplus'
  /** The very same share was already entered (error.code DUPLICATE_MEMBER). */
  | 'duplicate'
  /** Unusable: does not decode, or conflicts with the set (see error). */
  | 'rejected';

export interface EntryProgress {
  status: EntryStatus;
  error?: Slip39Error;
  groupIndex?: number;
  memberIndex?: number;
}

export interface GroupProgress {
  /** 0-based group index (show as groupIndex + 1). */
  groupIndex: number;
  /** T_i, known once a share of this group has been accepted. */
  memberThreshold?: number;
  /** Distinct shares accepted for this group. */
  entered: number;
  /** Shares still needed for this group (undefined while T_i is unknown). */
  remaining?: number;
  complete: boolean;
}

export interface SetInfo {
  identifier: number;
  extendable: boolean;
  iterationExponent: number;
  groupThreshold: number;
  groupCount: number;
  /** Length of the master secret in bytes. */
  secretBytes: number;
  wordCount: number;
}

export interface CombineProgress {
  /** Enough shares to combine: pass `selection` to combineMnemonics. */
  ready: boolean;
  /** Parameters of the set, taken from the first valid share. */
  set?: SetInfo;
  /** One entry per group index 0..G-1 (plus any stray index a share claims). */
  groups: GroupProgress[];
  groupsComplete: number;
  /** More groups that must be completed (0 when ready). */
  groupsRemaining: number;
  /** Verdict per input entry, aligned with the input. */
  entries: EntryProgress[];
  /** When ready: input positions forming exactly a threshold set, for combineMnemonics. */
  selection?: number[];
  /** One or two English sentences for the user. */
  summary: string;
}

interface Accepted {
  share: Share;
  entry: number;
}

export function combineProgress(mnemonics: readonly string[]): CombineProgress {
  const entries: EntryProgress[] = [];
  let ref: Accepted | undefined;
  const byGroup = new Map<number, Accepted[]>();

  for (const [entry, mnemonic] of mnemonics.entries()) {
    if (splitMnemonic(mnemonic).length === 0) {
      entries.push({ status: 'empty' });
      continue;
    }
    let share: Share;
    try {
      share = decodeShare(mnemonic, entry);
    } catch (e) {
      if (!(e instanceof Slip39Error)) throw e;
      entries.push({ status: 'rejected', error: e });
      continue;
    }
    const where = { groupIndex: share.groupIndex, memberIndex: share.memberIndex };
    // The first valid share defines the set; later ones must match it.
    if (ref === undefined) ref = { share, entry };
    const mismatch = compareCommon(ref.share, ref.entry, share, entry);
    if (mismatch) {
      entries.push({ status: 'rejected', error: mismatch, ...where });
      continue;
    }
    const bucket = byGroup.get(share.groupIndex) ?? [];
    let conflict: Slip39Error | undefined;
    let identical = false;
    for (const other of bucket) {
      conflict = compareInGroup(other.share, other.entry, share, entry);
      if (conflict) {
        identical =
          conflict.code === 'DUPLICATE_MEMBER' && sameBytes(other.share.value, share.value);
        break;
      }
    }
    if (conflict) {
      entries.push({ status: identical ? 'duplicate' : 'rejected', error: conflict, ...where });
      continue;
    }
    const t = share.memberThreshold;
    entries.push({ status: bucket.length >= t ? 'surplus' : 'accepted', ...where });
    bucket.push({ share, entry });
    byGroup.set(share.groupIndex, bucket);
  }

  // Share values are not needed beyond this point.
  const wipe = (): void => {
    for (const bucket of byGroup.values()) for (const a of bucket) a.share.value.fill(0);
  };

  if (ref === undefined) {
    return {
      ready: false,
      groups: [],
      groupsComplete: 0,
      groupsRemaining: 0,
      entries,
      summary: entries.some((e) => e.status === 'rejected')
        ? 'None of the entered shares is valid yet. Fix the marked problems.'
        : 'Enter a share to begin.',
    };
  }

  const r = ref.share;
  const set: SetInfo = {
    identifier: r.identifier,
    extendable: r.extendable,
    iterationExponent: r.iterationExponent,
    groupThreshold: r.groupThreshold,
    groupCount: r.groupCount,
    secretBytes: r.value.length,
    wordCount: mnemonicWordCount(r.value.length),
  };

  const indices = new Set<number>(Array.from({ length: r.groupCount }, (_, i) => i));
  for (const gi of byGroup.keys()) indices.add(gi);
  const groups: GroupProgress[] = [...indices]
    .sort((a, b) => a - b)
    .map((groupIndex) => {
      const bucket = byGroup.get(groupIndex);
      const first = bucket?.[0];
      if (bucket === undefined || first === undefined) return { groupIndex, entered: 0, complete: false };
      const t = first.share.memberThreshold;
      const entered = bucket.length;
      return {
        groupIndex,
        memberThreshold: t,
        entered,
        remaining: Math.max(0, t - entered),
        complete: entered >= t,
      };
    });

  const completeGroups = groups.filter((g) => g.complete);
  const groupsComplete = completeGroups.length;
  const groupsRemaining = Math.max(0, r.groupThreshold - groupsComplete);
  const ready = groupsRemaining === 0;

  let selection: number[] | undefined;
  if (ready) {
    // Exactly GT complete groups with exactly T_i shares each, as the spec requires.
    selection = completeGroups
      .slice(0, r.groupThreshold)
      .flatMap((g) => (byGroup.get(g.groupIndex) ?? []).slice(0, g.memberThreshold).map((a) => a.entry))
      .sort((a, b) => a - b);
  }
  wipe();

  return {
    ready,
    set,
    groups,
    groupsComplete,
    groupsRemaining,
    entries,
    ...(selection ? { selection } : {}),
    summary: summarize(set, groups, groupsComplete, groupsRemaining),
  };
}

function summarize(
  set: SetInfo,
  groups: readonly GroupProgress[],
  groupsComplete: number,
  groupsRemaining: number,
): string {
  if (groupsRemaining === 0) return 'Enough shares have been entered to recover the secret.';
  if (set.groupCount === 1) {
    const g = groups[0];
    if (g?.memberThreshold !== undefined) {
      return (
        `${g.entered} of ${g.memberThreshold} shares entered. ` +
        `${plural(g.remaining ?? 0, 'more share is', 'more shares are')} needed.`
      );
    }
  }
  const parts = [
    `${groupsComplete} of ${set.groupThreshold} required groups complete (the backup has ${set.groupCount} groups).`,
  ];
  const started = groups.filter((g) => !g.complete && g.entered > 0);
  for (const g of started) {
    parts.push(`Group ${g.groupIndex + 1} needs ${plural(g.remaining ?? 0, 'more share', 'more shares')}.`);
  }
  const unstarted = groupsRemaining - started.length;
  if (unstarted > 0) {
    parts.push(`Shares from ${plural(unstarted, 'further group', 'further groups')} are needed.`);
  }
  return parts.join(' ');
}
