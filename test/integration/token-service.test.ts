// TokenService (through createServices, with the real HSM host) and the IPC dispatcher, using the
// SoftHSM2 demo environment in a temporary data folder.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import { createDispatcher, type CallContext, type Dispatch, type Handlers } from '../../electron/ipc/handle';
import { createHandlers, createServices, type Services } from '../../electron/services/index';
import { demoEnvironment } from '../../electron/services/demo';
import { DEMO_TOKEN_LABEL, type AppInfo, type SlotEntry, type TokenListing } from '../../shared/contract';
import { CustosError, type AppError, type Result } from '../../shared/result';
import { HOST_SCRIPT, requireBuild, SOFTHSM_MODULE } from '../helpers/softhsm';

const LIBZ = '/usr/lib/x86_64-linux-gnu/libz.so.1';
const SO_PIN = '86420975';
const USER_PIN = '517293';
const WRONG_PIN = '904417';
const TRUSTED: CallContext = { senderUrl: 'https://custos.preview/index.html' };

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CustosError);
    return (e as CustosError).appError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

let savedConf: string | undefined;
let dataDir: string;
let opened: Services[];

function open(): Services {
  const s = createServices({ dataDir, shell: 'cli', spawnHost: (env) => nodeHostSpawner(HOST_SCRIPT, env) });
  opened.push(s);
  return s;
}

const configFile = () => join(dataDir, 'config.json');
const readConfigText = () => (existsSync(configFile()) ? readFileSync(configFile(), 'utf8') : null);
const demoSlot = (l: TokenListing) => l.slots.find((s) => s.token?.label === DEMO_TOKEN_LABEL);

beforeEach(() => {
  requireBuild();
  savedConf = process.env.SOFTHSM2_CONF;
  delete process.env.SOFTHSM2_CONF;
  dataDir = mkdtempSync(join(tmpdir(), 'custos-tokens-'));
  opened = [];
});

afterEach(async () => {
  for (const s of opened) await s.close();
  if (savedConf === undefined) delete process.env.SOFTHSM2_CONF;
  else process.env.SOFTHSM2_CONF = savedConf;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('TokenService with the SoftHSM2 demo environment', () => {
  it('the demo environment is available and its files are prepared in the data folder', () => {
    const s = open();
    expect(s.demo).toMatchObject({ available: true, module: SOFTHSM_MODULE });
    expect(s.demo.confFile.startsWith(dataDir)).toBe(true);
    expect(readFileSync(s.demo.confFile, 'utf8')).toContain(`directories.tokendir = ${s.demo.tokenDir}`);
    expect(existsSync(s.demo.tokenDir)).toBe(true);
  });

  it('before the demo exists nothing is loaded and no slots are listed', async () => {
    const s = open();
    const l = await s.tokens.listing();
    expect(l.slots).toEqual([]);
    expect(l.modules.filter((m) => m.enabled)).toEqual([]);
    expect(s.hsm.hostGeneration).toBe(0);
  });

  it('createDemo creates the "Custos demo" token; the listing shows it with demo: true and its flags', async () => {
    const s = open();
    const created = await s.tokens.createDemo(SO_PIN, USER_PIN);
    expect(created.module).toBe(SOFTHSM_MODULE);
    expect(created.token).toMatchObject({ label: DEMO_TOKEN_LABEL, demo: true, loggedIn: null });
    expect(created.token!.flags).toMatchObject({ initialized: true, userPinInitialized: true, loginRequired: true });
    expect(JSON.parse(readConfigText()!)).toMatchObject({ version: 1, demo: true, modules: [] });

    const l = await s.tokens.listing();
    const demoModule = l.modules.find((m) => m.source === 'demo');
    expect(demoModule).toMatchObject({ path: SOFTHSM_MODULE, enabled: true, status: 'loaded', name: 'SoftHSM2 (demo token)' });
    expect(demoModule!.library?.manufacturer).toBe('SoftHSM');
    // Only the demo token: SoftHSM's free, uninitialised slot is hidden for the demo module.
    expect(l.slots).toHaveLength(1);
    const slot = demoSlot(l)!;
    expect(slot.token).toMatchObject({ label: DEMO_TOKEN_LABEL, demo: true, serial: created.token!.serial });
    expect(slot.token!.flags).toMatchObject({ initialized: true, userPinInitialized: true, userPinLocked: false, userPinCountLow: false });
    expect(slot.token!.uri).toContain('token=Custos%20demo');
    expect(slot.token!.uri).toContain(`serial=${created.token!.serial}`);
    // The p11-kit entry for the same SoftHSM library (another path to the same file) is not offered twice.
    expect(l.modules.filter((m) => m.source === 'p11-kit' && m.path.endsWith('libsofthsm2.so'))).toEqual([]);
  });

  it('the demo token survives a restart of the services (same data folder)', async () => {
    await open().tokens.createDemo(SO_PIN, USER_PIN);
    await opened[0]!.close();
    const again = open();
    expect(demoSlot(await again.tokens.listing())?.token?.demo).toBe(true);
  });

  it('wrong PIN → PIN_INCORRECT with details.triesLeft "low"; the right PIN then logs in as user', async () => {
    const s = open();
    await s.tokens.createDemo(SO_PIN, USER_PIN);
    const uri = demoSlot(await s.tokens.listing())!.token!.uri;
    const e = await failure(s.tokens.login(SOFTHSM_MODULE, uri, WRONG_PIN, 'user'));
    expect(e.code).toBe('PIN_INCORRECT');
    expect(e.details).toMatchObject({ ckr: 'CKR_PIN_INCORRECT', triesLeft: 'low' });
    expect(e.message).toMatch(/few tries remain/);
    expect(JSON.stringify(e)).not.toContain(WRONG_PIN);
    expect(demoSlot(await s.tokens.listing())!.token!.flags.userPinCountLow).toBe(true);

    const ok = await s.tokens.login(SOFTHSM_MODULE, uri, USER_PIN, 'user');
    expect(ok.token).toMatchObject({ label: DEMO_TOKEN_LABEL, loggedIn: 'user', demo: true });
    const after = demoSlot(await s.tokens.listing())!.token!;
    expect(after.loggedIn).toBe('user');
    expect(after.flags.userPinCountLow).toBe(false); // a correct PIN resets SoftHSM's counter

    const out = await s.tokens.logout(SOFTHSM_MODULE, uri);
    expect(out.token?.loggedIn).toBeNull();
  });

  it('a PIN outside the token\'s ulMinPinLen/ulMaxPinLen → PIN_LEN_RANGE before C_Login: no try is used', async () => {
    const s = open();
    await s.tokens.createDemo(SO_PIN, USER_PIN);
    const token = demoSlot(await s.tokens.listing())!.token!;
    expect([token.minPinLength, token.maxPinLength]).toEqual([4, 255]); // SoftHSM's limits
    for (const [pin, role] of [['123', 'user'], ['9'.repeat(256), 'user'], ['12', 'so']] as const) {
      const e = await failure(s.tokens.login(SOFTHSM_MODULE, token.uri, pin, role));
      expect(e).toMatchObject({ code: 'PIN_LEN_RANGE', details: { minPinLength: 4, maxPinLength: 255 } });
      expect(e.message).toMatch(/4 to 255 characters; the one given has \d+/);
      expect(e.action).toMatch(/No attempt was used/);
    }
    // SoftHSM sets CKF_USER_PIN_COUNT_LOW after any failed C_Login: it was never called.
    expect(demoSlot(await s.tokens.listing())!.token!.flags.userPinCountLow).toBe(false);
    // A new PIN of the wrong length is refused too, and the old PIN still works.
    expect((await failure(s.tokens.changePin(SOFTHSM_MODULE, token.uri, USER_PIN, '12', 'user'))).code).toBe('PIN_LEN_RANGE');
    expect((await s.tokens.login(SOFTHSM_MODULE, token.uri, USER_PIN, 'user')).token?.loggedIn).toBe('user');
  });

  it('the token can also be named by label, and the SO can log in', async () => {
    const s = open();
    await s.tokens.createDemo(SO_PIN, USER_PIN);
    const so = await s.tokens.login(SOFTHSM_MODULE, DEMO_TOKEN_LABEL, SO_PIN, 'so');
    expect(so.token?.loggedIn).toBe('so');
    expect((await s.tokens.logout(SOFTHSM_MODULE, DEMO_TOKEN_LABEL)).token?.loggedIn).toBeNull();
  });

  it('creating the demo twice → DEMO_UNAVAILABLE', async () => {
    const s = open();
    await s.tokens.createDemo(SO_PIN, USER_PIN);
    const e = await failure(s.tokens.createDemo(SO_PIN, USER_PIN));
    expect(e.code).toBe('DEMO_UNAVAILABLE');
    expect(e.message).toMatch(/already exists/);
    // Still exactly one demo token.
    expect((await s.tokens.listing()).slots.filter((x) => x.token?.label === DEMO_TOKEN_LABEL)).toHaveLength(1);
  });

  it('createDemo never makes a second demo token when config.json lost demo: true', async () => {
    const first = open();
    await first.tokens.createDemo(SO_PIN, USER_PIN);
    await first.close();
    writeFileSync(configFile(), JSON.stringify({ version: 1, modules: [], demo: false }));
    const s = open();
    const e = await failure(s.tokens.createDemo(SO_PIN, USER_PIN)); // today: TOKEN_AMBIGUOUS
    expect(e.code).toBe('DEMO_UNAVAILABLE');
    expect(readdirSync(s.demo.tokenDir)).toHaveLength(1); // today: 2 token folders
  });

  it('createDemo refuses PINs shorter than 4 characters before touching SoftHSM', async () => {
    const s = open();
    expect((await failure(s.tokens.createDemo('123', USER_PIN))).code).toBe('PIN_LEN_RANGE');
    expect((await failure(s.tokens.createDemo(SO_PIN, '12'))).code).toBe('PIN_LEN_RANGE');
    expect(readConfigText()).toBeNull();
  });

  it('login or logout via a module that is not configured → MODULE_NOT_CONFIGURED, and nothing is loaded', async () => {
    const s = open();
    const e = await failure(s.tokens.login(SOFTHSM_MODULE, 'pkcs11:token=Custos%20demo', USER_PIN, 'user'));
    expect(e.code).toBe('MODULE_NOT_CONFIGURED');
    expect(e.details).toMatchObject({ module: SOFTHSM_MODULE });
    expect((await failure(s.tokens.login(LIBZ, 'pkcs11:token=x', USER_PIN, 'user'))).code).toBe('MODULE_NOT_CONFIGURED');
    expect((await failure(s.tokens.logout(LIBZ, 'pkcs11:token=x'))).code).toBe('MODULE_NOT_CONFIGURED');
    // The renderer cannot make main load an arbitrary library: the host was never started.
    expect(s.hsm.hostGeneration).toBe(0);
  });

  it('addModule of a missing file → MODULE_NOT_FOUND and the configuration is unchanged', async () => {
    const s = open();
    const e = await failure(s.tokens.addModule('/nonexistent.so'));
    expect(e.code).toBe('MODULE_NOT_FOUND');
    expect(readConfigText()).toBeNull();
    // Also when a configuration exists already.
    await s.tokens.createDemo(SO_PIN, USER_PIN);
    const before = readConfigText();
    expect((await failure(s.tokens.addModule('/nonexistent.so'))).code).toBe('MODULE_NOT_FOUND');
    expect(readConfigText()).toBe(before);
  });

  it('addModule of libz (an ELF library without PKCS#11) → MODULE_INVALID and the configuration is unchanged', async () => {
    const s = open();
    writeFileSync(configFile(), JSON.stringify({ version: 1, modules: [], demo: false }));
    const before = readConfigText();
    const e = await failure(s.tokens.addModule(LIBZ));
    expect(e.code).toBe('MODULE_INVALID');
    expect(readConfigText()).toBe(before);
    expect(s.tokens.enabledModules()).toEqual([]);
  });

  it('addModule of a text file or a directory → MODULE_INVALID and the configuration is unchanged', async () => {
    const s = open();
    const text = join(dataDir, 'fake.so');
    writeFileSync(text, 'not a library\n');
    expect((await failure(s.tokens.addModule(text))).code).toBe('MODULE_INVALID');
    expect((await failure(s.tokens.addModule(dataDir))).code).toBe('MODULE_INVALID');
    expect(readConfigText()).toBeNull();
  });

  it('addModule of SoftHSM saves it once; removeModule forgets it', async () => {
    const s = open();
    const added = await s.tokens.addModule(SOFTHSM_MODULE);
    expect(added).toMatchObject({ path: SOFTHSM_MODULE, source: 'configured', status: 'loaded' });
    await s.tokens.addModule(SOFTHSM_MODULE);
    expect(JSON.parse(readConfigText()!).modules).toEqual([SOFTHSM_MODULE]);
    const l = await s.tokens.listing();
    expect(l.modules.find((m) => m.path === SOFTHSM_MODULE)).toMatchObject({ source: 'configured', status: 'loaded' });
    expect(await s.tokens.removeModule(SOFTHSM_MODULE)).toEqual({ removed: true });
    expect(await s.tokens.removeModule(SOFTHSM_MODULE)).toEqual({ removed: false });
    expect(JSON.parse(readConfigText()!).modules).toEqual([]);
  });

  it('demoEnvironment with SOFTHSM2_CONF set to another file → available false, with a reason', () => {
    const other = demoEnvironment(dataDir, { SOFTHSM2_CONF: '/etc/softhsm/softhsm2.conf' });
    expect(other.available).toBe(false);
    expect(other.reason).toMatch(/SOFTHSM2_CONF is set \(\/etc\/softhsm\/softhsm2\.conf\)/);
    // SOFTHSM2_CONF that already points at the demo configuration is fine.
    const same = demoEnvironment(dataDir, { SOFTHSM2_CONF: join(dataDir, 'demo-softhsm', 'softhsm2.conf') });
    expect(same.available).toBe(true);
    expect(demoEnvironment(dataDir, {}).available).toBe(true);
  });

  it('services started with SOFTHSM2_CONF set elsewhere: no demo files, createDemo → DEMO_UNAVAILABLE with the reason', async () => {
    process.env.SOFTHSM2_CONF = join(dataDir, 'elsewhere.conf');
    const s = open();
    expect(s.demo.available).toBe(false);
    expect(s.demo.reason).toContain('elsewhere.conf');
    expect(existsSync(join(dataDir, 'demo-softhsm'))).toBe(false);
    const e = await failure(s.tokens.createDemo(SO_PIN, USER_PIN));
    expect(e.code).toBe('DEMO_UNAVAILABLE');
    expect(e.action).toBe(s.demo.reason);
    const dispatch = createDispatcher(createHandlers(s, 'preview'), { isTrustedSender: () => true });
    const info = (await dispatch('custos:app.info', {}, TRUSTED)) as Result<AppInfo>;
    expect(info.ok && info.value.demo).toMatchObject({ available: false, exists: false, reason: s.demo.reason });
  });
});

describe('IPC dispatcher with hostile payloads', () => {
  let s: Services;
  let dispatch: Dispatch;
  let invoked: string[];

  beforeEach(() => {
    s = open();
    const handlers = createHandlers(s, 'preview');
    invoked = [];
    const spied = Object.fromEntries(
      Object.entries(handlers).map(([name, fn]) => [
        name,
        (input: unknown, ctx: CallContext) => {
          invoked.push(name);
          return (fn as (i: unknown, c: CallContext) => Promise<unknown>)(input, ctx);
        },
      ]),
    ) as unknown as Handlers;
    dispatch = createDispatcher(spied, { isTrustedSender: (ctx) => ctx.senderUrl.startsWith('https://custos.preview/') });
  });

  const errorOf = (r: Result<unknown>): AppError => {
    expect(r.ok).toBe(false);
    return (r as { ok: false; error: AppError }).error;
  };
  const validLogin = () => ({ module: SOFTHSM_MODULE, token: 'pkcs11:token=Custos%20demo', pin: USER_PIN, role: 'user' });

  it('unknown channels → UNKNOWN_METHOD', async () => {
    for (const channel of ['custos:nope', 'tokens.list', 'custos:toString', 'custos:__proto__', 'custos:constructor', '', 42, null, undefined, {}, ['custos:tokens.list']]) {
      expect(errorOf(await dispatch(channel, {}, TRUSTED)).code).toBe('UNKNOWN_METHOD');
    }
    expect(invoked).toEqual([]);
  });

  it('untrusted sender URLs → UNTRUSTED_SENDER and the handler never runs', async () => {
    for (const senderUrl of [
      'https://evil.example/',
      'https://custos.preview.evil.example/',
      'https://custos.preview@evil.example/',
      'http://custos.preview/index.html',
      'file:///work/main/dist/renderer/index.html',
      'about:blank',
      '',
    ]) {
      const r = await dispatch('custos:session.login', validLogin(), { senderUrl });
      const e = errorOf(r);
      expect(e.code).toBe('UNTRUSTED_SENDER');
      expect(JSON.stringify(r)).not.toContain(USER_PIN);
    }
    expect(errorOf(await dispatch('custos:tokens.list', {}, { senderUrl: 'https://evil.example/' })).code).toBe('UNTRUSTED_SENDER');
    expect(invoked).toEqual([]);
    expect(s.hsm.hostGeneration).toBe(0);
  });

  it('non-object payloads → INVALID_INPUT', async () => {
    for (const payload of [null, undefined, [], [validLogin()], 'pin=517293', USER_PIN, 517293, true, 0]) {
      const r = await dispatch('custos:session.login', payload, TRUSTED);
      expect(errorOf(r).code).toBe('INVALID_INPUT');
      expect(JSON.stringify(r)).not.toContain(USER_PIN);
    }
    for (const payload of [null, [], 'x', 1]) {
      expect(errorOf(await dispatch('custos:tokens.list', payload, TRUSTED)).code).toBe('INVALID_INPUT');
    }
    expect(invoked).toEqual([]);
  });

  it('extra keys, wrong types, missing fields and bad values → INVALID_INPUT, never echoing the PIN', async () => {
    const cases: Array<Record<string, unknown>> = [
      { ...validLogin(), extra: 1 },
      { ...validLogin(), pinCopy: USER_PIN },
      { ...validLogin(), pin: Number(USER_PIN) },
      { ...validLogin(), pin: [USER_PIN] },
      { ...validLogin(), pin: { value: USER_PIN } },
      { ...validLogin(), pin: '' },
      { ...validLogin(), pin: `${USER_PIN}\0` },
      { ...validLogin(), pin: USER_PIN.repeat(50) }, // 300 characters
      { ...validLogin(), role: 'admin' },
      { ...validLogin(), role: USER_PIN },
      { ...validLogin(), module: 'libsofthsm2.so' },
      { ...validLogin(), module: `${SOFTHSM_MODULE}\0.txt` },
      { ...validLogin(), token: 'Custos demo' },
      { ...validLogin(), token: 7 },
      { module: SOFTHSM_MODULE, token: 'pkcs11:token=x', pin: USER_PIN },
      { module: SOFTHSM_MODULE, pin: USER_PIN, role: 'user' },
      { pin: USER_PIN },
      {},
    ];
    for (const payload of cases) {
      const r = await dispatch('custos:session.login', payload, TRUSTED);
      const e = errorOf(r);
      expect(e.code, JSON.stringify(Object.keys(payload))).toBe('INVALID_INPUT');
      expect(e.details).toEqual({ method: 'session.login' });
      expect(JSON.stringify(r)).not.toContain(USER_PIN);
    }
    // The message names the field that was wrong.
    expect(errorOf(await dispatch('custos:session.login', { ...validLogin(), pin: '' }, TRUSTED)).message).toContain('pin');
    expect(errorOf(await dispatch('custos:session.login', { ...validLogin(), extra: 1 }, TRUSTED)).message).toContain('extra');
    expect(errorOf(await dispatch('custos:tokens.list', { x: 1 }, TRUSTED)).code).toBe('INVALID_INPUT');
    expect(errorOf(await dispatch('custos:tokens.createDemo', { soPin: SO_PIN }, TRUSTED)).code).toBe('INVALID_INPUT');
    expect(errorOf(await dispatch('custos:modules.add', { path: 42 }, TRUSTED)).code).toBe('INVALID_INPUT');
    expect(invoked).toEqual([]);
  });

  it('a 10 MB PIN is rejected quickly with a short message that does not contain it', async () => {
    const huge = 'Zk9-'.repeat(2_621_440); // 10 MiB
    const started = Date.now();
    const r = await dispatch('custos:session.login', { ...validLogin(), pin: huge }, TRUSTED);
    expect(Date.now() - started).toBeLessThan(2_000);
    const e = errorOf(r);
    expect(e.code).toBe('INVALID_INPUT');
    const text = JSON.stringify(r);
    expect(text.length).toBeLessThan(1_000);
    expect(text).not.toContain('Zk9-Zk9-');
    const r2 = await dispatch('custos:tokens.createDemo', { soPin: huge, userPin: huge }, TRUSTED);
    expect(errorOf(r2).code).toBe('INVALID_INPUT');
    expect(JSON.stringify(r2)).not.toContain('Zk9-Zk9-');
    expect(invoked).toEqual([]);
  });

  it('prototype-pollution payloads (__proto__ / constructor from JSON.parse) → INVALID_INPUT, nothing polluted', async () => {
    const polluted = [
      `{"__proto__": {"polluted": "yes", "role": "so"}}`,
      `{"module": "${SOFTHSM_MODULE}", "token": "pkcs11:token=x", "pin": "${USER_PIN}", "role": "user", "__proto__": {"polluted": "yes"}}`,
      `{"module": "${SOFTHSM_MODULE}", "token": "pkcs11:token=x", "pin": "${USER_PIN}", "__proto__": {"role": "user"}}`,
      `{"module": "${SOFTHSM_MODULE}", "token": "pkcs11:token=x", "pin": "${USER_PIN}", "role": "user", "constructor": {"prototype": {"polluted": "yes"}}}`,
    ];
    for (const json of polluted) {
      const payload: unknown = JSON.parse(json);
      expect(Object.prototype.hasOwnProperty.call(payload, '__proto__') || Object.prototype.hasOwnProperty.call(payload, 'constructor')).toBe(true);
      const r = await dispatch('custos:session.login', payload, TRUSTED);
      expect(errorOf(r).code, json).toBe('INVALID_INPUT');
      expect(JSON.stringify(r)).not.toContain(USER_PIN);
    }
    const list = await dispatch('custos:tokens.list', JSON.parse('{"__proto__": {"polluted": "yes"}}'), TRUSTED);
    expect(errorOf(list).code).toBe('INVALID_INPUT');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    expect(invoked).toEqual([]);
  });

  it('a valid tokens.list goes through and returns the listing', async () => {
    const r = (await dispatch('custos:tokens.list', {}, TRUSTED)) as Result<TokenListing>;
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.slots).toEqual([]);
    expect(Array.isArray(r.value.modules)).toBe(true);
    expect(invoked).toEqual(['tokens.list']);
  });

  it('valid calls through the dispatcher: create demo, wrong PIN (typed error, no PIN), right PIN', async () => {
    const created = (await dispatch('custos:tokens.createDemo', { soPin: SO_PIN, userPin: USER_PIN }, TRUSTED)) as Result<SlotEntry>;
    expect(created.ok).toBe(true);
    const listed = (await dispatch('custos:tokens.list', {}, TRUSTED)) as Result<TokenListing>;
    const uri = listed.ok ? demoSlot(listed.value)!.token!.uri : '';
    const wrong = await dispatch('custos:session.login', { module: SOFTHSM_MODULE, token: uri, pin: WRONG_PIN, role: 'user' }, TRUSTED);
    expect(errorOf(wrong)).toMatchObject({ code: 'PIN_INCORRECT', details: { triesLeft: 'low' } });
    expect(JSON.stringify(wrong)).not.toContain(WRONG_PIN);
    const right = (await dispatch('custos:session.login', { module: SOFTHSM_MODULE, token: uri, pin: USER_PIN, role: 'user' }, TRUSTED)) as Result<SlotEntry>;
    expect(right.ok && right.value.token?.loggedIn).toBe('user');
    expect(JSON.stringify(right)).not.toContain(USER_PIN);
    const out = (await dispatch('custos:session.logout', { module: SOFTHSM_MODULE, token: uri }, TRUSTED)) as Result<SlotEntry>;
    expect(out.ok && out.value.token?.loggedIn).toBeNull();
    const again = await dispatch('custos:tokens.createDemo', { soPin: SO_PIN, userPin: USER_PIN }, TRUSTED);
    expect(errorOf(again).code).toBe('DEMO_UNAVAILABLE');
  });

  it('typed errors from services come back as data: unconfigured module, missing module file', async () => {
    const r = await dispatch('custos:session.login', validLogin(), TRUSTED);
    expect(errorOf(r).code).toBe('MODULE_NOT_CONFIGURED');
    expect(JSON.stringify(r)).not.toContain(USER_PIN);
    expect(errorOf(await dispatch('custos:modules.add', { path: '/nonexistent.so' }, TRUSTED)).code).toBe('MODULE_NOT_FOUND');
    expect(errorOf(await dispatch('custos:modules.add', { path: LIBZ }, TRUSTED)).code).toBe('MODULE_INVALID');
    expect(readConfigText()).toBeNull();
  });
});
