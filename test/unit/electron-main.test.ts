// electron/main.ts's start-up, against a stand-in for the 'electron' module (Electron's binary
// cannot run here): app:// declared first, one instance per data folder — Chromium's lock taken on
// the data folder CUSTOS_DATA_DIR names, and a second instance stopping right after app.quit() —
// and the shell-independent lock file (a preview shell on the same folder refuses the app).
import { EventEmitter } from 'node:events';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const h = vi.hoisted(() => {
  const app = new (require('node:events').EventEmitter)() as EventEmitter & Record<string, unknown>;
  const calls: string[] = [];
  const state = { lock: true };
  return { app, calls, state };
});

vi.mock('electron', () => {
  const app = h.app;
  Object.assign(app, {
    isPackaged: false,
    getPath: () => '/nonexistent/userData',
    setPath: (name: string, path: string) => h.calls.push(`setPath ${name} ${path}`),
    requestSingleInstanceLock: () => (h.calls.push('requestSingleInstanceLock'), h.state.lock),
    quit: () => h.calls.push('quit'),
    enableSandbox: () => h.calls.push('enableSandbox'),
    whenReady: () => (h.calls.push('whenReady'), new Promise(() => undefined)),
  });
  return {
    app,
    BrowserWindow: { getAllWindows: () => [] },
    protocol: { registerSchemesAsPrivileged: (s: Array<{ scheme: string }>) => h.calls.push(`registerSchemes ${s.map((x) => x.scheme).join(',')}`), handle() {}, unhandle() {} },
    ipcMain: { handle() {}, removeHandler() {} },
    session: { defaultSession: {} },
    utilityProcess: { fork() {} },
  };
});

const dirs: string[] = [];
let exitListeners: Array<(...args: unknown[]) => void>;
let errors: string[];

beforeEach(() => {
  h.calls.length = 0;
  h.state.lock = true;
  h.app.removeAllListeners();
  exitListeners = process.listeners('exit') as Array<(...args: unknown[]) => void>;
  errors = [];
  vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
  vi.resetModules();
});

afterEach(() => {
  // main.ts releases its lock file on exit: run and remove what this start added.
  for (const l of process.listeners('exit')) if (!exitListeners.includes(l as (...args: unknown[]) => void)) {
    (l as () => void)();
    process.removeListener('exit', l);
  }
  vi.restoreAllMocks();
  delete process.env.CUSTOS_DATA_DIR;
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'custos-main-'));
  dirs.push(d);
  process.env.CUSTOS_DATA_DIR = d;
  return d;
}

const start = () => import('../../electron/main');

describe('Electron main start-up', () => {
  it('declares app:// first, then takes the single-instance lock on the data folder CUSTOS_DATA_DIR names', async () => {
    const d = dataDir();
    await start();
    expect(h.calls.slice(0, 3)).toEqual(['registerSchemes app', `setPath userData ${d}`, 'requestSingleInstanceLock']);
    expect(h.calls).toContain('whenReady');
    const lock = JSON.parse(readFileSync(join(d, 'custos.lock'), 'utf8')) as { pid: number; shell: string };
    expect(lock).toMatchObject({ pid: process.pid, shell: 'electron' });
  });

  it('a second instance quits and goes no further: no sandbox switch, no services, no lock file', async () => {
    const d = dataDir();
    h.state.lock = false;
    await start();
    expect(h.calls).toEqual(['registerSchemes app', `setPath userData ${d}`, 'requestSingleInstanceLock', 'quit']);
    expect(existsSync(join(d, 'custos.lock'))).toBe(false);
  });

  it('a preview shell running on the same data folder refuses the app, in words', async () => {
    const d = dataDir();
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const { markOf } = await import('../../electron/services/process-alive');
      writeFileSync(join(d, 'custos.lock'), JSON.stringify({ ...markOf(other.pid!), shell: 'preview', at: '2026-12-01T10:00:00.000Z' }));
      await start();
      expect(h.calls).toContain('quit');
      expect(h.calls).not.toContain('whenReady');
      expect(errors.join('\n')).toMatch(/a Custos preview shell is already running on the data folder .* \(process \d+/);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('a lock left by a crashed instance is taken over, and said so', async () => {
    const d = dataDir();
    writeFileSync(join(d, 'custos.lock'), JSON.stringify({ pid: process.pid, start: '1', shell: 'preview', at: '2026-12-01T10:00:00.000Z' }));
    await start();
    expect(h.calls).toContain('whenReady');
    expect(errors.join('\n')).toMatch(/took over the lock of a Custos \(preview, process \d+\) that did not close/);
  });
});
