// XOR key components into the HSM (electron/services/import.ts, `custos components combine --import`),
// against real SoftHSM2 tokens, one fixture per test. The key is combined in the main process,
// enters the token wrapped under an ephemeral in-token RSA key, and its check value computed by the
// HSM must match the one computed from the components. Any failure leaves the token exactly as it was.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HsmClient } from '../../electron/hsm/client';
import type { HostMethod, HostMethods, RawSlot } from '../../electron/hsm/protocol';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import { ComponentImportService, type ComponentImportInput } from '../../electron/services/shares/index';
import { keyCheckValues } from '../../electron/services/kcv';
import type { TokenRef } from '../../electron/services/key-service';
import { formatHex, setOddParity, splitKey, toHex, type KeyAlgorithm } from '../../shared/components';
import { tokenUri } from '../../shared/pkcs11-uri';
import { CustosError, type AppError } from '../../shared/result';
import { DIST, HOST_SCRIPT, requireBuild, SOFTHSM_MODULE, softhsm, type SoftHsmFixture } from '../helpers/softhsm';

const PIN = '135790';
const CLI = join(DIST, 'cli.cjs');

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CustosError);
    return (e as CustosError).appError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** A key, its components (as typed: upper case in groups of four) and every check value. */
function components(alg: KeyAlgorithm, bytes: number, count: number) {
  const key = randomBytes(bytes);
  if (alg === 'TDES') setOddParity(key);
  const parts = splitKey(key, count, alg, (n) => Uint8Array.from(randomBytes(n)));
  return {
    key,
    kcv: keyCheckValues(alg, key),
    typed: parts.map((p) => formatHex(p)),
    hex: parts.map((p) => toHex(p)),
    kcvs: parts.map((p) => keyCheckValues(alg, p)),
  };
}

let fx: SoftHsmFixture;
let client: HsmClient;
let t: TokenRef;

const objects = () => client.call('objects', { path: t.module, token: t.token, ref: {} });
const count = async () => (await objects()).length;

/** A client whose answers can be altered per method: to simulate what SoftHSM will not do on its own. */
function intercepted(override: Partial<{ [M in HostMethod]: (params: HostMethods[M]['params'], real: () => Promise<HostMethods[M]['result']>) => Promise<HostMethods[M]['result']> }>) {
  return {
    call<M extends HostMethod>(method: M, params: HostMethods[M]['params'], opts?: { timeoutMs?: number }): Promise<HostMethods[M]['result']> {
      const o = override[method] as ((p: HostMethods[M]['params'], real: () => Promise<HostMethods[M]['result']>) => Promise<HostMethods[M]['result']>) | undefined;
      const real = () => client.call(method, params, opts);
      return o ? o(params, real) : real();
    },
  };
}

beforeAll(() => requireBuild());
beforeEach(async () => {
  fx = softhsm('custos-components-import-');
  fx.initToken('Workstation HSM', { so: '12345678', user: PIN });
  client = new HsmClient(nodeHostSpawner(HOST_SCRIPT, fx.env));
  const raw: RawSlot[] = await client.call('slots', { path: SOFTHSM_MODULE });
  t = { module: SOFTHSM_MODULE, token: tokenUri(raw.find((s) => s.token?.label === 'Workstation HSM')!.token!) };
  await client.call('login', { path: t.module, token: t.token, role: 'user', pin: PIN });
});
afterEach(async () => {
  await client.close();
  fx.cleanup();
});

describe('ComponentImportService.importComponents (SoftHSM)', () => {
  const input = (c: ReturnType<typeof components>, alg: KeyAlgorithm, extra: Partial<ComponentImportInput> = {}): ComponentImportInput => ({
    algorithm: alg,
    components: c.typed,
    componentKcvs: c.kcvs.map((k) => (alg === 'AES' ? k.cmac : k.legacy)),
    label: 'ZMK 2026',
    usages: ['wrap'],
    ...extra,
  });

  it('AES-256 from three components: a sensitive, non-extractable token key whose in-HSM check value matches', async () => {
    const c = components('AES', 32, 3);
    const before = await count();
    const r = await new ComponentImportService(client).importComponents(t, input(c, 'AES', { keyKcv: c.kcv.cmac }));
    expect(r.transport).toBe('rsa-oaep-sha1');
    expect(r.algorithm).toBe('AES-256');
    expect(r.expected).toEqual(c.kcv);
    expect(r.hsm).toEqual({ cmac: c.kcv.cmac, legacy: c.kcv.legacy });
    expect(r.key).toMatchObject({ label: 'ZMK 2026', kind: 'secret', keyType: 'aes', sensitive: true, extractable: false, onToken: true });
    expect(r.key.usage).toMatchObject({ wrap: true, encrypt: false, sign: false, derive: false });
    // Exactly one new object: the ephemeral transport pair is gone.
    const after = await objects();
    expect(after).toHaveLength(before + 1);
    expect(after.some((o) => o.label.includes('transport'))).toBe(false);
    // The HSM's own value, read back independently.
    const cv = await client.call('checkValue', { path: t.module, token: t.token, ref: { label: 'ZMK 2026', kind: 'secret' } });
    expect(cv.cmacHex).toBe(c.kcv.cmac);
  });

  it('two-key TDES (stored as K1‖K2‖K1) and AES-128 extractable with the sign usage', async () => {
    const d = components('TDES', 16, 2);
    const r1 = await new ComponentImportService(client).importComponents(t, input(d, 'TDES', { label: 'TMK', usages: ['encrypt'] }));
    expect(r1.algorithm).toBe('TDES-2key');
    expect(r1.hsm.legacy).toBe(d.kcv.legacy);
    expect(r1.key).toMatchObject({ keyType: 'tdes', extractable: false });
    const a = components('AES', 16, 2);
    const r2 = await new ComponentImportService(client).importComponents(t, input(a, 'AES', { label: 'MAC key', usages: ['sign'], extractable: true, componentKcvs: a.kcvs.map((k) => k.legacy) }));
    expect(r2.hsm.cmac).toBe(a.kcv.cmac);
    expect(r2.key).toMatchObject({ extractable: true, sensitive: true });
    expect(r2.key.usage.sign).toBe(true);
  });

  it('components given as bytes are used and zeroised', async () => {
    const c = components('AES', 24, 2);
    const bytes = c.hex.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
    const r = await new ComponentImportService(client).importComponents(t, input(c, 'AES', { components: bytes }));
    expect(r.hsm.cmac).toBe(c.kcv.cmac);
    for (const b of bytes) expect(b.every((x) => x === 0)).toBe(true);
  });

  it('a wrong component check value, a wrong key check value, a malformed component or a used label: nothing is created', async () => {
    const c = components('AES', 32, 3);
    const svc = new ComponentImportService(client);
    const before = await objects();
    const wrongKcvs = [c.kcvs[0]!.cmac, c.kcvs[2]!.cmac, c.kcvs[2]!.cmac];
    const e1 = await failure(svc.importComponents(t, input(c, 'AES', { componentKcvs: wrongKcvs })));
    expect(e1).toMatchObject({ code: 'CHECK_VALUE_MISMATCH', details: { component: 2 } });
    const e2 = await failure(svc.importComponents(t, input(c, 'AES', { keyKcv: c.kcvs[0]!.cmac })));
    expect(e2.code).toBe('CHECK_VALUE_MISMATCH');
    const e3 = await failure(svc.importComponents(t, input(c, 'AES', { components: [c.typed[0]!, c.typed[1]!.replace(/^./, 'G'), c.typed[2]!] })));
    expect(e3).toMatchObject({ code: 'COMPONENT_INVALID', details: { component: 2 } });
    const e4 = await failure(svc.importComponents(t, input(c, 'AES', { components: [c.typed[0]!, c.typed[0]!, c.typed[2]!], componentKcvs: [c.kcvs[0]!.cmac, c.kcvs[0]!.cmac, c.kcvs[2]!.cmac] })));
    expect(e4.code).toBe('COMPONENT_INVALID');
    for (const e of [e1, e2, e3, e4]) {
      const text = JSON.stringify(e).toLowerCase();
      for (const h of [...c.hex, toHex(c.key)]) expect(text).not.toContain(h.slice(0, 12));
    }
    expect(await objects()).toEqual(before);
    await svc.importComponents(t, input(c, 'AES'));
    const e5 = await failure(svc.importComponents(t, input(c, 'AES')));
    expect(e5.code).toBe('INVALID_INPUT');
    expect(await objects()).toHaveLength(before.length + 1);
  });

  it('a check value the HSM computes differently destroys the new key: CHECK_VALUE_MISMATCH, no orphan', async () => {
    const c = components('AES', 32, 2);
    const before = await objects();
    const svc = new ComponentImportService(
      intercepted({ checkValue: async (_p, real) => ({ ...(await real()), cmacHex: '0000000000' }) }),
    );
    const e = await failure(svc.importComponents(t, input(c, 'AES')));
    expect(e.code).toBe('CHECK_VALUE_MISMATCH');
    expect(e.message).toContain('destroyed');
    expect(await objects()).toEqual(before);
    // A token that cannot compute the check value at all: the import cannot be confirmed either.
    const blind = new ComponentImportService(intercepted({ checkValue: async () => ({ cmacHex: null, ecbHex: null, note: 'not supported' }) }));
    expect((await failure(blind.importComponents(t, input(c, 'AES')))).code).toBe('MECHANISM_UNSUPPORTED');
    expect(await objects()).toEqual(before);
  });

  it('a token without RSA-OAEP unwrap: refused unless the plaintext fallback is allowed, which is then reported', async () => {
    const c = components('AES', 32, 2);
    const before = await count();
    const noOaep = intercepted({
      importSecretBegin: async () => {
        throw new CustosError({ code: 'MECHANISM_UNSUPPORTED', message: 'no OAEP unwrap', action: 'x', details: { fallback: 'plaintext' } });
      },
    });
    const e = await failure(new ComponentImportService(noOaep).importComponents(t, input(c, 'AES')));
    expect(e.code).toBe('MECHANISM_UNSUPPORTED');
    expect(await count()).toBe(before);
    const r = await new ComponentImportService(noOaep).importComponents(t, input(c, 'AES', { allowPlaintext: true }));
    expect(r.transport).toBe('plaintext');
    expect(r.hsm.cmac).toBe(c.kcv.cmac);
    expect(r.key).toMatchObject({ sensitive: true, extractable: false });
    expect(await count()).toBe(before + 1);
  });

  it('the host transport ops leave nothing behind: abort after begin, and a step 2 with a bad blob', async () => {
    const tok = { path: t.module, token: t.token };
    const before = await count();
    const a = await client.call('importSecretBegin', tok);
    expect(a.modulus).toHaveLength(256);
    expect(await count()).toBe(before + 1); // the private half only; the public half is destroyed at once
    expect(await client.call('importSecretAbort', { ...tok, transportId: a.transportId })).toEqual({ destroyed: 1 });
    expect(await count()).toBe(before);
    const b = await client.call('importSecretBegin', tok);
    const template = { kind: 'secret' as const, keyType: 'aes' as const, label: 'x', idHex: '01', usages: ['encrypt' as const], extractable: false, onToken: true };
    await expect(client.call('importSecretWrapped', { ...tok, transportId: b.transportId, wrapped: randomBytes(256), template })).rejects.toBeInstanceOf(CustosError);
    expect(await count()).toBe(before);
    // A usage the key type cannot have is refused before the token is asked.
    const c = await client.call('importSecretBegin', tok);
    const bad = await failure(client.call('importSecretWrapped', { ...tok, transportId: c.transportId, wrapped: randomBytes(256), template: { ...template, usages: ['derive'] } }));
    expect(bad.code).toBe('TEMPLATE_INVALID');
    expect(await count()).toBe(before);
  });

  it('not logged in: NOT_LOGGED_IN and nothing created', async () => {
    const c = components('AES', 16, 2);
    await client.call('logout', { path: t.module, token: t.token });
    const e = await failure(new ComponentImportService(client).importComponents(t, input(c, 'AES')));
    expect(e.code).toBe('NOT_LOGGED_IN');
    await client.call('login', { path: t.module, token: t.token, role: 'user', pin: PIN });
    expect(await count()).toBe(0);
  });
});

describe('custos components combine --import', () => {
  interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
  }
  function cli(args: string[], input = ''): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, '--module', SOFTHSM_MODULE, '--token', 'Workstation HSM', ...args], { cwd: fx.dir, env: fx.env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`custos ${args.join(' ')} did not finish\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, 40_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(input);
    });
  }

  beforeEach(async () => {
    // The CLI runs its own host: release this test's session first.
    await client.call('logout', { path: t.module, token: t.token });
    writeFileSync(join(fx.dir, 'pin.txt'), `${PIN}\n`, { mode: 0o600 });
  });

  it('imports the key; prints check values, never a component or the key; a wrong KCV exits 9 and creates nothing', async () => {
    const c = components('AES', 32, 3);
    const kcvs = c.kcvs.map((k) => k.cmac).join(',');
    const ok = await cli(['--pin-file', 'pin.txt', '--json', 'components', 'combine', '--count', '3', '--algorithm', 'aes', '--kcvs', kcvs, '--kcv', c.kcv.cmac, '--import', '--label', 'ZMK', '--usage', 'wrap,encrypt'], c.typed.join('\n') + '\n');
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);
    const j = JSON.parse(ok.stdout) as { imported: boolean; transport: string; checkValues: { inHsm: { cmac: string } }; key: { label: string; usage: { wrap: boolean; encrypt: boolean } } };
    expect(j).toMatchObject({ imported: true, transport: 'rsa-oaep-sha1', checkValues: { inHsm: { cmac: c.kcv.cmac } }, key: { label: 'ZMK', usage: { wrap: true, encrypt: true } } });
    const text = await cli(['--pin-file', 'pin.txt', 'components', 'combine', '--count', '3', '--algorithm', 'aes', '--kcvs', kcvs, '--import', '--label', 'ZMK 2'], c.typed.join('\n') + '\n');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('matches the one computed from the components');
    for (const r of [ok, text]) {
      const all = (r.stdout + r.stderr).toLowerCase().replace(/\s/g, '');
      for (const h of [...c.hex, toHex(c.key)]) expect(all).not.toContain(h);
    }
    const list = async () => (JSON.parse((await cli(['--pin-file', 'pin.txt', '--json', 'key', 'list'])).stdout) as unknown[]).length;
    expect(await list()).toBe(2);
    const bad = await cli(['--pin-file', 'pin.txt', '--json', 'components', 'combine', '--count', '3', '--algorithm', 'aes', '--kcvs', [c.kcvs[1]!.cmac, c.kcvs[1]!.cmac, c.kcvs[2]!.cmac].join(','), '--import', '--label', 'ZMK 3'], c.typed.join('\n') + '\n');
    expect(bad.code).toBe(9);
    expect((JSON.parse(bad.stdout) as { error: AppError }).error.code).toBe('CHECK_VALUE_MISMATCH');
    expect(await list()).toBe(2);
  });

  it('usage errors before anything is read: no --kcvs, no --label, --reveal, PIN and components both on stdin', async () => {
    const c = components('AES', 16, 2);
    const base = ['components', 'combine', '--count', '2', '--algorithm', 'aes', '--import'];
    expect((await cli(['--pin-file', 'pin.txt', ...base, '--label', 'K'], c.typed.join('\n'))).code).toBe(2);
    expect((await cli(['--pin-file', 'pin.txt', ...base, '--kcvs', c.kcvs.map((k) => k.cmac).join(',')], c.typed.join('\n'))).code).toBe(2);
    expect((await cli(['--pin-file', 'pin.txt', ...base, '--label', 'K', '--reveal', '--kcvs', c.kcvs.map((k) => k.cmac).join(',')], c.typed.join('\n'))).code).toBe(2);
    const noPin = await cli(['--json', ...base, '--label', 'K', '--kcvs', c.kcvs.map((k) => k.cmac).join(',')], c.typed.join('\n'));
    expect((JSON.parse(noPin.stdout) as { error: AppError }).error.code).toBe('INVALID_INPUT');
  });
});
