// Only a ceremony can take the archive's keys out of the HSM (issue #9 part 11): with the user PIN
// alone, OpenSC's pkcs11-tool — a tool independent of Custos — cannot wrap the Archive KEK or MAC
// key under a key of its own (AES key wrap, RSA), nor read their value. A key without
// CKA_WRAP_WITH_TRUSTED, generated the same way, can be wrapped by the same commands: the refusal is
// the attribute's doing, enforced by the token.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOFTHSM_MODULE } from '../helpers/softhsm';
import { archiveFixture, TOKEN, USER_PIN, type ArchiveFixture } from './archive-helpers';

let f: ArchiveFixture;
let kekId: string;
let macId: string;

const tool = (args: string[]) =>
  spawnSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', TOKEN, '--login', '--pin', USER_PIN, ...args], { env: f.fx.env, encoding: 'utf8' });

beforeAll(async () => {
  f = await archiveFixture('custos-archive-trusted-');
  const a = await f.init('Trusted wrapping');
  kekId = a.keyRefs.kek.idHex!;
  macId = a.keyRefs.mac.idHex!;
  a.close();
  const [kek] = await f.hsm.call('objects', { path: SOFTHSM_MODULE, token: TOKEN, ref: { idHex: kekId } });
  expect(kek).toMatchObject({ extractable: true, sensitive: true, wrapWithTrusted: true });
  await f.hsm.call('logout', { path: SOFTHSM_MODULE, token: TOKEN });
  // The attacker's own wrapping keys, made with pkcs11-tool and the user PIN.
  execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', TOKEN, '--login', '--pin', USER_PIN, '--keygen', '--key-type', 'AES:32', '--id', 'a1', '--label', 'mine', '--usage-wrap'], { env: f.fx.env, stdio: 'ignore' });
  execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', TOKEN, '--login', '--pin', USER_PIN, '--keypairgen', '--key-type', 'rsa:2048', '--id', 'a2', '--label', 'mine-rsa', '--usage-wrap'], { env: f.fx.env, stdio: 'ignore' });
  // A control: an extractable key made the same way but without CKA_WRAP_WITH_TRUSTED.
  execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', TOKEN, '--login', '--pin', USER_PIN, '--keygen', '--key-type', 'AES:32', '--id', 'c1', '--label', 'control', '--extractable'], { env: f.fx.env, stdio: 'ignore' });
});

afterAll(async () => {
  await f?.close();
});

describe('the archive keys and the user PIN alone', () => {
  it('the control key can be wrapped with pkcs11-tool (the commands work)', () => {
    for (const [mech, wrapper] of [['AES-KEY-WRAP', 'a1'], ['RSA-PKCS', 'a2']] as const) {
      const r = tool(['--wrap', '--mechanism', mech, '--id', wrapper, '--application-id', 'c1', '--output-file', `${f.fx.dir}/control.bin`]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toMatch(/Key wrapped/);
    }
  });

  it('the Archive KEK and MAC key cannot be wrapped under an AES or RSA key of the user’s, nor read', () => {
    for (const target of [kekId, macId]) {
      // (pkcs11-tool passes no OAEP parameters, so its RSA-PKCS-OAEP wrap fails for any key; RSA-PKCS works.)
      for (const [mech, wrapper] of [['AES-KEY-WRAP', 'a1'], ['RSA-PKCS', 'a2']] as const) {
        const r = tool(['--wrap', '--mechanism', mech, '--id', wrapper, '--application-id', target, '--output-file', `${f.fx.dir}/stolen.bin`]);
        expect(r.status, `${mech} ${target}`).not.toBe(0);
        expect(r.stdout + r.stderr, `${mech} ${target}`).toMatch(/CKR_KEY_NOT_WRAPPABLE|CKR_KEY_UNEXTRACTABLE/);
      }
      const read = tool(['--read-object', '--type', 'secrkey', '--id', target]);
      expect(read.status).not.toBe(0);
    }
  });
});
