import type { AppError, ErrorCode } from './result';

// Vendor libraries surface failures as bare CK_RV numbers. A custodian must never see only
// "0xA0": every return value the app can meet maps to a code, a sentence and a next step.
// Values from PKCS#11 v2.40 / v3.0 pkcs11t.h.

interface Mapping {
  code: ErrorCode;
  message: string;
  action: string;
}

const CKR: Record<string, number> = {
  CKR_CANCEL: 0x01,
  CKR_HOST_MEMORY: 0x02,
  CKR_SLOT_ID_INVALID: 0x03,
  CKR_GENERAL_ERROR: 0x05,
  CKR_FUNCTION_FAILED: 0x06,
  CKR_ARGUMENTS_BAD: 0x07,
  CKR_ATTRIBUTE_SENSITIVE: 0x11,
  CKR_ATTRIBUTE_TYPE_INVALID: 0x12,
  CKR_ATTRIBUTE_VALUE_INVALID: 0x13,
  CKR_DATA_INVALID: 0x20,
  CKR_DATA_LEN_RANGE: 0x21,
  CKR_DEVICE_ERROR: 0x30,
  CKR_DEVICE_MEMORY: 0x31,
  CKR_DEVICE_REMOVED: 0x32,
  CKR_ENCRYPTED_DATA_INVALID: 0x40,
  CKR_ENCRYPTED_DATA_LEN_RANGE: 0x41,
  CKR_FUNCTION_NOT_SUPPORTED: 0x54,
  CKR_KEY_HANDLE_INVALID: 0x60,
  CKR_KEY_SIZE_RANGE: 0x62,
  CKR_KEY_TYPE_INCONSISTENT: 0x63,
  CKR_KEY_FUNCTION_NOT_PERMITTED: 0x68,
  CKR_KEY_NOT_WRAPPABLE: 0x69,
  CKR_KEY_UNEXTRACTABLE: 0x6a,
  CKR_MECHANISM_INVALID: 0x70,
  CKR_MECHANISM_PARAM_INVALID: 0x71,
  CKR_OBJECT_HANDLE_INVALID: 0x82,
  CKR_OPERATION_ACTIVE: 0x90,
  CKR_OPERATION_NOT_INITIALIZED: 0x91,
  CKR_PIN_INCORRECT: 0xa0,
  CKR_PIN_INVALID: 0xa1,
  CKR_PIN_LEN_RANGE: 0xa2,
  CKR_PIN_EXPIRED: 0xa3,
  CKR_PIN_LOCKED: 0xa4,
  CKR_SESSION_CLOSED: 0xb0,
  CKR_SESSION_COUNT: 0xb1,
  CKR_SESSION_HANDLE_INVALID: 0xb3,
  CKR_SESSION_READ_ONLY: 0xb5,
  CKR_SESSION_EXISTS: 0xb6,
  CKR_SESSION_READ_ONLY_EXISTS: 0xb7,
  CKR_SESSION_READ_WRITE_SO_EXISTS: 0xb8,
  CKR_SIGNATURE_INVALID: 0xc0,
  CKR_SIGNATURE_LEN_RANGE: 0xc1,
  CKR_TEMPLATE_INCOMPLETE: 0xd0,
  CKR_TEMPLATE_INCONSISTENT: 0xd1,
  CKR_TOKEN_NOT_PRESENT: 0xe0,
  CKR_TOKEN_NOT_RECOGNIZED: 0xe1,
  CKR_TOKEN_WRITE_PROTECTED: 0xe2,
  CKR_UNWRAPPING_KEY_HANDLE_INVALID: 0xf0,
  CKR_USER_ALREADY_LOGGED_IN: 0x100,
  CKR_USER_NOT_LOGGED_IN: 0x101,
  CKR_USER_PIN_NOT_INITIALIZED: 0x102,
  CKR_USER_TYPE_INVALID: 0x103,
  CKR_USER_ANOTHER_ALREADY_LOGGED_IN: 0x104,
  CKR_USER_TOO_MANY_TYPES: 0x105,
  CKR_WRAPPED_KEY_INVALID: 0x110,
  CKR_WRAPPED_KEY_LEN_RANGE: 0x112,
  CKR_WRAPPING_KEY_HANDLE_INVALID: 0x113,
  CKR_WRAPPING_KEY_SIZE_RANGE: 0x114,
  CKR_WRAPPING_KEY_TYPE_INCONSISTENT: 0x115,
  CKR_RANDOM_NO_RNG: 0x121,
  CKR_BUFFER_TOO_SMALL: 0x150,
  CKR_CRYPTOKI_NOT_INITIALIZED: 0x190,
  CKR_CRYPTOKI_ALREADY_INITIALIZED: 0x191,
};

const NAME_BY_VALUE = new Map(Object.entries(CKR).map(([name, value]) => [value, name]));

export function ckrName(value: number): string {
  return NAME_BY_VALUE.get(value) ?? `CKR_0x${value.toString(16).toUpperCase()}`;
}

const TOKEN_GONE: Mapping = {
  code: 'TOKEN_ABSENT',
  message: 'The token is no longer there: it was removed or its reader disconnected.',
  action: 'Insert the token again, wait for it to appear in the list, then repeat the step.',
};

const MAPPINGS: Record<string, Mapping> = {
  CKR_PIN_INCORRECT: {
    code: 'PIN_INCORRECT',
    message: 'The PIN is not correct.',
    action:
      'Check the PIN and try again. Each wrong attempt counts towards locking the token; stop and ask the security officer if you are unsure.',
  },
  CKR_PIN_LOCKED: {
    code: 'PIN_LOCKED',
    message: 'The PIN is locked after too many wrong attempts.',
    action:
      'Do not try again. The token\'s security officer (SO) must unlock or reset the user PIN with the SO PIN.',
  },
  CKR_PIN_INVALID: {
    code: 'PIN_INVALID',
    message: 'The PIN contains characters this token does not accept.',
    action: 'Use only the characters the token allows (often digits only).',
  },
  CKR_PIN_LEN_RANGE: {
    code: 'PIN_LEN_RANGE',
    message: 'The PIN is too short or too long for this token.',
    action: "Use a PIN whose length is within the token's minimum and maximum.",
  },
  CKR_PIN_EXPIRED: {
    code: 'PIN_EXPIRED',
    message: 'The PIN has expired.',
    action: 'Change the PIN before using the token for anything else.',
  },
  CKR_USER_PIN_NOT_INITIALIZED: {
    code: 'TOKEN_NOT_INITIALIZED',
    message: 'No user PIN has been set on this token yet.',
    action: 'The security officer must set the user PIN first (initialise the PIN).',
  },
  CKR_TOKEN_NOT_PRESENT: TOKEN_GONE,
  CKR_DEVICE_REMOVED: TOKEN_GONE,
  CKR_SLOT_ID_INVALID: TOKEN_GONE,
  CKR_TOKEN_NOT_RECOGNIZED: {
    code: 'TOKEN_ABSENT',
    message: 'The reader holds a card or device this module does not recognise.',
    action: "Check that the right card is inserted and that the module is the vendor's module for it.",
  },
  CKR_TOKEN_WRITE_PROTECTED: {
    code: 'TOKEN_WRITE_PROTECTED',
    message: 'The token is write-protected.',
    action: 'Use a token that allows changes, or remove its write protection.',
  },
  CKR_SESSION_CLOSED: {
    code: 'SESSION_CLOSED',
    message: 'The session with the token was closed (the token was reset, removed or logged out elsewhere).',
    action: 'Log in again and repeat the step.',
  },
  CKR_SESSION_HANDLE_INVALID: {
    code: 'SESSION_CLOSED',
    message: 'The session with the token is no longer valid.',
    action: 'Log in again and repeat the step.',
  },
  CKR_SESSION_COUNT: {
    code: 'SESSION_LIMIT',
    message: 'The token has no free sessions.',
    action: 'Close other programs that use the token, then try again.',
  },
  CKR_USER_NOT_LOGGED_IN: {
    code: 'NOT_LOGGED_IN',
    message: 'This needs you to be logged in to the token.',
    action: 'Log in to the token with your PIN, then repeat the step.',
  },
  CKR_USER_ALREADY_LOGGED_IN: {
    code: 'ALREADY_LOGGED_IN',
    message: 'You are already logged in to this token.',
    action: 'Carry on, or log out first to log in as someone else.',
  },
  CKR_USER_ANOTHER_ALREADY_LOGGED_IN: {
    code: 'ALREADY_LOGGED_IN',
    message: 'Another user (for example the security officer) is logged in to this token.',
    action: 'Log that user out first.',
  },
  CKR_MECHANISM_INVALID: {
    code: 'MECHANISM_UNSUPPORTED',
    message: 'This token does not support the requested algorithm or mechanism.',
    action: 'Choose another algorithm from those the token lists, or use a token that supports it.',
  },
  CKR_MECHANISM_PARAM_INVALID: {
    code: 'MECHANISM_UNSUPPORTED',
    message: 'The token rejected the parameters of the requested mechanism.',
    action: 'Choose another algorithm or parameter set the token lists as supported.',
  },
  CKR_FUNCTION_NOT_SUPPORTED: {
    code: 'MECHANISM_UNSUPPORTED',
    message: 'The token does not support this operation.',
    action: 'Use a token that supports it, or choose another operation.',
  },
  CKR_KEY_UNEXTRACTABLE: {
    code: 'KEY_NOT_EXTRACTABLE',
    message: 'The key was created so that it can never leave the token.',
    action: 'It cannot be wrapped or backed up. Generate a new key marked extractable-under-wrap if a backup is needed.',
  },
  CKR_KEY_NOT_WRAPPABLE: {
    code: 'KEY_NOT_EXTRACTABLE',
    message: 'The key cannot be wrapped by this wrapping key: the token lets only a key its SO marked trusted wrap it (CKA_WRAP_WITH_TRUSTED), as it does for the archive’s own keys.',
    action: 'The archive’s keys leave the HSM only through a split-knowledge backup ceremony, where the SO takes part. For other keys, use a trusted wrapping key or generate the key with the right export policy.',
  },
  CKR_ATTRIBUTE_SENSITIVE: {
    code: 'ATTRIBUTE_SENSITIVE',
    message: 'The token refuses to reveal this value because the key is sensitive.',
    action: 'This is expected for secret keys; use check values or wrapping instead.',
  },
  CKR_DEVICE_ERROR: {
    code: 'DEVICE_ERROR',
    message: 'The device reported an internal error.',
    action: 'Remove and reinsert the device, then try again. If it repeats, stop and record the exception.',
  },
  CKR_GENERAL_ERROR: {
    code: 'DEVICE_ERROR',
    message: 'The token reported a general error.',
    action: 'Try again once. If it repeats, stop, record the exception and check the device.',
  },
  CKR_DEVICE_MEMORY: {
    code: 'DEVICE_MEMORY',
    message: 'The token is out of memory.',
    action: 'Delete objects that are no longer needed, or use a token with free space.',
  },
  CKR_HOST_MEMORY: {
    code: 'DEVICE_MEMORY',
    message: 'The PKCS#11 module ran out of memory on this computer.',
    action: 'Close other programs and try again.',
  },
};

Object.assign(MAPPINGS, {
  CKR_KEY_TYPE_INCONSISTENT: {
    code: 'KEY_TYPE_MISMATCH',
    message: 'This key is of the wrong type for the chosen operation or algorithm.',
    action: 'Choose a key of the right type (for example an EC key for ECDSA, an AES key for AES-GCM).',
  },
  CKR_KEY_FUNCTION_NOT_PERMITTED: {
    code: 'KEY_USAGE_NOT_PERMITTED',
    message: 'The key was created without permission for this use.',
    action: 'Use a key generated for this purpose; key usages cannot be widened after generation.',
  },
  CKR_KEY_SIZE_RANGE: {
    code: 'KEY_SIZE_UNSUPPORTED',
    message: 'The token does not support this key size for the chosen algorithm.',
    action: "Choose a key size within the token's supported range (see the token's capabilities).",
  },
  CKR_KEY_HANDLE_INVALID: {
    code: 'OBJECT_NOT_FOUND',
    message: 'The key is no longer on the token (it was deleted, or the session ended).',
    action: 'Refresh the key list and choose the key again.',
  },
  CKR_OBJECT_HANDLE_INVALID: {
    code: 'OBJECT_NOT_FOUND',
    message: 'The object is no longer on the token.',
    action: 'Refresh the key list and choose it again.',
  },
  CKR_WRAPPING_KEY_HANDLE_INVALID: {
    code: 'OBJECT_NOT_FOUND',
    message: 'The wrapping key is no longer on the token.',
    action: 'Choose the wrapping key again.',
  },
  CKR_UNWRAPPING_KEY_HANDLE_INVALID: {
    code: 'OBJECT_NOT_FOUND',
    message: 'The unwrapping key is no longer on the token.',
    action: 'Choose the unwrapping key again.',
  },
  CKR_TEMPLATE_INCOMPLETE: {
    code: 'TEMPLATE_INVALID',
    message: 'The token needs more key attributes than were given.',
    action: 'This is a Custos bug for this token model; note the detail and report it.',
  },
  CKR_TEMPLATE_INCONSISTENT: {
    code: 'TEMPLATE_INVALID',
    message: 'The token refused the combination of key attributes.',
    action: 'Try another export policy or usage; some tokens do not allow every combination.',
  },
  CKR_ATTRIBUTE_VALUE_INVALID: {
    code: 'TEMPLATE_INVALID',
    message: 'The token refused one of the key attributes.',
    action: 'Check the key type and size against what the token supports.',
  },
  CKR_ATTRIBUTE_TYPE_INVALID: {
    code: 'TEMPLATE_INVALID',
    message: 'The token does not know one of the key attributes Custos sent.',
    action: 'This token may not support this kind of key; note the detail and report it.',
  },
  CKR_DATA_INVALID: {
    code: 'DATA_INVALID',
    message: 'The token refused the data for this operation.',
    action: 'Check that the input is what this operation expects (size, format).',
  },
  CKR_DATA_LEN_RANGE: {
    code: 'DATA_TOO_LARGE',
    message: 'The data is too long (or too short) for this key and algorithm.',
    action: 'Use a smaller input, or an algorithm suited to bulk data (for example AES-GCM instead of RSA).',
  },
  CKR_ENCRYPTED_DATA_INVALID: {
    code: 'DECRYPTION_FAILED',
    message: 'The data could not be decrypted: it was altered, or it was encrypted under another key.',
    action: 'Check that you chose the right key and that the file is intact.',
  },
  CKR_ENCRYPTED_DATA_LEN_RANGE: {
    code: 'DECRYPTION_FAILED',
    message: 'The encrypted data has the wrong length for this key and algorithm.',
    action: 'Check that the file is complete and that you chose the right algorithm.',
  },
  CKR_SIGNATURE_INVALID: {
    code: 'SIGNATURE_INVALID',
    message: 'The signature does not match the data and key.',
    action: 'The data or signature was altered, or it was made by another key. Do not trust the data.',
  },
  CKR_SIGNATURE_LEN_RANGE: {
    code: 'SIGNATURE_INVALID',
    message: 'The signature has the wrong length for this key.',
    action: 'The signature is corrupt or belongs to another key. Do not trust the data.',
  },
  CKR_WRAPPED_KEY_INVALID: {
    code: 'WRAPPED_KEY_INVALID',
    message: 'The wrapped key could not be unwrapped: it was altered, or wrapped under another key.',
    action: 'Check that you chose the right unwrapping key and algorithm and that the file is intact.',
  },
  CKR_WRAPPED_KEY_LEN_RANGE: {
    code: 'WRAPPED_KEY_INVALID',
    message: 'The wrapped key has the wrong length for this algorithm.',
    action: 'Check that the file is complete and that you chose the right algorithm.',
  },
  CKR_WRAPPING_KEY_SIZE_RANGE: {
    code: 'KEY_SIZE_UNSUPPORTED',
    message: 'The wrapping key has a size the token cannot use for this wrap.',
    action: 'Use a wrapping key of a supported size.',
  },
  CKR_WRAPPING_KEY_TYPE_INCONSISTENT: {
    code: 'KEY_TYPE_MISMATCH',
    message: 'The wrapping key is of the wrong type for this wrap algorithm.',
    action: 'Use an AES key for AES key wrap, an RSA public key for RSA-OAEP.',
  },
  CKR_OPERATION_ACTIVE: {
    code: 'DEVICE_ERROR',
    message: 'The token is still busy with an earlier operation in this session.',
    action: 'Wait a moment and try again.',
  },
  CKR_CRYPTOKI_NOT_INITIALIZED: {
    code: 'DEVICE_ERROR',
    message: 'The PKCS#11 module was shut down while in use.',
    action: 'Try again; Custos reloads the module. If it repeats, restart the app.',
  },
  CKR_RANDOM_NO_RNG: {
    code: 'MECHANISM_UNSUPPORTED',
    message: 'This token has no random number generator.',
    action: 'Use a token with a hardware RNG for random numbers.',
  },
} satisfies Record<string, Mapping>);

const FALLBACK: Mapping = {
  code: 'FUNCTION_FAILED',
  message: 'The token refused the operation.',
  action: 'Try again. If it repeats, note the technical detail below and stop the step.',
};

/** Maps a PKCS#11 failure, by CKR name or number, to a typed error with words and a next step. */
export function pkcs11Error(ckr: string | number, fn?: string): AppError {
  const name = typeof ckr === 'number' ? ckrName(ckr) : ckr;
  const mapping = MAPPINGS[name] ?? FALLBACK;
  const details: Record<string, string> = { ckr: name };
  if (fn) details.function = fn;
  return { ...mapping, details };
}

export const CKR_VALUES: Readonly<Record<string, number>> = CKR;
