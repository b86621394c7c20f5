// Share-set records and checking one share against a record alone (shared/shares).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createShareSetRecord,
  formatFingerprint,
  parseShareSetRecord,
  parseShareSetRecordJson,
  shareCheckError,
  slip39AppError,
  verifyShareAgainstRecord,
  type ShareCheck,
  type ShareSetRecord,
} from '../../shared/shares';
import { CustosError, type AppError } from '../../shared/result';
import { decodeMnemonic, encodeMnemonic, Slip39Error, splitSecret, WORDLIST } from '../../shared/slip39';
import { seededCrypto } from './slip39-support';

interface Vector {
  record: ShareSetRecord;
  mnemonics: string[][];
}
const vectors = (JSON.parse(readFileSync(join(__dirname, '../vectors/custos/shareset-v1.json'), 'utf8')) as { vectors: Vector[] }).vectors;
const V1 = vectors[0]!;
const V2 = vectors[1]!;
const record = V1.record;
const alice = V1.mnemonics[0]![0]!; // group 1, share 1, "Alice Martin"
const bob = V1.mnemonics[0]![1]!;

async function fails(m: string, r: ShareSetRecord = record, holder?: string): Promise<Extract<ShareCheck, { ok: false }>> {
  const c = await verifyShareAgainstRecord(m, r, holder === undefined ? {} : { holder });
  if (c.ok) throw new Error(`expected a failure, got: ${c.message}`);
  // Messages name positions, sets and holders, never the share's words.
  const words = m.trim().split(/\s+/);
  for (let i = 0; i + 1 < words.length; i++) expect(c.message + c.action).not.toContain(`${words[i]} ${words[i + 1]}`);
  return c;
}

const words = (m: string) => m.split(' ');
const unwords = (w: string[]) => w.join(' ');

describe('verifyShareAgainstRecord', () => {
  it('matches a share and says which one, of which set, held by whom', async () => {
    const c = await verifyShareAgainstRecord(alice, record);
    expect(c).toMatchObject({ ok: true, entry: { groupIndex: 0, memberIndex: 0, holder: 'Alice Martin' } });
    expect(c.message).toBe(
      `This share matches group 1, share 1 of 3 of set 7421 (ceremony KC-2026-001), held by Alice Martin; fingerprint ${formatFingerprint(record.shares[0]!.fingerprint)}.`,
    );
  });

  it('ignores case and spacing: the fingerprint is over decoded fields, not words', async () => {
    const messy = `  ${words(alice).map((w, i) => (i % 2 ? w.toUpperCase() : w)).join('   ')}\n`;
    const c = await verifyShareAgainstRecord(messy, record);
    expect(c.ok).toBe(true);
  });

  it('single-group sets are described without a group', async () => {
    const c = await verifyShareAgainstRecord(V2.mnemonics[0]![2]!, V2.record);
    expect(c.message).toBe(`This share matches share 3 of 5 of set 12345; fingerprint ${formatFingerprint(V2.record.shares[2]!.fingerprint)}.`);
  });

  it('unknown word: says which word', async () => {
    const w = words(alice);
    w[6] = 'notaword';
    const c = await fails(unwords(w));
    expect(c).toMatchObject({ reason: 'UNKNOWN_WORD', word: 7 });
    expect(c.message).toMatch(/^Word 7 is not in the SLIP-39 word list/);
    expect(c.message).not.toContain('notaword');
    expect(shareCheckError(c)).toMatchObject({ code: 'SHARE_UNKNOWN_WORD', details: { reason: 'UNKNOWN_WORD', word: 7 } });
  });

  it('wrong word count', async () => {
    const c = await fails(unwords(words(alice).slice(0, 19)));
    expect(c.reason).toBe('WORD_COUNT');
    expect(shareCheckError(c).code).toBe('SHARE_WORD_COUNT');
    expect((await fails(unwords([...words(alice), 'academic']))).reason).toBe('WORD_COUNT');
  });

  it('checksum: a changed or swapped word', async () => {
    const w = words(alice);
    const at = w.findIndex((x, i) => i >= 8 && w[i + 1] !== undefined && w[i + 1] !== x); // equal words would not swap
    [w[at], w[at + 1]] = [w[at + 1]!, w[at]!];
    const c = await fails(unwords(w));
    expect(c.reason).toBe('CHECKSUM');
    expect(c.message).toMatch(/checksum does not match/);
    expect(shareCheckError(c).code).toBe('SHARE_CHECKSUM');
  });

  it('different set: a share of another split', async () => {
    const c = await fails(V2.mnemonics[0]![0]!);
    expect(c).toMatchObject({ reason: 'DIFFERENT_SET' });
    expect(c.message).toBe('This share belongs to set 12345, but the record describes set 7421 (ceremony KC-2026-001).');
    expect(shareCheckError(c).code).toBe('SHARE_SET_MISMATCH');
  });

  it('different set: same identifier but other parameters', async () => {
    const s = decodeMnemonic(alice);
    const c = await fails(encodeMnemonic({ ...s, groupThreshold: 3 }));
    expect(c.reason).toBe('DIFFERENT_SET');
    expect(c.message).toMatch(/differs from the record in its number of groups needed/);
  });

  it('wrong holder: the share is real but assigned to someone else', async () => {
    const c = await fails(bob, record, 'Alice Martin');
    expect(c).toMatchObject({ reason: 'WRONG_HOLDER', entry: { holder: 'Bob Okafor' } });
    expect(c.message).toBe('This is group 1, share 2 of 3 of set 7421, recorded as held by Bob Okafor, not by Alice Martin.');
    expect(shareCheckError(c).code).toBe('SHARE_WRONG_HOLDER');
    // Case and surrounding spaces do not matter for holder names.
    expect((await verifyShareAgainstRecord(bob, record, { holder: '  bob okafor ' })).ok).toBe(true);
  });

  it('a checksum-valid share at a recorded position but with other content', async () => {
    const s = decodeMnemonic(alice);
    const value = Uint8Array.from(s.value);
    value[3]! ^= 0x40;
    const c = await fails(encodeMnemonic({ ...s, value }));
    expect(c).toMatchObject({ reason: 'FINGERPRINT_MISMATCH', entry: { holder: 'Alice Martin' } });
    expect(c.message).toMatch(/^This share says it is group 1, share 1 of 3 of set 7421, but its content differs/);
    expect(shareCheckError(c).code).toBe('SHARE_NOT_IN_RECORD');
  });

  it('a position the record does not list', async () => {
    const s = decodeMnemonic(alice);
    const c = await fails(encodeMnemonic({ ...s, memberIndex: 7 }));
    expect(c.reason).toBe('NOT_IN_RECORD');
    expect(c.message).toBe('This share says it is group 1, share 8 of set 7421, but the record lists no such share.');
  });
});

describe('createShareSetRecord', () => {
  const split = (seed: number, identifier = 100) =>
    splitSecret({ secret: new Uint8Array(16).fill(9), groupThreshold: 1, groups: [{ threshold: 2, count: 3 }], identifier, iterationExponent: 0 }, seededCrypto(seed));

  function error(p: Promise<unknown>): Promise<AppError> {
    return p.then(
      () => {
        throw new Error('expected a CustosError');
      },
      (e: unknown) => {
        if (e instanceof CustosError) return e.appError;
        throw e;
      },
    );
  }

  it('records public metadata only: never a word of any share', async () => {
    const mnemonics = await split(1);
    const r = await createShareSetRecord({ mnemonics, holders: ['A', 'B', 'C'], createdAt: '2026-01-02', ceremonyId: 'X-1' });
    expect(r).toMatchObject({
      format: 'custos.shareset',
      version: 1,
      createdAt: '2026-01-02T00:00:00.000Z',
      set: { identifier: 100, groupThreshold: 1, groupCount: 1, secretBytes: 16, words: 20 },
      groups: [{ groupIndex: 0, memberThreshold: 2, memberCount: 3 }],
      secretCheck: null,
      label: null,
    });
    expect(r.shares.map((s) => s.holder)).toEqual(['A', 'B', 'C']);
    const json = JSON.stringify(r);
    const used = new Set(mnemonics.flat().flatMap(words));
    for (const w of WORDLIST) if (used.has(w)) expect(json).not.toMatch(new RegExp(`\\b${w}\\b`));
  });

  it('refuses a holder list of the wrong length, bad names, and shares of two sets', async () => {
    const mnemonics = await split(2);
    expect(await error(createShareSetRecord({ mnemonics, holders: ['A', 'B'], createdAt: '2026-01-02' }))).toMatchObject({
      code: 'INVALID_INPUT',
      message: '2 holder names were given for 3 shares.',
    });
    expect((await error(createShareSetRecord({ mnemonics, holders: ['A', 'B', ' '], createdAt: '2026-01-02' }))).message).toMatch(/holder name must be/);
    const other = await split(3, 101);
    expect((await error(createShareSetRecord({ mnemonics: [[mnemonics[0]![0]!, other[0]![1]!]], createdAt: '2026-01-02' }))).code).toBe('SHARE_SET_MISMATCH');
    expect((await error(createShareSetRecord({ mnemonics, createdAt: 'yesterday' }))).message).toMatch(/not a valid date/);
    const bad = words(mnemonics[0]![1]!);
    bad[4] = 'zzzz';
    expect(await error(createShareSetRecord({ mnemonics: [[mnemonics[0]![0]!, unwords(bad)]], createdAt: '2026-01-02' }))).toMatchObject({
      code: 'SHARE_UNKNOWN_WORD',
      message: 'Share 2: word 5 is not in the SLIP-39 word list. Check its spelling against the written share; the first four letters identify every word.',
    });
  });
});

describe('parseShareSetRecord', () => {
  const code = (fn: () => unknown): AppError => {
    try {
      fn();
    } catch (e) {
      if (e instanceof CustosError) return e.appError;
      throw e;
    }
    throw new Error('expected a CustosError');
  };
  const edit = (f: (r: ShareSetRecord & Record<string, unknown>) => void) => {
    const r = structuredClone(record) as ShareSetRecord & Record<string, unknown>;
    f(r);
    return r;
  };

  it('refuses what is not a record, newer versions and malformed fields, with RECORD_INVALID', () => {
    expect(code(() => parseShareSetRecordJson('{'))).toMatchObject({ code: 'RECORD_INVALID', message: 'The share-set record is not valid JSON.' });
    expect(code(() => parseShareSetRecord({ hello: 1 })).message).toBe('This file is not a Custos share-set record.');
    expect(code(() => parseShareSetRecord(edit((r) => ((r as { version: number }).version = 2))))).toMatchObject({
      message: 'This share-set record has format version 2; this version of Custos reads version 1.',
      action: 'Use a newer version of Custos to read it.',
    });
    expect(code(() => parseShareSetRecord(edit((r) => (r.shares[0]!.fingerprint = 'XYZ')))).message).toMatch(/shares\.0\.fingerprint/);
    expect(code(() => parseShareSetRecord(edit((r) => (r.set.groupCount = 2)))).message).toBe('The record lists 3 groups but says the set has 2.');
    expect(code(() => parseShareSetRecord(edit((r) => (r.shares[1]!.memberIndex = 0)))).message).toBe('The record lists the same share position twice.');
    expect(code(() => parseShareSetRecord(edit((r) => (r.set.words = 33)))).message).toMatch(/word count/);
  });

  it('ignores unknown extra fields (forward-compatible within version 1)', () => {
    const r = parseShareSetRecord(edit((x) => (x.comment = 'added by a later writer')));
    expect(r).toEqual(record);
  });
});

describe('slip39AppError', () => {
  it('maps every kind of SLIP-39 failure to a closed Custos code', () => {
    const cases: [Slip39Error, string][] = [
      [new Slip39Error('DUPLICATE_MEMBER', 'Share 2 is the same as share 1.', { shareIndex: 1, otherShareIndex: 0 }), 'SHARE_DUPLICATE'],
      [new Slip39Error('IDENTIFIER_MISMATCH', 'x'), 'SHARE_SET_MISMATCH'],
      [new Slip39Error('TOO_FEW_SHARES', 'x', { groupIndex: 0, expected: 2, actual: 1 }), 'QUORUM_NOT_MET'],
      [new Slip39Error('TOO_FEW_GROUPS', 'x'), 'QUORUM_NOT_MET'],
      [new Slip39Error('DIGEST', 'x'), 'SHARE_DIGEST'],
      [new Slip39Error('PADDING', 'x'), 'SHARE_INVALID'],
      [new Slip39Error('TOO_MANY_SHARES', 'x'), 'INVALID_INPUT'],
    ];
    for (const [e, c] of cases) expect(slip39AppError(e).code).toBe(c);
    expect(slip39AppError(cases[0]![0]).details).toEqual({ slip39: 'DUPLICATE_MEMBER', share: 2, otherShare: 1 });
    expect(slip39AppError(new Slip39Error('SECRET_LENGTH', 'x'), { splitting: true }).code).toBe('INVALID_INPUT');
    expect(slip39AppError(new Slip39Error('SECRET_LENGTH', 'x')).code).toBe('SHARE_WORD_COUNT');
  });
});
