// NSS softoken fixture: a second, independent PKCS#11 implementation (libsoftokn3.so from libnss3).
// It has no config file: the HSM host passes CUSTOS_NSS_CONFIGDIR to C_Initialize as
// libraryParameters (electron/hsm/host/library.ts). Each fixture is a fresh, empty-password database.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NSS_MODULE =
  ['/usr/lib/x86_64-linux-gnu/libsoftokn3.so', '/usr/lib64/libsoftokn3.so', '/usr/lib/libsoftokn3.so'].find((p) => existsSync(p)) ??
  '/usr/lib/x86_64-linux-gnu/libsoftokn3.so';

/**
 * NSS has two slots. "NSS Generic Crypto Services" is the session-only crypto token (no token
 * objects); "NSS Certificate DB" is the key database, where token objects (CKA_TOKEN true) live.
 */
export const NSS_DB_TOKEN = 'NSS Certificate DB';
export const NSS_CRYPTO_TOKEN = 'NSS Generic Crypto Services';

export interface NssFixture {
  dir: string;
  /** Environment for an HSM host that should open this database. */
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export function nssAvailable(): boolean {
  return existsSync(NSS_MODULE) && existsSync('/usr/bin/certutil');
}

/** A new NSS database (cert9.db/key4.db) with an empty password, as `certutil -N --empty-password` makes it. */
export function nssDb(prefix = 'custos-nss-'): NssFixture {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  execFileSync('certutil', ['-N', '-d', `sql:${dir}`, '--empty-password'], { stdio: 'ignore' });
  const env = { ...process.env, CUSTOS_NSS_CONFIGDIR: dir, CUSTOS_DATA_DIR: join(dir, 'data') };
  return {
    dir,
    env,
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
