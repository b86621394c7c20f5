import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
export const DIST = join(ROOT, 'dist');
export const HOST_SCRIPT = join(DIST, 'hsm-host.cjs');
export const SOFTHSM_MODULE =
  ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => existsSync(p)) ??
  '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmFixture {
  dir: string;
  conf: string;
  /** Environment for processes that should see only this fixture's tokens. */
  env: NodeJS.ProcessEnv;
  initToken(label: string, pins?: { so?: string; user?: string }): void;
  cleanup(): void;
}

/** Each test gets its own SOFTHSM2_CONF and token directory (slot ids change; find tokens by label). */
export function softhsm(prefix = 'custos-softhsm-'): SoftHsmFixture {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf, CUSTOS_DATA_DIR: join(dir, 'data') };
  return {
    dir,
    conf,
    env,
    initToken(label, pins = {}) {
      execFileSync(
        'softhsm2-util',
        ['--init-token', '--free', '--label', label, '--so-pin', pins.so ?? '12345678', '--pin', pins.user ?? '1234'],
        { env, stdio: 'ignore' },
      );
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function requireBuild(): void {
  if (!existsSync(HOST_SCRIPT)) throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
}
