/**
 * SLIP-39 errors as Custos AppErrors: one closed ErrorCode per kind of problem, the SLIP-39
 * module's message (which names positions, never words), and what to do. Used by the CLI and
 * the app alike.
 */

import type { AppError, ErrorCode } from '../result';
import type { Slip39Error, Slip39ErrorCode } from '../slip39';

/** Why a single share failed a check against a record (see verifyShareAgainstRecord). */
export type ShareFailureReason =
  | 'UNKNOWN_WORD'
  | 'WORD_COUNT'
  | 'CHECKSUM'
  | 'INVALID'
  | 'DIFFERENT_SET'
  | 'NOT_IN_RECORD'
  | 'FINGERPRINT_MISMATCH'
  | 'WRONG_HOLDER';

export const REASON_CODE: Readonly<Record<ShareFailureReason, ErrorCode>> = {
  UNKNOWN_WORD: 'SHARE_UNKNOWN_WORD',
  WORD_COUNT: 'SHARE_WORD_COUNT',
  CHECKSUM: 'SHARE_CHECKSUM',
  INVALID: 'SHARE_INVALID',
  DIFFERENT_SET: 'SHARE_SET_MISMATCH',
  NOT_IN_RECORD: 'SHARE_NOT_IN_RECORD',
  FINGERPRINT_MISMATCH: 'SHARE_NOT_IN_RECORD',
  WRONG_HOLDER: 'SHARE_WRONG_HOLDER',
};

const SAME_BACKUP = 'Use only shares of one backup: all of its shares start with the same two words.';

const BY_SLIP39: Readonly<Record<Slip39ErrorCode, { code: ErrorCode; action: string }>> = {
  UNKNOWN_WORD: { code: 'SHARE_UNKNOWN_WORD', action: 'Correct that word from the written share and try again.' },
  WORD_COUNT: { code: 'SHARE_WORD_COUNT', action: 'Enter every word of the share, in order, on one line.' },
  // Decoding reports SECRET_LENGTH for a word count that fits no secret; splitting for a bad
  // secret (overridden in slip39AppError).
  SECRET_LENGTH: { code: 'SHARE_WORD_COUNT', action: 'Look for a missing or extra word: shares have 20 or 33 words for 128- or 256-bit secrets.' },
  CHECKSUM: { code: 'SHARE_CHECKSUM', action: 'Compare every word with the written share, in order; then try again.' },
  PADDING: { code: 'SHARE_INVALID', action: 'Compare every word with the written share.' },
  GROUP_THRESHOLD_EXCEEDS_COUNT: { code: 'SHARE_INVALID', action: 'Compare every word with the written share; report a share that still fails.' },
  IDENTIFIER_MISMATCH: { code: 'SHARE_SET_MISMATCH', action: SAME_BACKUP },
  ITERATION_EXPONENT_MISMATCH: { code: 'SHARE_SET_MISMATCH', action: SAME_BACKUP },
  EXTENDABLE_MISMATCH: { code: 'SHARE_SET_MISMATCH', action: SAME_BACKUP },
  GROUP_THRESHOLD_MISMATCH: { code: 'SHARE_SET_MISMATCH', action: 'Check the shares named against the written ones.' },
  GROUP_COUNT_MISMATCH: { code: 'SHARE_SET_MISMATCH', action: 'Check the shares named against the written ones.' },
  SHARE_LENGTH_MISMATCH: { code: 'SHARE_SET_MISMATCH', action: 'Check the shares named for missing or extra words.' },
  MEMBER_THRESHOLD_MISMATCH: { code: 'SHARE_SET_MISMATCH', action: 'Check the shares named against the written ones.' },
  DUPLICATE_MEMBER: { code: 'SHARE_DUPLICATE', action: 'Remove the duplicate and enter another share instead.' },
  DIGEST: {
    code: 'SHARE_DIGEST',
    action:
      'At least one share is wrong although every checksum passed. Check each share against its record ' +
      '(custos shares verify) to find it.',
  },
  TOO_FEW_GROUPS: { code: 'QUORUM_NOT_MET', action: 'Add shares from the groups still missing.' },
  TOO_FEW_SHARES: { code: 'QUORUM_NOT_MET', action: 'Add shares until every group used has as many as it needs.' },
  TOO_MANY_GROUPS: { code: 'INVALID_INPUT', action: 'Enter exactly the shares needed, no more.' },
  TOO_MANY_SHARES: { code: 'INVALID_INPUT', action: 'Enter exactly the shares needed, no more.' },
  INVALID_PASSPHRASE: { code: 'INVALID_INPUT', action: 'Use a passphrase of printable ASCII characters only.' },
  INVALID_PARAMETERS: { code: 'INVALID_INPUT', action: 'Correct the split parameters.' },
};

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export interface Slip39Context {
  /** 1-based share number to prefix, when the error concerns one share of a list the caller knows. */
  shareNumber?: number;
  /** The error came from splitting (a bad secret), not from reading shares. */
  splitting?: boolean;
}

/** A Slip39Error as an AppError. The SLIP-39 messages never contain words or secrets. */
export function slip39AppError(e: Slip39Error, ctx: Slip39Context = {}): AppError {
  const map = BY_SLIP39[e.code];
  const code: ErrorCode = ctx.splitting && e.code === 'SECRET_LENGTH' ? 'INVALID_INPUT' : map.code;
  const action = ctx.splitting && e.code === 'SECRET_LENGTH' ? 'Use a secret of 16 or 32 bytes (any even length from 16 bytes works).' : map.action;
  const message = ctx.shareNumber !== undefined ? `Share ${ctx.shareNumber}: ${e.message}` : capitalize(e.message);
  const d = e.details;
  const details: Record<string, number | string> = { slip39: e.code };
  if (d.shareIndex !== undefined) details.share = d.shareIndex + 1;
  else if (ctx.shareNumber !== undefined) details.share = ctx.shareNumber;
  if (d.otherShareIndex !== undefined) details.otherShare = d.otherShareIndex + 1;
  if (d.wordIndex !== undefined) details.word = d.wordIndex + 1;
  if (d.groupIndex !== undefined) details.group = d.groupIndex + 1;
  if (d.expected !== undefined) details.expected = d.expected;
  if (d.actual !== undefined) details.actual = d.actual;
  return { code, message, action, details };
}

/** For single-share decoding failures: the reason, the AppError and the word number. */
export function slip39Failure(e: Slip39Error, ctx: Slip39Context = {}): { reason: ShareFailureReason; error: AppError; word?: number } {
  const error = slip39AppError(e, ctx);
  const reason: ShareFailureReason =
    error.code === 'SHARE_UNKNOWN_WORD'
      ? 'UNKNOWN_WORD'
      : error.code === 'SHARE_WORD_COUNT'
        ? 'WORD_COUNT'
        : error.code === 'SHARE_CHECKSUM'
          ? 'CHECKSUM'
          : 'INVALID';
  const word = e.details.wordIndex === undefined ? undefined : e.details.wordIndex + 1;
  return word === undefined ? { reason, error } : { reason, error, word };
}

/** A failed share check as an AppError. */
export function shareCheckError(check: { reason: ShareFailureReason; message: string; action: string; word?: number }): AppError {
  const details: Record<string, string | number> = { reason: check.reason };
  if (check.word !== undefined) details.word = check.word;
  return { code: REASON_CODE[check.reason], message: check.message, action: check.action, details };
}
