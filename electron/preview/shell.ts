import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Frame, type Page } from 'playwright-core';
import type { CustosEvent } from '../../shared/api';
import { CustosError } from '../../shared/result';
import { nodeHostSpawner } from '../hsm/client/spawn-node';
import { createDispatcher } from '../ipc/handle';
import { defaultDataDir } from '../services/config';
import { createHandlers, createServices, type Services } from '../services/index';
import { checkSaveDir, folderPlaces } from '../services/files/places';
import { acquireInstanceLock, type InstanceLock } from '../services/instance-lock';
import { headersFor, rendererFile } from '../services/renderer-files';

// The preview shell: the same renderer and the same main-process dispatcher as the Electron app,
// in the system's Chromium driven by playwright-core, for machines without Electron's binary.
// The renderer is served from dist/ through request interception and the API is a Playwright
// binding (a pipe to this process): no TCP port is opened anywhere. As in the Electron shell, one
// window per data folder (services/instance-lock.ts), and the page cannot be navigated away from
// the app: a script that got into it could otherwise load a page of its own next to the binding.

export const PREVIEW_ORIGIN = 'https://custos.preview';
const PREVIEW_PREFIX = `${PREVIEW_ORIGIN}/`;
const PREVIEW_ENTRY = `${PREVIEW_PREFIX}index.html`;

export function findChromium(): string | null {
  const candidates = [process.env.CUSTOS_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((p): p is string => !!p && existsSync(p)) ?? null;
}

export interface PreviewOptions {
  distDir: string;
  dataDir?: string;
  headless?: boolean;
  executablePath?: string;
  /** Reuse an already running browser (benchmarks); it is then left running on close. */
  browser?: Browser;
  log?(line: string): void;
  /**
   * The folder saves go to and records are loaded from (there is no native dialog here): the
   * removable media's mount point. Defaults to CUSTOS_SAVE_DIR; without either, saving says how to set it.
   */
  saveDir?: string;
}

export interface Preview {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  services: Services;
  close(): Promise<void>;
}

export async function startPreview(opts: PreviewOptions): Promise<Preview> {
  const log = opts.log ?? ((l: string) => console.error(`[custos] ${l}`));
  const executablePath = opts.executablePath ?? findChromium();
  if (!executablePath && !opts.browser) {
    throw new Error('Chromium is not installed. Install it with: sudo apt-get install chromium');
  }
  const dataDir = resolve(opts.dataDir ?? defaultDataDir());
  // Refused (INSTANCE_RUNNING) before anything starts when another Custos window has this folder.
  const lock = acquireInstanceLock(dataDir, 'preview');
  try {
    return await openWindow(opts, dataDir, executablePath, lock, log);
  } catch (e) {
    lock.release();
    throw e;
  }
}

async function openWindow(opts: PreviewOptions, dataDir: string, executablePath: string | null, lock: InstanceLock, log: (line: string) => void): Promise<Preview> {
  if (lock.tookOverFrom) log(`took over the lock of a Custos (${lock.tookOverFrom.shell}, process ${lock.tookOverFrom.pid}) that did not close`);
  const rendererDir = join(opts.distDir, 'renderer');
  const services = createServices({
    dataDir,
    shell: 'preview',
    spawnHost: (env) => nodeHostSpawner(join(opts.distDir, 'hsm-host.cjs'), env),
    log,
    places: folderPlaces(checkSaveDir(opts.saveDir ?? process.env.CUSTOS_SAVE_DIR)),
  });
  // What an interrupted `archive init` left: finished or adopted now, its keys destroyed at the next login.
  void services.archive.recoverInits(null, null).catch((e: unknown) => log(`could not check for an interrupted archive init: ${e instanceof Error ? e.message : String(e)}`));
  const dispatch = createDispatcher(createHandlers(services, 'preview'), {
    isTrustedSender: (ctx) => ctx.senderUrl.startsWith(PREVIEW_PREFIX),
    log,
  });

  let closed = false;
  const ownBrowser = !opts.browser;
  const browser = opts.browser ?? await chromium.launch({
    executablePath: executablePath!,
    headless: opts.headless ?? !process.env.DISPLAY,
    args: [
      // The app needs no network; these keep Chromium from trying (and failing) to reach any.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
      '--disable-gpu',
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block', acceptDownloads: false });
  await context.route('**/*', async (route) => {
    const request = route.request();
    if (!request.url().startsWith(PREVIEW_PREFIX)) {
      // A navigation away from the app is aborted as if it never started ('aborted' commits no error
      // page, so the app stays); every other request elsewhere is cancelled.
      if (request.isNavigationRequest()) {
        log(`refused navigation to ${request.url().slice(0, 80)}`);
        return route.abort('aborted');
      }
      return route.abort('blockedbyclient');
    }
    const file = rendererFile(rendererDir, new URL(request.url()).pathname);
    if (!file || !['GET', 'HEAD'].includes(request.method())) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, body: readFileSync(file), headers: headersFor(file) });
  });
  await context.exposeBinding('__custosInvoke', (source, channel: unknown, payload: unknown) =>
    dispatch(channel, payload, { senderUrl: source.frame.url() }),
  );
  await context.addInitScript({ path: join(opts.distDir, 'preview-preload.js') });
  const page = await context.newPage();
  // New windows are closed, as in the Electron shell (setWindowOpenHandler → deny).
  page.on('popup', (p) => void p.close());
  // Main's events go to the page through the same DevTools pipe (page.evaluate), into the entry
  // point the preview preload defined; the preload checks each one against the schema. A page that
  // is navigating or closing misses the event; it reads the state again when it is back.
  const unsubscribe = services.events.subscribe((event: CustosEvent) => {
    if (page.isClosed()) return;
    page
      .evaluate((payload) => (window as unknown as { __custosEvent?: (p: unknown) => void }).__custosEvent?.(payload), event)
      .catch(() => undefined);
  });
  await page.goto(PREVIEW_ENTRY);
  // Navigations that never reach the network (about:blank, blob:, data:) cannot be aborted by the
  // route above; one that leaves the app is undone at once: the app is loaded again. (Watched from
  // here on: the page's own first navigation, from about:blank, is not one to undo.)
  page.on('framenavigated', (frame: Frame) => {
    if (frame !== page.mainFrame() || closed || frame.url().startsWith(PREVIEW_PREFIX)) return;
    log(`the window left the app (${frame.url().slice(0, 80)}); loading the app again`);
    void page.goto(PREVIEW_ENTRY).catch(() => undefined);
  });

  const close = async () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    await (ownBrowser ? browser.close() : context.close()).catch(() => undefined);
    await services.close();
    lock.release();
  };
  browser.on('disconnected', () => void close());
  return { browser, context, page, services, close };
}

// Run directly: `node dist/preview-shell.cjs [--headless] [--reason TEXT] [--save-dir FOLDER]`.
if (typeof require !== 'undefined' && require.main === module) {
  const args = process.argv.slice(2);
  const reason = args.includes('--reason') ? args[args.indexOf('--reason') + 1] : undefined;
  const headless = args.includes('--headless') ? true : undefined;
  const saveDir = args.includes('--save-dir') ? args[args.indexOf('--save-dir') + 1] : undefined;
  const distDir = __dirname;
  console.log(`Custos preview shell: ${reason ?? "Electron's binary is not available"}; opening the app in ${findChromium() ?? 'Chromium (not found)'}.`);
  startPreview({ distDir, ...(headless !== undefined ? { headless } : {}), ...(saveDir ? { saveDir } : {}) })
    .then((p) => {
      const stop = () => void p.close().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      p.browser.on('disconnected', () => process.exit(0));
      if (p.page.isClosed()) stop();
      p.page.on('close', stop);
    })
    .catch((e: unknown) => {
      if (e instanceof CustosError) console.error(`Custos could not start the preview shell: ${e.appError.message}\n  what to do: ${e.appError.action}`);
      else console.error(`Custos could not start the preview shell: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      process.exit(1);
    });
}
