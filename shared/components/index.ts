/**
 * XOR key components (split knowledge for symmetric keys) and the hex notation custodians use
 * for them. Pure: randomness is injected; check values need a block cipher and live in
 * electron/services/kcv.ts.
 */
export { equalBytes, formatHex, groupHex, parseHex, toHex, type ParseHexOptions } from './hex';
export {
  algorithmName,
  checkKeyLength,
  combineComponents,
  KEY_LENGTHS,
  MAX_COMPONENTS,
  MIN_COMPONENTS,
  parityErrors,
  setOddParity,
  splitKey,
  type CombineResult,
  type KeyAlgorithm,
} from './xor';
