// Key check values and CMAC (electron/services/kcv.ts): every vector of test/vectors/kcv/kcv.json,
// and the CMAC examples of NIST SP 800-38B (AES: RFC 4493 section 4 and NIST's updated example
// file; TDEA: appendix D.4/D.7 with the errata-corrected tags).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cmac, cmacSubkeys, encryptBlock, isCheckValueSyntax, keyCheckValues, matchCheckValue, secretCheckValue } from '../../electron/services/kcv';
import type { KeyAlgorithm } from '../../shared/components';

interface KcvVector {
  id: string;
  algorithm: string;
  key: string;
  ecb_zero_block: string;
  kcv_ecb_3: string;
  cmac_zero_block: string;
  kcv_cmac_5: string;
  kcv_cmac_3: string;
  kcv_gp_aes_3?: string;
}

const file = JSON.parse(readFileSync(join(__dirname, '../vectors/kcv/kcv.json'), 'utf8')) as { vectors: KcvVector[] };
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const algOf = (v: KcvVector): KeyAlgorithm => (v.algorithm.startsWith('AES') ? 'AES' : 'TDES');

describe('kcv.json', () => {
  it('has the nine documented vectors', () => {
    expect(file.vectors.map((v) => v.id)).toHaveLength(9);
  });

  for (const v of file.vectors) {
    it(`${v.id}: ECB and CMAC of a zero block, and every derived KCV`, () => {
      const alg = algOf(v);
      const key = hex(v.key);
      const zero = new Uint8Array(alg === 'AES' ? 16 : 8);
      expect(encryptBlock(alg, key, zero).toString('hex')).toBe(v.ecb_zero_block);
      expect(cmac(alg, key, zero).toString('hex')).toBe(v.cmac_zero_block);
      const kcv = keyCheckValues(alg, key);
      expect(kcv).toEqual({ algorithm: v.algorithm, cmac: v.kcv_cmac_5, legacy: v.kcv_ecb_3 });
      expect(v.cmac_zero_block.slice(0, 6)).toBe(v.kcv_cmac_3);
      if (v.kcv_gp_aes_3) {
        // GlobalPlatform / GSMA AES KCV: AES-ECB of a block of 0x01 bytes.
        expect(encryptBlock('AES', key, new Uint8Array(16).fill(1)).subarray(0, 3).toString('hex')).toBe(v.kcv_gp_aes_3);
      }
      // A written KCV matches by either method, in any case, with spaces.
      expect(matchCheckValue(alg, key, v.kcv_cmac_5.toUpperCase())).toEqual({ matched: true, method: 'cmac' });
      expect(matchCheckValue(alg, key, v.kcv_ecb_3)).toEqual({ matched: true, method: 'legacy' });
      expect(matchCheckValue(alg, key, `${v.kcv_cmac_3.slice(0, 4)} ${v.kcv_cmac_3.slice(4)}`)).toEqual({ matched: true, method: 'cmac' });
    });
  }

  it('two-key TDES is keying option 2: K1‖K2 gives the same values as K1‖K2‖K1', () => {
    const v = file.vectors.find((x) => x.id === 'tdes2-ansi-bdk')!;
    const k = hex(v.key);
    const k3 = Buffer.concat([k, k.subarray(0, 8)]);
    expect(keyCheckValues('TDES', k3)).toEqual({ ...keyCheckValues('TDES', k), algorithm: 'TDES-3key' });
  });
});

// NIST SP 800-38B examples. Messages are prefixes of the SP 800-38A sample plaintext.
const M = hex(
  '6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710',
);
const AES_EXAMPLES: { key: string; tags: Record<number, string> }[] = [
  {
    key: '2b7e151628aed2a6abf7158809cf4f3c',
    tags: {
      0: 'bb1d6929e95937287fa37d129b756746',
      16: '070a16b46b4d4144f79bdd9dd04a287c',
      20: '7d85449ea6ea19c823a7bf78837dfade',
      40: 'dfa66747de9ae63030ca32611497c827',
      64: '51f0bebf7e3b9d92fc49741779363cfe',
    },
  },
  {
    key: '8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b',
    tags: {
      0: 'd17ddf46adaacde531cac483de7a9367',
      16: '9e99a7bf31e710900662f65e617c5184',
      20: '3d75c194ed96070444a9fa7ec740ecf8',
      40: '8a1de5be2eb31aad089a82e6ee908b0e',
      64: 'a1d5df0eed790f794d77589659f39a11',
    },
  },
  {
    key: '603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4',
    tags: {
      0: '028962f61b7bf89efc6b551f4667d983',
      16: '28a7023f452e8f82bd4bf28d8c37c35c',
      20: '156727dc0878944a023c1fe03bad6d93',
      40: 'aaf3d8f1de5640c232f5b169b9c911e6',
      64: 'e1992190549f6ed5696a2c056c315410',
    },
  },
];
const TDES_EXAMPLES: { key: string; tags: Record<number, string> }[] = [
  {
    // D.4 three-key TDEA (tags for 8 and 20 bytes as corrected in the errata).
    key: '8aa83bf8cbda1062 0bc1bf19fbb6cd58 bc313d4a371ca8b5',
    tags: { 0: 'b7a688e122ffaf95', 8: '8e8f293136283797', 20: '743ddbe0ce2dc2ed', 32: '33e6b1092400eae5' },
  },
  {
    // D.7 two-key TDEA (K3 = K1).
    key: '4cf15134a2850dd5 8a3d10ba80570d38',
    tags: { 0: 'bd2ebf9a3ba00361', 8: '4ff2ab813c53ce83', 20: '62dd1b471902bd4e', 32: '31b1e431dabc4eb8' },
  },
];

describe('CMAC: NIST SP 800-38B examples', () => {
  it('derives the RFC 4493 subkeys for the AES-128 example key', () => {
    const { k1, k2 } = cmacSubkeys('AES', hex('2b7e151628aed2a6abf7158809cf4f3c'));
    expect(k1.toString('hex')).toBe('fbeed618357133667c85e08f7236a8de');
    expect(k2.toString('hex')).toBe('f7ddac306ae266ccf90bc11ee46d513b');
  });
  for (const [alg, examples] of [['AES', AES_EXAMPLES], ['TDES', TDES_EXAMPLES]] as const) {
    for (const ex of examples) {
      for (const [len, tag] of Object.entries(ex.tags)) {
        it(`${alg} key ${ex.key.slice(0, 8)}…, ${len}-byte message`, () => {
          expect(cmac(alg, hex(ex.key), M.subarray(0, Number(len))).toString('hex')).toBe(tag);
        });
      }
    }
  }
});

describe('check value helpers', () => {
  it('matchCheckValue refuses malformed or wrong values', () => {
    const key = hex('0123456789abcdeffedcba9876543210');
    expect(matchCheckValue('TDES', key, '08d7b5')).toEqual({ matched: false });
    expect(matchCheckValue('TDES', key, '08d')).toEqual({ matched: false });
    expect(matchCheckValue('TDES', key, '08')).toEqual({ matched: false });
    expect(matchCheckValue('TDES', key, 'zz d7b4')).toEqual({ matched: false });
    expect(matchCheckValue('TDES', key, '08D7')).toEqual({ matched: true, method: 'legacy' });
    expect(isCheckValueSyntax('08D7 B4')).toBe(true);
    expect(isCheckValueSyntax('08D7B')).toBe(false);
  });

  it('refuses keys of the wrong length for the algorithm', () => {
    expect(() => keyCheckValues('AES', new Uint8Array(20))).toThrow(/20 bytes/);
    expect(() => keyCheckValues('TDES', new Uint8Array(32))).toThrow(/32 bytes/);
  });

  it('secretCheckValue: AES-CMAC KCV for AES lengths, truncated SHA-256 otherwise', () => {
    expect(secretCheckValue(hex('2b7e151628aed2a6abf7158809cf4f3c'))).toEqual({ method: 'AES-CMAC', value: '7ad386c376' });
    const odd = secretCheckValue(new Uint8Array(20).fill(7));
    expect(odd.method).toBe('SHA-256');
    expect(odd.value).toMatch(/^[0-9a-f]{10}$/);
    expect(secretCheckValue(new Uint8Array(20).fill(8)).value).not.toBe(odd.value);
  });
});
