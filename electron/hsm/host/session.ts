// Module and session state inside the HSM host process.
import { existsSync, realpathSync } from 'node:fs';
import * as pkcs11js from 'pkcs11js';
import { pkcs11Error } from '../../../shared/pkcs11-errors';
import { matchesSelector } from '../../../shared/pkcs11-uri';
import type { AppError } from '../../../shared/result';
import type { RawLibraryInfo, RawSlot, RawTokenInfo } from '../protocol';

export class HostFailure extends Error {
  constructor(readonly appError: AppError) {
    super(appError.message);
  }
}

export const fail = (e: AppError): never => {
  throw new HostFailure(e);
};

export interface LoadedModule {
  path: string;
  p11: pkcs11js.PKCS11;
  info: RawLibraryInfo;
  /** One long-lived session per token; login state is per token in PKCS#11 (v2.40 §5.6). */
  sessions: Map<string, Buffer>;
  /** Capability probe results per token, e.g. which mechanism really is RFC 5649. */
  probes: Map<string, unknown>;
  /** The paths this library was loaded by; it is finalised when the last one is unloaded. */
  aliases: Set<string>;
  /** Tokens found by full-identity selector (URI with serial), re-checked through their session. */
  resolved: Map<string, { slot: Buffer; token: RawTokenInfo; key: string }>;
}

export interface TokenContext {
  m: LoadedModule;
  slot: Buffer;
  token: RawTokenInfo;
  key: string;
  session: Buffer;
}

/** Loaded libraries by real path: two paths (a symlink and its target) are one library instance. */
const modules = new Map<string, LoadedModule>();

const canonicalPaths = new Map<string, string>();
function canonical(path: string): string {
  const known = canonicalPaths.get(path);
  if (known) return known;
  try {
    const real = realpathSync(path);
    canonicalPaths.set(path, real);
    return real;
  } catch {
    return path;
  }
}

export const trim = (s: string) => s.replace(/[\s\0]+$/, '');
export const tokenKey = (t: { label: string; serial: string; model: string; manufacturer: string }) =>
  [t.manufacturer, t.model, t.serial, t.label].join('\u0001');

export function p11Failure(e: unknown, fn: string): AppError {
  if (e instanceof HostFailure) return e.appError;
  const err = e as { code?: number; method?: string; message?: string };
  // pkcs11js leaves .method empty ('') for some functions (C_Sign, C_UnwrapKey, ...): fall back to ours.
  if (typeof err.code === 'number' && err.code > 0) return pkcs11Error(err.code, err.method || fn);
  // Some pkcs11js paths (C_FindObjects, C_CreateObject) throw without .code: read the CKR name.
  const name = /CKR_[A-Z0-9_]+/.exec(err.message ?? '')?.[0];
  if (name) return pkcs11Error(name, err.method || fn);
  return {
    code: 'FUNCTION_FAILED',
    message: 'The PKCS#11 module failed without saying why.',
    action: 'Try again. If it repeats, restart the app and check the device.',
    details: { function: fn, error: String(err.message ?? e).slice(0, 300) },
  };
}

/** Runs a PKCS#11 call and turns its failure into a typed error naming the function. */
export function p11<T>(fn: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    return fail(p11Failure(e, fn));
  }
}

function loadFailure(path: string, e: unknown): AppError {
  const msg = String((e as Error)?.message ?? e);
  if (existsSync(path) && /cannot open shared object/i.test(msg)) {
    // The module is there but a library it needs is not (or it cannot be read).
    const missing = /^([^:]+): cannot open shared object/.exec(msg)?.[1];
    return {
      code: 'MODULE_INVALID',
      message: `The PKCS#11 module at ${path} cannot be loaded: ${missing && missing !== path ? `it needs ${missing}, which is missing` : 'it cannot be read'}.`,
      action: "Install the vendor's complete package (the module's own dependencies), and check the file's permissions.",
      details: { path, loader: msg.slice(0, 300) },
    };
  }
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
    action: 'Choose the PKCS#11 library (.so) that came with your HSM or smartcard, built for this computer (64-bit Linux).',
    details: { path, loader: msg.slice(0, 300) },
  };
}

/**
 * NSS's softoken needs its database folder passed to C_Initialize (it has no config file).
 * CUSTOS_NSS_CONFIGDIR names it; pkcs11js drops the string's last character, hence the trailing
 * "flags=" that is harmless when cut.
 */
function initArgs(path: string): pkcs11js.InitializationOptions {
  const nssDir = process.env.CUSTOS_NSS_CONFIGDIR;
  if (nssDir && /libsoftokn3\.so$/.test(path)) {
    return {
      flags: pkcs11js.CKF_OS_LOCKING_OK,
      libraryParameters: `configdir='sql:${nssDir}' certPrefix='' keyPrefix='' secmod='secmod.db' flags=`,
    };
  }
  return { flags: pkcs11js.CKF_OS_LOCKING_OK };
}

export function load(path: string): RawLibraryInfo {
  const existing = modules.get(canonical(path));
  if (existing) {
    existing.aliases.add(path);
    return existing.info;
  }
  const p11 = new pkcs11js.PKCS11();
  try {
    p11.load(path);
  } catch (e) {
    return fail(loadFailure(path, e));
  }
  try {
    // CKF_OS_LOCKING_OK: without it SoftHSM (and others) turn their locking off and concurrent
    // calls corrupt state. PKCS#11 v2.40 §5.4 C_Initialize.
    p11.C_Initialize(initArgs(path));
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
  const i = p11.C_GetInfo();
  const info = {
    manufacturer: trim(i.manufacturerID),
    description: trim(i.libraryDescription),
    version: `${i.libraryVersion.major}.${i.libraryVersion.minor}`,
    cryptokiVersion: `${i.cryptokiVersion.major}.${i.cryptokiVersion.minor}`,
  };
  modules.set(canonical(path), { path, p11, info, sessions: new Map(), probes: new Map(), aliases: new Set([path]), resolved: new Map() });
  return info;
}

export function mod(path: string): LoadedModule {
  load(path);
  return modules.get(canonical(path))!;
}

// CK_STATE values, PKCS#11 v2.40 §5.6.
const CKS_RO_USER_FUNCTIONS = 1;
const CKS_RW_USER_FUNCTIONS = 3;
const CKS_RW_SO_FUNCTIONS = 4;

export function sessionRole(m: LoadedModule, key: string): 'user' | 'so' | null {
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

export function tokenOf(m: LoadedModule, slot: Buffer): RawTokenInfo {
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

export function describeSlot(m: LoadedModule, slot: Buffer): RawSlot {
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

export function slots(path: string): RawSlot[] {
  const m = mod(path);
  const list = p11('C_GetSlotList', () => m.p11.C_GetSlotList(false));
  const out: RawSlot[] = [];
  for (const slot of list) {
    try {
      out.push(describeSlot(m, slot));
    } catch {
      // A token pulled out (or broken) while we list it: one bad slot must not hide the others.
      try {
        const info = m.p11.C_GetSlotInfo(slot);
        out.push({ slotId: slot.toString('hex'), description: trim(info.slotDescription), manufacturer: trim(info.manufacturerID), flags: info.flags & ~0x1, token: null });
      } catch {
        /* the slot itself is gone */
      }
    }
  }
  return out;
}

export function findToken(m: LoadedModule, selector: string): { slot: Buffer; token: RawTokenInfo } {
  const matches: Array<{ slot: Buffer; token: RawTokenInfo }> = [];
  const list = p11('C_GetSlotList', () => m.p11.C_GetSlotList(true));
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

export function openSession(m: LoadedModule, slot: Buffer, key: string): Buffer {
  const existing = m.sessions.get(key);
  if (existing) {
    try {
      m.p11.C_GetSessionInfo(existing);
      return existing;
    } catch {
      m.sessions.delete(key);
    }
  }
  const session = p11('C_OpenSession', () => m.p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
  m.sessions.set(key, session);
  return session;
}

export function closeSession(m: LoadedModule, key: string): void {
  const session = m.sessions.get(key);
  if (!session) return;
  m.sessions.delete(key);
  try {
    m.p11.C_CloseSession(session);
  } catch {
    /* already closed by the token */
  }
}

/** The token's session for key operations (opened if needed; logged in if the user logged in). */
export function tokenContext(path: string, selector: string): TokenContext {
  const m = mod(path);
  const hit = m.resolved.get(selector);
  if (hit) {
    const session = m.sessions.get(hit.key);
    if (session) {
      try {
        // A session survives only as long as its token stays in the slot (v2.40 §5.6): if it is
        // alive, the token is the one found before. One cheap call instead of listing every slot.
        const state = m.p11.C_GetSessionInfo(session).state;
        const loggedIn = state === CKS_RO_USER_FUNCTIONS || state === CKS_RW_USER_FUNCTIONS ? 'user' : state === CKS_RW_SO_FUNCTIONS ? 'so' : null;
        return { m, slot: hit.slot, token: { ...hit.token, loggedIn }, key: hit.key, session };
      } catch {
        m.sessions.delete(hit.key);
      }
    }
    m.resolved.delete(selector);
  }
  const { slot, token } = findToken(m, selector);
  const key = tokenKey(token);
  const session = openSession(m, slot, key);
  // Only a selector naming the token's serial can be cached: a label alone might match a second
  // token inserted later, which must be reported as ambiguous.
  if (/^pkcs11:.*\bserial=/.test(selector)) m.resolved.set(selector, { slot, token, key });
  return { m, slot, token, key, session };
}

export function login(path: string, selector: string, role: 'user' | 'so', pin: string): RawSlot {
  const m = mod(path);
  const { slot, token } = findToken(m, selector);
  const key = tokenKey(token);
  const session = openSession(m, slot, key);
  const userType = role === 'so' ? pkcs11js.CKU_SO : pkcs11js.CKU_USER;
  try {
    m.p11.C_Login(session, userType, pin);
  } catch (e) {
    const f = p11Failure(e, 'C_Login');
    if (f.details?.ckr !== 'CKR_USER_ALREADY_LOGGED_IN') {
      if (f.code !== 'ALREADY_LOGGED_IN') closeSession(m, key);
      return fail(f);
    }
    // Already logged in: tokens answer that before looking at the PIN, so a login used to prove
    // presence would accept any PIN. Log out and check this PIN for real.
    try {
      m.p11.C_Logout(session);
    } catch {
      /* already logged out */
    }
    try {
      m.p11.C_Login(session, userType, pin);
    } catch (e2) {
      closeSession(m, key);
      return fail(p11Failure(e2, 'C_Login'));
    }
  }
  return describeSlot(m, slot);
}

export function logout(path: string, selector: string): RawSlot {
  const m = mod(path);
  const { slot, token } = findToken(m, selector);
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

/** C_SetPIN on the logged-in session: changes the PIN of whoever is logged in (user or SO). */
export function changePin(path: string, selector: string, oldPin: string, newPin: string): RawSlot {
  const ctx = tokenContext(path, selector);
  if (!sessionRole(ctx.m, ctx.key)) {
    return fail({ code: 'NOT_LOGGED_IN', message: 'Log in first; the PIN is changed for whoever is logged in.', action: 'Log in with the current PIN, then change it.' });
  }
  p11('C_SetPIN', () => ctx.m.p11.C_SetPIN(ctx.session, oldPin, newPin));
  return describeSlot(ctx.m, ctx.slot);
}

export function initToken(path: string, slotId: string, soPin: string, label: string): RawSlot {
  const m = mod(path);
  const slot = Buffer.from(slotId, 'hex');
  const before = new Set(slots(path).flatMap((x) => (x.token && x.token.serial ? [x.token.serial] : [])));
  p11('C_InitToken', () => m.p11.C_InitToken(slot, soPin, label));
  // SoftHSM moves a freshly initialised token to a new slot id: find it again by label and a
  // serial number that was not there before (another token may carry the same label).
  const fresh = slots(path).filter((x) => x.token && x.token.label === label && !before.has(x.token.serial));
  if (fresh.length === 1) return fresh[0]!;
  return describeSlot(m, findToken(m, label).slot);
}

export function initUserPin(path: string, selector: string, soPin: string, userPin: string): RawSlot {
  const m = mod(path);
  const { slot, token } = findToken(m, selector);
  const key = tokenKey(token);
  const session = openSession(m, slot, key);
  try {
    m.p11.C_Login(session, pkcs11js.CKU_SO, soPin);
    m.p11.C_InitPIN(session, userPin);
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

export function unload(path: string, all = false): { unloaded: boolean } {
  const m = modules.get(canonical(path));
  if (!m || (!all && !m.aliases.has(path))) return { unloaded: false };
  m.aliases.delete(path);
  if (!all && m.aliases.size > 0) return { unloaded: true }; // still in use under another path
  for (const key of [...m.sessions.keys()]) {
    const s = m.sessions.get(key);
    try {
      if (s) m.p11.C_Logout(s);
    } catch {
      /* not logged in */
    }
    closeSession(m, key);
  }
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
  modules.delete(canonical(path));
  return { unloaded: true };
}

export function finalizeAll(): { finalized: number } {
  let n = 0;
  for (const m of [...modules.values()]) if (unload(m.path, true).unloaded) n++;
  return { finalized: n };
}
