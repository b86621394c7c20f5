// Builds every bundle into dist/: the Electron main process, its preload, the HSM host, the CLI,
// the preview shell and its preload, and the renderer (Vite). Fast enough to run before each test run.
import { build as esbuild } from 'esbuild';
import { build as vite } from 'vite';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);
const external = ['electron', 'pkcs11js', 'custos-p11batch', 'better-sqlite3', 'playwright-core', 'pdfkit'];

const node = (entry, outfile) => ({
  entryPoints: [join(root, entry)],
  outfile: join(root, 'dist', outfile),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external,
  sourcemap: 'linked',
  logLevel: 'warning',
});

const jobs = {
  main: () => esbuild(node('electron/main.ts', 'main.cjs')),
  preload: () => esbuild({ ...node('electron/preload.ts', 'preload.cjs'), sourcemap: false }),
  host: () => esbuild(node('electron/hsm/host/main.ts', 'hsm-host.cjs')),
  cli: () => esbuild({ ...node('electron/cli/main.ts', 'cli.cjs'), banner: { js: '#!/usr/bin/env node' } }),
  preview: () => esbuild(node('electron/preview/shell.ts', 'preview-shell.cjs')),
  previewPreload: () =>
    esbuild({
      entryPoints: [join(root, 'electron/preview/preload.ts')],
      outfile: join(root, 'dist/preview-preload.js'),
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'chrome120',
      logLevel: 'warning',
    }),
  renderer: () => vite({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn' }),
};

const selected = only.length ? only : Object.keys(jobs);
const started = Date.now();
await Promise.all(selected.map((name) => jobs[name]()));
console.log(`built ${selected.join(', ')} in ${Date.now() - started} ms`);
