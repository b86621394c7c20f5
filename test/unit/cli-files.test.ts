// The CLI's bounded reads and strict option parsers (electron/cli/files.ts, options.ts; issue #11):
// a device that never ends, a folder, a missing file, a pipe; numbers and dates as people mistype them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutputFile, checkOutputFolder, readBounded } from '../../electron/cli/files';
import { parseDate, parseInteger } from '../../electron/cli/options';
import { writeFileAtomic } from '../../electron/services/files/atomic';
import { CustosError, type AppError } from '../../shared/result';

const dir = mkdtempSync(join(tmpdir(), 'custos-cli-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(f: () => unknown): AppError {
  try {
    f();
  } catch (e) {
    if (e instanceof CustosError) return e.appError;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('readBounded', () => {
  it('refuses /dev/zero at once, after reading no more than the limit', () => {
    const started = Date.now();
    const e = refusal(() => readBounded('/dev/zero', 4096, 'PIN'));
    expect(e).toMatchObject({ code: 'INVALID_INPUT', details: { limit: 4096 } });
    expect(e.message).toMatch(/PIN file \/dev\/zero is longer than 4 KiB/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('names a folder, a missing file; reads a file at the limit', () => {
    expect(refusal(() => readBounded(dir, 100, 'PIN')).message).toMatch(/is a folder, not a PIN file/);
    expect(refusal(() => readBounded(join(dir, 'nope'), 100, 'PIN')).message).toMatch(/does not exist/);
    writeFileSync(join(dir, 'exact'), Buffer.alloc(100, 0x31));
    expect(readBounded(join(dir, 'exact'), 100, 'PIN').length).toBe(100);
    writeFileSync(join(dir, 'over'), Buffer.alloc(101, 0x31));
    expect(refusal(() => readBounded(join(dir, 'over'), 100, 'PIN')).code).toBe('INVALID_INPUT');
  });

  it('reads a pipe like a file (--pin-file <(…))', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // A writer in another process: the read blocks until it writes and closes.
    const writer = execFileSync('sh', ['-c', `(printf '246810\\n' > ${fifo}) >/dev/null 2>&1 & echo $!`]).toString().trim();
    expect(readBounded(fifo, 4096, 'PIN').toString()).toBe('246810\n');
    expect(writer).toMatch(/^\d+$/);
  });
});

describe('output paths', () => {
  it('refuses a missing folder, a folder named as a file, a file named as a folder, and an existing file unless --force (when fresh, always)', () => {
    expect(refusal(() => checkOutputFile(join(dir, 'no/such/file'), 'record')).message).toMatch(/folder .* for the record does not exist/);
    expect(refusal(() => checkOutputFile(dir, 'record')).message).toMatch(/is a folder/);
    writeFileSync(join(dir, 'taken'), 'x');
    expect(refusal(() => checkOutputFile(join(dir, 'taken'), 'record', { fresh: true }))).toMatchObject({ code: 'FILE_EXISTS', message: expect.stringMatching(/already exists/) });
    expect(refusal(() => checkOutputFile(join(dir, 'taken'), 'report'))).toMatchObject({ code: 'FILE_EXISTS', action: expect.stringMatching(/--force/) });
    // The app's save refuses an existing file with the same code (files/atomic.ts).
    expect(refusal(() => writeFileAtomic(dir, 'taken', Buffer.from('y'), { mode: 0o600, replace: false })).code).toBe('FILE_EXISTS');
    expect(() => checkOutputFile(join(dir, 'taken'), 'report', { force: true })).not.toThrow();
    expect(refusal(() => checkOutputFile(join(dir, 'taken'), 'record', { fresh: true, force: true })).message).toMatch(/already exists/);
    expect(refusal(() => checkOutputFolder(join(dir, 'taken'), 'share sheets')).message).toMatch(/is a file, not a folder/);
    expect(refusal(() => checkOutputFolder(join(dir, 'no/such'), 'share sheets')).message).toMatch(/does not exist/);
    expect(() => checkOutputFolder(join(dir, 'new'), 'share sheets')).not.toThrow();
  });
});

describe('numbers and dates', () => {
  it('takes decimal digits within the range, nothing else', () => {
    expect(parseInteger('--limit', '50', 1, 500)).toBe(50);
    for (const bad of ['abc', '', ' 5', '1e3', '0x10', '12.5', '-1', '0', '501', '9'.repeat(20)]) {
      expect(refusal(() => parseInteger('--limit', bad, 1, 500))).toMatchObject({ code: 'INVALID_INPUT', details: { option: '--limit' } });
    }
  });

  it('takes a real day or an ISO 8601 time, as UTC with milliseconds', () => {
    expect(parseDate('--on', '2026-03-01')).toBe('2026-03-01T00:00:00.000Z');
    expect(parseDate('--on', '2026-03-01T10:30:00+02:00')).toBe('2026-03-01T08:30:00.000Z');
    for (const bad of ['abc', '1', '2026-02-31', '2026-13-01', 'tomorrow', '01/03/2026']) {
      expect(refusal(() => parseDate('--on', bad)).code).toBe('INVALID_INPUT');
    }
  });
});
