// Results are data, not exceptions: everything that crosses a process boundary (IPC, the HSM host,
// the CLI's --json output) is a Result so that an error keeps its code and its words on the way.

export const ERROR_CODES = [
  'INVALID_INPUT',
  'UNTRUSTED_SENDER',
  'UNKNOWN_METHOD',
  'MODULE_NOT_FOUND',
  'MODULE_INVALID',
  'MODULE_INIT_FAILED',
  'MODULE_NOT_CONFIGURED',
  'NO_SLOTS',
  'TOKEN_NOT_FOUND',
  'TOKEN_AMBIGUOUS',
  'TOKEN_ABSENT',
  'TOKEN_NOT_INITIALIZED',
  'TOKEN_WRITE_PROTECTED',
  'PIN_INCORRECT',
  'PIN_LOCKED',
  'PIN_INVALID',
  'PIN_LEN_RANGE',
  'PIN_EXPIRED',
  'NOT_LOGGED_IN',
  'ALREADY_LOGGED_IN',
  'SESSION_CLOSED',
  'SESSION_LIMIT',
  'MECHANISM_UNSUPPORTED',
  'KEY_NOT_EXTRACTABLE',
  'ATTRIBUTE_SENSITIVE',
  'DEVICE_ERROR',
  'DEVICE_MEMORY',
  'HSM_HOST_CRASHED',
  'HSM_TIMEOUT',
  'DEMO_UNAVAILABLE',
  'CONFIG_INVALID',
  'FUNCTION_FAILED',
  // Keys and objects on a token
  'OBJECT_NOT_FOUND',
  'OBJECT_AMBIGUOUS',
  'KEY_TYPE_MISMATCH',
  'KEY_USAGE_NOT_PERMITTED',
  'KEY_SIZE_UNSUPPORTED',
  'TEMPLATE_INVALID',
  'DATA_INVALID',
  'DATA_TOO_LARGE',
  'SIGNATURE_INVALID',
  'DECRYPTION_FAILED',
  'WRAPPED_KEY_INVALID',
  'WRAP_MECHANISM_UNTRUSTED',
  // A wrapping key weaker than the key it would carry (NIST SP 800-57 Part 1 Rev. 5 §5.6.1, Table 2).
  'WRAPPING_KEY_TOO_WEAK',
  // Split knowledge: SLIP-39 shares, share-set records, XOR key components, check values
  'SHARE_UNKNOWN_WORD',
  'SHARE_WORD_COUNT',
  'SHARE_CHECKSUM',
  'SHARE_INVALID',
  'SHARE_SET_MISMATCH',
  'SHARE_DUPLICATE',
  'SHARE_DIGEST',
  'SHARE_NOT_IN_RECORD',
  'SHARE_WRONG_HOLDER',
  'QUORUM_NOT_MET',
  'RECORD_INVALID',
  'COMPONENT_INVALID',
  'CHECK_VALUE_MISMATCH',
  // Archive and audit log (electron/services/archive, electron/services/audit)
  'ARCHIVE_NOT_FOUND',
  'ARCHIVE_EXISTS',
  'ARCHIVE_NOT_ARCHIVE',
  'ARCHIVE_CORRUPT',
  'ARCHIVE_VERSION_UNSUPPORTED',
  'ARCHIVE_ROLLED_BACK',
  'ARCHIVE_BUSY',
  'ARCHIVE_TAMPERED',
  'ARCHIVE_RECORD_NOT_FOUND',
  'ARCHIVE_CONFLICT',
  'LIFECYCLE_TRANSITION_INVALID',
  'AUDIT_CHAIN_BROKEN',
  'BUNDLE_INVALID',
  'BUNDLE_SIGNATURE_INVALID',
  'BUNDLE_UNTRUSTED',
  'BUNDLE_CONFLICT',
  // Shares sealed to a custodian's card (custos.sealedshare, electron/services/cardshares.ts)
  'SEALED_SHARE_INVALID',
  'SEALED_SHARE_WRONG_RECIPIENT',
  // People, credentials and ceremonies (shared/ceremony, electron/services/ceremony)
  'RECORD_MISSING',
  'PERSON_NOT_FOUND',
  'PERSON_EXISTS',
  'CARD_WRONG',
  'CREDENTIAL_FORBIDDEN',
  'PASSPHRASE_INCORRECT',
  'ROLE_MISSING',
  'ROLE_CONFLICT',
  'APPROVAL_INVALID',
  'APPROVAL_DUPLICATE',
  'APPROVAL_STALE',
  'APPROVAL_REPLAYED',
  'APPROVAL_WRONG_STEP',
  'APPROVAL_FINGERPRINT',
  'CEREMONY_DEFINITION_INVALID',
  'CEREMONY_NOT_FOUND',
  'CEREMONY_STEP_BLOCKED',
  'CEREMONY_INTERRUPTED',
  // A backup whose Backup Key a re-share rotated: its blobs and shares restore nothing in Custos any more.
  'BACKUP_ROTATED',
  'CEREMONY_FINISHED',
  'EXCEPTION_OPEN',
  'PRACTICE_REFUSED',
  'OPERATOR_REQUIRED',
  // A workstation key (the archive's, a Backup Key) asked to be destroyed or relabelled from the key tools
  'KEY_PROTECTED',
  // A retrieved key past its CKA_END_DATE, or whose Custos use count is spent (key-service.ts)
  'KEY_EXPIRED',
  'KEY_USES_EXHAUSTED',
  // Files saved to and loaded from removable media (electron/services/files)
  'FILE_EXISTS',
  'FILE_NOT_FOUND',
  'FILE_TOO_LARGE',
  'FILE_WRITE_FAILED',
  'FOLDER_NOT_FOUND',
  'MEDIA_READ_ONLY',
  'DISK_FULL',
  'SAVE_FOLDER_UNSET',
  // The app: one instance per data folder (electron/services/instance-lock.ts)
  'INSTANCE_RUNNING',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AppError {
  code: ErrorCode;
  /** What went wrong, in words a custodian understands. Never contains a secret. */
  message: string;
  /** What to do next. */
  action: string;
  /** Technical detail shown behind a toggle (CKR name, PKCS#11 function, module path). */
  details?: Record<string, string | number | boolean>;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: AppError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const err = (error: AppError): Result<never> => ({ ok: false, error });

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/**
 * An AppError as an exception, for service code that is deeper than the IPC boundary. The
 * handle() wrapper and the CLI turn it back into data; anything else thrown becomes INTERNAL.
 */
export class CustosError extends Error {
  readonly appError: AppError;
  constructor(appError: AppError) {
    super(appError.message);
    this.name = 'CustosError';
    this.appError = appError;
  }
}

/**
 * Any thrown value as an AppError: a CustosError's own, anything else INTERNAL with only its type
 * named (its message may hold data, a PIN or a path, that must not reach a window or a terminal).
 */
export function toAppError(e: unknown): AppError {
  if (e instanceof CustosError) return e.appError;
  return {
    code: 'INTERNAL',
    message: 'Something went wrong inside Custos. Nothing was changed.',
    action: 'Try again. If it repeats, restart the app and report the problem.',
    details: { error: e instanceof Error ? e.name : typeof e },
  };
}

export function fail(
  code: ErrorCode,
  message: string,
  action: string,
  details?: AppError['details'],
): never {
  throw new CustosError(details ? { code, message, action, details } : { code, message, action });
}

/** The one helper for "the caller's input is wrong" (INVALID_INPUT): say what is wrong and how to fix it. */
export function invalidInput(message: string, action: string, details?: AppError['details']): never {
  return fail('INVALID_INPUT', message, action, details);
}
