import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../electron/services/archive/ids';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('archive row ids (UUIDv7, RFC 9562 §5.7)', () => {
  it('carry version 7, the RFC variant and the time of creation in milliseconds', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(id).toMatch(V7);
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(after);
  });

  it('sort in the order they were made, also many within one millisecond, and never repeat', () => {
    const t = Date.now() + 10_000;
    const ids = Array.from({ length: 10_000 }, () => uuidv7(t));
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    ids.forEach((id) => expect(id).toMatch(V7));
    // More than the 12-bit counter holds: the later ones borrow the next milliseconds.
    expect(msOf(ids[0]!)).toBe(t);
    expect(msOf(ids.at(-1)!)).toBeGreaterThan(t);
  });

  it('stay ordered when the clock goes back', () => {
    const a = uuidv7(Date.now() + 20_000);
    const b = uuidv7(Date.now());
    expect(b > a).toBe(true);
    expect(b).toMatch(V7);
  });

  it('carry 62 random bits after the counter', () => {
    // The 62 random bits: two ids of the same millisecond and counter state still differ.
    const tails = new Set(Array.from({ length: 200 }, () => uuidv7().slice(19)));
    expect(tails.size).toBe(200);
  });
});
