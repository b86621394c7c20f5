/**
 * Typed errors for SLIP-39.
 *
 * Rule for every message built in this module: it may name positions (share number,
 * word number, group number) and counts, but never a mnemonic word, a share value or
 * any other secret material. Error objects end up in logs and crash reports; the
 * caller already has the user's input and can highlight the offending word itself.
 */

export type Slip39ErrorCode =
  /** A word is not in the SLIP-39 word list (details.wordIndex). */
  | 'UNKNOWN_WORD'
  /** Too few words for any share (fewer than 20). */
  | 'WORD_COUNT'
  /** The RS1024 checksum does not verify. */
  | 'CHECKSUM'
  /** The padding bits in front of the share value are not all zero. */
  | 'PADDING'
  /** Shares from different splits (the identifier differs). */
  | 'IDENTIFIER_MISMATCH'
  | 'ITERATION_EXPONENT_MISMATCH'
  | 'EXTENDABLE_MISMATCH'
  | 'GROUP_THRESHOLD_MISMATCH'
  | 'GROUP_COUNT_MISMATCH'
  /** Shares whose secrets have different lengths (different word counts). */
  | 'SHARE_LENGTH_MISMATCH'
  /** A share claims a group threshold larger than its group count. */
  | 'GROUP_THRESHOLD_EXCEEDS_COUNT'
  /** Two shares with the same member index in the same group. */
  | 'DUPLICATE_MEMBER'
  | 'MEMBER_THRESHOLD_MISMATCH'
  /** Interpolation gave a secret whose embedded digest does not match. */
  | 'DIGEST'
  | 'TOO_FEW_GROUPS'
  | 'TOO_MANY_GROUPS'
  | 'TOO_FEW_SHARES'
  | 'TOO_MANY_SHARES'
  /** The (master or share) secret length is not allowed by the spec. */
  | 'SECRET_LENGTH'
  /** Passphrase contains bytes outside printable ASCII (only refused when splitting). */
  | 'INVALID_PASSPHRASE'
  /** Bad arguments to splitSecret, or a crypto provider returned malformed output. */
  | 'INVALID_PARAMETERS';

export interface Slip39ErrorDetails {
  /** 0-based position of the offending share in the list the caller passed in. */
  readonly shareIndex?: number;
  /** 0-based position of another share the offending one conflicts with. */
  readonly otherShareIndex?: number;
  /** 0-based position of the offending word inside its mnemonic. */
  readonly wordIndex?: number;
  /** Group index (0-based, as stored in the share). */
  readonly groupIndex?: number;
  readonly expected?: number;
  readonly actual?: number;
}

export class Slip39Error extends Error {
  override readonly name = 'Slip39Error';
  readonly code: Slip39ErrorCode;
  readonly details: Slip39ErrorDetails;

  constructor(code: Slip39ErrorCode, message: string, details: Slip39ErrorDetails = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

/** "Share 3: " prefix used when an error concerns one entry of a list (1-based for humans). */
export function sharePrefix(shareIndex: number | undefined): string {
  return shareIndex === undefined ? '' : `Share ${shareIndex + 1}: `;
}
