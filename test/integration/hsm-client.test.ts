// HsmClient + the real HSM host process (dist/hsm-host.cjs) against SoftHSM2 fixtures.
import { readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HsmClient, type HsmClientOptions } from '../../electron/hsm/client';
import type { RawSlot } from '../../electron/hsm/protocol';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import { tokenUri } from '../../shared/pkcs11-uri';
import { CustosError, type AppError } from '../../shared/result';
import { HOST_SCRIPT, requireBuild, SOFTHSM_MODULE, softhsm, type SoftHsmFixture } from '../helpers/softhsm';

const CKF_TOKEN_INITIALIZED = 0x400;
const CKF_USER_PIN_INITIALIZED = 0x8;
const CKF_LOGIN_REQUIRED = 0x4;
const LIBZ = '/usr/lib/x86_64-linux-gnu/libz.so.1';
const USER_PIN = '480316';
const SO_PIN = '97531864';

/** Resolves to the AppError a call rejected with; fails the test if it resolved or threw something else. */
async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CustosError);
    return (e as CustosError).appError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

const byLabel = (slots: RawSlot[], label: string) => slots.find((s) => s.token?.label === label);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitDead(pid: number, ms = 5_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

let fx: SoftHsmFixture;
let clients: HsmClient[];
let restarts: string[];

function client(env: NodeJS.ProcessEnv = fx.env, options: HsmClientOptions = {}): HsmClient {
  const c = new HsmClient(nodeHostSpawner(HOST_SCRIPT, env), { ...options, onRestart: (why) => restarts.push(why) });
  clients.push(c);
  return c;
}

const withHooks = () => ({ ...fx.env, CUSTOS_HSM_TEST_HOOKS: '1' });

beforeEach(() => {
  requireBuild();
  fx = softhsm('custos-hsm-client-');
  clients = [];
  restarts = [];
});

afterEach(async () => {
  for (const c of clients) await c.close();
  fx.cleanup();
});

describe('HsmClient against SoftHSM2: modules and tokens', () => {
  it('load returns the library info', async () => {
    const c = client();
    const info = await c.call('load', { path: SOFTHSM_MODULE });
    expect(info.manufacturer).toBe('SoftHSM');
    expect(info.description).toBe('Implementation of PKCS11');
    expect(info.version).toMatch(/^\d+\.\d+$/);
    expect(info.cryptokiVersion).toMatch(/^2\.\d+$|^3\.\d+$/);
    // A second load of the same path is answered from the loaded module, not re-initialised.
    expect(await c.call('load', { path: SOFTHSM_MODULE })).toEqual(info);
  });

  it('slots lists the token by label, with its flags, and the free slot SoftHSM offers', async () => {
    fx.initToken('Alpha', { so: SO_PIN, user: USER_PIN });
    const c = client();
    const slots = await c.call('slots', { path: SOFTHSM_MODULE });
    const alpha = byLabel(slots, 'Alpha');
    expect(alpha?.token).toMatchObject({ label: 'Alpha', manufacturer: 'SoftHSM project', loggedIn: null });
    expect(alpha!.token!.serial).toMatch(/^[0-9a-f]{16}$/);
    expect(alpha!.token!.flags & CKF_TOKEN_INITIALIZED).toBe(CKF_TOKEN_INITIALIZED);
    expect(alpha!.token!.flags & CKF_USER_PIN_INITIALIZED).toBe(CKF_USER_PIN_INITIALIZED);
    expect(alpha!.token!.flags & CKF_LOGIN_REQUIRED).toBe(CKF_LOGIN_REQUIRED);
    expect(alpha!.slotId).toMatch(/^[0-9a-f]+$/);
    // SoftHSM always keeps one uninitialised token for C_InitToken.
    const free = slots.filter((s) => s.token && (s.token.flags & CKF_TOKEN_INITIALIZED) === 0);
    expect(free).toHaveLength(1);
    expect(slots).toHaveLength(2);
  });

  it('login with a wrong PIN fails with PIN_INCORRECT, and the PIN is not echoed', async () => {
    fx.initToken('Alpha', { so: SO_PIN, user: USER_PIN });
    const c = client();
    const e = await failure(c.call('login', { path: SOFTHSM_MODULE, token: 'Alpha', role: 'user', pin: '000999' }));
    expect(e.code).toBe('PIN_INCORRECT');
    expect(e.details).toMatchObject({ ckr: 'CKR_PIN_INCORRECT', function: 'C_Login' });
    expect(JSON.stringify(e)).not.toContain('000999');
    // The failed attempt left no login behind.
    expect(byLabel(await c.call('slots', { path: SOFTHSM_MODULE }), 'Alpha')?.token?.loggedIn).toBeNull();
  });

  it('login with the right PIN gives loggedIn user; logout gives null', async () => {
    fx.initToken('Alpha', { so: SO_PIN, user: USER_PIN });
    const c = client();
    const after = await c.call('login', { path: SOFTHSM_MODULE, token: 'Alpha', role: 'user', pin: USER_PIN });
    expect(after.token?.label).toBe('Alpha');
    expect(after.token?.loggedIn).toBe('user');
    expect(byLabel(await c.call('slots', { path: SOFTHSM_MODULE }), 'Alpha')?.token?.loggedIn).toBe('user');
    // Logging in again while logged in is not an error (CKR_USER_ALREADY_LOGGED_IN is absorbed).
    expect((await c.call('login', { path: SOFTHSM_MODULE, token: 'Alpha', role: 'user', pin: USER_PIN })).token?.loggedIn).toBe('user');
    const out = await c.call('logout', { path: SOFTHSM_MODULE, token: 'Alpha' });
    expect(out.token?.loggedIn).toBeNull();
    expect(byLabel(await c.call('slots', { path: SOFTHSM_MODULE }), 'Alpha')?.token?.loggedIn).toBeNull();
  });

  it('selects the token by PKCS#11 URI and logs in as SO', async () => {
    fx.initToken('Alpha', { so: SO_PIN, user: USER_PIN });
    fx.initToken('Beta', { so: SO_PIN, user: USER_PIN });
    const c = client();
    const beta = byLabel(await c.call('slots', { path: SOFTHSM_MODULE }), 'Beta')!.token!;
    const after = await c.call('login', { path: SOFTHSM_MODULE, token: tokenUri(beta), role: 'so', pin: SO_PIN });
    expect(after.token).toMatchObject({ label: 'Beta', serial: beta.serial, loggedIn: 'so' });
    const slots = await c.call('slots', { path: SOFTHSM_MODULE });
    expect(byLabel(slots, 'Alpha')?.token?.loggedIn).toBeNull();
    // A URI that matches both tokens (same manufacturer and model) is refused rather than guessed.
    const both = await failure(c.call('login', { path: SOFTHSM_MODULE, token: 'pkcs11:manufacturer=SoftHSM%20project', role: 'user', pin: USER_PIN }));
    expect(both.code).toBe('TOKEN_AMBIGUOUS');
  });

  it('load of a missing path fails with MODULE_NOT_FOUND', async () => {
    const e = await failure(client().call('load', { path: join(fx.dir, 'missing-pkcs11.so') }));
    expect(e.code).toBe('MODULE_NOT_FOUND');
    expect(e.details?.path).toBe(join(fx.dir, 'missing-pkcs11.so'));
  });

  it('load of an ELF library that is not a PKCS#11 module fails with MODULE_INVALID', async () => {
    const e = await failure(client().call('load', { path: LIBZ }));
    expect(e.code).toBe('MODULE_INVALID');
    expect(String(e.details?.loader)).toContain('C_GetFunctionList');
  });

  it('load of a text file fails with MODULE_INVALID', async () => {
    const short = join(fx.dir, 'short.so');
    writeFileSync(short, 'not a library\n');
    const long = join(fx.dir, 'long.so');
    writeFileSync(long, '#!/bin/sh\n' + 'echo this is a shell script, not a shared object\n'.repeat(20));
    const c = client();
    expect((await failure(c.call('load', { path: short }))).code).toBe('MODULE_INVALID'); // "file too short"
    expect((await failure(c.call('load', { path: long }))).code).toBe('MODULE_INVALID'); // "invalid ELF header"
  });

  it('load of a directory fails with MODULE_INVALID', async () => {
    expect((await failure(client().call('load', { path: fx.dir }))).code).toBe('MODULE_INVALID');
  });

  it('SoftHSM whose SOFTHSM2_CONF does not exist fails C_Initialize: MODULE_INIT_FAILED', async () => {
    const c = client({ ...fx.env, SOFTHSM2_CONF: join(fx.dir, 'no-such.conf') });
    const e = await failure(c.call('load', { path: SOFTHSM_MODULE }));
    expect(e.code).toBe('MODULE_INIT_FAILED');
    expect(e.details).toMatchObject({ path: SOFTHSM_MODULE, ckr: 'CKR_GENERAL_ERROR', function: 'C_Initialize' });
    expect(e.message).toContain('CKR_GENERAL_ERROR');
    // The failed module is not kept: every later use reports the same failure.
    expect((await failure(c.call('slots', { path: SOFTHSM_MODULE }))).code).toBe('MODULE_INIT_FAILED');
    // The host itself is still fine.
    expect((await c.call('ping', {})).pid).toBeGreaterThan(0);
  });

  it('SoftHSM with an empty token directory still offers one free, uninitialised slot (no NO_SLOTS)', async () => {
    // Observed with SoftHSM 2.6: C_GetSlotList always returns at least the slot that holds the
    // uninitialised token used by C_InitToken, so "no slots at all" cannot be produced with SoftHSM.
    const slots = await client().call('slots', { path: SOFTHSM_MODULE });
    expect(slots).toHaveLength(1);
    const [free] = slots;
    expect(free!.flags & 0x1).toBe(0x1); // CKF_TOKEN_PRESENT
    expect(free!.token).not.toBeNull();
    expect(free!.token!.label).toBe('');
    expect(free!.token!.flags & CKF_TOKEN_INITIALIZED).toBe(0);
  });

  it('token removed between listing and login: login fails with TOKEN_ABSENT', async () => {
    fx.initToken('Alpha', { so: SO_PIN, user: USER_PIN });
    const c = client();
    expect(byLabel(await c.call('slots', { path: SOFTHSM_MODULE }), 'Alpha')).toBeDefined();
    // SoftHSM keeps each token in its own subdirectory of the token directory.
    const tokensDir = join(fx.dir, 'tokens');
    const dirs = readdirSync(tokensDir);
    expect(dirs).toHaveLength(1);
    rmSync(join(tokensDir, dirs[0]!), { recursive: true, force: true });

    // SoftHSM still lists the slot but C_GetTokenInfo now returns CKR_GENERAL_ERROR; the host's
    // findToken skips it, so login reports the token as absent.
    const e = await failure(c.call('login', { path: SOFTHSM_MODULE, token: 'Alpha', role: 'user', pin: USER_PIN }));
    expect(e.code).toBe('TOKEN_ABSENT');
    expect(JSON.stringify(e)).not.toContain(USER_PIN);

    // After unload + load SoftHSM rescans its token directory: only the free slot is left.
    expect(await c.call('unload', { path: SOFTHSM_MODULE })).toEqual({ unloaded: true });
    const slots = await c.call('slots', { path: SOFTHSM_MODULE });
    expect(byLabel(slots, 'Alpha')).toBeUndefined();
    expect(slots).toHaveLength(1);
    const again = await failure(c.call('login', { path: SOFTHSM_MODULE, token: 'Alpha', role: 'user', pin: USER_PIN }));
    expect(again.code).toBe('TOKEN_ABSENT');
  });

  it('a token removed while loaded does not hide the other tokens of the module', async () => {
    fx.initToken('Alpha', { so: SO_PIN, user: USER_PIN });
    fx.initToken('Beta', { so: SO_PIN, user: USER_PIN });
    const c = client();
    expect(await c.call('slots', { path: SOFTHSM_MODULE })).toHaveLength(3);
    const tokensDir = join(fx.dir, 'tokens');
    // SoftHSM names a token's directory by a UUID, not by label/serial: remove exactly one.
    const dirs = readdirSync(tokensDir);
    expect(dirs).toHaveLength(2);
    rmSync(join(tokensDir, dirs[0]!), { recursive: true, force: true });
    const slots = await c.call('slots', { path: SOFTHSM_MODULE }); // today: rejects with DEVICE_ERROR
    const labels = slots.map((x) => x.token?.label).filter((l) => l === 'Alpha' || l === 'Beta');
    expect(labels).toHaveLength(1);
  });

  it('token removed while loaded: the remaining token still logs in, the removed one is TOKEN_ABSENT', async () => {
    fx.initToken('Alpha', { so: SO_PIN, user: USER_PIN });
    fx.initToken('Beta', { so: SO_PIN, user: USER_PIN });
    const c = client();
    expect(await c.call('slots', { path: SOFTHSM_MODULE })).toHaveLength(3);
    const tokensDir = join(fx.dir, 'tokens');
    rmSync(join(tokensDir, readdirSync(tokensDir)[0]!), { recursive: true, force: true });
    const results = await Promise.allSettled(
      ['Alpha', 'Beta'].map((label) => c.call('login', { path: SOFTHSM_MODULE, token: label, role: 'user', pin: USER_PIN })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect((rejected?.reason as CustosError).appError.code).toBe('TOKEN_ABSENT');
  });

  it('a wrong PIN is rejected even while the token is already logged in', async () => {
    fx.initToken('Alpha', { so: SO_PIN, user: USER_PIN });
    const c = client();
    await c.call('login', { path: SOFTHSM_MODULE, token: 'Alpha', role: 'user', pin: USER_PIN });
    const e = await failure(c.call('login', { path: SOFTHSM_MODULE, token: 'Alpha', role: 'user', pin: '000999' })); // today: resolves
    expect(e.code).toBe('PIN_INCORRECT');
  });

  it('logging in as SO while logged in as user → ALREADY_LOGGED_IN', async () => {
    fx.initToken('Alpha', { so: SO_PIN, user: USER_PIN });
    const c = client();
    await c.call('login', { path: SOFTHSM_MODULE, token: 'Alpha', role: 'user', pin: USER_PIN });
    const e = await failure(c.call('login', { path: SOFTHSM_MODULE, token: 'Alpha', role: 'so', pin: SO_PIN }));
    expect(e.code).toBe('ALREADY_LOGGED_IN');
    expect(e.details).toMatchObject({ ckr: 'CKR_USER_ANOTHER_ALREADY_LOGGED_IN' });
    expect(JSON.stringify(e)).not.toContain(SO_PIN);
    // The user login is kept.
    expect(byLabel(await c.call('slots', { path: SOFTHSM_MODULE }), 'Alpha')?.token?.loggedIn).toBe('user');
  });

  it('unloading one path of a library does not break another path to the same library', async () => {
    const alias = realpathSync(SOFTHSM_MODULE);
    expect(alias).not.toBe(SOFTHSM_MODULE); // /usr/lib/softhsm/libsofthsm2.so is a symlink
    fx.initToken('Alpha', { so: SO_PIN, user: USER_PIN });
    const c = client();
    await c.call('load', { path: SOFTHSM_MODULE });
    await c.call('load', { path: alias });
    await c.call('login', { path: SOFTHSM_MODULE, token: 'Alpha', role: 'user', pin: USER_PIN });
    await c.call('unload', { path: alias });
    // today: rejects with FUNCTION_FAILED (CKR_CRYPTOKI_NOT_INITIALIZED)
    expect(byLabel(await c.call('slots', { path: SOFTHSM_MODULE }), 'Alpha')?.token?.loggedIn).toBe('user');
  });

  it('unload of a module that was never loaded reports unloaded: false', async () => {
    expect(await client().call('unload', { path: SOFTHSM_MODULE })).toEqual({ unloaded: false });
  });
});

describe('HsmClient: host failures', () => {
  it('host crash: the call fails with HSM_HOST_CRASHED and the next call runs on a fresh host', async () => {
    fx.initToken('Alpha', { so: SO_PIN, user: USER_PIN });
    const c = client(withHooks());
    const first = await c.call('ping', {});
    expect(c.hostGeneration).toBe(1);
    await c.call('login', { path: SOFTHSM_MODULE, token: 'Alpha', role: 'user', pin: USER_PIN });

    const e = await failure(c.call('test.crash', {}));
    expect(e.code).toBe('HSM_HOST_CRASHED');
    expect(e.details).toMatchObject({ exit: 'signal SIGSEGV' });
    expect(await waitDead(first.pid)).toBe(true);
    expect(restarts).toEqual(['signal SIGSEGV']);

    const second = await c.call('ping', {});
    expect(second.pid).not.toBe(first.pid);
    expect(c.hostGeneration).toBe(2);
    // A login does not survive the host: the new host is logged in to nothing.
    expect(byLabel(await c.call('slots', { path: SOFTHSM_MODULE }), 'Alpha')?.token?.loggedIn).toBeNull();
  });

  it('host crash: a concurrent pending call also fails with HSM_HOST_CRASHED', async () => {
    const c = client(withHooks());
    await c.call('ping', {});
    const crash = failure(c.call('test.crash', {}));
    const pendingPing = failure(c.call('ping', {}));
    const pendingSlots = failure(c.call('slots', { path: SOFTHSM_MODULE }));
    const [a, b, d] = await Promise.all([crash, pendingPing, pendingSlots]);
    expect([a.code, b.code, d.code]).toEqual(['HSM_HOST_CRASHED', 'HSM_HOST_CRASHED', 'HSM_HOST_CRASHED']);
    expect((await c.call('ping', {})).pid).toBeGreaterThan(0);
    expect(c.hostGeneration).toBe(2);
  });

  it('a long first call (a login at a PIN pad) is not cut short by the shared-arena set-up queued behind it', async () => {
    const c = client(withHooks());
    // The first call starts the host; the arena set-up sends arenaCreate before it and arenaMapped
    // after arenaCreate's answer, i.e. behind this call. A set-up timeout shorter than the call
    // (10 s, until it was fixed) killed the host in the middle of it.
    const done = await c.call('test.hang', { ms: 11_000 }, { timeoutMs: 30_000 });
    expect(done).toEqual({ done: true });
    expect(restarts).toEqual([]);
    expect(c.hostGeneration).toBe(1);
    expect((await c.call('ping', {})).arena).toBe(true);
  }, 40_000);

  it('host hang: HSM_TIMEOUT after the call timeout, the hung host is killed, ping works on a fresh host', async () => {
    const c = client(withHooks());
    const first = await c.call('ping', {});
    const started = Date.now();
    const hang = failure(c.call('test.hang', { ms: 5_000 }, { timeoutMs: 500 }));
    const queued = failure(c.call('ping', {}, { timeoutMs: 30_000 }));
    const e = await hang;
    const elapsed = Date.now() - started;
    expect(e.code).toBe('HSM_TIMEOUT');
    expect(e.details).toMatchObject({ operation: 'test.hang', timeoutMs: 500 });
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(4_000);
    // The call queued behind the hung one fails too, with a message that says why.
    const q = await queued;
    expect(q.code).toBe('HSM_TIMEOUT');
    expect(q.message).toMatch(/hung/);
    expect(await waitDead(first.pid, 2_000)).toBe(true);
    expect(restarts).toEqual(['timeout']);

    const second = await c.call('ping', {});
    expect(second.pid).not.toBe(first.pid);
    expect(c.hostGeneration).toBe(2);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('the client-wide timeoutMs option applies to calls without their own timeout', async () => {
    const c = client(withHooks(), { timeoutMs: 300 });
    // Starting a host can take longer than 300 ms on a loaded machine: that first call gets its own.
    await c.call('ping', {}, { timeoutMs: 30_000 });
    const e = await failure(c.call('test.hang', { ms: 3_000 }));
    expect(e.code).toBe('HSM_TIMEOUT');
    expect(e.details).toMatchObject({ timeoutMs: 300 });
  });

  it('host killed from outside: pending calls fail with HSM_HOST_CRASHED, then a fresh host answers', async () => {
    const c = client(withHooks());
    const { pid } = await c.call('ping', {});
    const pending = [
      failure(c.call('test.hang', { ms: 3_000 }, { timeoutMs: 30_000 })),
      failure(c.call('ping', {}, { timeoutMs: 30_000 })),
    ];
    await new Promise((r) => setTimeout(r, 100)); // the host is now spinning in test.hang
    process.kill(pid, 'SIGKILL');
    const errors = await Promise.all(pending);
    for (const e of errors) {
      expect(e.code).toBe('HSM_HOST_CRASHED');
      expect(e.details).toMatchObject({ exit: 'signal SIGKILL' });
    }
    expect(restarts).toEqual(['signal SIGKILL']);
    const next = await c.call('ping', {});
    expect(next.pid).not.toBe(pid);
    expect(c.hostGeneration).toBe(2);
  });

  it('test hooks are refused unless CUSTOS_HSM_TEST_HOOKS=1', async () => {
    const c = client();
    const { pid } = await c.call('ping', {});
    const e = await failure(c.call('test.crash', {}));
    expect(e.code).toBe('INTERNAL');
    expect((await c.call('ping', {})).pid).toBe(pid);
    expect(c.hostGeneration).toBe(1);
  });

  it('close() finalizes, stops the host, and later calls are refused', async () => {
    fx.initToken('Alpha', { so: SO_PIN, user: USER_PIN });
    const c = client();
    const { pid } = await c.call('ping', {});
    await c.call('login', { path: SOFTHSM_MODULE, token: 'Alpha', role: 'user', pin: USER_PIN });
    await c.close();
    expect(await waitDead(pid)).toBe(true);
    const e = await failure(c.call('ping', {}));
    expect(e.code).toBe('HSM_HOST_CRASHED');
    expect(restarts).toEqual([]);
    // close() is idempotent.
    await c.close();
  });

  it('close() does not wait for a hung host longer than its finalize timeout', async () => {
    const c = client(withHooks());
    const { pid } = await c.call('ping', {});
    const hang = failure(c.call('test.hang', { ms: 20_000 }, { timeoutMs: 60_000 }));
    const started = Date.now();
    await c.close();
    expect(Date.now() - started).toBeLessThan(8_000);
    expect((await hang).code).toMatch(/^HSM_(TIMEOUT|HOST_CRASHED)$/);
    expect(await waitDead(pid)).toBe(true);
  });
});
