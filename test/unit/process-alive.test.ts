// Who holds a lock or journal file: a PID is reused, so a mark carries the start time too
// (electron/services/process-alive.ts). The init recovery and the preview shell's lock rely on it.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isRunning, markOf, ranAt } from '../../electron/services/process-alive';

describe('process marks', () => {
  it('this process is running, under its own mark', () => {
    const me = markOf();
    expect(me.pid).toBe(process.pid);
    expect(me.start).toMatch(/^\d+$/);
    expect(isRunning(me)).toBe(true);
  });

  it('the same PID with another start time is another process (a reused PID)', () => {
    expect(isRunning({ pid: process.pid, start: '1' })).toBe(false);
  });

  it('a process that has exited is not running', () => {
    const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    expect(isRunning({ pid: Number(r.stdout), start: null })).toBe(false);
    expect(isRunning({ pid: 0, start: null })).toBe(false);
    expect(isRunning({ pid: -5, start: null })).toBe(false);
  });

  it('a file named by PID and time belongs to a running process only if that process started before it', () => {
    expect(ranAt(process.pid, Date.now())).toBe(true);
    expect(ranAt(process.pid, Date.parse('2001-01-01T00:00:00Z'))).toBe(false);
  });
});
