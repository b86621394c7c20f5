// Share sheets (electron/services/sheets.ts) as a custodian gets them: text extracted with
// pdftotext, the page rendered with pdftoppm (poppler-utils), byte-for-byte determinism.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderShareSheet } from '../../electron/services/shares/index';
import { createShareSetRecord, formatFingerprint, type ShareSetRecord } from '../../shared/shares';
import { CustosError } from '../../shared/result';
import { splitSecret } from '../../shared/slip39';
import { seededCrypto } from '../unit/slip39-support';

interface Vector {
  record: ShareSetRecord;
  mnemonics: string[][];
}
const vectors = (JSON.parse(readFileSync(join(__dirname, '../vectors/custos/shareset-v1.json'), 'utf8')) as { vectors: Vector[] }).vectors;
const [V20, V33] = [vectors[0]!, vectors[1]!];

const dir = mkdtempSync(join(tmpdir(), 'custos-sheets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pdfText(pdf: Buffer, name: string): string {
  const file = join(dir, `${name}.pdf`);
  writeFileSync(file, pdf);
  return execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
}

/** Every "N. word" on the page, by number. */
function numberedWords(text: string): Map<number, string> {
  const words = new Map<number, string>();
  for (const m of text.matchAll(/(?:^|\s)(\d{1,2})\. ([a-z]{4,8})(?=\s|$)/g)) {
    expect(words.has(Number(m[1])), `word ${m[1]} appears twice`).toBe(false);
    words.set(Number(m[1]), m[2]!);
  }
  return words;
}

describe('share sheet', () => {
  for (const [name, v, group, member] of [
    ['20 words', V20, 2, 1],
    ['33 words', V33, 0, 4],
  ] as const) {
    it(`${name}: every word extracts exactly, with its number, in order`, async () => {
      const mnemonic = v.mnemonics[group]![member]!;
      const text = pdfText(await renderShareSheet(mnemonic, v.record), `words-${name}`);
      const words = numberedWords(text);
      const expected = mnemonic.split(' ');
      expect(words.size).toBe(expected.length);
      expect([...words.keys()].sort((a, b) => a - b).map((n) => words.get(n))).toEqual(expected);
    });
  }

  it('shows the share facts, handling instructions and a checked-by line; nothing about other holders', async () => {
    const entry = V20.record.shares.find((s) => s.groupIndex === 2 && s.memberIndex === 1)!;
    const text = pdfText(await renderShareSheet(V20.mnemonics[2]![1]!, V20.record), 'facts');
    const flat = text.replace(/\s+/g, ' ');
    for (const s of [
      'SLIP-39 share sheet',
      'Root CA signing key backup',
      'Émile Roux',
      'Group 3 of 3, share 2 of 2',
      'Shares from 2 of the 3 groups; from group 3, 2 of the 2 shares',
      '7421',
      formatFingerprint(entry.fingerprint),
      'KC-2026-001, 2026-11-28',
      '20 (SLIP-39, 128-bit secret)',
      'tamper-evident envelope',
      'custos shares verify --record FILE',
      'Checked by',
      'Signature',
    ]) {
      expect(flat).toContain(s);
    }
    for (const other of V20.record.shares.filter((s) => s !== entry)) {
      if (other.holder) expect(flat).not.toContain(other.holder);
      expect(flat).not.toContain(formatFingerprint(other.fingerprint));
    }
    // No QR code unless asked for.
    expect(flat).not.toContain('QR code');
  });

  it('renders to a clean single page (pdftoppm) that is not blank', async () => {
    const file = join(dir, 'render.pdf');
    writeFileSync(file, await renderShareSheet(V33.mnemonics[0]![0]!, V33.record, { qr: true }));
    execFileSync('pdftoppm', ['-png', '-r', '60', file, join(dir, 'render')]);
    expect(existsSync(join(dir, 'render-1.png'))).toBe(true);
    expect(existsSync(join(dir, 'render-2.png'))).toBe(false);
    expect(statSync(join(dir, 'render-1.png')).size).toBeGreaterThan(5_000);
    // Grey-scale PGM of the same page: some ink, mostly paper.
    execFileSync('pdftoppm', ['-gray', '-r', '60', file, join(dir, 'gray')]);
    const pgm = readFileSync(join(dir, 'gray-1.pgm'));
    const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.subarray(0, 40).toString('latin1'))!;
    const pixels = pgm.subarray(header[0].length);
    expect(Math.abs(Number(header[1]) - 496)).toBeLessThanOrEqual(1); // A4 at 60 dpi: 8.27 in wide
    const dark = pixels.reduce((n, p) => n + (p < 128 ? 1 : 0), 0) / pixels.length;
    expect(dark).toBeGreaterThan(0.02);
    expect(dark).toBeLessThan(0.3);
  });

  it('with --qr, carries a QR code of the share and says so in words', async () => {
    const mnemonic = V20.mnemonics[0]![0]!;
    const pdf = await renderShareSheet(mnemonic, V20.record, { qr: true });
    expect(pdfText(pdf, 'qr').replace(/\s+/g, ' ')).toContain('This QR code contains the share itself. Anyone who photographs it has the share.');
  });

  const hasZbar = (() => {
    try {
      execFileSync('zbarimg', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  // zbar-tools is optional (not installed by CI); where present, decode the printed code.
  it.skipIf(!hasZbar)('the QR code decodes to the share (zbarimg)', async () => {
    const mnemonic = V33.mnemonics[0]![1]!;
    const file = join(dir, 'qr-decode.pdf');
    writeFileSync(file, await renderShareSheet(mnemonic, V33.record, { qr: true }));
    execFileSync('pdftoppm', ['-png', '-r', '200', file, join(dir, 'qr-decode')]);
    const decoded = execFileSync('zbarimg', ['-q', '--raw', join(dir, 'qr-decode-1.png')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    expect(decoded).toBe(mnemonic.toUpperCase());
  });

  it('is deterministic: the same input gives the same bytes', async () => {
    const m = V20.mnemonics[1]![0]!;
    const a = await renderShareSheet(m, V20.record, { qr: true });
    const b = await renderShareSheet(m, V20.record, { qr: true });
    expect(a.equals(b)).toBe(true);
    expect(a.subarray(0, 8).toString('latin1')).toBe('%PDF-1.3');
  });

  it('refuses a share that is not the holder\'s, or not in the record', async () => {
    const err = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => (e instanceof CustosError ? e.appError : e),
      );
    expect(await err(renderShareSheet(V20.mnemonics[0]![1]!, V20.record, { holder: 'Alice Martin' }))).toMatchObject({ code: 'SHARE_WRONG_HOLDER' });
    expect(await err(renderShareSheet(V33.mnemonics[0]![0]!, V20.record))).toMatchObject({ code: 'SHARE_SET_MISMATCH' });
    const words = V20.mnemonics[0]![0]!.split(' ');
    words[5] = 'zzzzz';
    expect(await err(renderShareSheet(words.join(' '), V20.record))).toMatchObject({ code: 'SHARE_UNKNOWN_WORD' });
  });

  it('refuses names the built-in fonts cannot print, rather than printing them wrong', async () => {
    const mnemonics = await splitSecret({ secret: new Uint8Array(16).fill(3), groupThreshold: 1, groups: [{ threshold: 1, count: 1 }], iterationExponent: 0 }, seededCrypto(9));
    const record = await createShareSetRecord({ mnemonics, holders: ['Łukasz Nowak'], createdAt: '2026-01-01' });
    const e = await renderShareSheet(mnemonics[0]![0]!, record).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CustosError);
    expect((e as CustosError).appError.message).toBe("The holder name contains characters that the sheet's built-in fonts cannot print.");
  });
});
