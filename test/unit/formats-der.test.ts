import { describe, expect, it } from 'vitest';
import {
  TAG,
  decodeOidContent,
  decodeUnsignedIntegerContent,
  encodeLength,
  encodeOid,
  encodeUnsignedInteger,
  readOnly,
  readTlv,
  toPem,
} from '../../electron/services/formats/der';
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

describe('DER helpers (X.690)', () => {
  it('encodes lengths in the shortest form', () => {
    expect(encodeLength(0).toString('hex')).toBe('00');
    expect(encodeLength(127).toString('hex')).toBe('7f');
    expect(encodeLength(128).toString('hex')).toBe('8180');
    expect(encodeLength(255).toString('hex')).toBe('81ff');
    expect(encodeLength(256).toString('hex')).toBe('820100');
    expect(encodeLength(65536).toString('hex')).toBe('83010000');
    expect(() => encodeLength(-1)).toThrow(RangeError);
  });

  it('encodes OIDs, including the X.690 §8.19 examples and large arcs', () => {
    const cases: [string, string][] = [
      ['1.2.840.10045.3.1.7', '06082a8648ce3d030107'],
      ['1.3.132.0.35', '06052b81040023'],
      ['1.3.101.112', '06032b6570'],
      ['2.999.3', '0603883703'], // X.690 §8.19.5 example: 2.999 → 0x88 0x37
      ['1.2.840.113549.1.9.14', '06092a864886f70d01090e'],
      ['2.25.329800735698586629295641978511506172918', '06146983f09da7ebcfdee0c7a1a7b2c0948cc8f9d776'], // checked with openssl asn1parse -genstr
    ];
    for (const [oid, der] of cases) {
      expect(encodeOid(oid).toString('hex'), oid).toBe(der);
      expect(decodeOidContent(readOnly(Buffer.from(der, 'hex'), TAG.OID, 'oid'), 'oid')).toBe(oid);
    }
    for (const bad of ['', '1', '3.1', '1.40', '1.2.03', '1..2', 'a.b']) expect(() => encodeOid(bad), bad).toThrow(RangeError);
    expect(code(() => decodeOidContent(Buffer.from('2a81', 'hex'), 'oid'))).toMatch(/ends in the middle/);
    expect(code(() => decodeOidContent(Buffer.from('2a8001', 'hex'), 'oid'))).toMatch(/leading 0x80/);
    expect(code(() => decodeOidContent(Buffer.alloc(0), 'oid'))).toMatch(/empty/);
  });

  it('encodes and decodes positive minimal INTEGERs', () => {
    expect(encodeUnsignedInteger(Buffer.from([0])).toString('hex')).toBe('020100');
    expect(encodeUnsignedInteger(Buffer.from([0, 0, 0])).toString('hex')).toBe('020100');
    expect(encodeUnsignedInteger(Buffer.from([0x7f])).toString('hex')).toBe('02017f');
    expect(encodeUnsignedInteger(Buffer.from([0x80])).toString('hex')).toBe('02020080');
    expect(encodeUnsignedInteger(Buffer.from([0, 0, 0x80, 1])).toString('hex')).toBe('0203008001');
    expect(() => encodeUnsignedInteger(Buffer.alloc(0))).toThrow(RangeError);
    expect(decodeUnsignedIntegerContent(Buffer.from('0080', 'hex'), 'i').toString('hex')).toBe('80');
    expect(code(() => decodeUnsignedIntegerContent(Buffer.from('0001', 'hex'), 'i'))).toMatch(/superfluous leading zero/);
    expect(code(() => decodeUnsignedIntegerContent(Buffer.from('ff', 'hex'), 'i'))).toMatch(/negative/);
  });

  it('reads TLVs strictly', () => {
    expect(readTlv(Buffer.from('0403aabbcc05', 'hex'), 0, 'x')).toMatchObject({ tag: 4, end: 5 });
    expect(code(() => readTlv(Buffer.from('1f0100', 'hex'), 0, 'x'))).toMatch(/multi-byte ASN.1 tags/);
    expect(code(() => readTlv(Buffer.from('04', 'hex'), 0, 'x'))).toMatch(/ends inside an ASN.1 header/);
    expect(code(() => readTlv(Buffer.from('0485ffffffffff', 'hex'), 0, 'x'))).toMatch(/implausibly large/);
    expect(code(() => readTlv(Buffer.from('048201', 'hex'), 0, 'x'))).toMatch(/ends inside an ASN.1 length/);
    expect(code(() => readTlv(Buffer.from('04820080', 'hex'), 0, 'x'))).toMatch(/shortest form/);
    expect(code(() => readOnly(Buffer.from('0400', 'hex'), TAG.SEQUENCE, 'x'))).toMatch(/expected ASN.1 tag 0x30, found 0x04/);
  });

  it('writes RFC 7468 PEM with 64-character lines', () => {
    const pem = toPem('PUBLIC KEY', Buffer.alloc(100, 0xab));
    const lines = pem.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN PUBLIC KEY-----');
    expect(lines.at(-1)).toBe('-----END PUBLIC KEY-----');
    expect(lines.slice(1, -1).map((l) => l.length)).toEqual([64, 64, 8]);
  });
});
