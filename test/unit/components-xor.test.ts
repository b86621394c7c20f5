// XOR key components (shared/components): hex notation, split/combine, TDES parity, bad input.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  combineComponents,
  formatHex,
  groupHex,
  KEY_LENGTHS,
  parityErrors,
  parseHex,
  setOddParity,
  splitKey,
  toHex,
  type KeyAlgorithm,
} from '../../shared/components';
import { CustosError, type AppError } from '../../shared/result';
import { prng } from './slip39-support';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function appError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CustosError) return e.appError;
    throw e;
  }
  throw new Error('expected a CustosError');
}

describe('hex notation', () => {
  it('formats in uppercase groups of four and back', () => {
    const b = hex('0123456789abcdeffedcba9876543210');
    expect(formatHex(b)).toBe('0123 4567 89AB CDEF FEDC BA98 7654 3210');
    expect(toHex(b)).toBe('0123456789abcdeffedcba9876543210');
    expect(groupHex('7ad386c376')).toBe('7AD3 86C3 76');
    expect(parseHex('0123 4567 89AB CDEF\tfedc ba98 7654 3210\n', { label: 'K' })).toEqual(b);
  });

  it('says which character is not hex, without echoing it', () => {
    const e = appError(() => parseHex('0123 45G7', { label: 'Component 2', code: 'COMPONENT_INVALID', details: { component: 2 } }));
    expect(e.code).toBe('COMPONENT_INVALID');
    expect(e.message).toBe('Component 2: character 8 is not a hexadecimal digit (0-9, A-F).');
    expect(e.details).toEqual({ component: 2, position: 8 });
    expect(e.message + e.action).not.toContain('G7');
    // The letter O for zero is the classic slip.
    expect(appError(() => parseHex('O123', { label: 'K' })).action).toMatch(/letter O/);
  });

  it('rejects an odd number of digits, empty input and the wrong length', () => {
    expect(appError(() => parseHex('0123 456', { label: 'K' })).message).toBe('K has 7 hexadecimal digits, an odd number; every byte is two digits.');
    expect(appError(() => parseHex('  ', { label: 'K' })).message).toBe('K is empty.');
    const e = appError(() => parseHex('0123 4567', { label: 'The key', expectedBytes: [16, 24] }));
    expect(e.message).toBe('The key has 4 bytes (8 hexadecimal digits), but 16 bytes (32 digits) or 24 bytes (48 digits) are expected.');
    expect(e.details).toEqual({ bytes: 4, digits: 8 });
  });
});

describe('TDES parity', () => {
  it('sets odd parity on each byte without touching the key bits', () => {
    const k = hex('0023456789abcdeffedcba9876543211');
    expect(parityErrors(k)).toEqual([0, 15]);
    const fixed = setOddParity(Uint8Array.from(k));
    expect(toHex(fixed)).toBe('0123456789abcdeffedcba9876543210');
    for (let i = 0; i < k.length; i++) expect(fixed[i]! & 0xfe).toBe(k[i]! & 0xfe);
    expect(parityErrors(fixed)).toEqual([]);
  });
});

describe('split and combine', () => {
  it('property: for n = 2..9 and every key length, combine(split(K)) = K', () => {
    const r = prng(0x5eed);
    for (const alg of ['AES', 'TDES'] as KeyAlgorithm[]) {
      for (const len of KEY_LENGTHS[alg]) {
        for (let n = 2; n <= 9; n++) {
          for (let trial = 0; trial < 5; trial++) {
            const key = r.bytes(len);
            if (alg === 'TDES') setOddParity(key);
            const parts = splitKey(key, n, alg, (k) => r.bytes(k));
            expect(parts).toHaveLength(n);
            for (const p of parts) {
              expect(p).toHaveLength(len);
              if (alg === 'TDES') expect(parityErrors(p)).toEqual([]);
            }
            const { key: back, parityAdjusted, warnings } = combineComponents(parts, alg);
            expect(toHex(back)).toBe(toHex(key));
            expect(warnings).toEqual([]);
            // Combining an odd number of odd-parity components keeps odd parity; an even number
            // gives even parity in every byte, which combine() then adjusts.
            expect(parityAdjusted).toEqual(alg === 'TDES' && n % 2 === 0 ? [...Array(len).keys()] : []);
          }
        }
      }
    }
  });

  it('any n-1 components differ from the key (they are random)', () => {
    const key = randomBytes(32);
    const parts = splitKey(key, 3, 'AES', (n) => randomBytes(n));
    for (const p of parts) expect(Buffer.from(p).equals(key)).toBe(false);
  });

  it('combines the published two-component example (ANSI test BDK, KCV 08D7B4)', () => {
    // From ID TECH's "How does one split / combine cryptographic keys?": the components were
    // not parity-adjusted, so combine() warns about their parity but rebuilds the key.
    const c1 = hex('0452DDB661F7DCDC1046C2F044CAAAD5');
    const c2 = hex('057198D1E85C1133EE9A7868329E98C5');
    const { key, warnings } = combineComponents([c1, c2], 'TDES');
    expect(toHex(key)).toBe('0123456789abcdeffedcba9876543210');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^Component 1 does not have odd parity in bytes /);
  });

  it('TDES split of a key without odd parity recombines to the parity-adjusted key', () => {
    const key = hex('0023456789abcdeffedcba9876543211');
    const parts = splitKey(key, 3, 'TDES', (n) => randomBytes(n));
    expect(toHex(combineComponents(parts, 'TDES').key)).toBe('0123456789abcdeffedcba9876543210');
  });

  it('warns when a combined TDES key degenerates to single DES', () => {
    const a = setOddParity(randomBytes(8));
    const key = new Uint8Array([...a, ...a]);
    const parts = splitKey(key, 2, 'TDES', (n) => randomBytes(n));
    expect(combineComponents(parts, 'TDES').warnings).toEqual([expect.stringMatching(/single DES/)]);
  });
});

describe('bad input', () => {
  const aes = (s: string) => hex(s);
  const c1 = aes('00112233445566778899aabbccddeeff');
  const c2 = aes('0f0e0d0c0b0a09080706050403020100');

  it('refuses component counts outside 2..9', () => {
    expect(appError(() => splitKey(c1, 1, 'AES', randomBytes)).message).toMatch(/2 to 9 components, not 1/);
    expect(appError(() => splitKey(c1, 10, 'AES', randomBytes)).message).toMatch(/not 10/);
    expect(appError(() => combineComponents([c1], 'AES')).code).toBe('QUORUM_NOT_MET');
  });

  it('refuses wrong key lengths and an all-zero key', () => {
    expect(appError(() => splitKey(new Uint8Array(20).fill(1), 2, 'AES', randomBytes)).message).toBe(
      'The key is 20 bytes long; an AES key is 16, 24 or 32 bytes.',
    );
    expect(appError(() => splitKey(new Uint8Array(32).fill(1), 2, 'TDES', randomBytes)).message).toMatch(/TDES key is 16 or 24 bytes/);
    expect(appError(() => splitKey(new Uint8Array(16).fill(1), 2, 'TDES', randomBytes)).message).toMatch(/all zeros/);
  });

  it('refuses components of different lengths, duplicates and zeros', () => {
    const short = aes('00112233445566778899aabbccddee');
    expect(appError(() => combineComponents([c1, short], 'AES'))).toMatchObject({ code: 'COMPONENT_INVALID', details: { component: 2 } });
    expect(appError(() => combineComponents([c1, c2, c1], 'AES'))).toMatchObject({
      code: 'COMPONENT_INVALID',
      message: 'Component 3 is the same as component 1; XORing a component twice cancels it out.',
    });
    expect(appError(() => combineComponents([c1, new Uint8Array(16)], 'AES')).message).toMatch(/Component 2 is all zeros/);
    // TDES: components that differ only in parity bits are the same component.
    const t = setOddParity(Uint8Array.from(c2));
    const tFlipped = t.map((b) => b ^ 1);
    expect(appError(() => combineComponents([t, tFlipped], 'TDES')).code).toBe('COMPONENT_INVALID');
  });

  it('refuses components that cancel out to an all-zero key', () => {
    const a = randomBytes(16);
    const b = randomBytes(16);
    const c = Uint8Array.from(a.map((x, i) => x ^ b[i]!));
    expect(appError(() => combineComponents([a, b, c], 'AES')).message).toBe('The components combine to an all-zero key.');
  });
});
