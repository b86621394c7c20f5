import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';

// Electron's binary cannot exist on this machine, so the main-process modules are exercised
// against a thin stand-in for the 'electron' module: the same module code, the real dispatcher.
// What is checked is what the modules ask Electron to do (deny, cancel, prevent, harden).

const h = vi.hoisted(() => {
  const app = new (require('node:events').EventEmitter)() as EventEmitter & Record<string, unknown>;
  const handlers = new Map<string, (event: unknown, payload: unknown) => unknown>();
  const state: {
    permissionRequest?: (wc: unknown, permission: string, cb: (ok: boolean) => void) => void;
    permissionCheck?: () => boolean;
    beforeRequest?: (details: { url: string }, cb: (r: { cancel: boolean }) => void) => void;
    windows: Array<{ options: Record<string, unknown>; loaded?: string; sent: Array<[string, unknown]>; closed?: () => void }>;
    schemes: Array<{ scheme: string; privileges: Record<string, boolean> }>;
    protocolHandlers: Map<string, (request: Request) => Promise<Response>>;
  } = { windows: [], schemes: [], protocolHandlers: new Map() };
  app.isPackaged = false;
  return { app, handlers, state };
});

vi.mock('electron', () => ({
  app: h.app,
  ipcMain: {
    handle: (channel: string, fn: (e: unknown, p: unknown) => unknown) => h.handlers.set(channel, fn),
    removeHandler: (channel: string) => h.handlers.delete(channel),
  },
  session: {
    defaultSession: {
      setPermissionRequestHandler: (fn: typeof h.state.permissionRequest) => (h.state.permissionRequest = fn),
      setPermissionCheckHandler: (fn: typeof h.state.permissionCheck) => (h.state.permissionCheck = fn),
      webRequest: { onBeforeRequest: (fn: typeof h.state.beforeRequest) => (h.state.beforeRequest = fn) },
    },
  },
  protocol: {
    registerSchemesAsPrivileged: (schemes: typeof h.state.schemes) => h.state.schemes.push(...schemes),
    handle: (scheme: string, fn: (request: Request) => Promise<Response>) => h.state.protocolHandlers.set(scheme, fn),
    unhandle: (scheme: string) => h.state.protocolHandlers.delete(scheme),
  },
  BrowserWindow: class {
    private readonly entry: { options: Record<string, unknown>; loaded?: string; sent: Array<[string, unknown]>; closed?: () => void };
    readonly webContents;
    constructor(options: Record<string, unknown>) {
      this.entry = { options, sent: [] };
      const sent = this.entry.sent;
      this.webContents = { isDestroyed: () => false, send: (channel: string, payload: unknown) => sent.push([channel, payload]) };
      h.state.windows.push(this.entry);
    }
    once() {}
    on(name: string, fn: () => void) {
      if (name === 'closed') this.entry.closed = fn;
    }
    show() {}
    async loadURL(url: string) {
      this.entry.loaded = url;
    }
  },
}));

import { EVENT_CHANNEL, type CustosEvent } from '../../shared/api';
import { channelOf, METHOD_NAMES } from '../../shared/contract';
import { ipc } from '../../electron/modules/ipc';
import { APP_ENTRY, appProtocol, registerAppScheme } from '../../electron/modules/protocol';
import { security } from '../../electron/modules/security';
import { window as windowModule } from '../../electron/modules/window';
import type { ModuleDeps } from '../../electron/modules/types';
import type { Services } from '../../electron/services/index';

const rendererDir = '/opt/Custos/resources/app.asar/dist/renderer';
/** A stand-in for the services' event hub. */
function eventHub() {
  const listeners = new Set<(e: CustosEvent) => void>();
  return {
    listeners,
    emit: (e: CustosEvent) => listeners.forEach((l) => l(e)),
    subscribe(l: (e: CustosEvent) => void) {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
  };
}

const APP = 'app://custos';
const deps = (services: Partial<Services> = {}): ModuleDeps => ({
  services: { events: eventHub(), ...services } as Services,
  rendererDir,
  preloadPath: '/opt/Custos/resources/app.asar/dist/preload.cjs',
  log: () => undefined,
});

function fakeContents() {
  const contents = new EventEmitter() as EventEmitter & { openHandler?: () => { action: string }; setWindowOpenHandler(fn: () => { action: string }): void };
  contents.setWindowOpenHandler = (fn) => (contents.openHandler = fn);
  return contents;
}

describe('Electron main modules (against a stand-in for the electron module)', () => {
  beforeEach(() => {
    h.handlers.clear();
    h.app.removeAllListeners();
    h.app.isPackaged = false;
    h.state.windows.length = 0;
  });

  it('security: denies new windows, foreign navigation, redirects and webviews', () => {
    security.init(deps());
    const contents = fakeContents();
    h.app.emit('web-contents-created', {}, contents);
    expect(contents.openHandler?.()).toEqual({ action: 'deny' });
    const nav = (url: string) => {
      const event = { prevented: false, preventDefault() {
        this.prevented = true;
      } };
      contents.emit('will-navigate', event, url);
      return event.prevented;
    };
    expect(nav('https://example.com/')).toBe(true);
    expect(nav('file:///etc/passwd')).toBe(true);
    // The renderer is served from app://custos/ (checklist item 18): its own files by file:// are foreign too.
    expect(nav(`file://${rendererDir}/index.html`)).toBe(true);
    expect(nav('app://custos.evil/index.html')).toBe(true);
    expect(nav('app://other/index.html')).toBe(true);
    expect(nav(`${APP}/index.html`)).toBe(false);
    const redirect = { prevented: false, preventDefault() {
      this.prevented = true;
    } };
    contents.emit('will-redirect', redirect);
    expect(redirect.prevented).toBe(true);
    const webview = { prevented: false, preventDefault() {
      this.prevented = true;
    } };
    contents.emit('will-attach-webview', webview);
    expect(webview.prevented).toBe(true);
  });

  it('security: denies every permission and cancels every request outside the app', async () => {
    const hooks = security.init(deps());
    await hooks?.load?.();
    const asked = await new Promise<boolean>((resolve) => h.state.permissionRequest?.({}, 'media', resolve));
    expect(asked).toBe(false);
    expect(h.state.permissionCheck?.()).toBe(false);
    const verdict = (url: string) => new Promise<boolean>((resolve) => h.state.beforeRequest?.({ url }, (r) => resolve(r.cancel)));
    expect(await verdict('https://example.com/')).toBe(true);
    expect(await verdict('http://127.0.0.1:8080/')).toBe(true);
    expect(await verdict('file:///etc/passwd')).toBe(true);
    expect(await verdict(`file://${rendererDir}/assets/index.js`)).toBe(true);
    expect(await verdict('app://custos.evil/x.js')).toBe(true);
    expect(await verdict(`${APP}/assets/index.js`)).toBe(false);
    // In development DevTools may load; see below for packaged builds.
    expect(await verdict('devtools://devtools/bundled/inspector.html')).toBe(false);
  });

  it('security, packaged: devtools:// is cancelled, and DevTools are closed if they open', async () => {
    h.app.isPackaged = true;
    const hooks = security.init(deps());
    await hooks?.load?.();
    const verdict = (url: string) => new Promise<boolean>((resolve) => h.state.beforeRequest?.({ url }, (r) => resolve(r.cancel)));
    expect(await verdict('devtools://devtools/bundled/inspector.html')).toBe(true);
    expect(await verdict(`${APP}/index.html`)).toBe(false);
    const contents = fakeContents() as ReturnType<typeof fakeContents> & { closed?: boolean; closeDevTools(): void };
    contents.closeDevTools = () => (contents.closed = true);
    h.app.emit('web-contents-created', {}, contents);
    contents.emit('devtools-opened');
    expect(contents.closed).toBe(true);
  });

  it('window: sandboxed, context-isolated, no Node, no webviews, preload from the package, the app from app://', async () => {
    const hooks = windowModule.init(deps());
    await hooks?.load?.();
    const [w] = h.state.windows;
    expect(w?.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false, devTools: true });
    expect(w?.loaded).toBe(`${APP}/index.html`);
    expect(APP_ENTRY).toBe(`${APP}/index.html`);
  });

  it('window, packaged: no DevTools', async () => {
    h.app.isPackaged = true;
    await windowModule.init(deps())?.load?.();
    expect(h.state.windows[0]?.options.webPreferences).toMatchObject({ devTools: false });
  });

  it('protocol: app:// is standard and secure, and nothing more (no CORS, no fetch, no CSP bypass)', async () => {
    registerAppScheme();
    const [s] = h.state.schemes;
    expect(s?.scheme).toBe('app');
    expect(s?.privileges).toMatchObject({ standard: true, secure: true });
    for (const p of ['corsEnabled', 'supportFetchAPI', 'bypassCSP', 'allowServiceWorkers', 'stream']) expect(s?.privileges[p], p).toBeFalsy();
    const hooks = appProtocol.init(deps());
    await hooks?.load?.();
    expect(h.state.protocolHandlers.has('app')).toBe(true);
    await hooks?.quit?.();
    expect(h.state.protocolHandlers.has('app')).toBe(false);
  });

  it('window: forwards main’s events to its own webContents on the event channel, and stops when it closes', async () => {
    const events = eventHub();
    const hooks = windowModule.init(deps({ events }));
    await hooks?.load?.();
    const [w] = h.state.windows;
    const changed: CustosEvent = { type: 'ceremony.changed', run: '0f8fad5b-d9cb-469f-a165-70867728950e', status: 'running', step: 'login' };
    events.emit(changed);
    expect(w?.sent).toEqual([[EVENT_CHANNEL, changed]]);
    w?.closed?.();
    expect(events.listeners.size).toBe(0);
    events.emit(changed);
    expect(w?.sent).toHaveLength(1);
  });

  it('ipc: registers exactly one handler per contract method, checks the sender, and unregisters on quit', async () => {
    const services = { tokens: { listing: async () => ({ modules: [], slots: [] }) } } as unknown as Services;
    const hooks = ipc.init(deps(services));
    expect([...h.handlers.keys()].sort()).toEqual(METHOD_NAMES.map(channelOf).sort());
    const call = h.handlers.get(channelOf('tokens.list'))!;
    await expect(call({ senderFrame: { url: `${APP}/index.html` } }, {})).resolves.toEqual({ ok: true, value: { modules: [], slots: [] } });
    for (const url of ['https://evil.example/', `file://${rendererDir}/index.html`, 'file:///tmp/page.html', 'app://custos.evil/index.html', 'app://custos', 'blob:app://custos/1']) {
      const refused = (await call({ senderFrame: { url } }, {})) as { ok: boolean; error: { code: string } };
      expect(refused.error.code, url).toBe('UNTRUSTED_SENDER');
    }
    const noFrame = (await call({}, {})) as { ok: boolean; error: { code: string } };
    expect(noFrame.error.code).toBe('UNTRUSTED_SENDER');
    await hooks?.quit?.();
    expect(h.handlers.size).toBe(0);
  });
});
