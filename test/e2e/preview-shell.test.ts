// The preview shell itself, in real Chromium (issue #11 part 7): the window cannot be taken away
// from the app — a navigation elsewhere is aborted, or undone where Chromium gives no way to abort
// it — pop-ups are closed, and one preview shell runs per data folder (a second is refused in
// words, a lock left by a crash is taken over).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREVIEW_ORIGIN, startPreview, type Preview } from '../../electron/preview/shell';
import { CustosError } from '../../shared/result';
import { DIST, requireBuild } from '../helpers/softhsm';

const ENTRY = `${PREVIEW_ORIGIN}/index.html`;
const dirs: string[] = [];
const folder = () => {
  const d = mkdtempSync(join(tmpdir(), 'custos-e2e-preview-'));
  dirs.push(d);
  return d;
};

let app: Preview;
let dataDir: string;
const logs: string[] = [];
const savedConf = process.env.SOFTHSM2_CONF;

beforeAll(async () => {
  requireBuild();
  delete process.env.SOFTHSM2_CONF;
  dataDir = folder();
  app = await startPreview({ distDir: DIST, dataDir, headless: true, log: (l) => logs.push(l) });
});

afterAll(async () => {
  await app?.close();
  if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The app's own API still answers from the page (the binding only serves the app's origin). */
const apiWorks = () => app.page.evaluate(async () => ((await (window as unknown as { custos: Record<string, (i: unknown) => Promise<{ ok: boolean }>> }).custos['app.info']!({})).ok));

describe('the preview shell keeps its window on the app', () => {
  it('aborts a navigation to another origin: the app stays, with no error page', async () => {
    await app.page.evaluate(() => {
      location.href = 'https://example.com/';
    });
    await app.page.waitForTimeout(500);
    expect(app.page.url()).toBe(ENTRY);
    expect(logs.some((l) => l.startsWith('refused navigation to https://example.com/'))).toBe(true);
    expect(await apiWorks()).toBe(true);
  });

  it('undoes navigations that never reach the network (about:blank, a blob: page): the app is loaded again', async () => {
    for (const go of [
      () => app.page.evaluate(() => void (location.href = 'about:blank')),
      () => app.page.evaluate(() => void (location.href = URL.createObjectURL(new Blob(['<p id="x">not the app</p>'], { type: 'text/html' })))),
    ]) {
      logs.length = 0;
      await go();
      await expect.poll(() => logs.some((l) => l.includes('left the app')), { timeout: 10_000 }).toBe(true);
      await app.page.waitForFunction(() => location.href.endsWith('/index.html') && !!document.querySelector('#root')?.childElementCount, undefined, { timeout: 10_000 });
      expect(app.page.url()).toBe(ENTRY);
      expect(logs.some((l) => l.includes('left the app'))).toBe(true);
    }
    expect(await apiWorks()).toBe(true);
  });

  it('opens no other window: a pop-up elsewhere never loads, one of the app itself is closed', async () => {
    // A link the user clicks (a pop-up without a click is blocked by Chromium already).
    const link = (href: string) =>
      app.page.evaluate((href) => {
        document.querySelector('#pop')?.remove();
        const a = document.createElement('a');
        Object.assign(a, { id: 'pop', href, target: '_blank', textContent: 'pop' });
        Object.assign(a.style, { position: 'fixed', top: '0', left: '0', zIndex: '99999', background: 'white', padding: '8px' });
        document.body.append(a);
      }, href);
    logs.length = 0;
    await link('https://example.com/');
    await app.page.click('#pop', { timeout: 5000 });
    await expect.poll(() => logs.some((l) => l.startsWith('refused navigation to https://example.com/')), { timeout: 10_000 }).toBe(true);
    await link(ENTRY);
    const popup = app.context.waitForEvent('page');
    await app.page.click('#pop', { timeout: 5000 });
    const p = await popup;
    await expect.poll(() => p.isClosed(), { timeout: 10_000 }).toBe(true);
    expect(app.context.pages().map((x) => x.url())).toEqual([ENTRY]);
  });
});

describe('one preview shell per data folder', () => {
  it('refuses a second shell on the same folder, in words, and lets one start on another folder', async () => {
    let refused: unknown;
    await startPreview({ distDir: DIST, dataDir, headless: true, log: () => undefined }).then((p) => p.close(), (e: unknown) => (refused = e));
    expect(refused).toBeInstanceOf(CustosError);
    expect((refused as CustosError).appError).toMatchObject({ code: 'INSTANCE_RUNNING', details: { pid: process.pid } });
    expect((refused as CustosError).appError.message).toMatch(/a Custos preview shell is already running on the data folder/);
    const other = await startPreview({ distDir: DIST, dataDir: folder(), headless: true, log: () => undefined });
    await other.close();
  });

  it('the preview shell command prints the refusal and exits 1', async () => {
    const child = spawn(process.execPath, [join(DIST, 'preview-shell.cjs'), '--headless'], { env: { ...process.env, CUSTOS_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000); // a shell that starts is the failure
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(guard);
    expect(code).toBe(1);
    expect(stderr).toMatch(/already running on the data folder .*\n {2}what to do: Use that window, or close it first/);
  });

  it('takes over the lock of a shell that died, and says so', async () => {
    const d = folder();
    writeFileSync(join(d, 'custos.lock'), JSON.stringify({ pid: 2 ** 22 + 3, start: null, shell: 'preview', at: '2026-12-01T10:00:00.000Z' }));
    const seen: string[] = [];
    const p = await startPreview({ distDir: DIST, dataDir: d, headless: true, log: (l) => seen.push(l) });
    await p.close();
    expect(seen.some((l) => /took over the lock of a Custos \(preview, process \d+\) that did not close/.test(l))).toBe(true);
  });
});
