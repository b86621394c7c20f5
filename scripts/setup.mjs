// Checks (and, as root, installs) what Custos needs from the system. Used by `npm start` and
// `npm test`, so that each of the README's two commands does its own set-up or says exactly what is
// missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const anyFile = (...paths) => paths.some((p) => existsSync(p));

export const REQUIREMENTS = {
  softhsm2: () => has('softhsm2-util') && anyFile('/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'),
  chromium: () => anyFile(process.env.CUSTOS_CHROMIUM ?? '/usr/bin/chromium', '/usr/bin/chromium-browser'),
  xvfb: () => has('xvfb-run'),
  opensc: () => has('pkcs11-tool'),
  'libnss3-tools': () => has('certutil'),
  'poppler-utils': () => has('pdftoppm'),
  openssl: () => has('openssl'),
  'build-essential': () => has('make') && has('g++') && has('python3'),
};

/** Ensures the given Debian packages are present; installs them when running as root. */
export function ensurePackages(names, why) {
  const missing = names.filter((n) => !REQUIREMENTS[n]());
  if (missing.length === 0) return;
  const command = `apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() === 0 && has('apt-get')) {
    console.log(`custos: installing ${missing.join(', ')} (${why})`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('sh', ['-c', `apt-get update -qq && ${command} -qq`], { stdio: 'inherit', env });
    return;
  }
  console.error(`custos: missing Debian packages for ${why}: ${missing.join(', ')}\n  install them with: sudo ${command}`);
  process.exit(1);
}

/** Installs npm dependencies when node_modules is missing or stale. */
export function ensureNodeModules(root) {
  if (existsSync(`${root}/node_modules/.package-lock.json`) && existsSync(`${root}/node_modules/pkcs11js/build/Release/pkcs11.node`)) return;
  console.log('custos: installing npm dependencies (npm ci; native modules build from source, ~2 min)');
  ensurePackages(['build-essential'], 'building pkcs11js and better-sqlite3 from source');
  execFileSync('npm', ['ci'], { cwd: root, stdio: 'inherit' });
}
