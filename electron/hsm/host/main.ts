// The HSM host process. It is the only code that loads pkcs11js and vendor PKCS#11 libraries, so a
// library that segfaults or blocks forever cannot take the app (or an archive write) down with it.
// Runs as an Electron utilityProcess in the app and as a Node child process elsewhere.
import { sendPacked, unpackMessage } from '../protocol/packing';
import type { HostMethod, HostMethods, HostRequest, HostResponse } from '../protocol';
import { HostArena } from './arena';
import { nativeBatchAvailable } from './batch';
import { decrypt, encrypt, random } from './cipher';
import { fail, p11Failure } from './failure';
import { checkValue, generate, importPublic } from './generate';
import { keyLimits } from './limits';
import { holdLifeline } from './lifeline';
import { finalizeAll, load, unload } from './library';
import { destroy, forgetHandles, objects, publicKey, restrictUsage, setLabel } from './objects';
import { mechanisms, probeWrap } from './probe';
import { changePin, initToken, initUserPin, login, logout, slots, tokenContext } from './session';
import { probeSealing, unsealShare } from './sealing';
import { importSecretAbort, importSecretBegin, importSecretPlain, importSecretWrapped } from './secret-import';
import { createTrustedKey } from './trusted';
import { sign, verify } from './sign';
import { rewrap } from './rewrap';
import { unwrap, wrap } from './wrap';

type Handlers = { [M in HostMethod]: (p: HostMethods[M]['params']) => HostMethods[M]['result'] | Promise<HostMethods[M]['result']> };

const testHooks = process.env.CUSTOS_HSM_TEST_HOOKS === '1';
/** The shared arena (arena.ts; protocol/arena.ts has the design), once the client asked for it. */
let arena: HostArena | null = null;
const ctx = (p: { path: string; token: string }) => tokenContext(p.path, p.token);
const noHooks = (): never =>
  fail({ code: 'INTERNAL', message: 'Test hooks are disabled in this build.', action: 'This is a bug in Custos; report it.' });

const handlers: Handlers = {
  ping: () => ({ pid: process.pid, nativeBatch: nativeBatchAvailable(), arena: arena?.mapped ?? false, arenaBytesRead: arena?.bytesRead ?? 0 }),
  arenaCreate: (p) => {
    if (arena) return null; // one per host
    const made = HostArena.create(p.size);
    if (!made) return null;
    arena = made.arena;
    return { fd: made.fd, pid: process.pid };
  },
  arenaMapped: () => {
    arena?.markMapped();
    return { mapped: arena?.mapped ?? false };
  },
  load: (p) => load(p.path),
  unload: (p) => unload(p.path),
  slots: (p) => slots(p.path),
  initToken: (p) => initToken(p.path, p.slotId, p.soPin, p.label),
  initUserPin: (p) => initUserPin(p.path, p.token, p.soPin, p.userPin),
  login: (p) => login(p.path, p.token, p.role, p.pin),
  logout: (p) => logout(p.path, p.token),
  changePin: (p) => changePin(p.path, p.token, p.oldPin, p.newPin),
  finalizeAll: () => finalizeAll(),
  mechanisms: (p) => mechanisms(ctx(p)),
  probeWrap: (p) => probeWrap(ctx(p)),
  generate: (p) => generate(ctx(p), p.spec),
  objects: (p) => objects(ctx(p), p.ref),
  setLabel: (p) => setLabel(ctx(p), p.ref, p.newLabel),
  restrictUsage: (p) => restrictUsage(ctx(p), p.ref),
  destroy: (p) => destroy(ctx(p), p.ref),
  publicKey: (p) => publicKey(ctx(p), p.ref),
  importPublic: (p) => importPublic(ctx(p), p.label, p.idHex, p.attrs, p.usages, p.onToken),
  checkValue: (p) => checkValue(ctx(p), p.ref),
  sign: (p) => sign(ctx(p), p.ref, p.mechanism, p.data),
  verify: (p) => verify(ctx(p), p.ref, p.mechanism, p.data, p.signature),
  encrypt: (p) => encrypt(ctx(p), p.ref, p.mechanism, p.data, p.aad),
  decrypt: (p) => decrypt(ctx(p), p.ref, p.mechanism, p.ciphertext, p.iv, p.aad),
  random: (p) => random(ctx(p), p.length),
  wrap: (p) => wrap(ctx(p), p.wrapping, p.targets, p.mechanism),
  unwrap: (p) => unwrap(ctx(p), p.unwrapping, p.wrapped, p.mechanism, p.template),
  rewrap: (p) => rewrap(ctx(p), p.from, p.to, p.items),
  keyLimits: (p) => keyLimits(ctx(p), p),
  'test.hang': (p) => {
    if (!testHooks) return noHooks();
    // Blocks the event loop like a vendor library stuck in a C call would.
    const until = Date.now() + p.ms;
    while (Date.now() < until) {
      /* spin */
    }
    return { done: true };
  },
  'test.crash': () => {
    if (!testHooks) return noHooks();
    process.kill(process.pid, 'SIGSEGV');
    return undefined as never;
  },
  probeSealing: (p) => probeSealing(ctx(p)),
  unsealShare: (p) => unsealShare(ctx(p), p.ref, p.payload),
  importSecretBegin: (p) => importSecretBegin(ctx(p)),
  importSecretWrapped: (p) => importSecretWrapped(ctx(p), p.transportId, p.wrapped, p.template),
  importSecretAbort: (p) => importSecretAbort(ctx(p), p.transportId),
  importSecretPlain: (p) => importSecretPlain(ctx(p), p.value, p.template),
  createTrustedKey: (p) => createTrustedKey(ctx(p), p.value, p.label, p.idHex),
};

// Transport: Electron utilityProcess gives process.parentPort; a Node child has process.send.
type ParentPort = { on(ev: 'message', cb: (e: { data: unknown }) => void): void; postMessage(m: unknown): void };
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function post(msg: HostResponse): void {
  if (parentPort) parentPort.postMessage(msg);
  // The parent may have died while this request ran: a failed write means leave, not crash.
  else if (process.connected) process.send?.(msg, undefined, {}, (e) => e && leave());
}

/** Methods that create objects: a cached handle could hide a new object that makes a ref ambiguous. */
const CREATES_OBJECTS = new Set<string>(['generate', 'importPublic', 'unwrap', 'importSecretWrapped', 'importSecretPlain', 'createTrustedKey', 'initToken']);

async function onRequest(data: unknown): Promise<void> {
  const req = data as HostRequest;
  if (!req || typeof req.id !== 'number' || typeof req.method !== 'string') return;
  if (CREATES_OBJECTS.has(req.method)) forgetHandles();
  const handler = Object.prototype.hasOwnProperty.call(handlers, req.method) ? (handlers[req.method] as (p: unknown) => unknown) : undefined;
  try {
    if (!handler) {
      fail({ code: 'INTERNAL', message: 'The HSM host was asked for an operation it does not know.', action: 'This is a bug in Custos; report it.', details: { method: String(req.method) } });
    }
    // Answered in the same turn when the handler is synchronous (they all are but none need be):
    // an `await` would let the next queued request run first and hold this answer until it ends.
    const result = handler!(unpackMessage(req.params ?? {}, arena?.read));
    const value = result instanceof Promise ? await result : result;
    const out = arena?.mapped && Array.isArray(req.arenaOut) ? arena.writer(req.arenaOut) : undefined;
    sendPacked((m) => post(m as HostResponse), (packed) => ({ id: req.id, ok: true, value: packed }), value, out);
  } catch (e) {
    post({ id: req.id, ok: false, error: p11Failure(e, req.method) });
  } finally {
    arena?.endRequest();
  }
}

if (parentPort) parentPort.on('message', (e) => void onRequest(e.data));
else process.on('message', (m) => void onRequest(m));

/** The parent went away (or asked us to stop): release the tokens (logout, C_Finalize), quietly. */
function leave(): void {
  try {
    finalizeAll();
  } catch {
    /* a device that is gone cannot be logged out of; exiting closes its sessions */
  }
  process.exit(0);
}

if (!holdLifeline(leave)) leave();
