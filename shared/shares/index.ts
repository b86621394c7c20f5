/**
 * Split knowledge with SLIP-39 shares, beyond the scheme itself (shared/slip39): the record
 * of a share set written at the ceremony, and checking one share against it alone.
 */
export {
  createShareSetRecord,
  FINGERPRINT_BYTES,
  formatFingerprint,
  MAX_HOLDER_LENGTH,
  normalizeHolder,
  parseShareSetRecord,
  parseShareSetRecordJson,
  sameHolder,
  SECRET_CHECK_BYTES,
  serializeShareSetRecord,
  shareFingerprint,
  sharePosition,
  SHARESET_FORMAT,
  SHARESET_VERSION,
  verifyShareAgainstRecord,
  webCryptoSha256,
  type CreateRecordInput,
  type SecretCheckValue,
  type Sha256,
  type ShareCheck,
  type ShareGroupRecord,
  type ShareRecordEntry,
  type ShareSetParameters,
  type ShareSetRecord,
  type VerifyOptions,
} from './record';
export { REASON_CODE, shareCheckError, slip39AppError, slip39Failure, type ShareFailureReason, type Slip39Context } from './errors';
