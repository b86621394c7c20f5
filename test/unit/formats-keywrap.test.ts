import { execFileSync, spawnSync } from 'node:child_process';
import { createCipheriv, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aesKeyUnwrap,
  aesKeyUnwrapPad,
  aesKeyWrap,
  aesKeyWrapPad,
  byokProfiles,
  rsaAesKeyUnwrap,
  rsaAesKeyWrapCompose,
} from '../../electron/services/formats/keywrap';
import { CustosError } from '../../shared/result';
import rfc3394 from '../vectors/keywrap/rfc3394.json';
import rfc5649 from '../vectors/keywrap/rfc5649.json';

const hex = (s: string) => Buffer.from(s, 'hex');

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CustosError) return `${e.appError.code}: ${e.appError.message}`;
    throw e;
  }
  throw new Error('expected a CustosError');
}

// Deterministic pseudo-random bytes (xorshift32) so every run wraps the same data.
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/**
 * An independent RFC 3394 §2.2.1 / RFC 5649 §4.1 wrap written from the RFC text on top of plain
 * AES-ECB, so the tests do not rely only on OpenSSL's wrap-mode code.
 */
function referenceWrap(kek: Buffer, plaintext: Buffer, padded: boolean): Buffer {
  const ecb = (block: Buffer) => {
    const c = createCipheriv(`aes-${kek.length * 8}-ecb`, kek, null);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(block), c.final()]);
  };
  let a: Buffer;
  let p: Buffer;
  if (padded) {
    a = Buffer.concat([hex('a65959a6'), Buffer.alloc(4)]);
    a.writeUInt32BE(plaintext.length, 4);
    p = Buffer.concat([plaintext, Buffer.alloc((8 - (plaintext.length % 8)) % 8)]);
    if (p.length === 8) return ecb(Buffer.concat([a, p])); // RFC 5649 §4.1: a single block is just encrypted.
  } else {
    a = hex('a6a6a6a6a6a6a6a6');
    p = plaintext;
  }
  const n = p.length / 8;
  const r = Array.from({ length: n }, (_, i) => Buffer.from(p.subarray(8 * i, 8 * i + 8)));
  for (let j = 0; j <= 5; j++) {
    for (let i = 1; i <= n; i++) {
      const b = ecb(Buffer.concat([a, r[i - 1]!]));
      const t = BigInt(n * j + i);
      a = Buffer.from(b.subarray(0, 8));
      a.writeBigUInt64BE(a.readBigUInt64BE(0) ^ t, 0);
      r[i - 1] = Buffer.from(b.subarray(8));
    }
  }
  return Buffer.concat([a, ...r]);
}

describe('RFC 3394 AES key wrap', () => {
  it.each(rfc3394.vectors)('§$section $description', ({ kek, plaintext, ciphertext }) => {
    expect(aesKeyWrap(hex(kek), hex(plaintext)).toString('hex')).toBe(ciphertext);
    expect(aesKeyUnwrap(hex(kek), hex(ciphertext)).toString('hex')).toBe(plaintext);
    expect(referenceWrap(hex(kek), hex(plaintext), false).toString('hex')).toBe(ciphertext);
    for (const bit of [0, 8 * 8 + 3, hex(ciphertext).length * 8 - 1]) {
      const tampered = hex(ciphertext);
      tampered[bit >> 3]! ^= 1 << (bit & 7);
      expect(code(() => aesKeyUnwrap(hex(kek), tampered))).toMatch(/^INVALID_INPUT: Unwrapping failed the integrity check/);
    }
    const wrongKek = hex(kek);
    wrongKek[0]! ^= 1;
    expect(code(() => aesKeyUnwrap(wrongKek, hex(ciphertext)))).toMatch(/integrity check/);
  });

  it('matches the independent implementation for reproducible random keys and KEKs', () => {
    const rand = prng(3394);
    for (const kekLength of [16, 24, 32]) {
      for (let blocks = 2; blocks <= 10; blocks++) {
        const kek = rand(kekLength);
        const key = rand(8 * blocks);
        const wrapped = aesKeyWrap(kek, key);
        expect(wrapped.equals(referenceWrap(kek, key, false))).toBe(true);
        expect(aesKeyUnwrap(kek, wrapped).equals(key)).toBe(true);
      }
    }
  });

  it('refuses sizes RFC 3394 does not define', () => {
    const kek = Buffer.alloc(16, 1);
    expect(code(() => aesKeyWrap(Buffer.alloc(15), Buffer.alloc(16)))).toMatch(/15 bytes; an AES key is 16, 24 or 32 bytes/);
    expect(code(() => aesKeyWrap(Buffer.alloc(64), Buffer.alloc(16)))).toMatch(/64 bytes/);
    expect(code(() => aesKeyWrap(kek, Buffer.alloc(8)))).toMatch(/at least 16 bytes in whole 8-byte blocks; this is 8 bytes.*/);
    expect(code(() => aesKeyWrap(kek, Buffer.alloc(20)))).toMatch(/this is 20 bytes/);
    expect(code(() => aesKeyWrap(kek, Buffer.alloc(0)))).toMatch(/this is 0 bytes/);
    expect(code(() => aesKeyUnwrap(kek, Buffer.alloc(16)))).toMatch(/at least 24 bytes .* this is 16 bytes/);
    expect(code(() => aesKeyUnwrap(kek, Buffer.alloc(25)))).toMatch(/this is 25 bytes/);
    expect(code(() => aesKeyUnwrap(Buffer.alloc(17), Buffer.alloc(24)))).toMatch(/17 bytes/);
    expect(code(() => aesKeyWrap('00' as never, Buffer.alloc(16)))).toMatch(/must be bytes/);
    expect(code(() => aesKeyWrap(kek, [1, 2] as never))).toMatch(/must be bytes/);
    // The action points at the padded variant.
    try {
      aesKeyWrap(kek, Buffer.alloc(20));
    } catch (e) {
      expect((e as CustosError).appError.action).toMatch(/aesKeyWrapPad/);
    }
  });
});

describe('RFC 5649 AES key wrap with padding', () => {
  it.each(rfc5649.vectors)('§$section $description', ({ kek, plaintext, ciphertext }) => {
    expect(aesKeyWrapPad(hex(kek), hex(plaintext)).toString('hex')).toBe(ciphertext);
    expect(aesKeyUnwrapPad(hex(kek), hex(ciphertext)).toString('hex')).toBe(plaintext);
    expect(referenceWrap(hex(kek), hex(plaintext), true).toString('hex')).toBe(ciphertext);
    for (let byte = 0; byte < hex(ciphertext).length; byte += 5) {
      const tampered = hex(ciphertext);
      tampered[byte]! ^= 0x40;
      expect(code(() => aesKeyUnwrapPad(hex(kek), tampered))).toMatch(/integrity check/);
    }
  });

  it('matches the independent implementation for every length 1–80 and every KEK size', () => {
    const rand = prng(5649);
    for (const kekLength of [16, 24, 32]) {
      for (let length = 1; length <= 80; length++) {
        const kek = rand(kekLength);
        const key = rand(length);
        const wrapped = aesKeyWrapPad(kek, key);
        expect(wrapped.length).toBe(8 + Math.ceil(length / 8) * 8);
        expect(wrapped.equals(referenceWrap(kek, key, true)), `${kekLength}/${length}`).toBe(true);
        expect(aesKeyUnwrapPad(kek, wrapped).equals(key)).toBe(true);
      }
    }
  });

  it('detects a wrong length indicator or non-zero padding (RFC 5649 §3 checks)', () => {
    const kek = prng(1)(32);
    // RFC 3394 wrap of already padded data under an explicit AIV ‖ MLI: a KWP blob we control.
    const forge = (mli: number, p: Buffer) => {
      const a = Buffer.concat([hex('a65959a6'), Buffer.alloc(4)]);
      a.writeUInt32BE(mli, 4);
      const c = createCipheriv('id-aes256-wrap', kek, a);
      return Buffer.concat([c.update(p), c.final()]);
    };
    expect(aesKeyUnwrapPad(kek, forge(20, Buffer.concat([Buffer.alloc(20, 7), Buffer.alloc(4)]))).equals(Buffer.alloc(20, 7))).toBe(true);
    expect(code(() => aesKeyUnwrapPad(kek, forge(20, Buffer.concat([Buffer.alloc(20, 7), Buffer.from([0, 0, 0, 1])]))))).toMatch(/integrity check/);
    expect(code(() => aesKeyUnwrapPad(kek, forge(25, Buffer.alloc(24, 7))))).toMatch(/integrity check/);
    expect(code(() => aesKeyUnwrapPad(kek, forge(16, Buffer.alloc(24, 7))))).toMatch(/integrity check/);
  });

  it('refuses sizes RFC 5649 does not define', () => {
    const kek = Buffer.alloc(24, 2);
    expect(code(() => aesKeyWrapPad(kek, Buffer.alloc(0)))).toMatch(/no key data to wrap/);
    expect(code(() => aesKeyWrapPad(Buffer.alloc(31), Buffer.alloc(3)))).toMatch(/31 bytes/);
    expect(code(() => aesKeyUnwrapPad(kek, Buffer.alloc(8)))).toMatch(/at least 16 bytes .* this is 8 bytes/);
    expect(code(() => aesKeyUnwrapPad(kek, Buffer.alloc(20)))).toMatch(/this is 20 bytes/);
    expect(code(() => aesKeyUnwrapPad(kek, 'x' as never))).toMatch(/must be bytes/);
  });
});

describe('the openssl CLI agrees on KW and KWP', () => {
  it('openssl enc -id-aes*-wrap / -wrap-pad decrypts every RFC vector', () => {
    for (const v of rfc3394.vectors) {
      const out = execFileSync('openssl', ['enc', '-d', `-id-aes${v.kek.length * 4}-wrap`, '-K', v.kek, '-iv', 'A6A6A6A6A6A6A6A6'], { input: hex(v.ciphertext) });
      expect(out.toString('hex')).toBe(v.plaintext);
    }
    for (const v of rfc5649.vectors) {
      const out = execFileSync('openssl', ['enc', '-d', `-id-aes${v.kek.length * 4}-wrap-pad`, '-K', v.kek, '-iv', 'A65959A6'], { input: hex(v.ciphertext) });
      expect(out.toString('hex')).toBe(v.plaintext);
    }
  });
});

describe('RSA-AES key wrap (CKM_RSA_AES_KEY_WRAP)', () => {
  const pairs: Record<number, { privateKey: KeyObject; publicKey: KeyObject }> = {};
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'custos-kw-'));
    for (const bits of [2048, 3072, 4096]) pairs[bits] = generateKeyPairSync('rsa', { modulusLength: bits });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const spki = (bits: number) => pairs[bits]!.publicKey.export({ type: 'spki', format: 'der' });
  const rand = prng(0x5eed);
  const ephemeral = () => rand(32);
  // Target keys as the services want them: raw AES bytes, or a PKCS#8 private key.
  const ecPkcs8 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'der' });
  const rsaPkcs8 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'der' });
  const targets: [string, Buffer][] = [
    ['AES-256 key', rand(32)],
    ['AES-128 key', rand(16)],
    ['odd-length HMAC key', rand(45)],
    ['EC P-384 PKCS#8', ecPkcs8],
    ['RSA-2048 PKCS#8', rsaPkcs8],
  ];

  it.each([2048, 3072, 4096])('round-trips with a %i-bit wrapping key, SHA-1 and SHA-256, and has the PKCS#11 layout', (bits) => {
    const k = bits / 8;
    for (const oaepHash of ['sha1', 'sha256'] as const) {
      for (const [, target] of targets) {
        const eph = ephemeral();
        const blob = rsaAesKeyWrapCompose({ rsaPublicSpki: spki(bits), oaepHash, targetKey: target, ephemeralAesKey: eph });
        expect(blob.length).toBe(k + 8 + Math.ceil(target.length / 8) * 8);
        // The second part is exactly AES-KWP(ephemeral, target); the first part is the RSA block.
        expect(blob.subarray(k).equals(aesKeyWrapPad(eph, target))).toBe(true);
        expect(rsaAesKeyUnwrap(pairs[bits]!.privateKey, blob, oaepHash).equals(target)).toBe(true);
      }
    }
  });

  it('is unwrapped by the openssl CLI alone (pkeyutl OAEP for the first k bytes, enc -id-aes256-wrap-pad for the rest)', () => {
    const privFile = join(dir, 'wrapping-private.pem');
    for (const bits of [2048, 4096]) {
      writeFileSync(privFile, pairs[bits]!.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      for (const oaepHash of ['sha1', 'sha256'] as const) {
        for (const [name, target] of targets) {
          const blob = rsaAesKeyWrapCompose({ rsaPublicSpki: spki(bits), oaepHash, targetKey: target, ephemeralAesKey: ephemeral() });
          writeFileSync(join(dir, 'head.bin'), blob.subarray(0, bits / 8));
          writeFileSync(join(dir, 'tail.bin'), blob.subarray(bits / 8));
          execFileSync('openssl', [
            'pkeyutl', '-decrypt', '-inkey', privFile, '-in', join(dir, 'head.bin'), '-out', join(dir, 'eph.bin'),
            '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${oaepHash}`, '-pkeyopt', `rsa_mgf1_md:${oaepHash}`,
          ]);
          const eph = readFileSync(join(dir, 'eph.bin'));
          expect(eph.length).toBe(32);
          const out = execFileSync('openssl', ['enc', '-d', '-id-aes256-wrap-pad', '-K', eph.toString('hex'), '-iv', 'A65959A6', '-in', join(dir, 'tail.bin')]);
          expect(out.equals(target), `${bits}/${oaepHash}/${name}`).toBe(true);
        }
        // The wrong OAEP hash does not decrypt.
        const blob = rsaAesKeyWrapCompose({ rsaPublicSpki: spki(bits), oaepHash, targetKey: rand(32), ephemeralAesKey: ephemeral() });
        writeFileSync(join(dir, 'head.bin'), blob.subarray(0, bits / 8));
        const other = oaepHash === 'sha1' ? 'sha256' : 'sha1';
        const r = spawnSync('openssl', ['pkeyutl', '-decrypt', '-inkey', privFile, '-in', join(dir, 'head.bin'), '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${other}`, '-pkeyopt', `rsa_mgf1_md:${other}`]);
        expect(r.status).not.toBe(0);
      }
    }
  });

  it('unwraps a blob that the openssl CLI composed (the other direction)', () => {
    const pubFile = join(dir, 'wrapping-public.pem');
    writeFileSync(pubFile, pairs[3072]!.publicKey.export({ type: 'spki', format: 'pem' }));
    const eph = ephemeral();
    writeFileSync(join(dir, 'eph.bin'), eph);
    const head = execFileSync('openssl', [
      'pkeyutl', '-encrypt', '-pubin', '-inkey', pubFile, '-in', join(dir, 'eph.bin'),
      '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256',
    ]);
    const tail = execFileSync('openssl', ['enc', '-e', '-id-aes256-wrap-pad', '-K', eph.toString('hex'), '-iv', 'A65959A6'], { input: ecPkcs8 });
    expect(tail.equals(aesKeyWrapPad(eph, ecPkcs8))).toBe(true);
    expect(rsaAesKeyUnwrap(pairs[3072]!.privateKey, Buffer.concat([head, tail]), 'sha256').equals(ecPkcs8)).toBe(true);
  });

  it('fits the Vault layout: RSA-4096, ephemeral key in the first 512 bytes', () => {
    const blob = rsaAesKeyWrapCompose({ rsaPublicSpki: spki(4096), oaepHash: 'sha256', targetKey: ecPkcs8, ephemeralAesKey: ephemeral() });
    expect(blob.length).toBeGreaterThan(512);
    expect(aesKeyUnwrapPad(Buffer.from(rsaAesKeyUnwrapEphemeral(pairs[4096]!.privateKey, blob.subarray(0, 512))), blob.subarray(512)).equals(ecPkcs8)).toBe(true);
  });

  it('refuses unusable inputs to compose', () => {
    const good = { rsaPublicSpki: spki(2048), oaepHash: 'sha256' as const, targetKey: rand(32), ephemeralAesKey: ephemeral() };
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' });
    const cases: [unknown, RegExp][] = [
      [{ ...good, oaepHash: 'sha384' }, /OAEP hash must be sha1 or sha256; got "sha384"/],
      [{ ...good, oaepHash: undefined }, /got "undefined"/],
      [{ ...good, rsaPublicSpki: ec }, /must be an RSA public key; this is an EC key/],
      [{ ...good, rsaPublicSpki: rsa1024 }, /1024 bits; at least 2048 bits are required/],
      [{ ...good, rsaPublicSpki: Buffer.alloc(3) }, /INVALID_INPUT/],
      [{ ...good, ephemeralAesKey: rand(16) }, /ephemeral AES key is 16 bytes; it must be 32/],
      [{ ...good, ephemeralAesKey: Buffer.alloc(32) }, /every byte the same/],
      [{ ...good, ephemeralAesKey: Buffer.alloc(32, 0xa5) }, /every byte the same/],
      [{ ...good, ephemeralAesKey: 'k'.repeat(32) }, /must be bytes/],
      [{ ...good, targetKey: Buffer.alloc(0) }, /target key is empty/],
      [{ ...good, targetKey: undefined }, /target key must be bytes/],
      [null, /No wrap input/],
    ];
    for (const [input, pattern] of cases) {
      expect(code(() => rsaAesKeyWrapCompose(input as never)), JSON.stringify(input)?.slice(0, 60)).toMatch(pattern);
    }
  });

  it('refuses unusable inputs to unwrap', () => {
    const target = rand(32);
    const blob = rsaAesKeyWrapCompose({ rsaPublicSpki: spki(2048), oaepHash: 'sha1', targetKey: target, ephemeralAesKey: ephemeral() });
    const priv = pairs[2048]!.privateKey;
    expect(code(() => rsaAesKeyUnwrap(pairs[2048]!.publicKey, blob, 'sha1'))).toMatch(/needs an RSA private key object/);
    expect(code(() => rsaAesKeyUnwrap(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, blob, 'sha1'))).toMatch(/RSA private key/);
    expect(code(() => rsaAesKeyUnwrap(priv, blob, 'sha256'))).toMatch(/RSA-OAEP part does not decrypt with this key and hash/);
    expect(code(() => rsaAesKeyUnwrap(pairs[3072]!.privateKey, blob, 'sha1'))).toMatch(/does not decrypt|at least/);
    expect(code(() => rsaAesKeyUnwrap(priv, blob.subarray(0, 256 + 8), 'sha1'))).toMatch(/must be at least 272/);
    expect(code(() => rsaAesKeyUnwrap(priv, blob, 'md5' as never))).toMatch(/sha1 or sha256/);
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1]! ^= 1;
    expect(code(() => rsaAesKeyUnwrap(priv, tampered, 'sha1'))).toMatch(/integrity check/);
    const tamperedRsa = Buffer.from(blob);
    tamperedRsa[10]! ^= 1;
    expect(code(() => rsaAesKeyUnwrap(priv, tamperedRsa, 'sha1'))).toMatch(/does not decrypt/);
    expect(rsaAesKeyUnwrap(priv, blob, 'sha1').equals(target)).toBe(true);
  });
});

/** OAEP-SHA-256 decryption of just the RSA block, via openssl, to show the split point independently. */
function rsaAesKeyUnwrapEphemeral(privateKey: KeyObject, head: Buffer): Buffer {
  const d = mkdtempSync(join(tmpdir(), 'custos-kw-vault-'));
  try {
    writeFileSync(join(d, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    return execFileSync('openssl', ['pkeyutl', '-decrypt', '-inkey', join(d, 'k.pem'), '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256'], { input: head });
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

describe('byokProfiles', () => {
  it('lists the AWS, Google Cloud and Vault RSA-AES import methods with consistent facts', () => {
    const profiles = byokProfiles();
    expect(profiles.map((p) => `${p.name}|${p.rsaBits.join('/')}|${p.oaepHash}`)).toEqual([
      'AWS KMS RSA_AES_KEY_WRAP_SHA_1|2048/3072/4096|sha1',
      'AWS KMS RSA_AES_KEY_WRAP_SHA_256|2048/3072/4096|sha256',
      'Google Cloud KMS RSA_OAEP_3072_SHA1_AES_256|3072|sha1',
      'Google Cloud KMS RSA_OAEP_4096_SHA1_AES_256|4096|sha1',
      'Google Cloud KMS RSA_OAEP_3072_SHA256_AES_256|3072|sha256',
      'Google Cloud KMS RSA_OAEP_4096_SHA256_AES_256|4096|sha256',
      'HashiCorp Vault transit import (BYOK)|4096|sha256',
    ]);
    for (const p of profiles) {
      expect(p.layout).toMatch(/^RSA-OAEP\(ephemeral AES-256 key\).*‖ AES-KWP RFC 5649/);
      expect(p.targetKeyEncoding.asymmetric).toMatch(/PKCS#8/);
      expect(p.targetKeyEncoding.symmetric).toMatch(/raw/);
      expect(p.sources.length).toBeGreaterThan(0);
      for (const s of p.sources) expect(s).toMatch(/^https:\/\//);
    }
  });

  it('returns copies, so callers cannot change the table', () => {
    const a = byokProfiles();
    a[0]!.rsaBits.push(1024);
    a[0]!.name = 'changed';
    a[0]!.targetKeyEncoding.symmetric = 'x';
    const b = byokProfiles();
    expect(b[0]!.rsaBits).toEqual([2048, 3072, 4096]);
    expect(b[0]!.name).toBe('AWS KMS RSA_AES_KEY_WRAP_SHA_1');
    expect(b[0]!.targetKeyEncoding.symmetric).toMatch(/raw/);
  });
});
