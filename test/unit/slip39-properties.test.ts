// Property-style tests for SLIP-39 split/combine. Iteration exponent 0 keeps PBKDF2 cheap;
// randomness is seeded so that a failure can be replayed.
import { describe, expect, it } from 'vitest';

import {
  combineMnemonics,
  combineProgress,
  decodeMnemonic,
  encodeMnemonic,
  Slip39Error,
  splitSecret,
  WORDLIST,
  type GroupSpec,
  type Share,
  type Slip39ErrorCode,
} from '../../shared/slip39';
import { ascii, countingCrypto, hex, nodeCrypto, prng, sample, seededCrypto } from './slip39-support';

async function code(p: Promise<unknown> | (() => unknown)): Promise<Slip39ErrorCode> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof Slip39Error) return e.code;
    throw e;
  }
  throw new Error('expected a Slip39Error');
}

const CONFIGS: Array<{ name: string; groupThreshold: number; groups: GroupSpec[] }> = [
  { name: '1-of-1', groupThreshold: 1, groups: [{ threshold: 1, count: 1 }] },
  { name: '2-of-3', groupThreshold: 1, groups: [{ threshold: 2, count: 3 }] },
  { name: '3-of-5', groupThreshold: 1, groups: [{ threshold: 3, count: 5 }] },
  { name: '16-of-16', groupThreshold: 1, groups: [{ threshold: 16, count: 16 }] },
  {
    name: 'any 1 of groups [1/1, 2/2]',
    groupThreshold: 1,
    groups: [
      { threshold: 1, count: 1 },
      { threshold: 2, count: 2 },
    ],
  },
  {
    name: '2 of groups [1/1, 2/3, 3/5]',
    groupThreshold: 2,
    groups: [
      { threshold: 1, count: 1 },
      { threshold: 2, count: 3 },
      { threshold: 3, count: 5 },
    ],
  },
  {
    name: '3 of groups [2/2, 1/1, 2/4, 3/3]',
    groupThreshold: 3,
    groups: [
      { threshold: 2, count: 2 },
      { threshold: 1, count: 1 },
      { threshold: 2, count: 4 },
      { threshold: 3, count: 3 },
    ],
  },
  {
    name: '4 of 4 groups 1/1',
    groupThreshold: 4,
    groups: Array.from({ length: 4 }, () => ({ threshold: 1, count: 1 })),
  },
];

/** A random threshold subset: GT random groups, T_i random members of each, shuffled. */
function thresholdSubset(
  shares: string[][],
  groupThreshold: number,
  groups: GroupSpec[],
  rand: (n: number) => number,
): { chosen: string[][]; flat: string[] } {
  const gis = sample(
    groups.map((_, i) => i),
    groupThreshold,
    rand,
  );
  const chosen = gis.map((gi) => sample(shares[gi] as string[], (groups[gi] as GroupSpec).threshold, rand));
  return { chosen, flat: sample(chosen.flat(), chosen.flat().length, rand) };
}

describe.each([16, 32])('split/combine round trip, %i-byte secrets', (n) => {
  describe.each(CONFIGS)('$name', ({ groupThreshold, groups }) => {
    it('any threshold subset recovers; any smaller subset is refused', async () => {
      const seed = n * 1000 + groups.length * 17 + groupThreshold;
      const r = prng(seed);
      for (let trial = 0; trial < 3; trial++) {
        const secret = r.bytes(n);
        const passphrase = ascii(trial === 0 ? '' : `pass ${trial}~`);
        const shares = await splitSecret(
          { secret, passphrase, groupThreshold, groups, iterationExponent: 0 },
          seededCrypto(seed + trial),
        );
        expect(shares.map((g) => g.length)).toEqual(groups.map((g) => g.count));
        for (const m of shares.flat()) expect(m.split(' ')).toHaveLength(n === 16 ? 20 : 33);

        for (let k = 0; k < 4; k++) {
          const { chosen, flat } = thresholdSubset(shares, groupThreshold, groups, r.int);
          expect(hex(await combineMnemonics(flat, passphrase, nodeCrypto))).toBe(hex(secret));
          expect(combineProgress(flat).ready).toBe(true);

          // Drop one share: the group it came from falls below its threshold.
          const gi = r.int(chosen.length);
          const group = chosen[gi] as string[];
          const fewer = chosen.flatMap((g, i) => (i === gi ? g.slice(1) : g));
          // (An empty list is TOO_FEW_SHARES: "no shares were given".)
          const expected: Slip39ErrorCode =
            group.length === 1 && fewer.length > 0 ? 'TOO_FEW_GROUPS' : 'TOO_FEW_SHARES';
          expect(await code(combineMnemonics(fewer, passphrase, nodeCrypto))).toBe(expected);
          expect(combineProgress(fewer).ready).toBe(false);
          // Drop a whole group.
          if (groupThreshold > 1) {
            const lessGroups = chosen.filter((_, i) => i !== gi).flat();
            expect(await code(combineMnemonics(lessGroups, passphrase, nodeCrypto))).toBe('TOO_FEW_GROUPS');
          }
        }
      }
    });
  });
});

describe('below-threshold shares carry no usable information', () => {
  it('T-1 genuine shares plus any forged share fail the digest', async () => {
    const secret = prng(7).bytes(16);
    const [group] = await splitSecret(
      { secret, groupThreshold: 1, groups: [{ threshold: 3, count: 3 }], iterationExponent: 0 },
      seededCrypto(7),
    );
    const [a, b, c] = (group as string[]).map(decodeMnemonic) as [Share, Share, Share];
    const r = prng(8);
    for (let i = 0; i < 20; i++) {
      // A well-formed share in the third slot with a random value: valid checksum,
      // consistent metadata, but not on the polynomial.
      const forged = encodeMnemonic({ ...c, value: r.bytes(16) });
      const set = [a, b].map(encodeMnemonic).concat(forged);
      expect(await code(combineMnemonics(set, new Uint8Array(), nodeCrypto))).toBe('DIGEST');
    }
  });

  it('a tampered single-share group is caught by the group-level digest', async () => {
    const secret = prng(9).bytes(32);
    const shares = await splitSecret(
      {
        secret,
        groupThreshold: 2,
        groups: [
          { threshold: 1, count: 1 },
          { threshold: 1, count: 1 },
        ],
        iterationExponent: 0,
      },
      seededCrypto(9),
    );
    const s0 = decodeMnemonic(shares[0]?.[0] as string);
    const value = s0.value.slice();
    value[5] = (value[5] as number) ^ 1;
    const set = [encodeMnemonic({ ...s0, value }), shares[1]?.[0] as string];
    const err = await combineMnemonics(set, new Uint8Array(), nodeCrypto).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Slip39Error);
    expect((err as Slip39Error).code).toBe('DIGEST');
    expect((err as Slip39Error).details.groupIndex).toBeUndefined();
  });
});

describe('the RS1024 checksum catches word errors', () => {
  const makeShare = async (n: number): Promise<string> =>
    (
      await splitSecret(
        { secret: prng(n).bytes(n), groupThreshold: 1, groups: [{ threshold: 2, count: 3 }], iterationExponent: 0 },
        seededCrypto(n),
      )
    )[0]?.[1] as string;

  it.each([16, 32])('every single-word substitution (%i-byte share, exhaustive)', async (n) => {
    const words = (await makeShare(n)).split(' ');
    let checked = 0;
    for (let pos = 0; pos < words.length; pos++) {
      for (const w of WORDLIST) {
        if (w === words[pos]) continue;
        const changed = words.slice();
        changed[pos] = w;
        let c: Slip39ErrorCode | undefined;
        try {
          decodeMnemonic(changed.join(' '));
        } catch (e) {
          c = (e as Slip39Error).code;
        }
        if (c !== 'CHECKSUM') throw new Error(`position ${pos}: got ${String(c)}`);
        checked++;
      }
    }
    expect(checked).toBe(words.length * 1023);
  });

  it.each([2, 3])('random %i-word substitutions and adjacent swaps', async (errors) => {
    const words = (await makeShare(32)).split(' ');
    const r = prng(errors);
    for (let t = 0; t < 3000; t++) {
      const changed = words.slice();
      for (const pos of sample(
        words.map((_, i) => i),
        errors,
        r.int,
      )) {
        let w: string;
        do w = WORDLIST[r.int(1024)] as string;
        while (w === words[pos]);
        changed[pos] = w;
      }
      expect(await code(() => decodeMnemonic(changed.join(' ')))).toBe('CHECKSUM');
    }
    for (let pos = 0; pos + 1 < words.length; pos++) {
      if (words[pos] === words[pos + 1]) continue;
      const swapped = words.slice();
      [swapped[pos], swapped[pos + 1]] = [words[pos + 1] as string, words[pos] as string];
      expect(await code(() => decodeMnemonic(swapped.join(' ')))).toBe('CHECKSUM');
    }
  });

  it('a dropped or added word is reported as a length problem, not decoded', async () => {
    const words = (await makeShare(16)).split(' ');
    expect(await code(() => decodeMnemonic(words.slice(1).join(' ')))).toBe('WORD_COUNT');
    expect(await code(() => decodeMnemonic([...words, 'academic'].join(' ')))).toBe('SECRET_LENGTH');
  });
});

describe('extendable flag and iteration exponent', () => {
  const secret = prng(42).bytes(16);
  const groups = [{ threshold: 2, count: 3 }];

  describe.each([
    [false, 0],
    [false, 1],
    [true, 0],
    [true, 1],
  ] as const)('extendable=%s, e=%i', (extendable, e) => {
    it('round-trips with exactly 4 PBKDF2 calls of 2500·2^e iterations each way', async () => {
      const passphrase = ascii('correct horse');
      const split = countingCrypto(nodeCrypto);
      const shares = await splitSecret(
        { secret, passphrase, groupThreshold: 1, groups, extendable, iterationExponent: e },
        split,
      );
      expect(split.pbkdf2Calls).toEqual(Array(4).fill(2500 << e));
      const s = decodeMnemonic(shares[0]?.[0] as string);
      expect(s.extendable).toBe(extendable);
      expect(s.iterationExponent).toBe(e);

      const combine = countingCrypto(nodeCrypto);
      const out = await combineMnemonics((shares[0] as string[]).slice(1), passphrase, combine);
      expect(hex(out)).toBe(hex(secret));
      expect(combine.pbkdf2Calls).toEqual(Array(4).fill(2500 << e));
    });
  });

  it('with the flag set, the encrypted secret does not depend on the identifier', async () => {
    const values = async (extendable: boolean, identifier: number): Promise<string> => {
      const shares = await splitSecret(
        { secret, groupThreshold: 1, groups, extendable, identifier, iterationExponent: 0 },
        seededCrypto(1), // same randomness every time
      );
      return hex(decodeMnemonic(shares[0]?.[0] as string).value);
    };
    expect(await values(true, 1)).toBe(await values(true, 2));
    expect(await values(false, 1)).not.toBe(await values(false, 2));
  });

  it('defaults: extendable, exponent 1, random identifier', async () => {
    const c = countingCrypto(nodeCrypto);
    const shares = await splitSecret({ secret, groupThreshold: 1, groups: [{ threshold: 1, count: 1 }] }, c);
    const s = decodeMnemonic(shares[0]?.[0] as string);
    expect(s.extendable).toBe(true);
    expect(s.iterationExponent).toBe(1);
    expect(c.pbkdf2Calls).toHaveLength(4);
  });
});

describe('other secret lengths', () => {
  it.each([
    [18, 22],
    [20, 23],
    [24, 27],
    [64, 59],
  ])('%i-byte secrets use %i-word shares and round-trip', async (n, words) => {
    const secret = prng(n).bytes(n);
    const shares = await splitSecret(
      { secret, groupThreshold: 1, groups: [{ threshold: 2, count: 2 }], iterationExponent: 0 },
      seededCrypto(n),
    );
    expect(shares[0]?.[0]?.split(' ')).toHaveLength(words);
    expect(hex(await combineMnemonics(shares[0] as string[], new Uint8Array(), nodeCrypto))).toBe(hex(secret));
  });
});

describe('splitSecret parameter checks', () => {
  const ok = { secret: new Uint8Array(16), groupThreshold: 1, groups: [{ threshold: 2, count: 3 }] };
  it.each<[string, Record<string, unknown>, Slip39ErrorCode]>([
    ['15-byte secret', { secret: new Uint8Array(15) }, 'SECRET_LENGTH'],
    ['odd-length secret', { secret: new Uint8Array(17) }, 'SECRET_LENGTH'],
    ['empty secret', { secret: new Uint8Array(0) }, 'SECRET_LENGTH'],
    ['huge secret', { secret: new Uint8Array(1250) }, 'SECRET_LENGTH'],
    ['1-of-2 group', { groups: [{ threshold: 1, count: 2 }] }, 'INVALID_PARAMETERS'],
    ['threshold above count', { groups: [{ threshold: 4, count: 3 }] }, 'INVALID_PARAMETERS'],
    ['threshold 0', { groups: [{ threshold: 0, count: 3 }] }, 'INVALID_PARAMETERS'],
    ['17 members', { groups: [{ threshold: 2, count: 17 }] }, 'INVALID_PARAMETERS'],
    ['no groups', { groups: [] }, 'INVALID_PARAMETERS'],
    ['17 groups', { groups: Array(17).fill({ threshold: 1, count: 1 }) }, 'INVALID_PARAMETERS'],
    ['group threshold above group count', { groupThreshold: 2 }, 'INVALID_PARAMETERS'],
    ['group threshold 0', { groupThreshold: 0 }, 'INVALID_PARAMETERS'],
    ['fractional threshold', { groups: [{ threshold: 1.5, count: 3 }] }, 'INVALID_PARAMETERS'],
    ['exponent 16', { iterationExponent: 16 }, 'INVALID_PARAMETERS'],
    ['negative exponent', { iterationExponent: -1 }, 'INVALID_PARAMETERS'],
    ['16-bit identifier', { identifier: 0x8000 }, 'INVALID_PARAMETERS'],
    ['non-ASCII passphrase', { passphrase: new TextEncoder().encode('pässword') }, 'INVALID_PASSPHRASE'],
    ['control character in passphrase', { passphrase: ascii('a\nb') }, 'INVALID_PASSPHRASE'],
  ])('%s', async (_name, override, expected) => {
    const c = countingCrypto(nodeCrypto);
    expect(await code(splitSecret({ ...ok, ...override } as never, c))).toBe(expected);
    // Refused before any expensive work.
    expect(c.pbkdf2Calls).toHaveLength(0);
  });

  it('accepts the limits: 16 groups of 16, identifier 32767, every printable ASCII character', async () => {
    const printable = ascii(Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join(''));
    const shares = await splitSecret(
      {
        secret: new Uint8Array(16).fill(7),
        passphrase: printable,
        groupThreshold: 16,
        groups: Array.from({ length: 16 }, () => ({ threshold: 16, count: 16 })),
        identifier: 0x7fff,
        iterationExponent: 0,
      },
      seededCrypto(3),
    );
    expect(shares.flat()).toHaveLength(256);
    const s = decodeMnemonic(shares[15]?.[15] as string);
    expect(s).toMatchObject({ identifier: 0x7fff, groupIndex: 15, memberIndex: 15, groupThreshold: 16, memberThreshold: 16 });
    expect(hex(await combineMnemonics(shares.flat(), printable, nodeCrypto))).toBe('07'.repeat(16));
  });
});

describe('combineMnemonics set checks', () => {
  const groups = [
    { threshold: 2, count: 3 },
    { threshold: 2, count: 2 },
  ];
  const setup = async (): Promise<string[][]> =>
    splitSecret(
      { secret: prng(5).bytes(16), groupThreshold: 1, groups, iterationExponent: 0 },
      seededCrypto(5),
    );

  it('refuses more shares or groups than the thresholds (the spec requires exact counts)', async () => {
    const s = await setup();
    expect(await code(combineMnemonics(s[0] as string[], new Uint8Array(), nodeCrypto))).toBe('TOO_MANY_SHARES');
    expect(await code(combineMnemonics(s.flat().slice(1), new Uint8Array(), nodeCrypto))).toBe('TOO_MANY_GROUPS');
  });

  it('refuses the same share twice and an empty list', async () => {
    const s = await setup();
    const a = s[0]?.[0] as string;
    expect(await code(combineMnemonics([a, a], new Uint8Array(), nodeCrypto))).toBe('DUPLICATE_MEMBER');
    expect(await code(combineMnemonics([], new Uint8Array(), nodeCrypto))).toBe('TOO_FEW_SHARES');
  });

  it('detects flag and length mismatches between otherwise matching shares', async () => {
    const s = await setup();
    const [a, b] = (s[0] as string[]).map(decodeMnemonic) as [Share, Share];
    const flipped = encodeMnemonic({ ...b, extendable: !b.extendable });
    expect(await code(combineMnemonics([encodeMnemonic(a), flipped], new Uint8Array(), nodeCrypto))).toBe(
      'EXTENDABLE_MISMATCH',
    );
    const longer = encodeMnemonic({ ...b, value: new Uint8Array(32) });
    expect(await code(combineMnemonics([encodeMnemonic(a), longer], new Uint8Array(), nodeCrypto))).toBe(
      'SHARE_LENGTH_MISMATCH',
    );
  });

  it('never puts share words or secret bytes into error messages', async () => {
    const s = await setup();
    const all = s.flat();
    const attempts: Array<Promise<unknown>> = [
      combineMnemonics([all[0] as string], new Uint8Array(), nodeCrypto),
      combineMnemonics([all[0] as string, all[0] as string], new Uint8Array(), nodeCrypto),
      combineMnemonics(all, new Uint8Array(), nodeCrypto),
    ];
    const shareWords = new Set(all.flatMap((m) => m.split(' ')));
    const vocabulary = new Set(['group', 'member', 'secret', 'check', 'again', 'length', 'order', 'remove', 'that', 'extra', 'valid']);
    for (const p of attempts) {
      const err = (await p.catch((e: unknown) => e)) as Slip39Error;
      const leaked = (err.message.toLowerCase().match(/[a-z]+/g) ?? []).filter(
        (w) => shareWords.has(w) && !vocabulary.has(w),
      );
      expect(leaked).toEqual([]);
    }
  });
});

describe('caller buffers', () => {
  it('splitting a Node Buffer leaves the caller\'s secret intact (Buffer.slice is a view)', async () => {
    const { splitSecret: split } = await import('../../shared/slip39/index');
    const { createHmac, pbkdf2Sync, randomBytes: rb } = await import('node:crypto');
    const c = {
      pbkdf2Sha256: (p: Uint8Array, s: Uint8Array, i: number, l: number) => pbkdf2Sync(p, s, i, l, 'sha256'),
      hmacSha256: (k: Uint8Array, d: Uint8Array) => createHmac('sha256', k).update(d).digest(),
      randomBytes: (n: number) => rb(n),
    };
    const secret = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
    const copy = Buffer.from(secret);
    await split({ secret, groupThreshold: 1, groups: [{ threshold: 1, count: 1 }], iterationExponent: 0 }, c);
    await split({ secret, groupThreshold: 1, groups: [{ threshold: 2, count: 3 }], iterationExponent: 0 }, c);
    expect(secret.equals(copy)).toBe(true);
  });
});
