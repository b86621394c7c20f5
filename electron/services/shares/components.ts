// XOR key components with their check values, outside any HSM (PCI PIN / ANSI X9.24-1 practice: a
// symmetric key is entered or sent as n components held by n custodians, each checked by its KCV,
// and the combined key checked by its KCV). Entering the combined key into an HSM is
// component-import.ts. Every buffer that held a component or the key is the caller's to wipe,
// except where a function says it wipes.
import { randomBytes } from 'node:crypto';
import {
  checkKeyLength,
  combineComponents,
  KEY_LENGTHS,
  parseHex,
  splitKey,
  type KeyAlgorithm,
} from '../../../shared/components';
import { CustosError, invalidInput } from '../../../shared/result';
import { keyCheckValues, matchCheckValue, type KeyCheckValues } from '../kcv';
import { checkValueText } from '../../../shared/check-value';

/**
 * The algorithm decides the check values. 16 and 24 bytes are both AES and TDES lengths, and
 * the KCVs differ completely, so the user must say which; 32 bytes can only be AES.
 */
export function resolveAlgorithm(given: KeyAlgorithm | undefined, length: number): KeyAlgorithm {
  if (given) {
    checkKeyLength(given, length);
    return given;
  }
  if (length === 32) return 'AES';
  if (length === 16 || length === 24) {
    invalidInput(
      `A ${length}-byte key could be ${length === 16 ? 'AES-128 or two-key TDES' : 'AES-192 or three-key TDES'}, and the check values differ.`,
      'Pass --algorithm aes or --algorithm tdes.',
    );
  }
  checkKeyLength('AES', length);
  return 'AES';
}

/** "1A0B2 DF267 (AES-CMAC; legacy AES-ECB E568F6)" — the method the standard wants first. */
export function describeKcv(alg: KeyAlgorithm, k: KeyCheckValues): string {
  return alg === 'AES'
    ? `${checkValueText(k.cmac)} (AES-CMAC, X9.24-1:2017; legacy AES-ECB ${checkValueText(k.legacy)})`
    : `${checkValueText(k.legacy)} (TDES-ECB, X9.24-1 legacy; TDES-CMAC ${checkValueText(k.cmac)})`;
}

export interface ComponentSplit {
  algorithm: KeyAlgorithm;
  key: KeyCheckValues;
  /** The components (the caller wipes them) with their check values. */
  components: { bytes: Uint8Array; checkValues: KeyCheckValues }[];
}

/** Splits a key into `count` random XOR components (odd parity kept for TDES), each with its check values. */
export function splitIntoComponents(key: Uint8Array, count: number, given?: KeyAlgorithm): ComponentSplit {
  const algorithm = resolveAlgorithm(given, key.length);
  const parts = splitKey(key, count, algorithm, (n) => Uint8Array.from(randomBytes(n)));
  return { algorithm, key: keyCheckValues(algorithm, key), components: parts.map((bytes) => ({ bytes, checkValues: keyCheckValues(algorithm, bytes) })) };
}

export interface CombineComponentsInput {
  /** The components as typed: hexadecimal text, groups and spaces allowed. */
  lines: readonly string[];
  /** How many components the key has; every one is needed. */
  count: number;
  algorithm?: KeyAlgorithm;
  /** Expected check value of each component, in order, as printed. */
  expected?: readonly string[];
  /** Expected check value of the combined key. */
  keyKcv?: string;
}

export interface CombinedKey {
  /** The combined key: the caller wipes it. */
  key: Uint8Array;
  algorithm: KeyAlgorithm;
  componentKcvs: KeyCheckValues[];
  keyKcv: KeyCheckValues;
  parityAdjusted: boolean;
  warnings: string[];
}

/**
 * Parses the components, confirms each by its expected check value, combines them and confirms the
 * key by its own. The parsed components are wiped here; a failure names the component, never its digits.
 */
export function combineFromComponents(input: CombineComponentsInput): CombinedKey {
  const { lines, count } = input;
  if (lines.length < count) {
    throw new CustosError({
      code: 'QUORUM_NOT_MET',
      message: `${lines.length} of the ${count} components were given; every component is needed.`,
      action: 'Enter all the components, one per line.',
      details: { expected: count, actual: lines.length },
    });
  }
  if (lines.length > count) {
    throw new CustosError({
      code: 'COMPONENT_INVALID',
      message: `${lines.length} components were given, but --count is ${count}.`,
      action: 'Enter exactly the components of this key, one per line.',
      details: { expected: count, actual: lines.length },
    });
  }
  const parts: Uint8Array[] = [];
  try {
    for (const [i, line] of lines.entries()) {
      const lengths = input.algorithm ? KEY_LENGTHS[input.algorithm] : [16, 24, 32];
      parts.push(parseHex(line, { label: `Component ${i + 1}`, code: 'COMPONENT_INVALID', expectedBytes: i === 0 ? lengths : parts[0]!.length, details: { component: i + 1 } }));
    }
    const alg = resolveAlgorithm(input.algorithm, parts[0]!.length);
    const componentKcvs = parts.map((p) => keyCheckValues(alg, p));
    input.expected?.forEach((want, i) => {
      if (!matchCheckValue(alg, parts[i]!, want).matched) {
        throw new CustosError({
          code: 'CHECK_VALUE_MISMATCH',
          message: `Component ${i + 1} has check value ${describeKcv(alg, componentKcvs[i]!)}, not the expected ${want.toUpperCase()}.`,
          action: `Component ${i + 1} was mistyped or is not a component of this key: compare it group by group with the original.`,
          details: { component: i + 1, expected: want, cmac: componentKcvs[i]!.cmac, legacy: componentKcvs[i]!.legacy },
        });
      }
    });
    const { key, parityAdjusted, warnings } = combineComponents(parts, alg);
    const keyKcv = keyCheckValues(alg, key);
    if (input.keyKcv !== undefined && !matchCheckValue(alg, key, input.keyKcv).matched) {
      key.fill(0);
      throw new CustosError({
        code: 'CHECK_VALUE_MISMATCH',
        message: `The combined key has check value ${describeKcv(alg, keyKcv)}, not the expected ${input.keyKcv.toUpperCase()}.`,
        action: 'A component is wrong or missing although each matched what was typed. Check every component against its original and its check value.',
        details: { expected: input.keyKcv, cmac: keyKcv.cmac, legacy: keyKcv.legacy },
      });
    }
    return { key, algorithm: alg, componentKcvs, keyKcv, parityAdjusted: parityAdjusted.length > 0, warnings };
  } finally {
    for (const p of parts) p.fill(0);
  }
}
