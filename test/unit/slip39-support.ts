// Test support for the SLIP-39 tests (not a test file itself).
import { createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Slip39Crypto } from '../../shared/slip39';

const here = dirname(fileURLToPath(import.meta.url));
export const VECTOR_DIR = join(here, '..', 'vectors', 'slip39');

/** [description, mnemonics, master secret hex ('' = must fail), xprv ('' = must fail)] */
export type Vector = [string, string[], string, string];

export function loadVectors(): Vector[] {
  return JSON.parse(readFileSync(join(VECTOR_DIR, 'vectors.json'), 'utf8')) as Vector[];
}

export function loadWordlistText(): string {
  return readFileSync(join(VECTOR_DIR, 'wordlist.txt'), 'utf8');
}

/** Slip39Crypto on node:crypto with a real CSPRNG. */
export const nodeCrypto: Slip39Crypto = {
  pbkdf2Sha256: (password, salt, iterations, length) =>
    pbkdf2Sync(password, salt, iterations, length, 'sha256'),
  hmacSha256: (key, data) => createHmac('sha256', key).update(data).digest(),
  randomBytes: (n) => randomBytes(n),
};

/** Small seeded PRNG (mulberry32) so property-test failures are reproducible. */
export function prng(seed: number): { next(): number; int(n: number): number; bytes(n: number): Uint8Array } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
  };
}

/** node:crypto hashing with seeded "randomness": deterministic splits for property tests. */
export function seededCrypto(seed: number): Slip39Crypto {
  const r = prng(seed);
  return { ...nodeCrypto, randomBytes: (n) => r.bytes(n) };
}

/** Wraps a provider and counts calls (and records PBKDF2 iteration counts). */
export function countingCrypto(inner: Slip39Crypto): Slip39Crypto & {
  pbkdf2Calls: number[];
  hmacCalls: number;
} {
  const c = {
    pbkdf2Calls: [] as number[],
    hmacCalls: 0,
    pbkdf2Sha256(p: Uint8Array, s: Uint8Array, it: number, len: number) {
      c.pbkdf2Calls.push(it);
      return inner.pbkdf2Sha256(p, s, it, len);
    },
    hmacSha256(k: Uint8Array, d: Uint8Array) {
      c.hmacCalls++;
      return inner.hmacSha256(k, d);
    },
    randomBytes: (n: number) => inner.randomBytes(n),
  };
  return c;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Pick k distinct elements of `items` using `rand`. */
export function sample<T>(items: readonly T[], k: number, rand: (n: number) => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rand(i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy.slice(0, k);
}
