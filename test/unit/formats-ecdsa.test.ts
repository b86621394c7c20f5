import { execFileSync } from 'node:child_process';
import { constants, createHash, generateKeyPairSync, privateEncrypt, sign, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { DigestInfo, sha256 as sha256Alg, sha384 as sha384Alg, sha512 as sha512Alg } from '@peculiar/asn1-rsa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECDSA_COMPONENT_SIZE, digestInfo, ecdsaDerToRaw, ecdsaRawToDer, hashForEcdsa } from '../../electron/services/formats/ecdsa';
import { CustosError } from '../../shared/result';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CustosError) return `${e.appError.code}: ${e.appError.message}`;
    throw e;
  }
  throw new Error('expected a CustosError');
}

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const fill = (length: number, head: string, tail = '') => Buffer.concat([hex(head), Buffer.alloc(length - hex(head).length - hex(tail).length), hex(tail)]);

// Deterministic pseudo-random bytes (xorshift32) so property tests are reproducible.
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

describe('ecdsaRawToDer / ecdsaDerToRaw: hand-checked encodings', () => {
  // Each case: r‖s for P-256 and the DER that X.690 requires.
  const cases: { name: string; r: Buffer; s: Buffer; der: string }[] = [
    { name: 'r=1, s=1 (all leading zeros dropped)', r: fill(32, '', '01'), s: fill(32, '', '01'), der: '3006 020101 020101' },
    {
      name: 'high bit set in r gets a 0x00 prefix; s does not',
      r: fill(32, '80', '01'),
      s: fill(32, '7f', 'ff'),
      der: `3045 022100 ${fill(32, '80', '01').toString('hex')} 0220 ${fill(32, '7f', 'ff').toString('hex')}`,
    },
    {
      name: 'leading zero byte followed by a high bit: strip, then re-add one 0x00',
      r: fill(32, '0080', 'aa'),
      s: fill(32, '000012', '34'),
      der: `3042 022000 ${fill(31, '80', 'aa').toString('hex')} 021e ${fill(30, '12', '34').toString('hex')}`,
    },
    { name: 'a single 0x80 low byte', r: fill(32, '', '80'), s: fill(32, '', '7f'), der: '3007 02020080 02017f' },
  ];

  it.each(cases)('$name', ({ r, s, der }) => {
    const raw = Buffer.concat([r, s]);
    expect(ecdsaRawToDer(raw).toString('hex')).toBe(der.replace(/\s+/g, ''));
    expect(ecdsaDerToRaw(hex(der), 32).equals(raw)).toBe(true);
  });

  it('uses the long length form for P-521 and keeps 66-byte components', () => {
    const r = fill(66, '01ff', '01');
    const s = fill(66, '00ff', '02'); // 65 significant bytes with the high bit set → 0x00 + 65
    const der = ecdsaRawToDer(Buffer.concat([r, s]));
    expect(der.subarray(0, 3).toString('hex')).toBe('308188');
    expect(der.subarray(3, 5).toString('hex')).toBe('0242');
    expect(der.length).toBe(3 + 2 + 66 + 2 + 66);
    expect(ecdsaDerToRaw(der, 66).equals(Buffer.concat([r, s]))).toBe(true);
  });

  it('round-trips many reproducible pseudo-random r‖s for every curve size', () => {
    const rand = prng(0xc057);
    for (const size of Object.values(ECDSA_COMPONENT_SIZE)) {
      for (let i = 0; i < 300; i++) {
        const raw = rand(2 * size);
        // Force the interesting shapes regularly: leading zero bytes and high bits.
        if (i % 3 === 0) raw.fill(0, 0, 1 + (i % 5));
        if (i % 4 === 0) raw[size] = 0x80 | raw[size]!;
        if (size === 66) {
          raw[0]! &= 0x01;
          raw[66]! &= 0x01;
        }
        if (raw.subarray(0, size).every((b) => b === 0) || raw.subarray(size).every((b) => b === 0)) continue;
        expect(ecdsaDerToRaw(ecdsaRawToDer(raw), size).equals(raw)).toBe(true);
      }
    }
  });
});

describe('ECDSA encodings against OpenSSL (through Node and the openssl CLI)', () => {
  const keys: Record<string, { privateKey: KeyObject; publicKey: KeyObject }> = {};
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'custos-ecdsa-'));
    for (const curve of ['P-256', 'P-384', 'P-521']) keys[curve] = generateKeyPairSync('ec', { namedCurve: curve });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['P-256', 'P-384', 'P-521'] as const)('%s: raw→DER verifies as DER, DER→raw verifies as P1363, and DER is byte-identical to OpenSSL', (curve) => {
    const { privateKey, publicKey } = keys[curve]!;
    const size = ECDSA_COMPONENT_SIZE[curve];
    for (let i = 0; i < 60; i++) {
      const data = Buffer.from(`message ${i}`);
      const raw = sign('sha384', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      expect(raw.length).toBe(2 * size);
      const der = ecdsaRawToDer(raw);
      expect(verify('sha384', data, { key: publicKey, dsaEncoding: 'der' }, der)).toBe(true);

      const opensslDer = sign('sha384', data, { key: privateKey, dsaEncoding: 'der' });
      const back = ecdsaDerToRaw(opensslDer, size);
      expect(verify('sha384', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, back)).toBe(true);
      expect(ecdsaRawToDer(back).equals(opensslDer)).toBe(true);
    }
  });

  it('hashForEcdsa gives exactly the input CKM_ECDSA signs: openssl pkeyutl verifies the converted signature over it', () => {
    const { privateKey, publicKey } = keys['P-256']!;
    const data = Buffer.from('CSR to be signed by the root');
    const hash = hashForEcdsa('sha256', data);
    expect(hash.equals(createHash('sha256').update(data).digest())).toBe(true);
    // What a token's CKM_ECDSA over `hash` returns is r‖s; Node's P1363 output over data is the same kind of value.
    const raw = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    writeFileSync(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'hash.bin'), hash);
    writeFileSync(join(dir, 'sig.der'), ecdsaRawToDer(raw));
    const out = execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'pub.pem'), '-in', join(dir, 'hash.bin'), '-sigfile', join(dir, 'sig.der')]);
    expect(out.toString()).toMatch(/Signature Verified Successfully/);
    expect(hashForEcdsa('sha384', data).length).toBe(48);
    expect(hashForEcdsa('sha512', data).length).toBe(64);
  });
});

describe('ecdsa bad input', () => {
  it('refuses raw signatures of the wrong size or with a zero component', () => {
    expect(code(() => ecdsaRawToDer(Buffer.alloc(70, 1)))).toMatch(/64, 96 or 132 bytes .* this one is 70 bytes/);
    expect(code(() => ecdsaRawToDer(Buffer.alloc(0)))).toMatch(/this one is 0 bytes/);
    expect(code(() => ecdsaRawToDer(Buffer.concat([Buffer.alloc(32), Buffer.alloc(32, 1)])))).toMatch(/r or s equal to zero/);
    expect(code(() => ecdsaRawToDer(Buffer.concat([Buffer.alloc(32, 1), Buffer.alloc(32)])))).toMatch(/r or s equal to zero/);
    expect(code(() => ecdsaRawToDer('3006' as never))).toMatch(/must be bytes/);
  });

  it('refuses DER that is not strict DER, with the reason', () => {
    const ok = '3006020101020101';
    const cases: [string, number, RegExp][] = [
      [ok, 31, /32, 48 or 66/],
      ['', 32, /does not start with a SEQUENCE/],
      [fill(64, '01').toString('hex'), 32, /looks like raw r‖s/],
      ['3106020101020101', 32, /not DER/],
      ['30060201010201', 32, /claims 6 bytes/],
      ['300602010102010100', 32, /1 unexpected byte/],
      ['30810602010102010100', 32, /shortest form/],
      ['3080020101020101 0000', 32, /indefinite/],
      ['3003020101', 32, /ends where an ASN.1 element/],
      ['3006020101040101', 32, /not SEQUENCE \{ INTEGER r, INTEGER s \}/],
      ['3009020101020101020101', 32, /extra elements/],
      ['300702020001020101', 32, /superfluous leading zero/],
      ['3006020180020101', 32, /negative/],
      ['3006020100020101', 32, /r equal to zero/],
      ['3006020101020100', 32, /s equal to zero/],
      ['30050200020101', 32, /no content octets/],
      [`3026 0221 01${'00'.repeat(32)} 020101`, 32, /r of 33 bytes, longer than 32/],
    ];
    for (const [der, size, pattern] of cases) {
      expect(code(() => ecdsaDerToRaw(hex(der), size)), der).toMatch(pattern);
    }
    // The same 48-byte s is fine for P-384 and too long for P-256.
    const s48 = `0230 ${'7f'.repeat(48)}`;
    const der = hex(`3035 020101 ${s48}`);
    expect(ecdsaDerToRaw(der, 48).length).toBe(96);
    expect(code(() => ecdsaDerToRaw(der, 32))).toMatch(/s of 48 bytes, longer than 32/);
  });

  it('refuses unsupported hashes and non-bytes', () => {
    expect(code(() => hashForEcdsa('md5' as never, Buffer.from('x')))).toMatch(/Unsupported hash "md5"/);
    expect(code(() => hashForEcdsa('sha256', 'text' as never))).toMatch(/must be bytes/);
  });
});

describe('digestInfo (RSA PKCS#1 v1.5 with CKM_RSA_PKCS)', () => {
  const data = Buffer.from('tbsCertificate bytes');

  it.each([
    ['sha256', sha256Alg],
    ['sha384', sha384Alg],
    ['sha512', sha512Alg],
  ] as const)('%s: equals the DigestInfo that @peculiar/asn1-rsa encodes', (alg, algId) => {
    const h = createHash(alg).update(data).digest();
    const reference = Buffer.from(AsnConvert.serialize(new DigestInfo({ digestAlgorithm: algId, digest: new OctetString(h) })));
    expect(digestInfo(alg, h).equals(reference)).toBe(true);
  });

  it('makes CKM_RSA_PKCS output identical to an RSASSA-PKCS1-v1_5 signature (deterministic, so compared byte for byte)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (const alg of ['sha256', 'sha384', 'sha512'] as const) {
      const di = digestInfo(alg, createHash(alg).update(data).digest());
      // privateEncrypt with PKCS#1 padding is the raw RSA private operation over EMSA-PKCS1-v1_5 type 1 — CKM_RSA_PKCS.
      const asToken = privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, di);
      expect(asToken.equals(sign(alg, data, privateKey))).toBe(true);
      expect(verify(alg, data, publicKey, asToken)).toBe(true);
    }
  });

  it('refuses a hash of the wrong length or an unknown algorithm', () => {
    expect(code(() => digestInfo('sha256', Buffer.alloc(48)))).toMatch(/sha256 hash is 32 bytes; this one is 48. Pass the hash, not the data/);
    expect(code(() => digestInfo('sha512', data))).toMatch(/sha512 hash is 64 bytes/);
    expect(code(() => digestInfo('sha1' as never, Buffer.alloc(20)))).toMatch(/Unsupported hash "sha1"/);
    expect(code(() => digestInfo('sha256', 'x' as never))).toMatch(/must be bytes/);
  });
});
