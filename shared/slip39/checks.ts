/**
 * Consistency checks between shares, shared by combineMnemonics (which throws) and
 * combineProgress (which reports). SLIP-0039 "Combining the shares", step 1: all shares
 * MUST have the same identifier, iteration exponent, group threshold, group count and
 * length; within a group the same member threshold and distinct member indices.
 * (The extendable flag joined this list when it was split off the exponent field.)
 */

import { Slip39Error } from './errors';
import type { Share } from './share';
import { mnemonicWordCount } from './share';

const ordinal = (i: number): string => `share ${i + 1}`;
const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Compare the set-wide parameters of `s` (entry `si`) with the reference `ref` (entry `ri`). */
export function compareCommon(ref: Share, ri: number, s: Share, si: number): Slip39Error | undefined {
  const details = { shareIndex: si, otherShareIndex: ri };
  const pair = `${cap(ordinal(si))} and ${ordinal(ri)}`;
  if (s.identifier !== ref.identifier) {
    return new Slip39Error(
      'IDENTIFIER_MISMATCH',
      `${pair} come from different backups (their backup identifiers, in the first two ` +
        'words, differ). Use only shares from one backup: all of them start with the same two words.',
      details,
    );
  }
  if (s.extendable !== ref.extendable) {
    return new Slip39Error(
      'EXTENDABLE_MISMATCH',
      `${pair} differ in the "extendable backup" flag (stored in the second word), so they ` +
        'cannot come from the same backup. Use only shares from one backup.',
      details,
    );
  }
  if (s.iterationExponent !== ref.iterationExponent) {
    return new Slip39Error(
      'ITERATION_EXPONENT_MISMATCH',
      `${pair} differ in their iteration exponent (stored in the second word), so they ` +
        'cannot come from the same backup. Use only shares from one backup.',
      { ...details, expected: ref.iterationExponent, actual: s.iterationExponent },
    );
  }
  if (s.groupThreshold !== ref.groupThreshold) {
    return new Slip39Error(
      'GROUP_THRESHOLD_MISMATCH',
      `${cap(ordinal(si))} says ${plural(s.groupThreshold, 'group is', 'groups are')} needed but ${ordinal(ri)} says ` +
        `${ref.groupThreshold}. They cannot come from the same backup; one is mistyped, altered ` +
        'or from another backup.',
      { ...details, expected: ref.groupThreshold, actual: s.groupThreshold },
    );
  }
  if (s.groupCount !== ref.groupCount) {
    return new Slip39Error(
      'GROUP_COUNT_MISMATCH',
      `${cap(ordinal(si))} says the backup has ${plural(s.groupCount, 'group', 'groups')} but ${ordinal(ri)} says ` +
        `${ref.groupCount}. They cannot come from the same backup; one is mistyped, altered or ` +
        'from another backup.',
      { ...details, expected: ref.groupCount, actual: s.groupCount },
    );
  }
  if (s.value.length !== ref.value.length) {
    const a = mnemonicWordCount(s.value.length);
    const b = mnemonicWordCount(ref.value.length);
    return new Slip39Error(
      'SHARE_LENGTH_MISMATCH',
      `${cap(ordinal(si))} has ${a} words but ${ordinal(ri)} has ${b}. All shares of one ` +
        'backup have the same number of words.',
      { ...details, expected: b, actual: a },
    );
  }
  return undefined;
}

/**
 * Compare `s` (entry `si`) with another share `other` (entry `oi`) of the same group.
 * Returns MEMBER_THRESHOLD_MISMATCH or DUPLICATE_MEMBER, else undefined.
 */
export function compareInGroup(other: Share, oi: number, s: Share, si: number): Slip39Error | undefined {
  const details = { shareIndex: si, otherShareIndex: oi, groupIndex: s.groupIndex };
  if (s.memberThreshold !== other.memberThreshold) {
    return new Slip39Error(
      'MEMBER_THRESHOLD_MISMATCH',
      `${cap(ordinal(si))} and ${ordinal(oi)} are both in group ${s.groupIndex + 1} but say ` +
        `different numbers of shares are needed (${s.memberThreshold} vs ${other.memberThreshold}). ` +
        'One of them is mistyped, altered or from another backup.',
      { ...details, expected: other.memberThreshold, actual: s.memberThreshold },
    );
  }
  if (s.memberIndex === other.memberIndex) {
    return sameBytes(s.value, other.value)
      ? new Slip39Error(
          'DUPLICATE_MEMBER',
          `${cap(ordinal(si))} is the same share as ${ordinal(oi)}. Remove the duplicate and ` +
            `enter a different share of group ${s.groupIndex + 1}.`,
          details,
        )
      : new Slip39Error(
          'DUPLICATE_MEMBER',
          `${cap(ordinal(si))} and ${ordinal(oi)} claim the same position in group ` +
            `${s.groupIndex + 1} but differ in content. At most one of them can be right: check ` +
            'both against the written shares.',
          details,
        );
  }
  return undefined;
}

/** Constant-time equality (share values are secret). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Stable English plural for counts in messages. */
export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
