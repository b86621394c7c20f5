// The client–host transport codec (electron/hsm/protocol/packing.ts): batches of byte strings cross as one
// buffer per column and come back in the shapes they left in.
import { describe, expect, it } from 'vitest';
import { ARENA_MIN_BYTES, packMessage, sendPacked, unpackMessage, type ArenaReader, type ArenaWriter } from '../../electron/hsm/protocol/packing';
import { serialize, deserialize } from 'node:v8';

/** What the other process receives: the packed message through a structured-clone serializer. */
const roundTrip = (v: unknown) => unpackMessage(deserialize(serialize(packMessage(v).message)));
const bytes = (...xs: number[]) => new Uint8Array(xs);

describe('packing', () => {
  it('an array of byte strings comes back item for item, empty items included', () => {
    const items = [bytes(1, 2, 3), bytes(), bytes(4), new Uint8Array(5000).fill(7)];
    const back = roundTrip({ data: items, mechanism: 'aes-gcm' }) as { data: Uint8Array[]; mechanism: string };
    expect(back.mechanism).toBe('aes-gcm');
    expect(back.data.map((b) => Array.from(b))).toEqual(items.map((b) => Array.from(b)));
  });

  it('an array of {iv, ciphertext} records comes back with nulls where they were', () => {
    const records = [
      { iv: bytes(1, 1), ciphertext: bytes(9, 9, 9) },
      { iv: null, ciphertext: bytes() },
      { iv: bytes(2), ciphertext: bytes(8) },
    ];
    const back = roundTrip(records) as Array<{ iv: Uint8Array | null; ciphertext: Uint8Array }>;
    expect(back.map((r) => ({ iv: r.iv && Array.from(r.iv), ciphertext: Array.from(r.ciphertext) }))).toEqual(
      records.map((r) => ({ iv: r.iv && Array.from(r.iv), ciphertext: Array.from(r.ciphertext) })),
    );
  });

  it('anything else crosses as it is: single items, mixed arrays, records with other fields, nested objects', () => {
    const v = {
      one: [bytes(1)],
      mixed: [bytes(1), 'two'],
      refs: [{ idHex: 'aa', label: 'x' }, { idHex: 'bb' }],
      partly: [{ iv: bytes(1), n: 1 }, { iv: bytes(2), n: 2 }],
      nested: { deeper: { data: [bytes(3), bytes(4)] } },
      n: 5,
      none: null,
    };
    const back = roundTrip(v) as typeof v;
    expect(back.one).toEqual([bytes(1)]);
    expect(back.mixed).toEqual([bytes(1), 'two']);
    expect(back.refs).toEqual(v.refs);
    expect(back.partly).toEqual(v.partly);
    expect(back.nested.deeper.data.map((b) => Array.from(b))).toEqual([[3], [4]]);
    expect(back.n).toBe(5);
    expect(back.none).toBeNull();
  });

  it('items already back to back in one buffer are sent as a view of it, without a copy', () => {
    const slab = new Uint8Array(12).map((_, i) => i);
    const items = [slab.subarray(0, 4), slab.subarray(4, 10), slab.subarray(10, 12)];
    const { message, slabs } = packMessage(items);
    expect(slabs).toEqual([]);
    const col = (message as Record<string, { bytes: Uint8Array }>)['column']!;
    expect(col.bytes.buffer).toBe(slab.buffer);
    expect((unpackMessage(deserialize(serialize(message))) as Uint8Array[]).map((b) => Array.from(b))).toEqual(items.map((b) => Array.from(b)));
  });

  it('the copies packing made are zeroised once the message is sent', () => {
    const secret = [new Uint8Array(32).fill(0xaa), new Uint8Array(32).fill(0xbb)];
    let sent: Buffer | null = null;
    let kept: Uint8Array | null = null;
    sendPacked(
      (m) => {
        sent = serialize(m);
        kept = (m as { params: { data: { column: { bytes: Uint8Array } } } }).params.data.column.bytes;
      },
      (packed) => ({ id: 1, params: packed }),
      { data: secret },
    );
    expect(kept!.length).toBe(64);
    expect(kept!.every((b) => b === 0)).toBe(true); // the sender's packed copy
    expect(secret[0]!.every((b) => b === 0xaa)).toBe(true); // the caller's own data is untouched
    const back = unpackMessage((deserialize(sent!) as { params: unknown }).params) as { data: Uint8Array[] };
    expect(Array.from(back.data[1]!)).toEqual(Array.from(secret[1]!));
  });

  describe('with a shared arena', () => {
    /** A stand-in for the memfd arena: the same interface over one buffer. */
    function fakeArena(size: number, refuse = false) {
      const mem = new Uint8Array(size);
      let top = 0;
      const writer: ArenaWriter = {
        place(items, total) {
          if (refuse || top + total > size) return null;
          const at = top;
          for (const b of items) {
            mem.set(b, top);
            top += b.byteLength;
          }
          return at;
        },
      };
      const reader: ArenaReader = (offset, length) => mem.slice(offset, offset + length);
      return { writer, reader, used: () => top };
    }
    const big = Array.from({ length: 20 }, (_, i) => new Uint8Array(ARENA_MIN_BYTES / 16).fill(i));

    it('a large column travels as an offset into the arena, not in the message', () => {
      const arena = fakeArena(4 * ARENA_MIN_BYTES);
      const { message } = packMessage({ data: big }, arena.writer);
      const wire = serialize(message);
      expect(wire.length).toBeLessThan(1024);
      expect(arena.used()).toBe(big.reduce((n, b) => n + b.length, 0));
      const back = unpackMessage(deserialize(wire), arena.reader) as { data: Uint8Array[] };
      expect(back.data.map((b) => b[0])).toEqual(big.map((b) => b[0]));
      expect(back.data.every((b, i) => b.length === big[i]!.length)).toBe(true);
    });

    it('small columns, and columns the arena has no room for, travel in the message', () => {
      const arena = fakeArena(ARENA_MIN_BYTES, true);
      const { message } = packMessage({ small: [bytes(1), bytes(2)], data: big }, arena.writer);
      expect(arena.used()).toBe(0);
      const back = unpackMessage(deserialize(serialize(message))) as { small: Uint8Array[]; data: Uint8Array[] };
      expect(back.small).toEqual([bytes(1), bytes(2)]);
      expect(back.data).toHaveLength(big.length);
    });

    it('a column in the arena cannot be read by a side without one', () => {
      const arena = fakeArena(4 * ARENA_MIN_BYTES);
      const { message } = packMessage({ data: big }, arena.writer);
      expect(() => unpackMessage(deserialize(serialize(message)))).toThrow(/arena/);
    });
  });
});
