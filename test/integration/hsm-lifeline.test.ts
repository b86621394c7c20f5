// The HSM host never outlives its parent and never prints a stack trace because the parent went
// away (issue #11 part 1). A small parent process forks the real host (dist/hsm-host.cjs), gives it
// work, and is SIGKILLed; the host's stderr is the parent's, piped here, so anything the host
// prints shows up in `stderr`.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRACE_MS } from '../../electron/hsm/host/lifeline';
import { HOST_SCRIPT, requireBuild, SOFTHSM_MODULE, softhsm, type SoftHsmFixture } from '../helpers/softhsm';

const TOKEN = 'Lifeline';
const PIN = '246810';
let fx: SoftHsmFixture;
let parentScript: string;

// The parent: forks the host, sends the requests in PARENT_REQUESTS, prints the host's pid once the
// last non-final request was answered, then kills itself PARENT_DELAY ms after sending the final one.
const PARENT_SOURCE = `
const { fork } = require('node:child_process');
const requests = JSON.parse(process.env.PARENT_REQUESTS);
const host = fork(process.env.PARENT_HOST, [], {
  env: { ...process.env, CUSTOS_HSM_PARENT: String(process.pid) },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  serialization: 'advanced',
});
let next = 0;
const sendNext = () => {
  const r = requests[next];
  host.send({ id: next + 1, method: r.method, params: r.params });
  next++;
  if (next === requests.length) {
    process.stdout.write('HOST ' + host.pid + '\\n');
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), Number(process.env.PARENT_DELAY));
  }
};
host.on('message', (m) => {
  if (!m.ok) { process.stdout.write('FAILED ' + JSON.stringify(m.error) + '\\n'); }
  if (next < requests.length) sendNext();
});
sendNext();
`;

/** True once the process is gone or a zombie (a reparented child may wait for a reaper that never comes). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function waitGone(pid: number, ms: number): Promise<number | null> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (gone(pid)) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
  return gone(pid) ? Date.now() - start : null;
}

interface Run {
  hostPid: number;
  stdout: string;
  /** Everything the parent and the host wrote to stderr, read until both had closed it. */
  stderr: Promise<string>;
}

function startParent(requests: Array<{ method: string; params: unknown }>, delayMs: number, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [parentScript], {
      env: { ...fx.env, CUSTOS_HSM_TEST_HOOKS: '1', ...env, PARENT_HOST: HOST_SCRIPT, PARENT_REQUESTS: JSON.stringify(requests), PARENT_DELAY: String(delayMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let err = '';
    const stderr = new Promise<string>((done) => p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d)).on('close', () => done(err)));
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /HOST (\d+)\n/.exec(stdout);
      if (m) resolve({ hostPid: Number(m[1]), stdout, stderr });
    });
    p.on('error', reject);
    p.on('exit', () => {
      if (!/HOST \d+/.test(stdout)) reject(new Error(`the parent died before starting the host: ${stdout} ${err}`));
    });
  });
}

const login = [
  { method: 'load', params: { path: SOFTHSM_MODULE } },
  { method: 'login', params: { path: SOFTHSM_MODULE, token: TOKEN, role: 'user', pin: PIN } },
];

beforeAll(() => {
  requireBuild();
  fx = softhsm('custos-lifeline-');
  fx.initToken(TOKEN, { user: PIN });
  parentScript = join(fx.dir, 'parent.cjs');
  writeFileSync(parentScript, PARENT_SOURCE);
});

afterAll(() => fx?.cleanup());

describe('the HSM host and its parent', () => {
  it('leaves quietly when the parent dies while the host is answering (no EPIPE stack trace)', async () => {
    // Five rounds: the kill lands while the host is still busy, so its answer goes to a dead pipe.
    for (let round = 0; round < 5; round++) {
      const run = await startParent([...login, { method: 'test.hang', params: { ms: 300 } }], 50 + round * 40);
      expect(run.stdout).not.toContain('FAILED');
      expect(await waitGone(run.hostPid, GRACE_MS + 3000), `host ${run.hostPid} outlived its parent`).not.toBeNull();
      expect(await run.stderr).toBe('');
    }
  });

  it('dies with its parent while blocked in a call that never returns (watchdog in the batch addon)', async () => {
    const run = await startParent([...login, { method: 'test.hang', params: { ms: 120_000 } }], 50);
    const took = await waitGone(run.hostPid, GRACE_MS + 4000);
    expect(took, `host ${run.hostPid} outlived its parent`).not.toBeNull();
    expect(took!).toBeGreaterThanOrEqual(GRACE_MS - 500); // it waited for a logout that could not happen
    expect(await run.stderr).toBe('');
  });

  it('dies with its parent while blocked, without the batch addon (watchdog thread in JavaScript)', async () => {
    const run = await startParent([...login, { method: 'test.hang', params: { ms: 120_000 } }], 50, { CUSTOS_P11_BATCH: 'off' });
    expect(await waitGone(run.hostPid, GRACE_MS + 4000), `host ${run.hostPid} outlived its parent`).not.toBeNull();
    expect(await run.stderr).toBe('');
  });

  it('leaves at once, quietly, when the parent that started it is already gone', async () => {
    // A pid that no longer exists stands for a parent that died between fork and start-up.
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    const host = spawn(process.execPath, [HOST_SCRIPT], {
      env: { ...fx.env, CUSTOS_HSM_PARENT: String(dead.pid) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let err = '';
    host.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((r) => host.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(err).toBe('');
  });

  it('leaves quietly when the parent closes the channel', async () => {
    const host = spawn(process.execPath, [HOST_SCRIPT], { env: fx.env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
    let err = '';
    host.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const answered = new Promise((r) => host.once('message', r));
    host.send({ id: 1, method: 'load', params: { path: SOFTHSM_MODULE } });
    await answered;
    host.disconnect();
    const code = await new Promise<number | null>((r) => host.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(err).toBe('');
  });
});
