/**
 * SLIP-0039: Shamir's Secret-Sharing for Mnemonic Codes — public API.
 *
 * Pure TypeScript for Node and the browser. Hashing and randomness are injected through
 * Slip39Crypto (use webCryptoSlip39(globalThis.crypto) where WebCrypto exists).
 *
 *   splitSecret(params, crypto)                  -> mnemonics per group
 *   combineMnemonics(mnemonics, passphrase, c)   -> master secret
 *   decodeMnemonic(mnemonic)                     -> Share (checksum + structure checked)
 *   combineProgress(mnemonics)                   -> what is still missing, no crypto needed
 *   completeWord(prefix), checkWords(words)      -> typing help
 *
 * All failures are Slip39Error with a `code`; messages never contain share words or
 * secret bytes.
 */

export { Slip39Error, type Slip39ErrorCode, type Slip39ErrorDetails } from './errors';
export { webCryptoSlip39, type Slip39Crypto } from './crypto';
export { decodeMnemonic, encodeMnemonic, mnemonicWordCount, MIN_MNEMONIC_WORDS, type Share } from './share';
export { splitSecret, combineMnemonics, MAX_SECRET_BYTES, type SplitParams, type GroupSpec } from './scheme';
export {
  combineProgress,
  type CombineProgress,
  type EntryProgress,
  type EntryStatus,
  type GroupProgress,
  type SetInfo,
} from './progress';
export {
  completeWord,
  checkWords,
  UNIQUE_PREFIX_LENGTH,
  type WordCompletion,
  type WordVerdict,
} from './words';
export { WORDLIST } from './wordlist';
