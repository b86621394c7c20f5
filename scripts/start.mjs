// `npm start`: runs Custos in Electron when its binary is present, otherwise in the preview shell
// (the same renderer and main-process services in the system's Chromium).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNodeModules, ensurePackages } from './setup.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
ensureNodeModules(root, { batchAddon: 'optional' });
ensurePackages(['softhsm2'], 'the demo token');
execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });

function electronBinary() {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('electron/package.json'));
  const pathFile = join(pkg, 'path.txt');
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = join(process.env.ELECTRON_OVERRIDE_DIST_PATH, 'electron');
    return existsSync(p) ? { path: p } : { reason: `ELECTRON_OVERRIDE_DIST_PATH has no electron binary (${p})` };
  }
  if (!existsSync(pathFile)) return { reason: "Electron's binary is not installed (it is downloaded on first use, and this machine is offline)" };
  const p = join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(p) ? { path: p } : { reason: `Electron's binary is missing at ${p}` };
}

const electron = args.includes('--preview') ? { reason: '--preview was given' } : electronBinary();
let child;
if (electron.path) {
  console.log(`Custos: starting in Electron (${electron.path})`);
  child = spawn(electron.path, [join(root, 'dist/main.cjs')], { stdio: 'inherit' });
} else {
  ensurePackages(['chromium'], 'the preview shell');
  if (!process.env.DISPLAY && !args.includes('--headless')) {
    console.error('custos: no display (DISPLAY is not set). Start Custos from a desktop session, or run it on a virtual display: xvfb-run -a npm start');
    process.exit(1);
  }
  child = spawn(process.execPath, [join(root, 'dist/preview-shell.cjs'), '--reason', electron.reason, ...(args.includes('--headless') ? ['--headless'] : []), ...(args.includes('--save-dir') ? ['--save-dir', args[args.indexOf('--save-dir') + 1] ?? ''] : [])], { stdio: 'inherit' });
}
child.on('exit', (code) => process.exit(code ?? 0));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
