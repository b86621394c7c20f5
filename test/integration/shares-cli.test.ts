// `custos shares …` and `custos components …` as a user runs them: node dist/cli.cjs, secrets
// from files and stdin, exit codes, --json errors, files written or (on error) not written.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../electron/cli/exit-codes';
import { setOddParity, toHex } from '../../shared/components';
import { parseShareSetRecordJson, type ShareRecordEntry, type ShareSetRecord } from '../../shared/shares';
import type { AppError } from '../../shared/result';
import { DIST } from '../helpers/softhsm';

const CLI = join(DIST, 'cli.cjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.cjs ...args` in the test folder; stdin gets `input` and is closed (never a TTY). */
function cli(args: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, CUSTOS_DATA_DIR: join(dir, 'data') }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`custos ${args.join(' ')} did not finish within 30 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

const jsonError = (r: Run): AppError => (JSON.parse(r.stdout) as { error: AppError }).error;

/** Neither output stream may contain a secret, a passphrase or two consecutive share words. */
function noSecrets(r: Run, secrets: string[], mnemonics: string[] = []): void {
  const all = r.stdout + r.stderr;
  for (const s of secrets) expect(all.toLowerCase()).not.toContain(s.toLowerCase());
  for (const m of mnemonics) {
    const w = m.split(' ');
    for (let i = 0; i + 1 < w.length; i++) expect(all).not.toContain(`${w[i]} ${w[i + 1]}`);
  }
}

let dir: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli.cjs is missing: run `node scripts/build.mjs cli host` (npm test builds it)');
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'custos-shares-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = '2b7e151628aed2a6abf7158809cf4f3c'; // AES-CMAC KCV 7ad386c376 (test/vectors/kcv)
const PASSPHRASE = 'correct horse battery';

interface SplitJson {
  record: ShareSetRecord;
  shares: (ShareRecordEntry & { mnemonic: string; position: string })[];
  files: { record: string | null; sheets: string[] };
}

async function splitSet(extra: string[] = []): Promise<SplitJson> {
  writeFileSync(join(dir, 'secret.hex'), `${SECRET.toUpperCase().match(/.{4}/g)!.join(' ')}\n`);
  writeFileSync(join(dir, 'pass.txt'), `${PASSPHRASE}\n`);
  const r = await cli([
    'shares', 'split', '--groups', '2:2/3,1/1,2/2', '--secret-file', 'secret.hex', '--passphrase-file', 'pass.txt',
    '--holders', 'Alice,Bob,Carol,Vault,Dana,Emil', '--record-out', 'set.json', '--ceremony', 'KC-7', '--date', '2026-11-28',
    '--iteration-exponent', '0', '--json', ...extra,
  ]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout) as SplitJson;
}

/** A threshold set: Alice + Bob (group 1) and the vault share (group 2). */
const quorum = (s: SplitJson) => [s.shares[0]!.mnemonic, s.shares[1]!.mnemonic, s.shares[3]!.mnemonic];

describe('custos shares split', () => {
  it('prints the shares, writes the record and one private sheet per share', async () => {
    const s = await splitSet(['--sheets-dir', 'sheets']);
    expect(s.shares).toHaveLength(6);
    expect(s.shares.map((x) => [x.holder, x.position])).toEqual([
      ['Alice', 'group 1, share 1 of 3'],
      ['Bob', 'group 1, share 2 of 3'],
      ['Carol', 'group 1, share 3 of 3'],
      ['Vault', 'group 2, share 1 of 1'],
      ['Dana', 'group 3, share 1 of 2'],
      ['Emil', 'group 3, share 2 of 2'],
    ]);
    for (const x of s.shares) expect(x.mnemonic.split(' ')).toHaveLength(20);
    const record = parseShareSetRecordJson(readFileSync(join(dir, 'set.json'), 'utf8'));
    expect(record).toEqual(s.record);
    expect(record).toMatchObject({ ceremonyId: 'KC-7', createdAt: '2026-11-28T00:00:00.000Z', secretCheck: { method: 'AES-CMAC', value: '7ad386c376' } });
    const recordText = readFileSync(join(dir, 'set.json'), 'utf8');
    noSecrets({ code: 0, stdout: recordText, stderr: '' }, [SECRET, PASSPHRASE], s.shares.map((x) => x.mnemonic));
    const sheets = readdirSync(join(dir, 'sheets')).sort();
    expect(sheets).toEqual([
      `set${record.set.identifier}-g1-s1-alice.pdf`,
      `set${record.set.identifier}-g1-s2-bob.pdf`,
      `set${record.set.identifier}-g1-s3-carol.pdf`,
      `set${record.set.identifier}-g2-s1-vault.pdf`,
      `set${record.set.identifier}-g3-s1-dana.pdf`,
      `set${record.set.identifier}-g3-s2-emil.pdf`,
    ]);
    for (const f of sheets) expect(statSync(join(dir, 'sheets', f)).mode & 0o777).toBe(0o600);
  });

  it('text output lists holders and fingerprints; the secret and passphrase never appear', async () => {
    writeFileSync(join(dir, 'secret.bin'), Buffer.from(SECRET, 'hex'));
    const r = await cli(['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', 'secret.bin', '--encoding', 'raw', '--iteration-exponent', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Split a 16-byte secret into 3 shares of set \d+ \(2 of 3 shares needed\)\.$/m);
    expect(r.stdout).toContain('Secret check value: 7AD38 6C376 (AES-CMAC');
    expect(r.stdout.match(/^ {2}Share \d of 3 — fingerprint [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4}$/gm)).toHaveLength(3);
    noSecrets(r, [SECRET]);
  });

  it('takes the secret from stdin (hex) when no file is given; 32-byte secrets give 33 words', async () => {
    const secret = '603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4';
    const r = await cli(['shares', 'split', '--threshold', '2', '--shares', '2', '--iteration-exponent', '0', '--json'], `${secret}\n`);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as SplitJson;
    expect(s.shares[0]!.mnemonic.split(' ')).toHaveLength(33);
    expect(s.record.secretCheck).toEqual({ method: 'AES-CMAC', value: '1a0b2df267' });
  });

  it('bad parameters fail with usage errors and write nothing', async () => {
    writeFileSync(join(dir, 'secret.hex'), SECRET);
    const base = ['shares', 'split', '--secret-file', 'secret.hex', '--record-out', 'set.json', '--sheets-dir', 'sheets', '--json'];
    const cases: [string[], RegExp][] = [
      [['--threshold', '2', '--shares', '3', '--holders', 'A,B'], /2 holder names were given for 3 shares/],
      [['--groups', '2:2/3'], /group threshold must be between 1 and the number of groups \(1\)/],
      [['--groups', 'two of three'], /is not of the form GT:M1\/N1/],
      [['--threshold', '1', '--shares', '3'], /threshold of 1 with 3 shares/],
      [['--threshold', '2'], /How many shares to make/],
    ];
    for (const [args, message] of cases) {
      const r = await cli([...base, ...args]);
      expect(r.code, args.join(' ')).toBe(EXIT.USAGE);
      expect(jsonError(r).message).toMatch(message);
    }
    writeFileSync(join(dir, 'short.hex'), SECRET.slice(2));
    const short = await cli(['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', 'short.hex', '--record-out', 'set.json', '--json']);
    expect(short.code).toBe(EXIT.USAGE);
    expect(jsonError(short).message).toMatch(/The secret is 15 bytes long/);
    noSecrets(short, [SECRET.slice(2)]);
    expect(existsSync(join(dir, 'set.json'))).toBe(false);
    expect(existsSync(join(dir, 'sheets'))).toBe(false);
  });

  it('never overwrites an existing record or sheet, and then writes nothing at all', async () => {
    writeFileSync(join(dir, 'set.json'), 'old');
    writeFileSync(join(dir, 'secret.hex'), SECRET);
    const r = await cli(['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', 'secret.hex', '--record-out', 'set.json', '--json']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(jsonError(r).message).toBe('set.json already exists; Custos does not overwrite it.');
    expect(readFileSync(join(dir, 'set.json'), 'utf8')).toBe('old');
  });
});

describe('custos shares combine', () => {
  it('recovers the secret; prints its check value and the passphrase warning; the secret only with --reveal', async () => {
    const s = await splitSet();
    const input = quorum(s).join('\n') + '\n';
    const r = await cli(['shares', 'combine', '--passphrase-file', 'pass.txt'], input);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Recovered a 16-byte secret from 3 shares of set ${s.record.set.identifier}.`);
    expect(r.stdout).toContain('Check value: 7AD38 6C376 (AES-CMAC of the secret as an AES key, X9.24-1:2017, 5 bytes); legacy AES-ECB check value 7DF76B.');
    expect(r.stdout).toContain('WARNING: SLIP-39 cannot detect a wrong passphrase');
    noSecrets(r, [SECRET, PASSPHRASE]);

    const shown = await cli(['shares', 'combine', '--passphrase-file', 'pass.txt', '--reveal', '--json'], input);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ secret: SECRET, checkValue: { method: 'AES-CMAC', value: '7ad386c376' }, legacyCheckValue: '7df76b', shares: 3, matchesRecord: null });
  });

  it('with --record, checks each share and the check value against the record', async () => {
    const s = await splitSet();
    const r = await cli(['shares', 'combine', '--passphrase-file', 'pass.txt', '--record', 'set.json', '--json'], quorum(s).join('\n'));
    expect(r.code, r.stdout).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ matchesRecord: true });
  });

  it('a wrong passphrase recovers a different secret: the check value differs (exit 9 against the record)', async () => {
    const s = await splitSet();
    writeFileSync(join(dir, 'wrong.txt'), 'Correct horse battery\n');
    const input = quorum(s).join('\n');
    const plain = await cli(['shares', 'combine', '--passphrase-file', 'wrong.txt', '--json'], input);
    expect(plain.code).toBe(0);
    const out = JSON.parse(plain.stdout) as { checkValue: { value: string } };
    expect(out.checkValue.value).not.toBe('7ad386c376');

    const checked = await cli(['shares', 'combine', '--passphrase-file', 'wrong.txt', '--record', 'set.json', '--reveal', '--json'], input);
    expect(checked.code).toBe(EXIT.CHECK_VALUE);
    const e = jsonError(checked);
    expect(e.code).toBe('CHECK_VALUE_MISMATCH');
    expect(e.message).toMatch(/differs from the recorded 7AD38 6C376\. .*passphrase is most likely wrong/);
    expect(checked.stdout).not.toContain('"secret"');
    noSecrets(checked, [SECRET, PASSPHRASE, 'Correct horse battery']);
  });

  it('bad share sets give specific errors and exit codes, never echoing words', async () => {
    const s = await splitSet();
    const [a, b, vault] = quorum(s) as [string, string, string];
    const other = (await cli(['shares', 'split', '--threshold', '2', '--shares', '2', '--iteration-exponent', '0', '--json'], `${'11'.repeat(16)}\n`)).stdout;
    const foreign = (JSON.parse(other) as SplitJson).shares[0]!.mnemonic;
    const typo = a.split(' ');
    typo[4] = 'blorp';
    const swapped = a.split(' ');
    const at = swapped.findIndex((x, i) => i >= 6 && swapped[i + 1] !== undefined && swapped[i + 1] !== x); // equal words would not swap
    [swapped[at], swapped[at + 1]] = [swapped[at + 1]!, swapped[at]!];
    const cases: [string[], string, number, Record<string, unknown>][] = [
      [[typo.join(' '), b, vault], 'SHARE_UNKNOWN_WORD', EXIT.SHARE, { share: 1, word: 5 }],
      [[a.split(' ').slice(0, 19).join(' '), b, vault], 'SHARE_WORD_COUNT', EXIT.SHARE, { share: 1 }],
      [[swapped.join(' '), b, vault], 'SHARE_CHECKSUM', EXIT.SHARE, { share: 1 }],
      [[a, foreign, vault], 'SHARE_SET_MISMATCH', EXIT.SHARE, { share: 2, otherShare: 1 }],
      [[a, a, vault], 'SHARE_DUPLICATE', EXIT.SHARE, { share: 2, otherShare: 1 }],
      [[a, vault], 'QUORUM_NOT_MET', EXIT.QUORUM, { group: 1, expected: 2, actual: 1 }],
      [[a, b], 'QUORUM_NOT_MET', EXIT.QUORUM, { expected: 2, actual: 1 }],
      [[], 'QUORUM_NOT_MET', EXIT.QUORUM, {}],
    ];
    for (const [lines, code, exit, details] of cases) {
      const r = await cli(['shares', 'combine', '--passphrase-file', 'pass.txt', '--reveal', '--json'], lines.join('\n'));
      expect(r.code, `${code}: ${r.stdout}`).toBe(exit);
      const e = jsonError(r);
      expect(e.code).toBe(code);
      expect(e.details ?? {}).toMatchObject(details);
      noSecrets(r, [SECRET, PASSPHRASE, 'blorp'], [a, b, vault, foreign]);
    }
    // Text mode says what to do.
    const t = await cli(['shares', 'combine'], [a, vault].join('\n'));
    expect(t.stderr).toBe(
      'error: Group 1 has 1 share but needs 2. Add 1 more share from that group.\n' +
        '  what to do: Add shares until every group used has as many as it needs.\n' +
        '  detail: slip39=TOO_FEW_SHARES group=1 expected=2 actual=1\n',
    );
  });
});

describe('custos shares verify', () => {
  it('checks one share alone: which share, which set, who holds it', async () => {
    const s = await splitSet();
    const bob = s.shares[1]!;
    const r = await cli(['shares', 'verify', '--record', 'set.json'], `${bob.mnemonic.toUpperCase()}\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `This share matches group 1, share 2 of 3 of set ${s.record.set.identifier} (ceremony KC-7), held by Bob; fingerprint ${bob.fingerprint.toUpperCase().match(/.{4}/g)!.join(' ')}.\n`,
    );
    // Numbered words, as copied from a sheet column by column, in any order.
    const numbered = bob.mnemonic.split(' ').map((w, i) => `${i + 1}. ${w}`);
    const shuffled = [...numbered.filter((_, i) => i % 2 === 0), ...numbered.filter((_, i) => i % 2 === 1)].join('\n');
    const n = await cli(['shares', 'verify', '--record', 'set.json', '--holder', 'bob', '--json'], shuffled);
    expect(n.code, n.stdout).toBe(0);
    expect(JSON.parse(n.stdout)).toMatchObject({ ok: true, share: { holder: 'Bob', groupIndex: 0, memberIndex: 1 }, position: 'group 1, share 2 of 3' });
  });

  it('says exactly why not: wrong holder, other set, checksum, unknown word', async () => {
    const s = await splitSet();
    const bob = s.shares[1]!.mnemonic;
    const wrongHolder = await cli(['shares', 'verify', '--record', 'set.json', '--holder', 'Alice', '--json'], bob);
    expect(wrongHolder.code).toBe(EXIT.SHARE);
    expect(jsonError(wrongHolder)).toMatchObject({ code: 'SHARE_WRONG_HOLDER', message: `This is group 1, share 2 of 3 of set ${s.record.set.identifier}, recorded as held by Bob, not by Alice.` });

    writeFileSync(join(dir, 'other.hex'), '22'.repeat(16));
    const other = await cli(['shares', 'split', '--threshold', '2', '--shares', '2', '--secret-file', 'other.hex', '--record-out', 'other.json', '--iteration-exponent', '0', '--json']);
    const foreign = (JSON.parse(other.stdout) as SplitJson).shares[0]!.mnemonic;
    const otherSet = await cli(['shares', 'verify', '--record', 'set.json', '--json'], foreign);
    expect(otherSet.code).toBe(EXIT.SHARE);
    expect(jsonError(otherSet).code).toBe('SHARE_SET_MISMATCH');

    const w = bob.split(' ');
    const at = w.findIndex((x, i) => i >= 10 && w[i + 1] !== undefined && w[i + 1] !== x); // equal words would not swap
    [w[at], w[at + 1]] = [w[at + 1]!, w[at]!];
    const checksum = await cli(['shares', 'verify', '--record', 'set.json', '--json'], w.join(' '));
    expect(jsonError(checksum)).toMatchObject({ code: 'SHARE_CHECKSUM', details: { reason: 'CHECKSUM' } });
    noSecrets(checksum, [], [bob]);

    const unknown = await cli(['shares', 'verify', '--record', 'set.json'], bob.replace(/^(\S+ \S+ )\S+/, '$1qqqq'));
    expect(unknown.code).toBe(EXIT.SHARE);
    expect(unknown.stderr).toMatch(/^error: Word 3 is not in the SLIP-39 word list\./);

    writeFileSync(join(dir, 'broken.json'), '{"format":"custos.shareset","version":7}');
    const newer = await cli(['shares', 'verify', '--record', 'broken.json', '--json'], bob);
    expect(newer.code).toBe(EXIT.SHARE);
    expect(jsonError(newer)).toMatchObject({ code: 'RECORD_INVALID', action: 'Use a newer version of Custos to read it.' });
  });
});

describe('custos shares sheet', () => {
  it("writes the holder's sheet (0600); refuses another holder's share and existing files, writing nothing", async () => {
    const s = await splitSet();
    const carol = s.shares[2]!.mnemonic;
    const r = await cli(['shares', 'sheet', '--record', 'set.json', '--holder', 'Carol', '--out', 'carol.pdf'], carol);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Share sheet for group 1, share 3 of 3 of set ${s.record.set.identifier} (Carol) written to carol.pdf.\n`);
    expect(statSync(join(dir, 'carol.pdf')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'carol.pdf')).subarray(0, 5).toString()).toBe('%PDF-');

    const wrong = await cli(['shares', 'sheet', '--record', 'set.json', '--holder', 'Dana', '--out', 'dana.pdf', '--json'], carol);
    expect(wrong.code).toBe(EXIT.SHARE);
    expect(jsonError(wrong).code).toBe('SHARE_WRONG_HOLDER');
    expect(existsSync(join(dir, 'dana.pdf'))).toBe(false);

    const again = await cli(['shares', 'sheet', '--record', 'set.json', '--out', 'carol.pdf', '--json'], carol);
    expect(again.code).toBe(EXIT.USAGE);
    expect(jsonError(again).message).toBe('carol.pdf already exists; Custos does not overwrite it.');
  });
});

interface KcvVector {
  id: string;
  algorithm: string;
  key: string;
  kcv_ecb_3: string;
  kcv_cmac_5: string;
}
const kcvVectors = (JSON.parse(readFileSync(join(__dirname, '../vectors/kcv/kcv.json'), 'utf8')) as { vectors: KcvVector[] }).vectors;

interface ComponentsJson {
  algorithm: string;
  key: { checkValues: { cmac: string; legacy: string }; hex?: string };
  components: { index: number; hex?: string; checkValues: { cmac: string; legacy: string } }[];
}

describe('custos components', () => {
  it('split then combine reproduces every kcv.json key and its check values', async () => {
    for (const v of kcvVectors) {
      const alg = v.algorithm.startsWith('AES') ? 'aes' : 'tdes';
      writeFileSync(join(dir, 'key.hex'), v.key);
      const split = await cli(['components', 'split', '--count', '3', '--key-file', 'key.hex', '--algorithm', alg, '--json']);
      if (/^0+$/.test(v.key)) {
        // An all-zero key is refused, as HSMs refuse to form one ("key all zero").
        expect(split.code).toBe(EXIT.USAGE);
        expect(jsonError(split).message).toBe('The key is all zeros; that is not a usable key.');
        continue;
      }
      expect(split.code, split.stdout).toBe(0);
      const s = JSON.parse(split.stdout) as ComponentsJson;
      expect(s.algorithm).toBe(v.algorithm);
      expect(s.key.checkValues).toMatchObject({ cmac: v.kcv_cmac_5, legacy: v.kcv_ecb_3 });
      expect(s.components).toHaveLength(3);
      // Components on stdin in groups of four, expected KCVs (mixing the two methods) on the command line.
      const input = s.components.map((c) => c.hex!.match(/.{4}/g)!.join(' ')).join('\n');
      const kcvs = s.components.map((c, i) => (i % 2 ? c.checkValues.legacy : c.checkValues.cmac)).join(',');
      const expectedKey = alg === 'tdes' ? v.kcv_ecb_3 : v.kcv_cmac_5;
      const comb = await cli(['components', 'combine', '--count', '3', '--algorithm', alg, '--kcvs', kcvs, '--kcv', expectedKey, '--reveal', '--json'], input);
      expect(comb.code, comb.stdout).toBe(0);
      const c = JSON.parse(comb.stdout) as ComponentsJson;
      expect(c.key.checkValues).toMatchObject({ cmac: v.kcv_cmac_5, legacy: v.kcv_ecb_3 });
      // TDES keys come back with odd parity forced (the parity bits are not key material).
      expect(c.key.hex).toBe(alg === 'aes' ? v.key : toHex(setOddParity(Uint8Array.from(Buffer.from(v.key, 'hex')))));
    }
  });

  it('text output: each component with its check value; the combined key only with --reveal', async () => {
    writeFileSync(join(dir, 'bdk.hex'), '0123456789ABCDEF FEDCBA9876543210\n');
    const split = await cli(['components', 'split', '--count', '2', '--key-file', 'bdk.hex', '--algorithm', 'tdes']);
    expect(split.code, split.stderr).toBe(0);
    expect(split.stdout).toContain('Key: TDES-2key, check value 08D7B4 (TDES-ECB, X9.24-1 legacy; TDES-CMAC 0A824 58664).');
    const comps = [...split.stdout.matchAll(/^Component \d of 2: ((?:[0-9A-F]{4} ?){8})$/gm)].map((m) => m[1]!);
    expect(comps).toHaveLength(2);
    const r = await cli(['components', 'combine', '--count', '2', '--algorithm', 'tdes', '--kcv', '08d7b4'], comps.join('\n'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Combined TDES-2key key: check value 08D7B4 (TDES-ECB, X9.24-1 legacy; TDES-CMAC 0A824 58664) — as expected');
    expect(r.stdout).toContain('(The key itself is shown only with --reveal.)');
    noSecrets(r, ['0123456789abcdef', '0123 4567 89AB CDEF']);
    const shown = await cli(['components', 'combine', '--count', '2', '--algorithm', 'tdes', '--reveal'], comps.join('\n'));
    expect(shown.stdout).toContain('Key: 0123 4567 89AB CDEF FEDC BA98 7654 3210');
  });

  it('malformed components, check value mismatches and missing components: specific errors, no key shown', async () => {
    const c1 = '00112233445566778899AABBCCDDEEFF';
    const c2 = '0F0E0D0C0B0A09080706050403020100';
    const kcv = async (hex: string) => {
      writeFileSync(join(dir, 'k.hex'), hex);
      const r = await cli(['components', 'split', '--count', '2', '--key-file', 'k.hex', '--algorithm', 'aes', '--json']);
      return (JSON.parse(r.stdout) as ComponentsJson).key.checkValues.cmac;
    };
    const k2 = await kcv(c2);
    const cases: [string, string[], string, number, Record<string, unknown>, RegExp][] = [
      [`${c1}\n0F0E 0D0C 0B0A 09O8 0706 0504 0302 0100`, [], 'COMPONENT_INVALID', EXIT.SHARE, { component: 2, position: 18 }, /^Component 2: character 18 is not a hexadecimal digit/],
      [`${c1}\n${c2.slice(1)}`, [], 'COMPONENT_INVALID', EXIT.SHARE, { component: 2, digits: 31 }, /odd number/],
      [`${c1}\n${c2.slice(4)}`, [], 'COMPONENT_INVALID', EXIT.SHARE, { component: 2, bytes: 14 }, /14 bytes \(28 hexadecimal digits\), but 16 bytes/],
      [`${c1}\n${c1}`, [], 'COMPONENT_INVALID', EXIT.SHARE, { component: 2, sameAs: 1 }, /same as component 1/],
      [`${c1}\n${c2}`, ['--kcvs', `${k2},${k2}`], 'CHECK_VALUE_MISMATCH', EXIT.CHECK_VALUE, { component: 1 }, /^Component 1 has check value .*, not the expected/],
      [`${c1}\n${c2}`, ['--kcv', '000000'], 'CHECK_VALUE_MISMATCH', EXIT.CHECK_VALUE, { expected: '000000' }, /^The combined key has check value/],
      [c1, [], 'QUORUM_NOT_MET', EXIT.QUORUM, { expected: 2, actual: 1 }, /1 of the 2 components were given/],
      [`${c1}\n${c2}\n${c1}`, [], 'COMPONENT_INVALID', EXIT.SHARE, { expected: 2, actual: 3 }, /3 components were given, but --count is 2/],
    ];
    for (const [input, extra, code, exit, details, message] of cases) {
      const r = await cli(['components', 'combine', '--count', '2', '--algorithm', 'aes', '--reveal', '--json', ...extra], input);
      expect(r.code, `${code}: ${r.stdout}`).toBe(exit);
      const e = jsonError(r);
      expect(e.code).toBe(code);
      expect(e.details).toMatchObject(details);
      expect(e.message).toMatch(message);
      noSecrets(r, [c1, c2, c1.slice(0, 8), c2.slice(4, 12)]);
      expect(r.stdout).not.toContain('"hex"');
    }
  });

  it('asks for the algorithm when the length is ambiguous, and checks --kcvs before reading components', async () => {
    const c = '00112233445566778899AABBCCDDEEFF';
    const r = await cli(['components', 'combine', '--count', '2', '--json'], `${c}\n${c.split('').reverse().join('')}`);
    expect(r.code).toBe(EXIT.USAGE);
    expect(jsonError(r)).toMatchObject({ message: 'A 16-byte key could be AES-128 or two-key TDES, and the check values differ.', action: 'Pass --algorithm aes or --algorithm tdes.' });
    const k = await cli(['components', 'combine', '--count', '2', '--kcvs', 'abc,12345g', '--json'], '');
    expect(k.code).toBe(EXIT.USAGE);
    expect(jsonError(k).message).toMatch(/Check value 1 given is not 4 to 16 hexadecimal digits/);
    const n = await cli(['components', 'split', '--count', '12', '--key-file', 'nothing', '--json']);
    expect(n.code).toBe(EXIT.USAGE);
  });
});
