// One Custos per data folder, whichever shell (electron/services/instance-lock.ts).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireInstanceLock, LOCK_FILE } from '../../electron/services/instance-lock';
import { markOf } from '../../electron/services/process-alive';
import { CustosError } from '../../shared/result';

const dirs: string[] = [];
const folder = () => {
  const d = mkdtempSync(join(tmpdir(), 'custos-lock-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function refusal(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (e instanceof CustosError) return e.appError;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('instance lock', () => {
  it('is taken, refuses a second holder while held, and is gone once released', () => {
    const d = folder();
    const lock = acquireInstanceLock(d, 'preview');
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, shell: 'preview' });
    const e = refusal(() => acquireInstanceLock(d, 'electron'));
    expect(e.code).toBe('INSTANCE_RUNNING');
    expect(e.message).toMatch(/a Custos preview shell is already running on the data folder/);
    expect(e.action).toMatch(/CUSTOS_DATA_DIR/);
    // Another folder is another instance.
    acquireInstanceLock(folder(), 'preview').release();
    lock.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
    acquireInstanceLock(d, 'electron').release();
    expect(readdirSync(d)).toEqual([]);
  });

  it('refuses while another live process holds it', () => {
    const d = folder();
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(join(d, LOCK_FILE), JSON.stringify({ ...markOf(other.pid!), shell: 'electron', at: '2026-12-01T10:00:00.000Z' }));
      expect(refusal(() => acquireInstanceLock(d, 'preview')).message).toMatch(new RegExp(`the Custos app is already running .*process ${other.pid}`));
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over a lock whose holder is gone, whose PID was reused, or that is unreadable', () => {
    for (const stale of [
      JSON.stringify({ pid: 2 ** 22 + 17, start: null, shell: 'preview', at: 'x' }),
      JSON.stringify({ pid: process.pid, start: '1', shell: 'electron', at: 'x' }),
      'garbage',
      '',
    ]) {
      const d = folder();
      writeFileSync(join(d, LOCK_FILE), stale);
      const lock = acquireInstanceLock(d, 'preview');
      expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
      lock.release();
      expect(readdirSync(d)).toEqual([]);
    }
  });

  it('release never removes a lock that is no longer its own', () => {
    const d = folder();
    const lock = acquireInstanceLock(d, 'preview');
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: 1, start: null, shell: 'electron', at: 'later' }));
    lock.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(true);
  });
});
