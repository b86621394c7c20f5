// Start-up to the first rendered screen in the preview shell, beside a baseline measured in the same
// browser in the same run: a static page with one heading. Also the renderer bundle size (gzip).
const { chromium } = require('playwright-core');
const { readdirSync, readFileSync, mkdtempSync, rmSync } = require('node:fs');
const { gzipSync } = require('node:zlib');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { startPreview, findChromium } = require('../dist/preview-shell.cjs');

const DIST = join(__dirname, '..', 'dist');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const browser = await chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: ['--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-gpu', ...(process.getuid() === 0 ? ['--no-sandbox'] : [])],
  });
  const app = [];
  const base = [];
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.setContent('<!doctype html><h1>Tokens</h1>');
    await page.getByRole('heading', { name: 'Tokens' }).waitFor();
    base.push(performance.now() - t);
    await ctx.close();

    const dataDir = mkdtempSync(join(tmpdir(), 'custos-bench-'));
    t = performance.now();
    const p = await startPreview({ distDir: DIST, dataDir, browser, headless: true, log: () => undefined });
    await p.page.getByRole('heading', { name: 'Tokens', level: 1 }).waitFor();
    await p.page.getByRole('heading', { name: 'Start with the demo token' }).waitFor();
    app.push(performance.now() - t);
    await p.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  await browser.close();

  const a = median(app);
  const b = median(base);
  console.log(`startup  first rendered screen (browser up → token screen with data): median ${a.toFixed(0)} ms over ${RUNS} runs  [target ≤ 1500 ms]`);
  console.log(`startup  baseline static page in the same browser:                     median ${b.toFixed(0)} ms   ratio app/baseline ${(a / b).toFixed(1)}×`);

  const assets = join(DIST, 'renderer', 'assets');
  let raw = 0;
  let gz = 0;
  for (const f of readdirSync(assets)) {
    if (!/\.(js|css)$/.test(f)) continue;
    const buf = readFileSync(join(assets, f));
    raw += buf.length;
    gz += gzipSync(buf, { level: 9 }).length;
  }
  console.log(`bundle   renderer JS+CSS: ${(raw / 1024).toFixed(1)} KiB raw, ${(gz / 1024).toFixed(1)} KiB gzip  [target ≤ 300 KB gzip]`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
