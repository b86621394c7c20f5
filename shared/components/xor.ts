/**
 * XOR key components: split knowledge for symmetric keys as practised under PCI PIN Security
 * (requirements on key components under dual control) and ANSI X9.24-1. A key K becomes n
 * components C1..Cn with K = C1 ⊕ C2 ⊕ … ⊕ Cn; C1..Cn-1 are random, so any n-1 components
 * are independent of K and all n are needed (unlike SLIP-39 there is no threshold).
 *
 * Parity (TDES). A DES key byte carries 7 key bits and, in its least significant bit, an odd
 * parity bit that the cipher ignores (FIPS 46-3, section on the key). Components are by
 * custom odd-parity, but the XOR of an even number of odd-parity bytes has even parity, so a
 * straight XOR of two proper components is not a proper key. HSMs settle this by forcing odd
 * parity on the combined key and not checking the parity of clear components (Thales
 * payShield console commands FK/BK; IBM CCA Key Part Import returns keys with odd parity).
 * Custos does the same:
 *   - split: every component, including the last, is adjusted to odd parity;
 *   - combine: the XOR is adjusted to odd parity; components whose parity is not odd are
 *     reported as a warning (a typo flipping an odd number of bits in a byte shows up here)
 *     but not refused, since the check values are the real test.
 * Because the cipher ignores parity bits, none of this changes the key as the cipher sees it,
 * nor any check value. AES keys have no parity bits and are XORed as they are.
 */

import { CustosError } from '../result';
import { equalBytes } from './hex';

export type KeyAlgorithm = 'AES' | 'TDES';

/** Smallest and largest number of components (payment HSMs accept 2 to 9 clear components). */
export const MIN_COMPONENTS = 2;
export const MAX_COMPONENTS = 9;

/** Key lengths in bytes: AES-128/192/256; TDES two-key (K1‖K2) and three-key (K1‖K2‖K3). */
export const KEY_LENGTHS: Readonly<Record<KeyAlgorithm, readonly number[]>> = {
  AES: [16, 24, 32],
  TDES: [16, 24],
};

export function algorithmName(algorithm: KeyAlgorithm, length: number): string {
  if (algorithm === 'AES') return `AES-${length * 8}`;
  return length === 16 ? 'TDES-2key' : 'TDES-3key';
}

/** Odd parity for one byte: bit 0 set so that the byte has an odd number of 1 bits. */
function oddParityByte(b: number): number {
  let ones = 0;
  for (let x = b >>> 1; x !== 0; x >>>= 1) ones += x & 1;
  return (b & 0xfe) | (ones % 2 === 0 ? 1 : 0);
}

/** Sets odd parity on every byte, in place. Returns the same array. */
export function setOddParity(bytes: Uint8Array): Uint8Array {
  for (let i = 0; i < bytes.length; i++) bytes[i] = oddParityByte(bytes[i]!);
  return bytes;
}

/** 0-based positions of the bytes that do not have odd parity. */
export function parityErrors(bytes: Uint8Array): number[] {
  const bad: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (oddParityByte(bytes[i]!) !== bytes[i]) bad.push(i);
  return bad;
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const b of bytes) acc |= b;
  return acc === 0;
}

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count < MIN_COMPONENTS || count > MAX_COMPONENTS) {
    throw new CustosError({
      code: 'INVALID_INPUT',
      message: `A key is split into ${MIN_COMPONENTS} to ${MAX_COMPONENTS} components, not ${count}.`,
      action: `Choose a number of components from ${MIN_COMPONENTS} to ${MAX_COMPONENTS}; one per custodian.`,
    });
  }
}

export function checkKeyLength(algorithm: KeyAlgorithm, length: number, what = 'The key'): void {
  const allowed = KEY_LENGTHS[algorithm];
  if (!allowed.includes(length)) {
    throw new CustosError({
      code: 'INVALID_INPUT',
      message: `${what} is ${length} bytes long; ${algorithm === 'AES' ? 'an' : 'a'} ${algorithm} key is ${allowed.join(', ').replace(/, (\d+)$/, ' or $1')} bytes.`,
      action: algorithm === 'TDES' ? 'Use a two-key (16-byte) or three-key (24-byte) TDES key.' : 'Use a 16-, 24- or 32-byte AES key.',
      details: { bytes: length },
    });
  }
}

/**
 * Splits `key` into `count` components. `random(n)` must return n bytes from a CSPRNG.
 * For TDES, every component has odd parity (see the module comment); the key's own parity
 * bits are not carried, so combine() returns the key with odd parity.
 */
export function splitKey(
  key: Uint8Array,
  count: number,
  algorithm: KeyAlgorithm,
  random: (n: number) => Uint8Array,
): Uint8Array[] {
  checkCount(count);
  checkKeyLength(algorithm, key.length);
  // For TDES the parity bits (bit 0 of each byte) carry no key material.
  if (key.every((b) => (algorithm === 'TDES' ? b & 0xfe : b) === 0)) {
    throw new CustosError({
      code: 'INVALID_INPUT',
      message: 'The key is all zeros; that is not a usable key.',
      action: 'Check that the right key file was given.',
    });
  }
  const components: Uint8Array[] = [];
  const last = Uint8Array.from(key);
  for (let i = 0; i < count - 1; i++) {
    const r = random(key.length);
    if (!(r instanceof Uint8Array) || r.length !== key.length) {
      throw new CustosError({ code: 'INTERNAL', message: 'The random number generator returned the wrong number of bytes.', action: 'Report this.' });
    }
    const c = Uint8Array.from(r);
    r.fill(0);
    if (algorithm === 'TDES') setOddParity(c);
    for (let j = 0; j < c.length; j++) last[j]! ^= c[j]!;
    components.push(c);
  }
  if (algorithm === 'TDES') setOddParity(last);
  components.push(last);
  return components;
}

export interface CombineResult {
  key: Uint8Array;
  /** TDES only: positions (0-based) of bytes whose parity bit was changed to make it odd. */
  parityAdjusted: number[];
  /** Plain-words warnings that do not stop the combination. */
  warnings: string[];
}

/**
 * XORs the components (all of them: there is no threshold). Refuses components of different
 * lengths, a component entered twice (the two would cancel out) and an all-zero component or
 * result. TDES: forces odd parity on the result and warns about components without it.
 */
export function combineComponents(components: readonly Uint8Array[], algorithm: KeyAlgorithm): CombineResult {
  if (components.length < MIN_COMPONENTS) {
    throw new CustosError({
      code: 'QUORUM_NOT_MET',
      message: `${components.length} component${components.length === 1 ? ' was' : 's were'} given; at least ${MIN_COMPONENTS} are needed, and every component of the key.`,
      action: 'Enter every component, one per line.',
      details: { actual: components.length },
    });
  }
  if (components.length > MAX_COMPONENTS) {
    throw new CustosError({
      code: 'COMPONENT_INVALID',
      message: `${components.length} components were given; at most ${MAX_COMPONENTS} are supported.`,
      action: 'Check the input: one component per line.',
      details: { actual: components.length },
    });
  }
  const n = components[0]!.length;
  checkKeyLength(algorithm, n, 'Component 1');
  components.forEach((c, i) => {
    if (c.length !== n) {
      throw new CustosError({
        code: 'COMPONENT_INVALID',
        message: `Component ${i + 1} is ${c.length} bytes but component 1 is ${n} bytes; all components of a key have the same length.`,
        action: `Check component ${i + 1} for missing or extra groups of digits.`,
        details: { component: i + 1, bytes: c.length, expected: n },
      });
    }
    if (isAllZero(c)) {
      throw new CustosError({
        code: 'COMPONENT_INVALID',
        message: `Component ${i + 1} is all zeros, which adds nothing to the key.`,
        action: `Enter the real component ${i + 1}.`,
        details: { component: i + 1 },
      });
    }
    for (let j = 0; j < i; j++) {
      // Parity bits are ignored by DES, so for TDES compare with them masked off.
      const a = algorithm === 'TDES' ? setOddParity(Uint8Array.from(components[j]!)) : components[j]!;
      const b = algorithm === 'TDES' ? setOddParity(Uint8Array.from(c)) : c;
      const same = equalBytes(a, b);
      if (algorithm === 'TDES') {
        a.fill(0);
        b.fill(0);
      }
      if (same) {
        throw new CustosError({
          code: 'COMPONENT_INVALID',
          message: `Component ${i + 1} is the same as component ${j + 1}; XORing a component twice cancels it out.`,
          action: `Enter component ${i + 1} from its own custodian.`,
          details: { component: i + 1, sameAs: j + 1 },
        });
      }
    }
  });

  const warnings: string[] = [];
  const key = new Uint8Array(n);
  components.forEach((c, i) => {
    for (let j = 0; j < n; j++) key[j]! ^= c[j]!;
    if (algorithm === 'TDES') {
      const bad = parityErrors(c);
      if (bad.length > 0) {
        warnings.push(
          `Component ${i + 1} does not have odd parity in byte${bad.length === 1 ? '' : 's'} ${bad.map((b) => b + 1).join(', ')}. ` +
            'DES ignores parity bits, but properly made components have odd parity: check that component for a typo ' +
            'and compare its check value.',
        );
      }
    }
  });
  // For TDES the parity bits do not count: a key of 0x00/0x01 bytes is the all-zero DES key.
  const keyBits = algorithm === 'TDES' ? key.map((b) => b & 0xfe) : key;
  const zero = isAllZero(keyBits);
  if (keyBits !== key) keyBits.fill(0);
  if (zero) {
    key.fill(0);
    throw new CustosError({
      code: 'COMPONENT_INVALID',
      message: 'The components combine to an all-zero key.',
      action: 'Check the components: the same value was probably entered more than once.',
    });
  }
  let parityAdjusted: number[] = [];
  if (algorithm === 'TDES') {
    parityAdjusted = parityErrors(key);
    setOddParity(key);
    // EDE with K1 = K2 (or K2 = K3) collapses to a single DES encryption (SP 800-67 keying
    // options need three distinct or, for two-key TDES, two distinct keys). K1 = K3 is just
    // two-key TDES.
    const k1 = key.subarray(0, 8);
    const k2 = key.subarray(8, 16);
    const k3 = n === 24 ? key.subarray(16, 24) : k1;
    if (equalBytes(k1, k2) || equalBytes(k2, k3)) {
      warnings.push('The combined TDES key has two equal adjacent 8-byte parts, so it is no stronger than single DES.');
    }
  }
  return { key, parityAdjusted, warnings };
}
