// Official SLIP-39 test vectors (trezor/python-shamir-mnemonic vectors.json, see
// test/vectors/slip39/README.md). Valid entries decrypt with passphrase "TREZOR".
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import {
  combineMnemonics,
  combineProgress,
  decodeMnemonic,
  encodeMnemonic,
  Slip39Error,
  webCryptoSlip39,
  WORDLIST,
  type Slip39ErrorCode,
} from '../../shared/slip39';
import { ascii, countingCrypto, hex, loadVectors, nodeCrypto } from './slip39-support';

const vectors = loadVectors();
const TREZOR = ascii('TREZOR');

/** The failure reason each invalid vector's description states, as our error code. */
function expectedCode(description: string): Slip39ErrorCode {
  const d = description.toLowerCase();
  const table: Array<[string, Slip39ErrorCode]> = [
    ['invalid checksum', 'CHECKSUM'],
    ['invalid padding', 'PADDING'],
    ['different identifiers', 'IDENTIFIER_MISMATCH'],
    ['different iteration exponents', 'ITERATION_EXPONENT_MISMATCH'],
    ['mismatching group thresholds', 'GROUP_THRESHOLD_MISMATCH'],
    ['mismatching group counts', 'GROUP_COUNT_MISMATCH'],
    ['greater group threshold than group counts', 'GROUP_THRESHOLD_EXCEEDS_COUNT'],
    ['duplicate member indices', 'DUPLICATE_MEMBER'],
    ['mismatching member thresholds', 'MEMBER_THRESHOLD_MISMATCH'],
    ['invalid digest', 'DIGEST'],
    ['insufficient number of members in one group', 'TOO_FEW_SHARES'],
    ['insufficient number of groups', 'TOO_FEW_GROUPS'],
    ['insufficient length', 'WORD_COUNT'],
    ['invalid master secret length', 'SECRET_LENGTH'],
    // Vectors 5 and 24: one share of a 2-of-3 split.
    ['basic sharing 2-of-3', 'TOO_FEW_SHARES'],
  ];
  const hit = table.find(([needle]) => d.includes(needle));
  if (!hit) throw new Error(`no expected code for vector "${description}"`);
  return hit[1];
}

async function failure(p: Promise<unknown>): Promise<Slip39Error> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Slip39Error) return e;
    throw e;
  }
  throw new Error('expected a Slip39Error, but combining succeeded');
}

// --- BIP-32 master key, to check the vectors' xprv column independently. ---
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58check(payload: Uint8Array): string {
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();
  const full = Buffer.concat([payload, sha(sha(payload)).subarray(0, 4)]);
  let n = BigInt('0x' + full.toString('hex'));
  let out = '';
  while (n > 0n) {
    out = (B58[Number(n % 58n)] as string) + out;
    n /= 58n;
  }
  for (const b of full) {
    if (b !== 0) break;
    out = '1' + out;
  }
  return out;
}
function xprvFromSeed(seed: Uint8Array): string {
  const i = createHmac('sha512', 'Bitcoin seed').update(seed).digest();
  return base58check(
    Buffer.concat([
      Buffer.from('0488ade4', 'hex'), // mainnet private version
      Buffer.alloc(1 + 4 + 4), // depth, parent fingerprint, child number
      i.subarray(32), // chain code
      Buffer.alloc(1),
      i.subarray(0, 32), // key
    ]),
  );
}

describe('SLIP-39 official vectors', () => {
  it('has the 45 documented vectors (15 valid, 30 invalid)', () => {
    expect(vectors).toHaveLength(45);
    expect(vectors.filter((v) => v[2] !== '')).toHaveLength(15);
  });

  const valid = vectors.filter((v) => v[2] !== '');
  const invalid = vectors.filter((v) => v[2] === '');

  describe.each(valid)('%s', (description, mnemonics, secretHex, xprv) => {
    it('recovers the master secret with passphrase TREZOR', async () => {
      const c = countingCrypto(nodeCrypto);
      const secret = await combineMnemonics(mnemonics, TREZOR, c);
      expect(hex(secret)).toBe(secretHex);
      // Decryption is exactly 4 PBKDF2 calls of 2500·2^e iterations each.
      const e = decodeMnemonic(mnemonics[0] as string).iterationExponent;
      expect(c.pbkdf2Calls).toEqual([2500 << e, 2500 << e, 2500 << e, 2500 << e]);
      expect(xprvFromSeed(secret)).toBe(xprv);
    });

    it('is reported ready by combineProgress, selecting every share', () => {
      const p = combineProgress(mnemonics);
      expect(p.ready).toBe(true);
      expect(p.groupsRemaining).toBe(0);
      expect(p.selection).toEqual(mnemonics.map((_, i) => i));
      expect(p.entries.every((e) => e.status === 'accepted')).toBe(true);
    });

    it('decodes and re-encodes losslessly (extendable flag per description)', () => {
      for (const m of mnemonics) {
        const s = decodeMnemonic(m);
        expect(s.extendable).toBe(description.toLowerCase().includes('extendable'));
        expect(encodeMnemonic(s)).toBe(m);
      }
    });
  });

  describe.each(invalid)('%s', (description, mnemonics) => {
    const code = expectedCode(description);

    it(`fails with ${code} for any passphrase`, async () => {
      for (const pass of [new Uint8Array(0), TREZOR]) {
        const err = await failure(combineMnemonics(mnemonics, pass, nodeCrypto));
        expect(err.code).toBe(code);
      }
    });

    it('says nothing that leaks share words', async () => {
      const err = await failure(combineMnemonics(mnemonics, TREZOR, nodeCrypto));
      // Words of the list that our own message vocabulary uses on purpose.
      const vocabulary = new Set(['group', 'member', 'secret', 'check', 'again', 'length', 'order', 'remove', 'that', 'extra', 'valid']);
      const shareWords = new Set(mnemonics.flatMap((m) => m.split(' ')));
      const messageWords = err.message.toLowerCase().match(/[a-z]+/g) ?? [];
      const leaked = messageWords.filter((w) => shareWords.has(w) && !vocabulary.has(w));
      expect(leaked).toEqual([]);
    });
  });

  it('works with the WebCrypto provider too (one vector of each length and flag)', async () => {
    const wc = webCryptoSlip39(globalThis.crypto);
    for (const n of [4, 23, 43, 45]) {
      const [, mnemonics, secretHex] = vectors[n - 1] as [string, string[], string, string];
      expect(hex(await combineMnemonics(mnemonics, TREZOR, wc))).toBe(secretHex);
    }
  });

  it('a wrong passphrase silently yields a different secret (no passphrase check by design)', async () => {
    const [, mnemonics, secretHex] = vectors[3] as [string, string[], string, string];
    const other = await combineMnemonics(mnemonics, ascii('TREZOR2'), nodeCrypto);
    expect(other).toHaveLength(16);
    expect(hex(other)).not.toBe(secretHex);
  });

  it('locates the problem: UNKNOWN_WORD reports share and word position only', async () => {
    const [, mnemonics] = vectors[3] as [string, string[], string, string];
    const words = (mnemonics[1] as string).split(' ');
    words[6] = 'bitcoin';
    const err = await failure(combineMnemonics([mnemonics[0] as string, words.join(' ')], TREZOR, nodeCrypto));
    expect(err.code).toBe('UNKNOWN_WORD');
    expect(err.details).toMatchObject({ shareIndex: 1, wordIndex: 6 });
    expect(err.message).toContain('Share 2');
    expect(err.message).toContain('word 7');
    expect(err.message).not.toContain('bitcoin');
  });

  it('accepts extra whitespace and upper case', () => {
    const [, mnemonics] = vectors[0] as [string, string[], string, string];
    const m = mnemonics[0] as string;
    const messy = `  ${m.toUpperCase().split(' ').join(' \t\n ')}  `;
    expect(decodeMnemonic(messy)).toEqual(decodeMnemonic(m));
    expect(WORDLIST).toHaveLength(1024);
  });
});
