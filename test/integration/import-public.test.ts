// What `custos key import-public` accepts (issue #11 part 4, docs/CLI.md): RSA of 2048 to 16384 bits
// to wrap or encrypt (smaller ones, down to 1024, only to verify), as SPKI PEM, PKCS#1 PEM or JWK; EC
// P-256/384/521 and Ed25519 to verify only. And the wraps that follow from it: a wrapping key at
// least as strong as the key it carries (SP 800-57 Part 1 Table 2), so RSA-16384 wraps AES-256 at
// full strength and RSA-4096 wraps AES-128, provably (Node unwraps it).
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rsaAesKeyUnwrap } from '../../electron/services/formats/keywrap';
import { cmac } from '../../electron/services/kcv';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DIST, requireBuild, softhsm, SOFTHSM_MODULE, type SoftHsmFixture } from '../helpers/softhsm';

let fx: SoftHsmFixture;
let g: string[];

const run = promisify(execFile);
type Out = Record<string, unknown> & { error?: { code: string; details?: Record<string, unknown> } };
const custos = async (args: string[]): Promise<{ code: number; out: Out }> => {
  const argv = [join(DIST, 'cli.cjs'), '--json', ...g, ...args];
  try {
    const r = await run(process.execPath, argv, { env: fx.env, timeout: 60_000 });
    return { code: 0, out: JSON.parse(r.stdout) as Out };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, out: JSON.parse(err.stdout || 'null') as Out };
  }
};
const file = (name: string, text: string | Buffer) => {
  writeFileSync(join(fx.dir, name), text);
  return join(fx.dir, name);
};
const rsaPem = (bits: number) => {
  const n = randomBytes(bits / 8);
  n[0]! |= 0x80;
  n[n.length - 1]! |= 1;
  return createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' }, format: 'jwk' }).export({ format: 'pem', type: 'spki' }).toString();
};

beforeAll(() => {
  requireBuild();
  fx = softhsm('custos-import-public-');
  fx.initToken('Imports', { user: '135790' });
  g = ['--module', SOFTHSM_MODULE, '--token', 'Imports', '--pin-file', file('pin', '135790\n')];
});
afterAll(() => fx.cleanup());

describe('key import-public', () => {
  it('takes RSA-16384 to wrap, and it wraps an AES-256 key at full strength (256 bits)', async () => {
    const k = await custos(['key', 'import-public', '--file', file('rsa16384.pem', rsaPem(16384)), '--label', 'big']);
    expect(k.code).toBe(0);
    expect(k.out).toMatchObject({ keyType: 'rsa', bits: 16384, usage: { wrap: true } });
    expect((await custos(['key', 'generate', '--type', 'aes-256', '--label', 'dek', '--extractable'])).code).toBe(0);
    const w = await custos(['wrap', '--key', 'dek', '--wrapping-key', 'big', '--mechanism', 'rsa-aes-kwp-sha1', '--out', join(fx.dir, 'w.bin')]);
    expect(w.code).toBe(0);
    expect(w.out.strength).toEqual({ wrappingKey: 256, target: 256, weaker: false });
    // OAEP block as long as the modulus, then KWP of 32 bytes (RFC 5649: 40 bytes).
    expect(readFileSync(join(fx.dir, 'w.bin')).length).toBe(2048 + 40);
  });

  it('takes PKCS#1 "RSA PUBLIC KEY" PEM and a JWK as the same key as its SPKI PEM', async () => {
    const kms = generateKeyPairSync('rsa', { modulusLength: 4096 });
    const spki = await custos(['key', 'import-public', '--file', file('kms.pem', kms.publicKey.export({ format: 'pem', type: 'spki' }).toString()), '--label', 'kms']);
    const pkcs1 = await custos(['key', 'import-public', '--file', file('kms-pkcs1.pem', kms.publicKey.export({ format: 'pem', type: 'pkcs1' }).toString()), '--label', 'kms pkcs1']);
    const jwk = await custos(['key', 'import-public', '--file', file('kms.jwk', JSON.stringify(kms.publicKey.export({ format: 'jwk' }))), '--label', 'kms jwk']);
    for (const r of [spki, pkcs1, jwk]) expect(r.code).toBe(0);
    const fp = (r: typeof spki) => (r.out.fingerprint as { sha256: string }).sha256;
    expect(fp(pkcs1)).toBe(fp(spki));
    expect(fp(jwk)).toBe(fp(spki));

    // RSA-4096 is 128 bits: it wraps an AES-128 key without any override, and Node unwraps it.
    const target = await custos(['key', 'generate', '--type', 'aes-128', '--label', 'dek128', '--extractable']);
    const out = join(fx.dir, 'w128.bin');
    const w = await custos(['wrap', '--key', 'dek128', '--wrapping-key', 'kms', '--mechanism', 'rsa-aes-kwp-sha256', '--out', out]);
    expect(w.code).toBe(0);
    expect(w.out.strength).toEqual({ wrappingKey: 128, target: 128, weaker: false });
    const key = rsaAesKeyUnwrap(createPrivateKey(kms.privateKey.export({ format: 'pem', type: 'pkcs8' })), readFileSync(out), 'sha256');
    expect(cmac('AES', key, Buffer.alloc(16)).subarray(0, 5).toString('hex')).toBe((target.out.checkValue as { cmac: string }).cmac);
  });

  it('takes EC P-521 and Ed25519 keys to verify, never to wrap; RSA-1024 only to verify', async () => {
    const p521 = file('p521.pem', generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString());
    const ok = await custos(['key', 'import-public', '--file', p521, '--label', 'p521', '--usage', 'sign']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatchObject({ keyType: 'ec', curve: 'P-521', usage: { verify: true, wrap: false } });
    const ed = file('ed.pem', generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString());
    expect((await custos(['key', 'import-public', '--file', ed, '--label', 'ed', '--usage', 'sign'])).code).toBe(0);
    const wrapEc = await custos(['key', 'import-public', '--file', p521, '--label', 'p521 wrap', '--usage', 'wrap']);
    expect([wrapEc.code, wrapEc.out.error?.code]).toEqual([2, 'INVALID_INPUT']);
    const old = file('rsa1024.pem', rsaPem(1024));
    const weak = await custos(['key', 'import-public', '--file', old, '--label', 'old']);
    expect([weak.code, weak.out.error?.code]).toEqual([1, 'WRAPPING_KEY_TOO_WEAK']);
    expect(weak.out.error?.details).toEqual({ bits: 1024 });
    expect((await custos(['key', 'import-public', '--file', old, '--label', 'old', '--usage', 'sign'])).code).toBe(0);
    // Nothing of the refused imports is on the token.
    const labels = ((await custos(['key', 'list'])).out as unknown as Array<{ label: string }>).map((k) => k.label);
    expect(labels).not.toContain('p521 wrap');
    expect(labels.filter((l) => l === 'old')).toHaveLength(1);
  });
});
