// The PKCS#11 libraries loaded in the HSM host process, and each one's table of open sessions.
// A library is loaded once per real path (C_Initialize with OS locking) and finalised when the last
// path that loaded it is unloaded, or when the host leaves.
import { existsSync, realpathSync } from 'node:fs';
import * as pkcs11js from 'pkcs11js';
import type { AppError } from '../../../shared/result';
import type { RawLibraryInfo, RawTokenInfo } from '../protocol';
import { fail, p11, p11Failure } from './failure';

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
