// A small, strict DER toolkit for the few places where the @peculiar/asn1-* classes are not precise
// enough: their INTEGER converter writes bytes as given (so a modulus with its high bit set would come
// out negative), and there is no stand-alone OBJECT IDENTIFIER class. Everything here follows
// ITU-T X.690 (08/2015) §8 and §10 (DER): definite lengths in the minimum number of octets, minimal
// INTEGER contents, and no trailing data. The reader refuses anything that is not DER, because a key
// custodian should notice an odd encoding instead of silently "fixing" it.

import { invalidInput } from '../../../shared/result';

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** A decoded TLV: the tag byte, the content octets and where the element ends in the input. */
export interface Tlv {
  tag: number;
  content: Buffer;
  /** Offset just past this element in the buffer it was read from. */
  end: number;
}

/** What to do about bytes that do not decode: the usual cause is a wrong or damaged source. */
export const CHECK_SOURCE = 'Check that the value came from the right place and was not truncated or altered.';

function bad(what: string, message: string): never {
  return invalidInput(`${what}: ${message}`, CHECK_SOURCE);
}

/** X.690 §8.1.3 / §10.1: definite form, short form below 128, otherwise the fewest length octets. */
export function encodeLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError('DER length must be a non-negative integer');
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

/**
 * Reads one TLV at `offset`. Only single-byte tags are supported (everything this code meets uses
 * universal or low context tags). Indefinite lengths and non-minimal length octets are not DER.
 */
export function readTlv(input: Uint8Array, offset: number, what: string): Tlv {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (offset >= buf.length) bad(what, 'the data ends where an ASN.1 element was expected');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) bad(what, 'multi-byte ASN.1 tags are not supported here');
  if (offset + 1 >= buf.length) bad(what, 'the data ends inside an ASN.1 header');
  const first = buf[offset + 1]!;
  let length: number;
  let headerEnd: number;
  if (first < 0x80) {
    length = first;
    headerEnd = offset + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0) bad(what, 'indefinite-length encoding is not DER');
    if (count > 4) bad(what, 'the ASN.1 length is implausibly large');
    if (offset + 2 + count > buf.length) bad(what, 'the data ends inside an ASN.1 length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[offset + 2 + i]!;
    if (buf[offset + 2] === 0 || length < 0x80) bad(what, 'the ASN.1 length is not in its shortest form (not DER)');
    headerEnd = offset + 2 + count;
  }
  const end = headerEnd + length;
  if (end > buf.length) bad(what, `an ASN.1 element claims ${length} bytes but only ${buf.length - headerEnd} remain`);
  return { tag, content: buf.subarray(headerEnd, end), end };
}

/** Reads exactly one TLV that spans the whole input (no trailing bytes), with the expected tag. */
export function readOnly(input: Uint8Array, tag: number, what: string): Buffer {
  const t = readTlv(input, 0, what);
  if (t.tag !== tag) bad(what, `expected ASN.1 tag 0x${tag.toString(16).padStart(2, '0')}, found 0x${t.tag.toString(16).padStart(2, '0')}`);
  if (t.end !== input.length) bad(what, `${input.length - t.end} unexpected byte(s) after the ASN.1 value`);
  return t.content;
}

/** Strips leading zero octets of an unsigned big-endian integer (PKCS#11 "Big integer" attributes may carry them). */
export function stripLeadingZeros(bytes: Uint8Array): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return Buffer.from(bytes.subarray(i));
}

/**
 * DER INTEGER for a non-negative value given as unsigned big-endian bytes (X.690 §8.3): minimal
 * contents, and a 0x00 octet in front when the top bit is set so that the value stays positive.
 */
export function encodeUnsignedInteger(bytes: Uint8Array): Buffer {
  if (bytes.length === 0) throw new RangeError('an INTEGER needs at least one byte');
  const v = stripLeadingZeros(bytes);
  return tlv(TAG.INTEGER, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

/**
 * Decodes the contents of a DER INTEGER that must be non-negative, returning its magnitude with no
 * leading zeros. Rejects non-minimal encodings (X.690 §8.3.2) and negative values.
 */
export function decodeUnsignedIntegerContent(content: Uint8Array, what: string): Buffer {
  if (content.length === 0) bad(what, 'an INTEGER has no content octets');
  if (content[0]! & 0x80) bad(what, 'an INTEGER is negative');
  if (content.length > 1 && content[0] === 0 && !(content[1]! & 0x80)) bad(what, 'an INTEGER has a superfluous leading zero (not DER)');
  return stripLeadingZeros(content);
}

/** OBJECT IDENTIFIER contents per X.690 §8.19 (base-128 sub-identifiers, first two arcs combined). */
export function encodeOid(oid: string): Buffer {
  if (!/^[0-2](\.(0|[1-9]\d*))+$/.test(oid)) throw new RangeError(`not a dotted OID: ${oid}`);
  const arcs = oid.split('.').map((a) => BigInt(a));
  const [a0, a1] = [arcs[0]!, arcs[1]!];
  if (a0 < 2n && a1 > 39n) throw new RangeError(`second arc too large in ${oid}`);
  const out: number[] = [];
  const push = (v: bigint) => {
    const group: number[] = [Number(v & 0x7fn)];
    for (let n = v >> 7n; n > 0n; n >>= 7n) group.unshift(Number(n & 0x7fn) | 0x80);
    out.push(...group);
  };
  push(a0 * 40n + a1);
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(TAG.OID, Buffer.from(out));
}

export function decodeOidContent(content: Uint8Array, what: string): string {
  if (content.length === 0) bad(what, 'an OBJECT IDENTIFIER is empty');
  const arcs: bigint[] = [];
  let v = 0n;
  let started = false;
  for (let i = 0; i < content.length; i++) {
    const b = content[i]!;
    if (!started && b === 0x80) bad(what, 'an OBJECT IDENTIFIER sub-identifier has a leading 0x80 (not DER)');
    started = true;
    v = (v << 7n) | BigInt(b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0n;
      started = false;
    }
  }
  if (started) bad(what, 'an OBJECT IDENTIFIER ends in the middle of a sub-identifier');
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].map(String).join('.');
}

/** DER OCTET STRING wrapping `content`. */
export function octetString(content: Uint8Array): Buffer {
  return tlv(TAG.OCTET_STRING, content);
}

export function sequence(...items: Uint8Array[]): Buffer {
  return tlv(TAG.SEQUENCE, Buffer.concat(items));
}

/** BIT STRING with zero unused bits (signatures, public keys). */
export function bitString(content: Uint8Array): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), content]));
}

/** PEM per RFC 7468 §2: base64 body in lines of 64 characters, strict BEGIN/END with the same label. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
