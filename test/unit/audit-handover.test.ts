// Which audit key must have signed each checkpoint (audit/handover.ts checkpointSigners): the
// handover's old key up to and including the first checkpoint at or after the handover entry (the
// handover's own commit), the new key after it.
import { describe, expect, it } from 'vitest';
import { checkpointSigners, type HandoverChain } from '../../electron/services/audit/handover';

const key = (name: string) => ({ fingerprint: name.repeat(64).slice(0, 64), spki: Buffer.from(name) });
const [k0, k1, k2] = [key('a'), key('b'), key('c')];

describe('checkpointSigners', () => {
  it('one key signs every checkpoint of a log never rotated', () => {
    const chain: HandoverChain = { keys: [k0], handovers: [], problems: [] };
    const s = checkpointSigners(chain, [2, 5, 9]);
    expect([...s.values()]).toEqual([k0, k0, k0]);
  });

  it('the old key signs the checkpoint covering the handover, the new key every later one; two rotations', () => {
    // Handover entries at 6 (its commit's checkpoint at 8) and 12 (checkpoint 12).
    const chain: HandoverChain = { keys: [k0, k1, k2], handovers: [{ seq: 6, from: k0, to: k1 }, { seq: 12, from: k1, to: k2 }], problems: [] };
    const s = checkpointSigners(chain, [2, 5, 8, 10, 12, 15]);
    expect([2, 5, 8, 10, 12, 15].map((seq) => s.get(seq)!.fingerprint[0])).toEqual(['a', 'a', 'a', 'b', 'b', 'c']);
  });
});
