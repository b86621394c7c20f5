// The canonical encodings are a file format: these tests pin them to the vectors in
// test/vectors/custos/archive-canonical-v1.json and re-derive every vector with an independent,
// deliberately naive implementation of docs/FORMAT.md (Buffer concatenation, node:crypto) — not
// with shared/archive/canonical.ts.
import { createHash, createHmac, createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  auditEntryText,
  CanonicalError,
  CanonicalWriter,
  checkpointText,
  encodeCanonical,
  GENESIS_HASH_HEX,
  RECORDS,
  RECORD_TYPES,
  rowMacInput,
  type FieldSpec,
} from '../../shared/archive/canonical';
import vectors from '../vectors/custos/archive-canonical-v1.json';

type VField = { name: string; kind: string; value: unknown };

/** docs/FORMAT.md "Archive envelope", written from the document alone. */
function naiveEncode(domain: string, fields: VField[]): Buffer {
  const field = (tag: number, value: Buffer) => {
    const h = Buffer.alloc(5);
    h[0] = tag;
    h.writeUInt32BE(value.length, 1);
    return Buffer.concat([h, value]);
  };
  const parts = [Buffer.from([0x01]), field(0x01, Buffer.from(domain, 'utf8'))];
  for (const f of fields) {
    if (f.value === null) parts.push(field(0x00, Buffer.alloc(0)));
    else if (f.kind === 'text') parts.push(field(0x01, Buffer.from(f.value as string, 'utf8')));
    else if (f.kind === 'bytes') parts.push(field(0x02, Buffer.from((f.value as { hex: string }).hex, 'hex')));
    else {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(f.value as number));
      parts.push(field(0x03, b));
    }
  }
  return Buffer.concat(parts);
}

const valueOf = (f: VField) => (f.value !== null && typeof f.value === 'object' ? Buffer.from((f.value as { hex: string }).hex, 'hex') : f.value);

describe('archive row encoding (MAC input), version 1', () => {
  for (const v of vectors.tlv) {
    it(`${v.record}: the pinned bytes, the independent implementation and the HMAC agree`, () => {
      const naive = naiveEncode(v.domain, v.fields as VField[]);
      expect(naive.toString('hex')).toBe(v.encodingHex);
      const row = Object.fromEntries((v.fields as VField[]).slice(1).map((f) => [f.name, valueOf(f)]));
      const spec = RECORDS[v.record as 'version'];
      expect(spec.domain).toBe(v.domain);
      expect(spec.fields.map((f) => [f.name, f.kind])).toEqual((v.fields as VField[]).map((f) => [f.name, f.kind]));
      const ours = Buffer.from(rowMacInput(new CanonicalWriter(), spec, vectors.archive, row));
      expect(ours.toString('hex')).toBe(v.encodingHex);
      expect(createHmac('sha256', Buffer.from(vectors.hmacKeyHex, 'hex')).update(ours).digest('hex')).toBe(v.hmacSha256Hex);
    });
  }

  it('edge values: negative and largest safe integers, empty bytes, null', () => {
    const specs: FieldSpec[] = vectors.edge.fields.map((f) => ({ name: f.name, kind: f.kind as FieldSpec['kind'], nullable: true }));
    const enc = encodeCanonical(vectors.edge.domain, specs, vectors.edge.fields.map((f) => valueOf(f as VField) as never));
    expect(Buffer.from(enc).toString('hex')).toBe(vectors.edge.encodingHex);
    expect(naiveEncode(vectors.edge.domain, vectors.edge.fields as VField[]).toString('hex')).toBe(vectors.edge.encodingHex);
  });

  it('is injective where naive concatenation is not: moving bytes between fields changes the encoding', () => {
    const specs: FieldSpec[] = [
      { name: 'a', kind: 'text', nullable: true },
      { name: 'b', kind: 'text', nullable: true },
    ];
    const e1 = Buffer.from(encodeCanonical('d/1', specs, ['ab', 'c']));
    const e2 = Buffer.from(encodeCanonical('d/1', specs, ['a', 'bc']));
    const e3 = Buffer.from(encodeCanonical('d/1', specs, ['', null]));
    const e4 = Buffer.from(encodeCanonical('d/1', specs, [null, '']));
    expect(e1.equals(e2)).toBe(false);
    expect(e3.equals(e4)).toBe(false);
    // Different record types never share an encoding: the domain comes first.
    expect(new Set(RECORD_TYPES.map((t) => RECORDS[t].domain)).size).toBe(RECORD_TYPES.length);
  });

  it('refuses values of the wrong type or null where not allowed', () => {
    const w = new CanonicalWriter();
    expect(() => w.encode('d/1', [{ name: 'x', kind: 'int', nullable: false }], ['1' as never])).toThrow(CanonicalError);
    expect(() => w.encode('d/1', [{ name: 'x', kind: 'text', nullable: false }], [null])).toThrow(CanonicalError);
    expect(() => w.encode('d/1', [{ name: 'x', kind: 'int', nullable: false }], [2 ** 53])).toThrow(CanonicalError);
    expect(() => w.encode('d/1', [{ name: 'x', kind: 'bytes', nullable: false }], ['00' as never])).toThrow(CanonicalError);
  });

  it('a reused writer gives the same bytes as a fresh one, for long and non-ASCII text', () => {
    const w = new CanonicalWriter();
    const specs: FieldSpec[] = [{ name: 't', kind: 'text', nullable: false }];
    const long = 'é🔑x'.repeat(2000);
    const first = Buffer.from(w.encode('d/1', specs, [long]));
    w.encode('d/1', specs, ['short']);
    expect(Buffer.from(w.encode('d/1', specs, [long])).equals(first)).toBe(true);
    expect(first.equals(naiveEncode('d/1', [{ name: 't', kind: 'text', value: long }]))).toBe(true);
  });
});

describe('audit entries and checkpoints, version 1', () => {
  it('each entry text is pinned, and hash(n) = SHA-256 of its UTF-8 bytes, chained through "prev"', () => {
    let prev = GENESIS_HASH_HEX;
    for (const e of vectors.audit.entries) {
      expect(e.prev).toBe(prev);
      const text = auditEntryText({ archive: vectors.archive, seq: e.seq, prev, at: e.at, actor: e.actor, action: e.action, object_type: e.object_type, object_id: e.object_id, key_id: e.key_id, object_mac: e.object_mac, details: e.details });
      expect(text).toBe(e.text);
      expect(createHash('sha256').update(Buffer.from(e.text, 'utf8')).digest('hex')).toBe(e.sha256);
      // One line of JSON: no line break of any kind, and it parses to the fields it was made from.
      expect(e.text).not.toMatch(/[\n\r\u0085\u2028\u2029]/);
      const parsed = JSON.parse(e.text) as Record<string, unknown>;
      expect(parsed).toMatchObject({ v: 1, archive: vectors.archive, seq: e.seq, prev, actor: e.actor, details: JSON.parse(e.details) });
      prev = e.sha256;
    }
  });

  it('the checkpoint text is pinned and its signature verifies with the public key (DER and raw r‖s)', () => {
    const c = vectors.audit.checkpoint;
    expect(checkpointText({ archive: c.archive, seq: c.seq, head: c.head, at: c.at, key: c.key })).toBe(c.text);
    expect(c.head).toBe(vectors.audit.entries[2]!.sha256);
    const key = createPublicKey(c.publicKeyPem);
    expect(createHash('sha256').update(key.export({ format: 'der', type: 'spki' })).digest('hex')).toBe(c.key);
    expect(verify('sha256', Buffer.from(c.text, 'utf8'), { key, dsaEncoding: 'der' }, Buffer.from(c.signatureDerBase64, 'base64'))).toBe(true);
    expect(verify('sha256', Buffer.from(c.text, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(c.signatureRawHex, 'hex'))).toBe(true);
    expect(verify('sha256', Buffer.from(c.text.replace('"seq":3', '"seq":2'), 'utf8'), { key, dsaEncoding: 'der' }, Buffer.from(c.signatureDerBase64, 'base64'))).toBe(false);
  });

  it('refuses malformed fields instead of writing an ambiguous entry', () => {
    const base = { archive: 'a', seq: 1, prev: GENESIS_HASH_HEX, at: 't', actor: 'x', action: 'y', object_type: null, object_id: null, key_id: null, object_mac: null, details: '{}' };
    expect(() => auditEntryText({ ...base, seq: 0 })).toThrow(CanonicalError);
    expect(() => auditEntryText({ ...base, prev: 'AB' })).toThrow(CanonicalError);
    expect(() => auditEntryText({ ...base, details: '{"a":1}\n' })).toThrow(CanonicalError);
    expect(() => auditEntryText({ ...base, object_mac: 'XYZ' })).toThrow(CanonicalError);
    expect(() => checkpointText({ archive: 'a', seq: 1, head: 'x', at: 't', key: GENESIS_HASH_HEX })).toThrow(CanonicalError);
  });
});
