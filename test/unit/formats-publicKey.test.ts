import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curveFromEcParams, ecParamsForCurve } from '../../electron/services/formats/ecParams';
import {
  ecSpkiFromPkcs11,
  inspectSpki,
  jwkThumbprint,
  parsePublicKey,
  pkcs11AttrsFromSpki,
  rsaSpkiFromPkcs11,
  spkiFingerprint,
  spkiToJwk,
  spkiToPem,
} from '../../electron/services/formats/publicKey';
import { CustosError } from '../../shared/result';

// Known-answer keys, all public test vectors:
// RFC 7638 §3.1 (RSA, thumbprint given), RFC 7515 Appendix A.3 (P-256), RFC 8037 Appendix A (Ed25519).
const RFC7638_N =
  '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
const RFC7638_THUMBPRINT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const RFC7515_X = 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU';
const RFC7515_Y = 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0';
const RFC8037_X = '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo';
const RFC8037_THUMBPRINT = 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k';

// CKA_EC_PARAMS values as tokens return them.
const PARAMS = {
  'P-256': Buffer.from('06082a8648ce3d030107', 'hex'),
  'P-384': Buffer.from('06052b81040022', 'hex'),
  'P-521': Buffer.from('06052b81040023', 'hex'),
  Ed25519: Buffer.from('06032b6570', 'hex'),
  edwards25519: Buffer.concat([Buffer.from([0x13, 12]), Buffer.from('edwards25519', 'latin1')]),
} as const;

const b64u = (s: string) => Buffer.from(s, 'base64url');
const octet = (b: Buffer) => Buffer.concat([Buffer.from([0x04, b.length]), b]);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CustosError) return `${e.appError.code}: ${e.appError.message}`;
    throw e;
  }
  throw new Error('expected a CustosError');
}

let dir: string;
function openssl(args: string[], input?: Buffer): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

const keys: Record<string, KeyObject> = {};
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'custos-pk-'));
  keys.p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  keys.p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
  keys.p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey;
  keys.ed = generateKeyPairSync('ed25519').publicKey;
  keys.rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spkiOf = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });

describe('ecSpkiFromPkcs11', () => {
  it('builds the RFC 7515 A.3 P-256 key from CKA_EC_PARAMS and a DER-wrapped CKA_EC_POINT, matching Node/OpenSSL byte for byte', () => {
    const point = Buffer.concat([Buffer.from([4]), b64u(RFC7515_X), b64u(RFC7515_Y)]);
    const spki = ecSpkiFromPkcs11(PARAMS['P-256'], octet(point));
    const reference = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: RFC7515_X, y: RFC7515_Y }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    expect(spki.equals(reference)).toBe(true);
    // The fixed RFC 5480 prefix for P-256: SEQUENCE, AlgorithmIdentifier {id-ecPublicKey, prime256v1}, BIT STRING.
    expect(spki.subarray(0, 26).toString('hex')).toBe('3059301306072a8648ce3d020106082a8648ce3d030107034200');
  });

  it.each(['p256', 'p384', 'p521'] as const)('accepts both the wrapped and the bare point for %s and gives the same SPKI', (name) => {
    const key = keys[name]!;
    const jwk = key.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), b64u(jwk.x!), b64u(jwk.y!)]);
    const params = PARAMS[jwk.crv as 'P-256' | 'P-384' | 'P-521'];
    const wrapped = ecSpkiFromPkcs11(params, Buffer.concat([Buffer.from([0x04]), point.length < 128 ? Buffer.from([point.length]) : Buffer.from([0x81, point.length]), point]));
    const bare = ecSpkiFromPkcs11(params, point);
    expect(wrapped.equals(spkiOf(key))).toBe(true);
    expect(bare.equals(wrapped)).toBe(true);
  });

  it('decompresses a compressed point so the SPKI is canonical', () => {
    const jwk = keys.p256!.export({ format: 'jwk' });
    const y = b64u(jwk.y!);
    const compressed = Buffer.concat([Buffer.from([2 + (y[y.length - 1]! & 1)]), b64u(jwk.x!)]);
    expect(ecSpkiFromPkcs11(PARAMS['P-256'], octet(compressed)).equals(spkiOf(keys.p256!))).toBe(true);
    expect(ecSpkiFromPkcs11(PARAMS['P-256'], compressed).equals(spkiOf(keys.p256!))).toBe(true);
  });

  it('builds an Ed25519 SPKI from the OID or the PrintableString "edwards25519", wrapped or bare', () => {
    const x = b64u(RFC8037_X);
    const expected = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), x]);
    for (const params of [PARAMS.Ed25519, PARAMS.edwards25519]) {
      expect(ecSpkiFromPkcs11(params, octet(x)).equals(expected)).toBe(true);
      expect(ecSpkiFromPkcs11(params, x).equals(expected)).toBe(true);
    }
  });

  it('is not fooled by a bare point whose first bytes look like an OCTET STRING header', () => {
    // A fixed P-256 public point whose x starts with 0x3f: read as DER, 04 3f … is a 63-byte
    // OCTET STRING that fills exactly the 65 bytes, so a naive "strip the wrapper" would corrupt it.
    const x = 'P9lYu7CW0Q64cgCO_5GpFMtOMxFaI-FQo2P5Xy1jArg';
    const y = 'PKHCgC0ymZLA-v_dilaBvOqG3t0ELBiJ9NjEXet3mtY';
    const point = Buffer.concat([Buffer.from([4]), b64u(x), b64u(y)]);
    expect(point.subarray(0, 2).toString('hex')).toBe('043f');
    const reference = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    expect(ecSpkiFromPkcs11(PARAMS['P-256'], point).equals(reference)).toBe(true);
    expect(ecSpkiFromPkcs11(PARAMS['P-256'], octet(point)).equals(reference)).toBe(true);
  });

  it('refuses bad CKA_EC_PARAMS with a reason', () => {
    const point = octet(Buffer.alloc(65, 4));
    expect(code(() => ecSpkiFromPkcs11(Buffer.alloc(0), point))).toMatch(/INVALID_INPUT: .*empty/);
    expect(code(() => ecSpkiFromPkcs11(Buffer.from('06052b8104000a', 'hex'), point))).toMatch(/secp256k1.*does not support/);
    expect(code(() => ecSpkiFromPkcs11(Buffer.from('06032b656e', 'hex'), point))).toMatch(/X25519/);
    expect(code(() => ecSpkiFromPkcs11(Buffer.from('06032b6571', 'hex'), point))).toMatch(/Ed448/);
    expect(code(() => ecSpkiFromPkcs11(Buffer.from('06092b0601040182371501', 'hex'), point))).toMatch(/unknown curve \(OID 1\.3\.6\.1\.4\.1\.311\.21\.1\)/);
    expect(code(() => ecSpkiFromPkcs11(Buffer.concat([Buffer.from([0x13, 10]), Buffer.from('curve25519')]), point))).toMatch(/"curve25519".*does not support/);
    expect(code(() => ecSpkiFromPkcs11(Buffer.from('3003020101', 'hex'), point))).toMatch(/explicitly/);
    expect(code(() => ecSpkiFromPkcs11(Buffer.from('0500', 'hex'), point))).toMatch(/implicitlyCA/);
    expect(code(() => ecSpkiFromPkcs11(Buffer.from('0401aa', 'hex'), point))).toMatch(/not an OBJECT IDENTIFIER/);
    expect(code(() => ecSpkiFromPkcs11(Buffer.from('06082a8648ce3d03010700', 'hex'), point))).toMatch(/1 unexpected byte/);
    expect(code(() => ecSpkiFromPkcs11(Buffer.from('06092a8648ce3d030107', 'hex'), point))).toMatch(/claims 9 bytes/);
    expect(code(() => ecSpkiFromPkcs11(Buffer.from('0680', 'hex'), point))).toMatch(/indefinite/);
  });

  it('refuses bad CKA_EC_POINT values with a reason', () => {
    const jwk = keys.p256!.export({ format: 'jwk' });
    const good = Buffer.concat([Buffer.from([4]), b64u(jwk.x!), b64u(jwk.y!)]);
    expect(code(() => ecSpkiFromPkcs11(PARAMS['P-256'], Buffer.alloc(0)))).toMatch(/empty/);
    expect(code(() => ecSpkiFromPkcs11(PARAMS['P-256'], good.subarray(0, 64)))).toMatch(/64 bytes, which is neither/);
    expect(code(() => ecSpkiFromPkcs11(PARAMS['P-384'], octet(good)))).toMatch(/67 bytes, which is neither a bare point \(97 or 49 bytes\)/);
    const hybrid = Buffer.from(good);
    hybrid[0] = 0x06;
    expect(code(() => ecSpkiFromPkcs11(PARAMS['P-256'], hybrid))).toMatch(/does not start with 0x04/);
    const offCurve = Buffer.from(good);
    offCurve[64]! ^= 1;
    expect(code(() => ecSpkiFromPkcs11(PARAMS['P-256'], offCurve))).toMatch(/not a valid public key/);
    const badX = Buffer.concat([Buffer.from([2]), Buffer.alloc(32, 0xff)]);
    expect(code(() => ecSpkiFromPkcs11(PARAMS['P-256'], badX))).toMatch(/not a point on P-256/);
    const badPrefix = Buffer.concat([Buffer.from([5]), b64u(jwk.x!)]);
    expect(code(() => ecSpkiFromPkcs11(PARAMS['P-256'], badPrefix))).toMatch(/0x02 or 0x03/);
    expect(code(() => ecSpkiFromPkcs11(PARAMS.Ed25519, Buffer.alloc(31)))).toMatch(/31 bytes/);
  });
});

describe('rsaSpkiFromPkcs11', () => {
  it('matches Node/OpenSSL for a generated key, with and without leading zero bytes', () => {
    const jwk = keys.rsa!.export({ format: 'jwk' });
    const n = b64u(jwk.n!);
    const e = b64u(jwk.e!);
    expect(rsaSpkiFromPkcs11(n, e).equals(spkiOf(keys.rsa!))).toBe(true);
    expect(rsaSpkiFromPkcs11(Buffer.concat([Buffer.alloc(3), n]), Buffer.concat([Buffer.alloc(5), e])).equals(spkiOf(keys.rsa!))).toBe(true);
  });

  it('adds the 0x00 that keeps a high-bit modulus positive (RFC 7638 key)', () => {
    const spki = rsaSpkiFromPkcs11(b64u(RFC7638_N), Buffer.from([1, 0, 1]));
    // modulus INTEGER header: 02 82 01 01 00 d2…
    expect(spki.toString('hex')).toContain('0282010100d2fc7b6a');
    expect(spkiToJwk(spki).kid).toBe(RFC7638_THUMBPRINT);
  });

  it('refuses numbers that cannot be an RSA public key', () => {
    const n = b64u(RFC7638_N);
    const e = Buffer.from([1, 0, 1]);
    expect(code(() => rsaSpkiFromPkcs11(Buffer.alloc(0), e))).toMatch(/CKA_MODULUS\) is empty/);
    expect(code(() => rsaSpkiFromPkcs11(n, Buffer.alloc(0)))).toMatch(/CKA_PUBLIC_EXPONENT\) is empty/);
    expect(code(() => rsaSpkiFromPkcs11(n.subarray(0, 100), e))).toMatch(/800 bits; .*at least 1024/);
    expect(code(() => rsaSpkiFromPkcs11(Buffer.alloc(2100, 0xff), e))).toMatch(/16800 bits; the largest/);
    const even = Buffer.from(n);
    even[even.length - 1]! &= 0xfe;
    expect(code(() => rsaSpkiFromPkcs11(even, e))).toMatch(/modulus is even/);
    expect(code(() => rsaSpkiFromPkcs11(n, Buffer.from([1])))).toMatch(/odd number of at least 3/);
    expect(code(() => rsaSpkiFromPkcs11(n, Buffer.from([1, 0, 0])))).toMatch(/odd number of at least 3/);
    expect(code(() => rsaSpkiFromPkcs11(n, Buffer.concat([Buffer.from([1]), Buffer.alloc(8), Buffer.from([1])])))).toMatch(/73 bits/);
  });
});

describe('PEM, fingerprint and JWK', () => {
  it('writes RFC 7468 PEM that OpenSSL reads back to the same DER', () => {
    for (const k of Object.values(keys)) {
      const spki = spkiOf(k);
      const pem = spkiToPem(spki);
      expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END PUBLIC KEY-----\n$/);
      const file = join(dir, 'k.pem');
      writeFileSync(file, pem);
      expect(openssl(['pkey', '-pubin', '-in', file, '-outform', 'DER']).equals(spki)).toBe(true);
    }
  });

  it('fingerprints the SPKI DER with SHA-256, the same digest openssl computes', () => {
    const spki = spkiOf(keys.p384!);
    const fp = spkiFingerprint(spki);
    const file = join(dir, 'k.der');
    writeFileSync(file, spki);
    const fromOpenssl = openssl(['dgst', '-sha256', '-r', file]).toString().split(' ')[0]!;
    expect(fp.hex).toBe(fromOpenssl);
    expect(fp.hex).toBe(createHash('sha256').update(spki).digest('hex'));
    expect(fp.sha256).toBe(fromOpenssl.toUpperCase().match(/../g)!.join(':'));
    expect(fp.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(fp.short).toBe(`${fp.hex.slice(0, 4)} ${fp.hex.slice(4, 8)} ${fp.hex.slice(8, 12)} ${fp.hex.slice(12, 16)}`.toUpperCase());
  });

  it('reproduces the RFC 7638 and RFC 8037 thumbprints as kid', () => {
    expect(jwkThumbprint({ kty: 'RSA', n: RFC7638_N, e: 'AQAB', alg: 'RS256', kid: '2011-04-29' })).toBe(RFC7638_THUMBPRINT);
    expect(jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: RFC8037_X })).toBe(RFC8037_THUMBPRINT);
    const ed = ecSpkiFromPkcs11(PARAMS.Ed25519, b64u(RFC8037_X));
    expect(spkiToJwk(ed)).toEqual({ kty: 'OKP', crv: 'Ed25519', x: RFC8037_X, kid: RFC8037_THUMBPRINT });
  });

  it('exports EC JWKs with crv/x/y and a thumbprint over exactly {crv,kty,x,y}', () => {
    const point = Buffer.concat([Buffer.from([4]), b64u(RFC7515_X), b64u(RFC7515_Y)]);
    const jwk = spkiToJwk(ecSpkiFromPkcs11(PARAMS['P-256'], point));
    const canonical = `{"crv":"P-256","kty":"EC","x":"${RFC7515_X}","y":"${RFC7515_Y}"}`;
    expect(jwk).toEqual({ kty: 'EC', crv: 'P-256', x: RFC7515_X, y: RFC7515_Y, kid: createHash('sha256').update(canonical).digest('base64url') });
    for (const name of ['p384', 'p521'] as const) {
      const j = spkiToJwk(spkiOf(keys[name]!));
      expect(j.kty).toBe('EC');
      // The JWK goes back to the same key.
      expect(createPublicKey({ key: j as never, format: 'jwk' }).export({ type: 'spki', format: 'der' }).equals(spkiOf(keys[name]!))).toBe(true);
    }
  });

  it('refuses thumbprints of incomplete or unknown JWKs', () => {
    expect(code(() => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: RFC7515_X }))).toMatch(/missing its "y"/);
    expect(code(() => jwkThumbprint({ kty: 'oct', k: 'AAAA' }))).toMatch(/kty EC, RSA or OKP/);
    expect(code(() => jwkThumbprint({}))).toMatch(/got ""/);
  });

  it('refuses non-canonical or broken SPKI input instead of fingerprinting it', () => {
    const spki = spkiOf(keys.p256!);
    expect(code(() => spkiFingerprint(Buffer.concat([spki, Buffer.from([0])])))).toMatch(/1 unexpected byte/);
    expect(code(() => spkiToPem(spki.subarray(0, 40)))).toMatch(/claims/);
    expect(code(() => spkiToJwk(Buffer.alloc(0)))).toMatch(/empty/);
    // A compressed-point SPKI is a valid key but not canonical.
    const jwk = keys.p256!.export({ format: 'jwk' });
    const y = b64u(jwk.y!);
    const compressed = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), Buffer.from([2 + (y[31]! & 1)]), b64u(jwk.x!)]);
    expect(createPublicKey({ key: compressed, format: 'der', type: 'spki' }).asymmetricKeyType).toBe('ec');
    expect(code(() => spkiFingerprint(compressed))).toMatch(/not in canonical DER/);
    expect(parsePublicKey(`-----BEGIN PUBLIC KEY-----\n${compressed.toString('base64')}\n-----END PUBLIC KEY-----`).spki.equals(spki)).toBe(true);
    // Other algorithms.
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' });
    expect(code(() => inspectSpki(x25519))).toMatch(/x25519 key, which Custos does not support/);
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ type: 'spki', format: 'der' });
    expect(code(() => inspectSpki(k1))).toMatch(/secp256k1, which Custos does not support/);
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' });
    expect(code(() => inspectSpki(pss))).toMatch(/restricted to PSS/);
  });

  it('describes keys', () => {
    expect(inspectSpki(spkiOf(keys.p521!))).toMatchObject({ kind: 'ec', curve: 'P-521', bits: 521 });
    expect(inspectSpki(spkiOf(keys.rsa!))).toMatchObject({ kind: 'rsa', bits: 2048 });
    expect(inspectSpki(spkiOf(keys.ed!))).toMatchObject({ kind: 'ed25519', curve: 'Ed25519', bits: 256 });
  });
});

describe('pkcs11AttrsFromSpki', () => {
  it('gives CKA_EC_PARAMS / DER-wrapped CKA_EC_POINT that round-trip through ecSpkiFromPkcs11', () => {
    for (const name of ['p256', 'p384', 'p521', 'ed'] as const) {
      const spki = spkiOf(keys[name]!);
      const attrs = pkcs11AttrsFromSpki(spki);
      if (attrs.keyType === 'rsa') throw new Error('unexpected');
      expect(attrs.ecPoint[0]).toBe(0x04);
      expect(ecSpkiFromPkcs11(attrs.ecParams, attrs.ecPoint).equals(spki)).toBe(true);
    }
    const p521 = pkcs11AttrsFromSpki(spkiOf(keys.p521!));
    expect(p521).toMatchObject({ keyType: 'ec', curve: 'P-521' });
    if (p521.keyType === 'ec') {
      expect(p521.ecParams.equals(PARAMS['P-521'])).toBe(true);
      expect(p521.ecPoint.subarray(0, 4).toString('hex')).toBe('04818504'); // long-form length for 133 bytes
    }
    expect(pkcs11AttrsFromSpki(spkiOf(keys.ed!))).toMatchObject({ keyType: 'ec-edwards', curve: 'Ed25519', ecParams: PARAMS.Ed25519 });
  });

  it('gives RSA modulus and exponent without leading zeros', () => {
    const attrs = pkcs11AttrsFromSpki(rsaSpkiFromPkcs11(Buffer.concat([Buffer.alloc(1), b64u(RFC7638_N)]), Buffer.from([0, 1, 0, 1])));
    expect(attrs).toMatchObject({ keyType: 'rsa', bits: 2048 });
    if (attrs.keyType === 'rsa') {
      expect(attrs.modulus.equals(b64u(RFC7638_N))).toBe(true);
      expect(attrs.publicExponent.toString('hex')).toBe('010001');
      expect(rsaSpkiFromPkcs11(attrs.modulus, attrs.publicExponent).equals(rsaSpkiFromPkcs11(b64u(RFC7638_N), Buffer.from([1, 0, 1])))).toBe(true);
    }
  });

  it('maps curves to CKA_EC_PARAMS and back', () => {
    for (const c of ['P-256', 'P-384', 'P-521', 'Ed25519'] as const) {
      expect(ecParamsForCurve(c).equals(PARAMS[c])).toBe(true);
      expect(curveFromEcParams(ecParamsForCurve(c))).toBe(c);
    }
    expect(curveFromEcParams(PARAMS.edwards25519)).toBe('Ed25519');
    expect(code(() => ecParamsForCurve('P-192' as never))).toMatch(/Unknown curve "P-192"/);
  });
});

describe('parsePublicKey', () => {
  const pemOf = (k: KeyObject, type: 'spki' | 'pkcs1' = 'spki') => k.export({ type, format: 'pem' }) as string;

  it('reads SPKI PEM for every supported key type', () => {
    expect(parsePublicKey(pemOf(keys.p256!))).toEqual({ spki: spkiOf(keys.p256!), kind: 'ec', curve: 'P-256', bits: 256 });
    expect(parsePublicKey(pemOf(keys.p384!))).toMatchObject({ kind: 'ec', curve: 'P-384', bits: 384 });
    expect(parsePublicKey(pemOf(keys.p521!))).toMatchObject({ kind: 'ec', curve: 'P-521', bits: 521 });
    expect(parsePublicKey(pemOf(keys.ed!))).toEqual({ spki: spkiOf(keys.ed!), kind: 'ed25519', curve: 'Ed25519', bits: 256 });
    expect(parsePublicKey(pemOf(keys.rsa!))).toEqual({ spki: spkiOf(keys.rsa!), kind: 'rsa', bits: 2048 });
  });

  it('reads PKCS#1 "RSA PUBLIC KEY" PEM and returns the SPKI', () => {
    expect(parsePublicKey(pemOf(keys.rsa!, 'pkcs1'))).toEqual({ spki: spkiOf(keys.rsa!), kind: 'rsa', bits: 2048 });
  });

  it('tolerates CRLF, indentation, a BOM, surrounding text and unwrapped base64', () => {
    const pem = pemOf(keys.p256!);
    expect(parsePublicKey(`\uFEFF  ${pem.replace(/\n/g, '\r\n')}  `).spki.equals(spkiOf(keys.p256!))).toBe(true);
    const body = spkiOf(keys.p256!).toString('base64');
    expect(parsePublicKey(`Key for the 2026 root:\n-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\nthanks`).kind).toBe('ec');
    expect(parsePublicKey(`-----BEGIN PUBLIC KEY-----\n    ${body.slice(0, 30)}\n    ${body.slice(30)}\n-----END PUBLIC KEY-----`).kind).toBe('ec');
  });

  it('reads JWKs (EC, RSA, OKP), ignoring kid/alg/use', () => {
    expect(parsePublicKey(JSON.stringify({ kty: 'EC', crv: 'P-256', x: RFC7515_X, y: RFC7515_Y, kid: 'x', use: 'sig' }))).toMatchObject({ kind: 'ec', curve: 'P-256' });
    const rsa = parsePublicKey(JSON.stringify({ kty: 'RSA', n: RFC7638_N, e: 'AQAB', alg: 'RS256', kid: '2011-04-29' }));
    expect(rsa).toMatchObject({ kind: 'rsa', bits: 2048 });
    expect(spkiToJwk(rsa.spki).kid).toBe(RFC7638_THUMBPRINT);
    expect(spkiToJwk(parsePublicKey(JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: RFC8037_X })).spki).kid).toBe(RFC8037_THUMBPRINT);
    for (const k of Object.values(keys)) {
      expect(parsePublicKey(JSON.stringify(k.export({ format: 'jwk' }))).spki.equals(spkiOf(k))).toBe(true);
    }
  });

  it('refuses private keys in every form, saying so plainly', () => {
    const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const rsaPriv = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const cases = [
      priv.export({ type: 'pkcs8', format: 'pem' }) as string,
      priv.export({ type: 'sec1', format: 'pem' }) as string,
      rsaPriv.export({ type: 'pkcs1', format: 'pem' }) as string,
      priv.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }) as string,
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----',
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI', // truncated, still private
      `${pemOf(keys.p256!)}${priv.export({ type: 'pkcs8', format: 'pem' }) as string}`,
      JSON.stringify(priv.export({ format: 'jwk' })),
      JSON.stringify(rsaPriv.export({ format: 'jwk' })),
      JSON.stringify({ kty: 'RSA', n: RFC7638_N, e: 'AQAB', p: 'AQAB' }),
      JSON.stringify({ keys: [priv.export({ format: 'jwk' })] }),
    ];
    for (const text of cases) {
      const e = code(() => parsePublicKey(text));
      expect(e).toMatch(/^INVALID_INPUT: .*this is a PRIVATE key; only public keys are accepted/);
    }
  });

  it('explains every other kind of mistake', () => {
    const body = spkiOf(keys.p256!).toString('base64');
    const pem = (label: string, b = body) => `-----BEGIN ${label}-----\n${b}\n-----END ${label}-----`;
    const expectations: [string, RegExp][] = [
      ['', /No public key was given/],
      ['   \n ', /No public key was given/],
      ['hello', /No PEM block was found/],
      [body, /No PEM block was found/],
      ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA user@host', /OpenSSH public key/],
      [pem('CERTIFICATE'), /certificate, not a bare public key.*/],
      [pem('CERTIFICATE REQUEST'), /certificate signing request/],
      [pem('EC PARAMETERS', 'BggqhkjOPQMBBw=='), /label "EC PARAMETERS" is not a public key/],
      [`-----BEGIN PUBLIC KEY-----\n${body}\n`, /not closed/],
      [`-----BEGIN PUBLIC KEY-----\n${body}\n-----END RSA PUBLIC KEY-----`, /begins as "PUBLIC KEY" but ends as "RSA PUBLIC KEY"/],
      [`${pem('PUBLIC KEY')}\n${pem('PUBLIC KEY')}`, /2 PEM blocks/],
      [pem('PUBLIC KEY', ''), /is empty/],
      [pem('PUBLIC KEY', `${body.slice(0, 20)}!${body.slice(21)}`), /not valid base64/],
      [pem('PUBLIC KEY', body.slice(0, -3)), /not valid base64/],
      [pem('PUBLIC KEY', `${body.slice(0, -2)}=A`), /not valid base64/],
      [pem('PUBLIC KEY', 'AB=='), /not canonical base64/],
      [pem('PUBLIC KEY', `Proc-Type: 4,ENCRYPTED\n\n${body}`), /RFC 1421 headers/],
      [pem('PUBLIC KEY', spkiOf(keys.p256!).subarray(0, 60).toString('base64')), /claims/],
      [pem('PUBLIC KEY', Buffer.concat([spkiOf(keys.p256!), Buffer.from([0, 0])]).toString('base64')), /2 unexpected byte/],
      [pem('PUBLIC KEY', Buffer.from('30090201000201000201ff', 'hex').toString('base64')), /does not hold a valid key/],
      [pem('RSA PUBLIC KEY'), /does not hold a valid key/],
      [pem('PUBLIC KEY', generateKeyPairSync('rsa', { modulusLength: 512 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64')), /512 bits; .*at least 1024/],
      ['{', /does not parse/],
      ['[1,2]', /not a JWK object/],
      ['{"keys":[{"kty":"EC"},{"kty":"EC"}]}', /JWK Set with 2 key\(s\)/],
      ['{"kty":"oct","k":"AAAA"}', /symmetric \(secret\) key/],
      ['{"crv":"P-256"}', /no "kty"/],
      ['{"kty":"DSA"}', /"DSA" is not supported/],
      ['{"kty":"EC","x":"AA","y":"AA"}', /curve is missing/],
      ['{"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"}', /"secp256k1" is not supported/],
      [`{"kty":"EC","crv":"P-256","x":"${RFC7515_X}"}`, /missing its "y"/],
      [`{"kty":"EC","crv":"P-256","x":"${RFC7515_X}","y":"${RFC7515_Y}="}`, /"y" is not base64url/],
      [`{"kty":"EC","crv":"P-256","x":"${RFC7515_X}","y":"${RFC7515_Y.replace('_', '/')}"}`, /"y" is not base64url/],
      [`{"kty":"EC","crv":"P-256","x":"${RFC7515_X}","y":42}`, /"y" is not base64url/],
      [`{"kty":"EC","crv":"P-384","x":"${RFC7515_X}","y":"${RFC7515_Y}"}`, /"x" is 32 bytes; it must be exactly 48/],
      [`{"kty":"EC","crv":"P-256","x":"${RFC7515_X}","y":"${RFC7515_X}"}`, /not a valid public key/],
      ['{"kty":"OKP","crv":"X25519","x":"AA"}', /"X25519" is not supported/],
      [`{"kty":"OKP","crv":"Ed25519","x":"${RFC7515_X.slice(0, 20)}"}`, /"x" is 15 bytes; it must be exactly 32/],
      ['{"kty":"RSA","e":"AQAB"}', /missing its "n"/],
      [`{"kty":"RSA","n":"${RFC7638_N.slice(0, 40)}","e":"AQAB"}`, /at least 1024/],
      [`{"kty":"RSA","n":"${RFC7638_N}","e":"AQAA"}`, /odd number/],
    ];
    for (const [text, pattern] of expectations) {
      const e = code(() => parsePublicKey(text));
      expect(e, text.slice(0, 80)).toMatch(/^INVALID_INPUT: /);
      expect(e, text.slice(0, 80)).toMatch(pattern);
    }
    expect(code(() => parsePublicKey(42 as never))).toMatch(/must be given as text/);
  });

  it('every error carries an action for the custodian', () => {
    try {
      parsePublicKey('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----');
    } catch (e) {
      expect((e as CustosError).appError.action).toBe('Extract its public key first: openssl x509 -in cert.pem -pubkey -noout');
    }
  });
});
