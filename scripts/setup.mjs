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
  'libp11-kit-dev': () => existsSync('/usr/include/p11-kit-1/p11-kit/pkcs11.h'),
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
export function ensureNodeModules(root, { batchAddon = 'required' } = {}) {
  const addon = `${root}/native/p11batch/build/Release/p11batch.node`;
  if (existsSync(`${root}/node_modules/.package-lock.json`) && existsSync(`${root}/node_modules/pkcs11js/build/Release/pkcs11.node`)) {
    if (existsSync(addon)) return;
    // The batch addon is optional to npm (the host falls back to pkcs11js, item by item) but part
    // of Custos: the tests require it; the app starts without it and says so.
    const canBuild = REQUIREMENTS['libp11-kit-dev']() || (process.getuid?.() === 0 && has('apt-get'));
    if (batchAddon !== 'required' && !canBuild) {
      console.log('custos: native/p11batch is not built (it needs libp11-kit-dev); batches run through pkcs11js, more slowly');
      return;
    }
    ensurePackages(['build-essential', 'libp11-kit-dev'], 'building the PKCS#11 batch addon (native/p11batch)');
    console.log('custos: building native/p11batch');
    execFileSync('npm', ['rebuild', 'custos-p11batch'], { cwd: root, stdio: 'inherit' });
    return;
  }
  console.log('custos: installing npm dependencies (npm ci; native modules build from source, ~2 min)');
  ensurePackages(['build-essential', 'libp11-kit-dev'], 'building pkcs11js, better-sqlite3 and native/p11batch from source');
  execFileSync('npm', ['ci'], { cwd: root, stdio: 'inherit' });
}
