// The HSM host process. It is the only code that loads pkcs11js and vendor PKCS#11 libraries, so a
// library that segfaults or blocks forever cannot take the app (or an archive write) down with it.
// Runs as an Electron utilityProcess in the app and as a Node child process elsewhere.
import * as pkcs11js from 'pkcs11js';
import { pkcs11Error } from '../../shared/pkcs11-errors';
import { matchesSelector } from '../../shared/pkcs11-uri';
import type { AppError } from '../../shared/result';
import type { HostMethods, HostMethod, HostRequest, HostResponse, RawSlot, RawTokenInfo, RawLibraryInfo } from './protocol';

class HostFailure extends Error {
  constructor(readonly appError: AppError) {
    super(appError.message);
  }
}

const fail = (e: AppError): never => {
  throw new HostFailure(e);
};

interface LoadedModule {
  p11: pkcs11js.PKCS11;
  info: RawLibraryInfo;
  /** One long-lived session per token we are logged in to; login state is per token in PKCS#11. */
  sessions: Map<string, Buffer>;
}

const modules = new Map<string, LoadedModule>();

const trim = (s: string) => s.replace(/[\s\0]+$/, '');
const tokenKey = (t: { label: string; serial: string; model: string; manufacturer: string }) =>
  [t.manufacturer, t.model, t.serial, t.label].join('\u0001');

function p11Failure(e: unknown, fn: string): AppError {
  if (e instanceof HostFailure) return e.appError;
  const err = e as { code?: number; method?: string; message?: string };
  if (typeof err.code === 'number' && err.code > 0) return pkcs11Error(err.code, err.method ?? fn);
  // Some pkcs11js paths (C_FindObjects, C_CreateObject) throw without .code: read the CKR name.
  const name = /CKR_[A-Z0-9_]+/.exec(err.message ?? '')?.[0];
  if (name) return pkcs11Error(name, err.method ?? fn);
  return {
    code: 'FUNCTION_FAILED',
    message: 'The PKCS#11 module failed without saying why.',
    action: 'Try again. If it repeats, restart the app and check the device.',
    details: { function: fn, error: String(err.message ?? e).slice(0, 300) },
  };
}

function loadFailure(path: string, e: unknown): AppError {
  const msg = String((e as Error)?.message ?? e);
  if (/No such file|cannot open shared object/i.test(msg)) {
    return {
      code: 'MODULE_NOT_FOUND',
      message: `There is no PKCS#11 module at ${path}.`,
      action: "Check the path. Vendor modules are usually in /usr/lib or /usr/lib/x86_64-linux-gnu/pkcs11; install the vendor's package if it is missing.",
      details: { path },
    };
  }
  return {
    code: 'MODULE_INVALID',
    message: `The file ${path} is not a PKCS#11 module this computer can load.`,
    action:
      'Choose the PKCS#11 library (.so) that came with your HSM or smartcard, built for this computer (64-bit Linux).',
    details: { path, loader: msg.slice(0, 300) },
  };
}

function describeLibrary(p11: pkcs11js.PKCS11): RawLibraryInfo {
  const i = p11.C_GetInfo();
  return {
    manufacturer: trim(i.manufacturerID),
    description: trim(i.libraryDescription),
    version: `${i.libraryVersion.major}.${i.libraryVersion.minor}`,
    cryptokiVersion: `${i.cryptokiVersion.major}.${i.cryptokiVersion.minor}`,
  };
}

function load(path: string): RawLibraryInfo {
  const existing = modules.get(path);
  if (existing) return existing.info;
  const p11 = new pkcs11js.PKCS11();
  try {
    p11.load(path);
  } catch (e) {
    return fail(loadFailure(path, e));
  }
  try {
    // CKF_OS_LOCKING_OK: without it SoftHSM (and others) turn their locking off and concurrent
    // calls corrupt state. PKCS#11 v2.40 §5.4 C_Initialize.
    p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code !== 0x191 /* CKR_CRYPTOKI_ALREADY_INITIALIZED */) {
      const inner = p11Failure(e, 'C_Initialize');
      try {
        p11.close();
      } catch {
        /* the library refused to initialise; nothing to release */
      }
      return fail({
        code: 'MODULE_INIT_FAILED',
        message: `The PKCS#11 module at ${path} loaded but refused to start (${String(inner.details?.ckr ?? 'no reason given')}).`,
        action:
          "Check the module's own configuration (for SoftHSM2: SOFTHSM2_CONF and its token directory; for vendor modules: their config file and service), then try again.",
        details: { path, ...(inner.details ?? {}) },
      });
    }
  }
  const info = describeLibrary(p11);
  modules.set(path, { p11, info, sessions: new Map() });
  return info;
}

function mod(path: string): LoadedModule {
  return modules.get(path) ?? (load(path), modules.get(path)!);
}

function tokenOf(m: LoadedModule, slot: Buffer): RawTokenInfo {
  const t = m.p11.C_GetTokenInfo(slot);
  const identity = {
    label: trim(t.label),
    manufacturer: trim(t.manufacturerID),
    model: trim(t.model),
    serial: trim(t.serialNumber),
  };
  return {
    ...identity,
    flags: t.flags,
    minPinLength: t.minPinLen,
    maxPinLength: t.maxPinLen,
    loggedIn: sessionRole(m, tokenKey(identity)),
  };
}

// CK_STATE values, PKCS#11 v2.40 §5.6.
const CKS_RO_USER_FUNCTIONS = 1;
const CKS_RW_USER_FUNCTIONS = 3;
const CKS_RW_SO_FUNCTIONS = 4;

function sessionRole(m: LoadedModule, key: string): 'user' | 'so' | null {
  const session = m.sessions.get(key);
  if (!session) return null;
  try {
    const state = m.p11.C_GetSessionInfo(session).state;
    if (state === CKS_RO_USER_FUNCTIONS || state === CKS_RW_USER_FUNCTIONS) return 'user';
    if (state === CKS_RW_SO_FUNCTIONS) return 'so';
    return null;
  } catch {
    // The token went away or was reset: the session (and its login) are gone.
    m.sessions.delete(key);
    return null;
  }
}

function describeSlot(m: LoadedModule, slot: Buffer): RawSlot {
  const s = m.p11.C_GetSlotInfo(slot);
  const present = (s.flags & 0x1) !== 0; // CKF_TOKEN_PRESENT (missing from the typings)
  return {
    slotId: slot.toString('hex'),
    description: trim(s.slotDescription),
    manufacturer: trim(s.manufacturerID),
    flags: s.flags,
    token: present ? tokenOf(m, slot) : null,
  };
}

function slots(path: string): RawSlot[] {
  const m = mod(path);
  let list: Buffer[];
  try {
    list = m.p11.C_GetSlotList(false);
  } catch (e) {
    return fail(p11Failure(e, 'C_GetSlotList'));
  }
  const out: RawSlot[] = [];
  for (const slot of list) {
    try {
      out.push(describeSlot(m, slot));
    } catch (e) {
      // A token pulled out while we list it: report the slot as empty rather than failing the list.
      const f = p11Failure(e, 'C_GetTokenInfo');
      if (f.code !== 'TOKEN_ABSENT') return fail(f);
    }
  }
  return out;
}

function findToken(m: LoadedModule, selector: string): { slot: Buffer; token: RawTokenInfo } {
  const matches: Array<{ slot: Buffer; token: RawTokenInfo }> = [];
  let list: Buffer[];
  try {
    list = m.p11.C_GetSlotList(true);
  } catch (e) {
    return fail(p11Failure(e, 'C_GetSlotList'));
  }
  for (const slot of list) {
    try {
      const token = tokenOf(m, slot);
      if (matchesSelector(selector, token)) matches.push({ slot, token });
    } catch {
      /* removed while we looked: not a match */
    }
  }
  if (matches.length === 0) {
    return fail({
      code: 'TOKEN_ABSENT',
      message: 'That token is not present any more: it was removed or its reader disconnected.',
      action: 'Insert the token, wait until it shows in the list, then try again.',
      details: { selector },
    });
  }
  if (matches.length > 1) {
    return fail({
      code: 'TOKEN_AMBIGUOUS',
      message: `${matches.length} tokens match; the app will not guess which one you meant.`,
      action: 'Select the token by its full PKCS#11 URI (which includes its serial number).',
      details: { selector },
    });
  }
  return matches[0]!;
}

function openSession(m: LoadedModule, slot: Buffer, key: string): Buffer {
  const existing = m.sessions.get(key);
  if (existing) {
    try {
      m.p11.C_GetSessionInfo(existing);
      return existing;
    } catch {
      m.sessions.delete(key);
    }
  }
  try {
    const session = m.p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    m.sessions.set(key, session);
    return session;
  } catch (e) {
    return fail(p11Failure(e, 'C_OpenSession'));
  }
}

function login(params: HostMethods['login']['params']): RawSlot {
  const m = mod(params.path);
  const { slot, token } = findToken(m, params.token);
  const key = tokenKey(token);
  const session = openSession(m, slot, key);
  try {
    m.p11.C_Login(session, params.role === 'so' ? pkcs11js.CKU_SO : pkcs11js.CKU_USER, params.pin);
  } catch (e) {
    const f = p11Failure(e, 'C_Login');
    if (f.details?.ckr !== 'CKR_USER_ALREADY_LOGGED_IN') {
      if (f.code !== 'ALREADY_LOGGED_IN') closeSession(m, key);
      return fail(f);
    }
  }
  return describeSlot(m, slot);
}

function closeSession(m: LoadedModule, key: string): void {
  const session = m.sessions.get(key);
  if (!session) return;
  m.sessions.delete(key);
  try {
    m.p11.C_CloseSession(session);
  } catch {
    /* already closed by the token */
  }
}

function logout(params: HostMethods['logout']['params']): RawSlot {
  const m = mod(params.path);
  const { slot, token } = findToken(m, params.token);
  const key = tokenKey(token);
  const session = m.sessions.get(key);
  if (session) {
    try {
      m.p11.C_Logout(session);
    } catch {
      /* not logged in any more: the goal state already holds */
    }
    closeSession(m, key);
  }
  return describeSlot(m, slot);
}

function initToken(params: HostMethods['initToken']['params']): RawSlot {
  const m = mod(params.path);
  const slot = Buffer.from(params.slotId, 'hex');
  try {
    m.p11.C_InitToken(slot, params.soPin, params.label);
  } catch (e) {
    return fail(p11Failure(e, 'C_InitToken'));
  }
  // SoftHSM moves a freshly initialised token to a new slot id: find it again by label.
  return describeSlot(m, findToken(m, params.label).slot);
}

function initUserPin(params: HostMethods['initUserPin']['params']): RawSlot {
  const m = mod(params.path);
  const { slot, token } = findToken(m, params.token);
  const key = tokenKey(token);
  const session = openSession(m, slot, key);
  try {
    m.p11.C_Login(session, pkcs11js.CKU_SO, params.soPin);
    m.p11.C_InitPIN(session, params.userPin);
  } catch (e) {
    closeSession(m, key);
    return fail(p11Failure(e, 'C_InitPIN'));
  }
  try {
    m.p11.C_Logout(session);
  } finally {
    closeSession(m, key);
  }
  return describeSlot(m, slot);
}

function unload(path: string): { unloaded: boolean } {
  const m = modules.get(path);
  if (!m) return { unloaded: false };
  for (const key of [...m.sessions.keys()]) closeSession(m, key);
  try {
    m.p11.C_Finalize();
  } catch {
    /* finalising a library that lost its device still releases our handle below */
  }
  try {
    m.p11.close();
  } catch {
    /* ignore */
  }
  modules.delete(path);
  return { unloaded: true };
}

function finalizeAll(): { finalized: number } {
  let n = 0;
  for (const path of [...modules.keys()]) if (unload(path).unloaded) n++;
  return { finalized: n };
}

const testHooks = process.env.CUSTOS_HSM_TEST_HOOKS === '1';

async function run(req: HostRequest): Promise<unknown> {
  const p = req.params as never;
  switch (req.method as HostMethod) {
    case 'ping':
      return { pid: process.pid };
    case 'load':
      return load((p as HostMethods['load']['params']).path);
    case 'unload':
      return unload((p as HostMethods['unload']['params']).path);
    case 'slots':
      return slots((p as HostMethods['slots']['params']).path);
    case 'initToken':
      return initToken(p);
    case 'initUserPin':
      return initUserPin(p);
    case 'login':
      return login(p);
    case 'logout':
      return logout(p);
    case 'finalizeAll':
      return finalizeAll();
    case 'test.hang':
      if (!testHooks) break;
      // Blocks the event loop like a vendor library stuck in a C call would.
      {
        const until = Date.now() + (p as HostMethods['test.hang']['params']).ms;
        while (Date.now() < until) {
          /* spin */
        }
      }
      return { done: true };
    case 'test.crash':
      if (!testHooks) break;
      process.kill(process.pid, 'SIGSEGV');
      return undefined;
  }
  return fail({
    code: 'INTERNAL',
    message: 'The HSM host was asked for an operation it does not know.',
    action: 'This is a bug in Custos; report it.',
    details: { method: String(req.method) },
  });
}

// Transport: Electron utilityProcess gives process.parentPort; a Node child has process.send.
type ParentPort = { on(ev: 'message', cb: (e: { data: unknown }) => void): void; postMessage(m: unknown): void };
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function reply(msg: HostResponse): void {
  if (parentPort) parentPort.postMessage(msg);
  else process.send?.(msg);
}

async function onRequest(data: unknown): Promise<void> {
  const req = data as HostRequest;
  if (!req || typeof req.id !== 'number' || typeof req.method !== 'string') return;
  try {
    reply({ id: req.id, ok: true, value: await run(req) });
  } catch (e) {
    reply({ id: req.id, ok: false, error: p11Failure(e, req.method) });
  }
}

if (parentPort) parentPort.on('message', (e) => void onRequest(e.data));
else process.on('message', (m) => void onRequest(m));

// If the parent goes away, release the tokens (logout, C_Finalize) and leave.
process.on('disconnect', () => {
  finalizeAll();
  process.exit(0);
});
process.on('SIGTERM', () => {
  finalizeAll();
  process.exit(0);
});
