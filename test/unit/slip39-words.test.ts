// Word list, typing help and entry progress.
import { describe, expect, it } from 'vitest';

import {
  checkWords,
  combineMnemonics,
  combineProgress,
  completeWord,
  decodeMnemonic,
  encodeMnemonic,
  splitSecret,
  UNIQUE_PREFIX_LENGTH,
  WORDLIST,
} from '../../shared/slip39';
import { hex, loadVectors, loadWordlistText, nodeCrypto, prng, seededCrypto } from './slip39-support';

describe('word list', () => {
  it('is exactly test/vectors/slip39/wordlist.txt', () => {
    expect(WORDLIST.join('\n') + '\n').toBe(loadWordlistText());
  });

  it('has the properties the spec lists', () => {
    expect(WORDLIST).toHaveLength(1024);
    expect([...WORDLIST].sort()).toEqual([...WORDLIST]);
    for (const w of WORDLIST) expect(w).toMatch(/^[a-z]{4,8}$/);
    expect(new Set(WORDLIST.map((w) => w.slice(0, 4))).size).toBe(1024);
    expect(Object.isFrozen(WORDLIST)).toBe(true);
  });
});

describe('completeWord', () => {
  it('completes every word from its first four letters, and from itself', () => {
    expect(UNIQUE_PREFIX_LENGTH).toBe(4);
    for (const w of WORDLIST) {
      expect(completeWord(w.slice(0, 4))).toEqual({ word: w, candidates: [w] });
      expect(completeWord(w).word).toBe(w);
    }
  });

  it('lists candidates for short prefixes', () => {
    expect(completeWord('ac')).toEqual({
      candidates: ['academic', 'acid', 'acne', 'acquire', 'acrobat', 'activity', 'actress'],
    });
    expect(completeWord('z')).toEqual({ word: 'zero', candidates: ['zero'] });
    expect(completeWord('a').candidates.length).toBeGreaterThan(30);
  });

  it('normalizes case and surrounding space', () => {
    expect(completeWord('  ACAD ').word).toBe('academic');
  });

  it('does not guess: empty, unknown or mistyped tails give nothing', () => {
    expect(completeWord('')).toEqual({ candidates: [] });
    expect(completeWord('   ')).toEqual({ candidates: [] });
    expect(completeWord('qq')).toEqual({ candidates: [] });
    expect(completeWord('academix')).toEqual({ candidates: [] });
    expect(completeWord('academics')).toEqual({ candidates: [] });
  });
});

describe('checkWords', () => {
  it('classifies each word', () => {
    expect(checkWords(['academic', 'Acid', 'acad', 'ac', 'xyzzy', '', 'academicx'])).toEqual([
      { status: 'known', word: 'academic', value: 0 },
      { status: 'known', word: 'acid', value: 1 },
      { status: 'prefix', word: 'academic', value: 0 },
      {
        status: 'ambiguous',
        candidates: ['academic', 'acid', 'acne', 'acquire', 'acrobat', 'activity', 'actress'],
      },
      { status: 'unknown' },
      { status: 'unknown' },
      { status: 'unknown' },
    ]);
  });

  it('values match word-list positions', () => {
    const verdicts = checkWords([...WORDLIST]);
    verdicts.forEach((v, i) => expect(v).toEqual({ status: 'known', word: WORDLIST[i], value: i }));
  });
});

describe('combineProgress', () => {
  const vectors = loadVectors();
  /** Vector 17: 2-of-4 groups, shares from two groups (3 + 2 shares). */
  const [, twoLevel, twoLevelSecret] = vectors[16] as [string, string[], string, string];

  it('empty input', () => {
    const p = combineProgress([]);
    expect(p).toMatchObject({ ready: false, groups: [], entries: [], summary: 'Enter a share to begin.' });
    expect(combineProgress(['', '   ']).entries.map((e) => e.status)).toEqual(['empty', 'empty']);
  });

  it('one share of a 2-of-3 split', () => {
    const [, m] = vectors[3] as [string, string[], string, string];
    const p = combineProgress([m[0] as string]);
    expect(p.ready).toBe(false);
    expect(p.set).toMatchObject({ groupThreshold: 1, groupCount: 1, secretBytes: 16, wordCount: 20 });
    expect(p.groups).toEqual([{ groupIndex: 0, memberThreshold: 2, entered: 1, remaining: 1, complete: false }]);
    expect(p.summary).toBe('1 of 2 shares entered. 1 more share is needed.');
    expect(p.selection).toBeUndefined();
  });

  it('tracks groups in a two-level set as shares arrive', async () => {
    const p1 = combineProgress(twoLevel.slice(0, 1));
    expect(p1.set).toMatchObject({ groupThreshold: 2, groupCount: 4 });
    expect(p1.groups).toHaveLength(4);
    expect(p1.groupsRemaining).toBe(2);
    const started = p1.groups.filter((g) => g.entered > 0);
    expect(started).toHaveLength(1);
    expect(p1.groups.filter((g) => g.entered === 0).every((g) => g.memberThreshold === undefined)).toBe(true);
    expect(p1.summary).toMatch(/^0 of 2 required groups complete \(the backup has 4 groups\)\. /);
    expect(p1.summary).toMatch(/ Group \d needs \d more shares?\. Shares from 1 further group are needed\.$/);

    const full = combineProgress(twoLevel);
    expect(full.ready).toBe(true);
    expect(full.groupsComplete).toBe(2);
    expect(full.summary).toBe('Enough shares have been entered to recover the secret.');
    const picked = (full.selection ?? []).map((i) => twoLevel[i] as string);
    expect(hex(await combineMnemonics(picked, new TextEncoder().encode('TREZOR'), nodeCrypto))).toBe(twoLevelSecret);
  });

  it('flags invalid, foreign, duplicate and surplus entries without failing', async () => {
    const secret = prng(11).bytes(16);
    const groups = [{ threshold: 2, count: 3 }];
    const mine = (await splitSecret({ secret, groupThreshold: 1, groups, iterationExponent: 0 }, seededCrypto(11)))[0] as string[];
    const other = (await splitSecret({ secret, groupThreshold: 1, groups, iterationExponent: 0 }, seededCrypto(12)))[0] as string[];
    const s0 = decodeMnemonic(mine[0] as string);
    const conflicting = encodeMnemonic({ ...s0, value: prng(13).bytes(16) });
    const typo = (mine[1] as string).replace(/^(\S+ \S+ \S+) \S+/, '$1 zero');

    const p = combineProgress([
      mine[0] as string, // accepted (defines the set)
      'not a share',
      other[0] as string, // another backup
      mine[0] as string, // same share again
      conflicting, // same member index, different value
      typo, // checksum
      mine[2] as string, // accepted -> group complete
      mine[1] as string, // surplus
    ]);
    expect(p.entries.map((e) => e.status)).toEqual([
      'accepted',
      'rejected',
      'rejected',
      'duplicate',
      'rejected',
      'rejected',
      'accepted',
      'surplus',
    ]);
    expect(p.entries.map((e) => e.error?.code)).toEqual([
      undefined,
      'UNKNOWN_WORD',
      'IDENTIFIER_MISMATCH',
      'DUPLICATE_MEMBER',
      'DUPLICATE_MEMBER',
      'CHECKSUM',
      undefined,
      undefined,
    ]);
    expect(p.entries[2]?.error?.details).toMatchObject({ shareIndex: 2, otherShareIndex: 0 });
    expect(p.ready).toBe(true);
    expect(p.selection).toEqual([0, 6]);
    expect(p.groups[0]).toMatchObject({ entered: 3, remaining: 0, complete: true });
    const picked = (p.selection ?? []).map((i) => (i === 0 ? mine[0] : mine[2]) as string);
    expect(hex(await combineMnemonics(picked, new Uint8Array(), nodeCrypto))).toBe(hex(secret));
  });

  it('reports when nothing entered is valid', () => {
    const p = combineProgress(['hello world']);
    expect(p.ready).toBe(false);
    expect(p.set).toBeUndefined();
    expect(p.summary).toMatch(/None of the entered shares is valid/);
  });
});
