import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * Sets bits in a SoftHSM2 token's persisted CK_TOKEN_INFO flags (its file backend keeps them as the
 * vendor attribute CKA_OS_TOKENFLAGS, 0x8000534B, in token.object: type, kind 2 = unsigned long,
 * value, each 8 bytes big-endian). SoftHSM2 itself only ever sets CKF_USER_PIN_COUNT_LOW (after a
 * failed C_Login) and never locks a PIN; this puts a card into the final-try or locked state a real
 * card reaches, and SoftHSM2 then reports it from C_GetTokenInfo like any token. Make the change
 * before a host process opens the token (SoftHSM2 reads the file when it loads the token).
 */
export function setSoftHsmTokenFlags(fx: SoftHsmFixture, label: string, bits: number): void {
  const tokens = join(fx.dir, 'tokens');
  const want = Buffer.from(label.padEnd(32, ' '), 'utf8');
  for (const d of readdirSync(tokens)) {
    const path = join(tokens, d, 'token.object');
    if (!existsSync(path)) continue;
    const b = readFileSync(path);
    if (!b.includes(want)) continue;
    const at = b.indexOf(Buffer.from('000000008000534b', 'hex'));
    if (at < 0 || b.readBigUInt64BE(at + 8) !== 2n) throw new Error(`unexpected SoftHSM2 token file layout in ${path}`);
    b.writeBigUInt64BE(b.readBigUInt64BE(at + 16) | BigInt(bits), at + 16);
    writeFileSync(path, b);
    return;
  }
  throw new Error(`no SoftHSM2 token labelled ${label}`);
}
