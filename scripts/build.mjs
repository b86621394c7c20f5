// Builds every bundle into dist/: the Electron main process, its preload, the HSM host, the CLI
// (dist/cli.cjs and dist/cli/), the preview shell and its preload, and the renderer (Vite). Fast enough to run before each test run.
import { build as esbuild } from 'esbuild';
import { build as vite } from 'vite';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readdirSync, rmSync } from 'node:fs';

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

// The CLI is ES modules split by esbuild (splitting needs format 'esm'): dist/cli/main.mjs holds the
// command table, each command group is its own entry, and the services and heavy libraries they share
// are chunks that load when a command needs them, so `custos --version` reads commander and a few
// kilobytes instead of the whole program (issue #12 part 7). Bundled CommonJS packages call require() and read __dirname/__filename, which ES
// modules lack: every chunk gets its own, from its own URL.
const esmShims = [
  "import { createRequire as __custosCreateRequire } from 'node:module';",
  "import { fileURLToPath as __custosFileURLToPath } from 'node:url';",
  'const require = __custosCreateRequire(import.meta.url);',
  'const __filename = __custosFileURLToPath(import.meta.url);',
  "const __dirname = __custosFileURLToPath(new URL('.', import.meta.url));",
].join('\n');

function cli() {
  // Chunk names carry content hashes: clear out the previous build's.
  rmSync(join(root, 'dist/cli'), { recursive: true, force: true });
  return Promise.all([
    esbuild({
      // main.mjs, and each command module at commands/<name>.mjs, where cli/table.ts loads it from.
      entryPoints: [join(root, 'electron/cli/main.ts'), ...readdirSync(join(root, 'electron/cli/commands')).filter((f) => f.endsWith('.ts')).map((f) => join(root, 'electron/cli/commands', f))],
      outbase: join(root, 'electron/cli'),
      outdir: join(root, 'dist/cli'),
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      external,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunks/[name]-[hash]',
      banner: { js: esmShims },
      sourcemap: 'linked',
      logLevel: 'warning',
    }),
    // dist/cli.cjs: `node dist/cli.cjs` and require() (tests, scripts) load dist/cli/main.mjs through it.
    esbuild({ ...node('electron/cli/commonjs.ts', 'cli.cjs'), banner: { js: '#!/usr/bin/env node' } }),
  ]);
}

const jobs = {
  main: () => esbuild(node('electron/main.ts', 'main.cjs')),
  preload: () => esbuild({ ...node('electron/preload.ts', 'preload.cjs'), sourcemap: false }),
  host: () => esbuild(node('electron/hsm/host/main.ts', 'hsm-host.cjs')),
  cli,
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
