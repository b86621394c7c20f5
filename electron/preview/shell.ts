import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { CustosEvent } from '../../shared/api';
import { nodeHostSpawner } from '../hsm/client/spawn-node';
import { createDispatcher } from '../ipc/handle';
import { defaultDataDir } from '../services/config';
import { createHandlers, createServices, type Services } from '../services/index';

// The preview shell: the same renderer and the same main-process dispatcher as the Electron app,
// in the system's Chromium driven by playwright-core, for machines without Electron's binary.
// The renderer is served from dist/ through request interception and the API is a Playwright
// binding (a pipe to this process): no TCP port is opened anywhere.

export const PREVIEW_ORIGIN = 'https://custos.preview';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

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
  const rendererDir = join(opts.distDir, 'renderer');
  const services = createServices({
    dataDir: opts.dataDir ?? defaultDataDir(),
    shell: 'preview',
    spawnHost: (env) => nodeHostSpawner(join(opts.distDir, 'hsm-host.cjs'), env),
    log,
  });
  const dispatch = createDispatcher(createHandlers(services, 'preview'), {
    isTrustedSender: (ctx) => ctx.senderUrl.startsWith(`${PREVIEW_ORIGIN}/`),
    log,
  });

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
    const url = new URL(route.request().url());
    if (url.origin !== PREVIEW_ORIGIN) return route.abort('blockedbyclient'); // every other request is cancelled
    const file = normalize(join(rendererDir, decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)));
    if (!file.startsWith(rendererDir + sep) || !existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, body: readFileSync(file), contentType: TYPES[extname(file)] ?? 'application/octet-stream' });
  });
  await context.exposeBinding('__custosInvoke', (source, channel: unknown, payload: unknown) =>
    dispatch(channel, payload, { senderUrl: source.frame.url() }),
  );
  await context.addInitScript({ path: join(opts.distDir, 'preview-preload.js') });
  const page = await context.newPage();
  // Navigation away from the app and new windows are refused, as in the Electron shell.
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
  await page.goto(`${PREVIEW_ORIGIN}/index.html`);

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    await (ownBrowser ? browser.close() : context.close()).catch(() => undefined);
    await services.close();
  };
  browser.on('disconnected', () => void close());
  return { browser, context, page, services, close };
}

// Run directly: `node dist/preview-shell.cjs [--headless] [--reason TEXT]`.
if (typeof require !== 'undefined' && require.main === module) {
  const args = process.argv.slice(2);
  const reason = args.includes('--reason') ? args[args.indexOf('--reason') + 1] : undefined;
  const headless = args.includes('--headless') ? true : undefined;
  const distDir = __dirname;
  console.log(`Custos preview shell: ${reason ?? "Electron's binary is not available"}; opening the app in ${findChromium() ?? 'Chromium (not found)'}.`);
  startPreview({ distDir, ...(headless !== undefined ? { headless } : {}) })
    .then((p) => {
      const stop = () => void p.close().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      p.browser.on('disconnected', () => process.exit(0));
      if (p.page.isClosed()) stop();
      p.page.on('close', stop);
    })
    .catch((e: unknown) => {
      console.error(`Custos could not start the preview shell: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      process.exit(1);
    });
}
