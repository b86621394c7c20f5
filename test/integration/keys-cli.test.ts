import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync, createPrivateKey, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aesKeyUnwrapPad, rsaAesKeyUnwrap } from '../../electron/services/formats/keywrap';
import { groupKeys, parseKeyRef } from '../../electron/services/key-refs';
import { objectUri } from '../../shared/pkcs11-uri';
import { DIST, requireBuild, softhsm, SOFTHSM_MODULE, type SoftHsmFixture } from '../helpers/softhsm';

// The `custos key …` and operation commands end to end: real CLI process, real SoftHSM token, and
// every output checked by a tool that is not Custos (OpenSSL, Node's crypto).

const run = promisify(execFile);
const CLI = join(DIST, 'cli.cjs');

let fx: SoftHsmFixture;
let pinFile: string;

async function custos(args: string[], opts: { input?: string; token?: string } = {}) {
  const full = ['--module', SOFTHSM_MODULE, '--token', opts.token ?? 'Keys', '--pin-file', pinFile, ...args];
  try {
    const r = await run(process.execPath, [CLI, ...full], { env: fx.env, cwd: fx.dir, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const json = async (args: string[], token?: string) => {
  const r = await custos([...args, '--json'], token ? { token } : {});
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

beforeAll(() => {
  requireBuild();
  fx = softhsm('custos-keys-cli-');
  fx.initToken('Keys', { user: '1234' });
  fx.initToken('Other', { user: '1234' });
  pinFile = join(fx.dir, 'pin');
  writeFileSync(pinFile, '1234\n');
});
afterAll(() => fx.cleanup());

describe('custos key and operation commands', () => {
  it('generates an EC key whose ECDSA signature verifies with OpenSSL, and a CSR OpenSSL accepts', async () => {
    const k = await json(['key', 'generate', '--type', 'ec-p256', '--label', 'Signer']);
    expect(k).toMatchObject({ kind: 'pair', keyType: 'ec', curve: 'P-256', extractable: false, sensitive: true });
    expect(k.usage).toMatchObject({ sign: true, verify: true, encrypt: false, decrypt: false, wrap: false, unwrap: false, derive: false });
    expect(k.fingerprint.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const pem = join(fx.dir, 'signer.pem');
    expect((await custos(['key', 'export-public', '--key', 'Signer', '--out', pem])).code).toBe(0);
    const data = join(fx.dir, 'data.bin');
    writeFileSync(data, 'ceremony transcript 2026-11-28');
    const sig = join(fx.dir, 'sig.der');
    expect((await custos(['sign', '--key', 'Signer', '--mechanism', 'ecdsa-sha256', '--in', data, '--out', sig])).code).toBe(0);
    expect(execFileSync('openssl', ['dgst', '-sha256', '-verify', pem, '-signature', sig, data]).toString()).toContain('Verified OK');
    expect((await custos(['verify', '--key', 'Signer', '--mechanism', 'ecdsa-sha256', '--signature', sig, '--in', data])).code).toBe(0);
    writeFileSync(data, 'ceremony transcript 2026-11-29');
    const bad = await custos(['verify', '--key', 'Signer', '--mechanism', 'ecdsa-sha256', '--signature', sig, '--in', data, '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).error.code).toBe('SIGNATURE_INVALID');
    const csr = join(fx.dir, 'req.pem');
    expect((await custos(['key', 'csr', '--key', k.uri, '--subject', 'CN=Custos Test Root,O=Example,C=GB', '--out', csr])).code).toBe(0);
    const text = execFileSync('openssl', ['req', '-in', csr, '-verify', '-noout', '-text'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    expect(text).toContain('CN = Custos Test Root');
    // The CSR's key is the token's key.
    const spki = execFileSync('openssl', ['req', '-in', csr, '-pubkey', '-noout']).toString();
    expect(createPublicKey(spki).export({ format: 'der', type: 'spki' }).equals(createPublicKey(readFileSync(pem)).export({ format: 'der', type: 'spki' }))).toBe(true);
  });

  it('exports JWK with an RFC 7638 kid and signs with Ed25519 verifiable by Node', async () => {
    await json(['key', 'generate', '--type', 'ed25519', '--label', 'Ed']);
    const r = await json(['key', 'export-public', '--key', 'Ed', '--format', 'jwk']);
    const jwk = JSON.parse(r.text);
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    const data = join(fx.dir, 'ed.bin');
    writeFileSync(data, 'hello');
    const s = await json(['sign', '--key', 'Ed', '--mechanism', 'ed25519', '--in', data]);
    expect(nodeVerify(null, Buffer.from('hello'), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s.signature, 'hex'))).toBe(true);
  });

  it('encrypts and decrypts with AES-GCM; a flipped bit is refused with DECRYPTION_FAILED', async () => {
    await json(['key', 'generate', '--type', 'aes-256', '--label', 'DEK']);
    const pt = join(fx.dir, 'pt');
    writeFileSync(pt, 'payroll 2019');
    const ct = join(fx.dir, 'ct');
    expect((await custos(['encrypt', '--key', 'DEK', '--in', pt, '--out', ct])).code).toBe(0);
    const out = join(fx.dir, 'pt2');
    expect((await custos(['decrypt', '--key', 'DEK', '--in', ct, '--out', out])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('payroll 2019');
    const blob = readFileSync(ct);
    blob[blob.length - 1]! ^= 1;
    writeFileSync(ct, blob);
    const r = await custos(['decrypt', '--key', 'DEK', '--in', ct, '--out', join(fx.dir, 'pt3'), '--json']);
    expect(r.code).not.toBe(0);
    expect(JSON.parse(r.stdout).error.code).toBe('DECRYPTION_FAILED');
  });

  it('wraps a key for bring-your-own-key import in the layout AWS/GCP/Vault accept, provably with Node alone', async () => {
    // The cloud KMS side: an RSA-3072 wrapping key pair whose private half never meets Custos.
    const kms = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const kmsPem = join(fx.dir, 'kms.pem');
    writeFileSync(kmsPem, kms.publicKey.export({ format: 'pem', type: 'spki' }));
    await json(['key', 'import-public', '--file', kmsPem, '--label', 'KMS import key']);
    const target = await json(['key', 'generate', '--type', 'aes-256', '--label', 'BYOK', '--extractable']);
    // RSA-3072 is 128 bits (SP 800-57 Table 2), the AES-256 key 256: refused unless the custodian says
    // the receiver takes nothing stronger, and then the output says how strong the export is.
    const weak = await custos(['wrap', '--key', 'BYOK', '--wrapping-key', 'KMS import key', '--mechanism', 'rsa-aes-kwp-sha1', '--out', join(fx.dir, 'refused.bin'), '--json']);
    expect(weak.code).toBe(1);
    expect(JSON.parse(weak.stdout).error).toMatchObject({ code: 'WRAPPING_KEY_TOO_WEAK', details: { wrappingKeyBits: 128, targetBits: 256 } });
    expect(existsSync(join(fx.dir, 'refused.bin'))).toBe(false);
    for (const [mechanism, hash] of [
      ['rsa-aes-kwp-sha1', 'sha1'],
      ['rsa-aes-kwp-sha256', 'sha256'],
    ] as const) {
      const out = join(fx.dir, `byok-${hash}.bin`);
      const w = await json(['wrap', '--key', 'BYOK', '--wrapping-key', 'KMS import key', '--mechanism', mechanism, '--out', out, '--allow-weaker-wrapping-key']);
      expect(w.strength).toEqual({ wrappingKey: 128, target: 256, weaker: true });
      const key = rsaAesKeyUnwrap(createPrivateKey(kms.privateKey.export({ format: 'pem', type: 'pkcs8' })), readFileSync(out), hash);
      expect(key.length).toBe(32);
      // Same key: the CMAC check value computed in Node over the unwrapped bytes equals the token's.
      const { cmac } = await import('../../electron/services/kcv');
      expect(cmac('AES', key, Buffer.alloc(16)).subarray(0, 5).toString('hex')).toBe(target.checkValue.cmac);
    }
    // A non-extractable key is refused before the token is asked.
    const r = await custos(['wrap', '--key', 'DEK', '--wrapping-key', 'KMS import key', '--mechanism', 'rsa-aes-kwp-sha1', '--out', join(fx.dir, 'x'), '--json', '--allow-weaker-wrapping-key']);
    expect(JSON.parse(r.stdout).error.code).toBe('KEY_NOT_EXTRACTABLE');
  });

  it('wraps under an AES KEK with RFC 5649 that Node unwraps, and unwraps it back as a new key with the same check value', async () => {
    const kek = await json(['key', 'generate', '--type', 'aes-256', '--label', 'KEK', '--usage', 'wrap', '--extractable']);
    const byok = await json(['key', 'show', '--key', 'BYOK']);
    const out = join(fx.dir, 'kwp.bin');
    expect((await custos(['wrap', '--key', 'BYOK', '--wrapping-key', 'KEK', '--mechanism', 'aes-kwp', '--out', out])).code).toBe(0);
    expect(readFileSync(out).length).toBe(40);
    const back = await json(['unwrap', '--wrapping-key', 'KEK', '--mechanism', 'aes-kwp', '--in', out, '--type', 'aes-256', '--label', 'BYOK again', '--usage', 'encrypt']);
    expect(back.checkValue.cmac).toBe(byok.checkValue.cmac);
    expect(back.extractable).toBe(false);
    expect(kek.checkValue.cmac).toMatch(/^[0-9a-f]{10}$/);
    expect(() => aesKeyUnwrapPad(Buffer.alloc(32), readFileSync(out))).toThrow(); // wrong KEK: integrity check fails
  });

  it('copies a secret key to another token with matching check values; refuses key pairs and non-extractable keys', async () => {
    const src = await json(['key', 'show', '--key', 'BYOK']);
    const copy = await json(['key', 'copy', '--key', 'BYOK', '--to-token', 'Other', '--to-pin-file', pinFile]);
    expect(copy.checkValue.cmac).toBe(src.checkValue.cmac);
    expect(copy.uri).toContain('token=Other');
    const pair = await custos(['key', 'copy', '--key', 'Signer', '--to-token', 'Other', '--to-pin-file', pinFile, '--json']);
    expect(JSON.parse(pair.stdout).error.code).toBe('MECHANISM_UNSUPPORTED');
    const fixed = await custos(['key', 'copy', '--key', 'DEK', '--to-token', 'Other', '--to-pin-file', pinFile, '--json']);
    expect(JSON.parse(fixed.stdout).error.code).toBe('KEY_NOT_EXTRACTABLE');
    // No transport objects are left behind on either token.
    for (const token of ['Keys', 'Other']) {
      const keys = await json(['key', 'list'], token);
      expect(keys.some((k: { label: string }) => k.label.includes('transport'))).toBe(false);
    }
  });

  it('lists keys with pairs grouped, relabels both halves, destroys only after the label is repeated', async () => {
    const before = await json(['key', 'list']);
    expect(before.filter((k: { label: string }) => k.label === 'Signer')).toHaveLength(1);
    await json(['key', 'relabel', '--key', 'Signer', '--label', 'Signer 2026']);
    const wrong = await custos(['key', 'destroy', '--key', 'Signer 2026', '--confirm', 'Signer', '--json']);
    expect(JSON.parse(wrong.stdout).error.code).toBe('INVALID_INPUT');
    expect((await json(['key', 'list'])).some((k: { label: string }) => k.label === 'Signer 2026')).toBe(true);
    const gone = await json(['key', 'destroy', '--key', 'Signer 2026', '--confirm', 'Signer 2026']);
    expect(gone.destroyed).toBe(2);
    const missing = await custos(['key', 'show', '--key', 'Signer 2026', '--json']);
    expect(missing.code).toBe(4);
    expect(JSON.parse(missing.stdout).error.code).toBe('OBJECT_NOT_FOUND');
  });

  it('random bytes come from the token and differ each time; caps lists the probe verdicts', async () => {
    const a = await json(['random', '--bytes', '32']);
    const b = await json(['random', '--bytes', '32']);
    expect(a.hex).toMatch(/^[0-9a-f]{64}$/);
    expect(a.hex).not.toBe(b.hex);
    const caps = await json(['token', 'caps']);
    expect(caps.wrapProbe.aesKw).toBe('CKM_AES_KEY_WRAP');
    expect(caps.wrapProbe.aesKwp).toEqual({ mechanism: 'CKM_AES_KEY_WRAP_PAD', wrap: 'aligned' });
    expect(caps.mechanisms.every((m: { name: string }) => m.name.startsWith('CKM_'))).toBe(true);
  });
});

describe('key references', () => {
  it('parses labels and PKCS#11 object URIs, and builds URIs that parse back', () => {
    expect(parseKeyRef('Root CA')).toEqual({ label: 'Root CA' });
    const uri = objectUri('pkcs11:token=T;serial=1', { label: 'a;b', idHex: '00ff', kind: 'secret' });
    expect(uri).toBe('pkcs11:token=T;serial=1;object=a%3Bb;id=%00%FF;type=secret-key');
    expect(parseKeyRef(uri)).toEqual({ label: 'a;b', idHex: '00ff', kind: 'secret' });
    expect(() => parseKeyRef('pkcs11:token=T')).toThrow(/neither object= nor id=/);
    expect(() => parseKeyRef('pkcs11:object=x;type=cert')).toThrow(/not keys/);
  });

  it('groups the halves of a pair by id and label', () => {
    const base = { label: 'k', idHex: 'aa', onToken: true, private: true, sensitive: true, extractable: false, neverExtractable: true, alwaysSensitive: true, local: true, bits: 256, curve: 'P-256', checkValueHex: null, keyType: 'ec' as const, wrapWithTrusted: null, trusted: null };
    const none = { encrypt: false, decrypt: false, sign: false, verify: false, wrap: false, unwrap: false, derive: false };
    const keys = groupKeys('pkcs11:token=T', [
      { ...base, kind: 'private', usage: { ...none, sign: true } },
      { ...base, kind: 'public', usage: { ...none, verify: true } },
      { ...base, kind: 'secret', idHex: 'bb', keyType: 'aes', usage: none },
    ]);
    expect(keys.map((k) => [k.idHex, k.kind])).toEqual([
      ['aa', 'pair'],
      ['bb', 'secret'],
    ]);
    expect(keys[0]!.usage).toMatchObject({ sign: true, verify: true });
  });
});
