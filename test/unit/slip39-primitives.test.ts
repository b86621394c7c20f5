// Internals: GF(256) arithmetic, interpolation, RS1024, one-level sharing, the cipher.
import { describe, expect, it } from 'vitest';

import { decrypt, encrypt } from '../../shared/slip39/cipher';
import { gfInv, gfMul, interpolate } from '../../shared/slip39/gf256';
import { rs1024Create, rs1024Verify } from '../../shared/slip39/rs1024';
import { recoverShares, splitShares } from '../../shared/slip39/shamir';
import { decodeMnemonic, encodeMnemonic, Slip39Error, webCryptoSlip39, type Share } from '../../shared/slip39';
import { countingCrypto, hex, nodeCrypto, prng, seededCrypto } from './slip39-support';

/** Independent reference: log/exp tables over generator 3 (x + 1) modulo 0x11B. */
const EXP: number[] = [];
const LOG: number[] = new Array<number>(256).fill(0);
for (let i = 0, v = 1; i < 255; i++) {
  EXP[i] = v;
  LOG[v] = i;
  v ^= v << 1;
  if (v & 0x100) v ^= 0x11b;
}
const refMul = (a: number, b: number): number =>
  a === 0 || b === 0 ? 0 : (EXP[((LOG[a] as number) + (LOG[b] as number)) % 255] as number);

describe('GF(256)', () => {
  it('multiplication matches the table-based reference for all 65536 pairs', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        if (gfMul(a, b) !== refMul(a, b)) throw new Error(`${a}·${b}`);
      }
    }
    expect(gfMul(0x57, 0x83)).toBe(0xc1); // FIPS-197 section 4.2 example
  });

  it('every non-zero element has an inverse; zero has none', () => {
    for (let a = 1; a < 256; a++) expect(gfMul(a, gfInv(a))).toBe(1);
    expect(() => gfInv(0)).toThrow(RangeError);
  });

  it('interpolation reproduces a random polynomial anywhere', () => {
    const r = prng(1);
    for (let degree = 0; degree < 16; degree++) {
      const coeffs = r.bytes(degree + 1);
      const evalAt = (x: number): number => {
        let acc = 0;
        for (let i = coeffs.length - 1; i >= 0; i--) acc = gfMul(acc, x) ^ (coeffs[i] as number);
        return acc;
      };
      const xs = Array.from({ length: 256 }, (_, i) => i).sort(() => r.next() - 0.5).slice(0, degree + 1);
      const points = xs.map((x) => ({ x, y: Uint8Array.of(evalAt(x)) }));
      for (const x of [0, 7, 254, 255, ...xs]) expect(interpolate(points, x)[0]).toBe(evalAt(x));
    }
  });

  it('refuses duplicate x-coordinates and ragged values', () => {
    expect(() => interpolate([{ x: 1, y: Uint8Array.of(1) }, { x: 1, y: Uint8Array.of(2) }], 255)).toThrow(RangeError);
    expect(() => interpolate([{ x: 1, y: Uint8Array.of(1) }, { x: 2, y: Uint8Array.of(2, 3) }], 255)).toThrow(RangeError);
  });
});

describe('RS1024', () => {
  it('created checksums verify, and only under the same customization string', () => {
    const r = prng(2);
    for (let t = 0; t < 200; t++) {
      const data = Array.from({ length: 4 + r.int(40) }, () => r.int(1024));
      for (const ext of [false, true]) {
        const words = [...data, ...rs1024Create(data, ext)];
        expect(rs1024Verify(words, ext)).toBe(true);
        expect(rs1024Verify(words, !ext)).toBe(false);
      }
    }
  });
});

describe('one-level sharing (SplitSecret / RecoverSecret)', () => {
  it('T-of-N: any T points recover; shares sit at x = 0..N-1', async () => {
    const secret = prng(3).bytes(32);
    for (const [t, n] of [
      [1, 1],
      [1, 3],
      [2, 2],
      [3, 5],
      [16, 16],
    ] as const) {
      const shares = await splitShares(t, n, secret, seededCrypto(t * 100 + n));
      expect(shares.map((s) => s.x)).toEqual(Array.from({ length: n }, (_, i) => i));
      const chosen = shares.slice(n - t);
      expect(hex(await recoverShares(t, chosen, nodeCrypto))).toBe(hex(secret));
    }
  });

  it('threshold 1 copies the secret and uses no randomness or HMAC', async () => {
    const c = countingCrypto({ ...nodeCrypto, randomBytes: () => { throw new Error('no randomness expected'); } });
    const shares = await splitShares(1, 3, Uint8Array.of(1, 2, 3), c);
    expect(shares.map((s) => [...s.y])).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    expect(c.hmacCalls).toBe(0);
  });

  it('the digest share is HMAC-SHA256(R, S)[0:4] ‖ R at x = 254', async () => {
    const secret = prng(4).bytes(16);
    const shares = await splitShares(2, 2, secret, seededCrypto(4));
    const d = interpolate(shares, 254);
    const mac = nodeCrypto.hmacSha256(d.subarray(4), secret) as Uint8Array;
    expect(hex(d.subarray(0, 4))).toBe(hex(mac.subarray(0, 4)));
    expect(hex(interpolate(shares, 255))).toBe(hex(secret));
  });

  it('a corrupted point fails the digest with a DIGEST error naming the group', async () => {
    const shares = await splitShares(2, 3, prng(5).bytes(16), seededCrypto(5));
    const bad = shares.slice(0, 2).map((s) => ({ x: s.x, y: s.y.slice() }));
    const y = (bad[1] as { y: Uint8Array }).y;
    y[0] = (y[0] as number) ^ 0x80;
    const err = await recoverShares(2, bad, nodeCrypto, 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Slip39Error);
    expect(err).toMatchObject({ code: 'DIGEST', details: { groupIndex: 3 } });
    expect((err as Error).message).toContain('group 4');
  });
});

describe('Feistel cipher', () => {
  const params = { passphrase: new TextEncoder().encode('TREZOR'), iterationExponent: 0, identifier: 7470, extendable: false };

  it('decrypt inverts encrypt, with exactly 4 PBKDF2 calls each', async () => {
    const ms = prng(6).bytes(32);
    const c = countingCrypto(nodeCrypto);
    const ems = await encrypt(ms, params, c);
    expect(c.pbkdf2Calls).toEqual([2500, 2500, 2500, 2500]);
    expect(hex(ems)).not.toBe(hex(ms));
    expect(hex(await decrypt(ems, params, c))).toBe(hex(ms));
    expect(c.pbkdf2Calls).toHaveLength(8);
  });

  it('Node and WebCrypto providers agree', async () => {
    const ms = prng(7).bytes(16);
    const wc = webCryptoSlip39(globalThis.crypto);
    for (const extendable of [false, true]) {
      const p = { ...params, extendable };
      expect(hex(await encrypt(ms, p, wc))).toBe(hex(await encrypt(ms, p, nodeCrypto)));
    }
    expect(wc.randomBytes(70000)).toHaveLength(70000);
  });

  it('rejects a provider that returns the wrong number of bytes', async () => {
    const broken = { ...nodeCrypto, pbkdf2Sha256: () => new Uint8Array(3) };
    const err = await encrypt(prng(8).bytes(16), params, broken).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_PARAMETERS' });
  });
});

describe('share encoding', () => {
  const MINIMAL: Share = {
    identifier: 0,
    extendable: false,
    iterationExponent: 0,
    groupIndex: 0,
    groupThreshold: 1,
    groupCount: 1,
    memberIndex: 0,
    memberThreshold: 1,
    value: new Uint8Array(16),
  };

  it('round-trips extreme field values', () => {
    const share: Share = {
      identifier: 0x7fff,
      extendable: true,
      iterationExponent: 15,
      groupIndex: 15,
      groupThreshold: 16,
      groupCount: 16,
      memberIndex: 15,
      memberThreshold: 16,
      value: new Uint8Array(32).fill(0xff),
    };
    const m = encodeMnemonic(share);
    expect(m.split(' ')).toHaveLength(33);
    expect(decodeMnemonic(m)).toEqual(share);
    expect(decodeMnemonic(encodeMnemonic(MINIMAL))).toEqual(MINIMAL);
  });

  it('refuses to encode out-of-range fields', () => {
    const bad: Array<Partial<Share>> = [
      { identifier: 0x8000 },
      { iterationExponent: 16 },
      { groupIndex: 16 },
      { groupThreshold: 2 },
      { memberThreshold: 0 },
      { memberIndex: -1 },
    ];
    for (const b of bad) expect(() => encodeMnemonic({ ...MINIMAL, ...b })).toThrow(Slip39Error);
    expect(() => encodeMnemonic({ ...MINIMAL, value: new Uint8Array(15) })).toThrow(/at least 16 bytes/);
  });
});
