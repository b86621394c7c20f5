import type { ErrorCode } from '../../shared/result';

/** Exit codes of `custos`, documented in docs/CLI.md. Stable: scripts depend on them. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  MODULE: 3,
  TOKEN: 4,
  AUTH: 5,
  HSM_HOST: 6,
  /** A share, share-set record or key component was rejected (unreadable, or not of this set). */
  SHARE: 7,
  /** Too few shares or components to rebuild the secret. */
  QUORUM: 8,
  /** A recomputed check value differs from the expected one. */
  CHECK_VALUE: 9,
} as const;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  INVALID_INPUT: EXIT.USAGE,
  MODULE_NOT_FOUND: EXIT.MODULE,
  MODULE_INVALID: EXIT.MODULE,
  MODULE_INIT_FAILED: EXIT.MODULE,
  MODULE_NOT_CONFIGURED: EXIT.MODULE,
  NO_SLOTS: EXIT.TOKEN,
  TOKEN_NOT_FOUND: EXIT.TOKEN,
  TOKEN_AMBIGUOUS: EXIT.TOKEN,
  TOKEN_ABSENT: EXIT.TOKEN,
  TOKEN_NOT_INITIALIZED: EXIT.TOKEN,
  PIN_INCORRECT: EXIT.AUTH,
  PIN_LOCKED: EXIT.AUTH,
  PIN_INVALID: EXIT.AUTH,
  PIN_LEN_RANGE: EXIT.AUTH,
  PIN_EXPIRED: EXIT.AUTH,
  NOT_LOGGED_IN: EXIT.AUTH,
  HSM_HOST_CRASHED: EXIT.HSM_HOST,
  HSM_TIMEOUT: EXIT.HSM_HOST,
  SHARE_UNKNOWN_WORD: EXIT.SHARE,
  SHARE_WORD_COUNT: EXIT.SHARE,
  SHARE_CHECKSUM: EXIT.SHARE,
  SHARE_INVALID: EXIT.SHARE,
  SHARE_SET_MISMATCH: EXIT.SHARE,
  SHARE_DUPLICATE: EXIT.SHARE,
  SHARE_DIGEST: EXIT.SHARE,
  SHARE_NOT_IN_RECORD: EXIT.SHARE,
  SHARE_WRONG_HOLDER: EXIT.SHARE,
  RECORD_INVALID: EXIT.SHARE,
  COMPONENT_INVALID: EXIT.SHARE,
  QUORUM_NOT_MET: EXIT.QUORUM,
  CHECK_VALUE_MISMATCH: EXIT.CHECK_VALUE,
};

export const exitCodeFor = (code: ErrorCode): number => BY_CODE[code] ?? EXIT.FAILED;
