/**
 * Key check values (KCVs) and CMAC, on node:crypto. See test/vectors/kcv/README.md for the
 * conventions; kcv.json pins every value computed here.
 *
 *   - CMAC method (ANSI X9.24-1:2017; PCI PIN requirement 15-1): CMAC of one all-zero block
 *     under the key, leftmost 5 bytes (40 bits, as carried in TR-31 "KC" blocks). The only
 *     method allowed for AES keys; optional for TDES.
 *   - Legacy method (X9.24-1 "encrypt zeros"): ECB encryption of one all-zero block, leftmost
 *     3 bytes (24 bits, the most X9.24-1 / PCI allow). What TDES keys show on payment HSMs;
 *     shown beside the CMAC value for AES only because older tools print it.
 *
 * Node has no CMAC, so it is built here from the block cipher per NIST SP 800-38B section 6,
 * on CBC with a zero IV (one CBC pass over the prepared blocks is exactly the CBC-MAC chain
 * C_i = CIPH_K(C_{i-1} ⊕ M_i) of SP 800-38B 6.2 step 6). CBC is used rather than ECB because
 * both OpenSSL (Node) and BoringSSL (Electron) provide aes-*-cbc and des-ede3-cbc.
 */

import { createCipheriv, createHash } from 'node:crypto';
import { algorithmName, checkKeyLength, toHex, type KeyAlgorithm } from '../../shared/components';
import { SECRET_CHECK_BYTES, type SecretCheckValue } from '../../shared/shares';

export const CMAC_KCV_BYTES = 5;
export const LEGACY_KCV_BYTES = 3;

interface Cipher {
  name: string;
  key: Buffer;
  /** Block size in bytes: 16 (AES) or 8 (TDEA). */
  block: number;
  /** SP 800-38B 5.3: R_128 = 0^120 ‖ 10000111, R_64 = 0^59 ‖ 11011. */
  rb: number;
}

/** The cipher for a key. A two-key TDES key K1‖K2 is used as K1‖K2‖K1 (keying option 2). */
function cipherFor(algorithm: KeyAlgorithm, key: Uint8Array): Cipher {
  checkKeyLength(algorithm, key.length);
  if (algorithm === 'AES') return { name: `aes-${key.length * 8}-cbc`, key: Buffer.from(key), block: 16, rb: 0x87 };
  const k = Buffer.alloc(24);
  k.set(key, 0);
  if (key.length === 16) k.set(key.subarray(0, 8), 16);
  return { name: 'des-ede3-cbc', key: k, block: 8, rb: 0x1b };
}

/** CBC encryption with a zero IV, no padding; `data` is a whole number of blocks. */
function cbcZeroIv(c: Cipher, data: Uint8Array): Buffer {
  const cipher = createCipheriv(c.name, c.key, Buffer.alloc(c.block));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** SP 800-38B 6.1: doubling in GF(2^b): shift left one bit, XOR R_b if the top bit was set. */
function double(block: Buffer, rb: number): Buffer {
  const out = Buffer.alloc(block.length);
  for (let i = 0; i < block.length; i++) {
    out[i] = ((block[i]! << 1) | (i + 1 < block.length ? block[i + 1]! >>> 7 : 0)) & 0xff;
  }
  if (block[0]! & 0x80) out[block.length - 1]! ^= rb;
  return out;
}

function withCipher<T>(algorithm: KeyAlgorithm, key: Uint8Array, fn: (c: Cipher) => T): T {
  const c = cipherFor(algorithm, key);
  try {
    return fn(c);
  } finally {
    c.key.fill(0);
  }
}

/** ECB encryption of one block (CBC of a single block with a zero IV is the same thing). */
export function encryptBlock(algorithm: KeyAlgorithm, key: Uint8Array, block: Uint8Array): Buffer {
  return withCipher(algorithm, key, (c) => {
    if (block.length !== c.block) throw new RangeError(`encryptBlock: a block is ${c.block} bytes`);
    return cbcZeroIv(c, block);
  });
}

/** The CMAC subkeys K1, K2 of SP 800-38B 6.1 (exported for the tests). */
export function cmacSubkeys(algorithm: KeyAlgorithm, key: Uint8Array): { k1: Buffer; k2: Buffer } {
  return withCipher(algorithm, key, (c) => subkeys(c));
}

function subkeys(c: Cipher): { k1: Buffer; k2: Buffer } {
  const l = cbcZeroIv(c, Buffer.alloc(c.block));
  const k1 = double(l, c.rb);
  const k2 = double(k1, c.rb);
  l.fill(0);
  return { k1, k2 };
}

/** CMAC (NIST SP 800-38B 6.2) of `message`: the full block-size tag (T with Tlen = b). */
export function cmac(algorithm: KeyAlgorithm, key: Uint8Array, message: Uint8Array): Buffer {
  return withCipher(algorithm, key, (c) => {
    const { k1, k2 } = subkeys(c);
    const b = c.block;
    // Step 2-3: n = ceil(Mlen / b), at least 1; the empty message is one incomplete block.
    const n = Math.max(1, Math.ceil(message.length / b));
    const complete = message.length > 0 && message.length % b === 0;
    const m = Buffer.alloc(n * b);
    m.set(message, 0);
    // Step 3: pad an incomplete last block with 10…0 (padding = 1 bit then zeros).
    if (!complete) m[message.length] = 0x80;
    // Step 4: the last block is XORed with K1 if it was complete, else K2.
    const sub = complete ? k1 : k2;
    for (let i = 0; i < b; i++) m[(n - 1) * b + i]! ^= sub[i]!;
    const chain = cbcZeroIv(c, m);
    const tag = Buffer.from(chain.subarray(chain.length - b));
    for (const x of [m, chain, k1, k2]) x.fill(0);
    return tag;
  });
}

export interface KeyCheckValues {
  /** "AES-128" … "AES-256", "TDES-2key", "TDES-3key". */
  algorithm: string;
  /** X9.24-1:2017 CMAC method, 5 bytes, lowercase hex. */
  cmac: string;
  /** Legacy "encrypt zeros" method, 3 bytes, lowercase hex. */
  legacy: string;
}

/** Both check values of a key (or of a key component, as if it were a key). */
export function keyCheckValues(algorithm: KeyAlgorithm, key: Uint8Array): KeyCheckValues {
  const zero = new Uint8Array(algorithm === 'AES' ? 16 : 8);
  const mac = cmac(algorithm, key, zero);
  const ecb = encryptBlock(algorithm, key, zero);
  return {
    algorithm: algorithmName(algorithm, key.length),
    cmac: toHex(mac.subarray(0, CMAC_KCV_BYTES)),
    legacy: toHex(ecb.subarray(0, LEGACY_KCV_BYTES)),
  };
}

export type CheckValueMethod = 'cmac' | 'legacy';

/**
 * Compares a check value someone wrote down with the key. Accepts 2 to 8 bytes (4 to 16 hex
 * digits; tools print 2, 3, 4 or 5) as a prefix of either method's block, and says which
 * method matched. `expected` is hex, any case, spaces allowed.
 */
export function matchCheckValue(algorithm: KeyAlgorithm, key: Uint8Array, expected: string): { matched: boolean; method?: CheckValueMethod } {
  const want = expected.replace(/\s+/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(want) || want.length % 2 !== 0 || want.length < 4 || want.length > 16) return { matched: false };
  const zero = new Uint8Array(algorithm === 'AES' ? 16 : 8);
  const full = { cmac: toHex(cmac(algorithm, key, zero)), legacy: toHex(encryptBlock(algorithm, key, zero)) };
  if (full.cmac.startsWith(want)) return { matched: true, method: 'cmac' };
  if (full.legacy.startsWith(want)) return { matched: true, method: 'legacy' };
  return { matched: false };
}

/** True for a syntactically acceptable written check value (see matchCheckValue). */
export const isCheckValueSyntax = (text: string): boolean => /^(?:[0-9a-fA-F]{2}){2,8}$/.test(text.replace(/\s+/g, ''));

const SECRET_CHECK_DOMAIN = 'custos.secret-check.v1';

/**
 * Check value of a SLIP-39 master secret (shared/shares/record.ts SecretCheckValue): the
 * X9.24-1:2017 AES-CMAC KCV when the secret has an AES key length, otherwise a truncated
 * domain-separated SHA-256. Both are 40 bits.
 */
export function secretCheckValue(secret: Uint8Array): SecretCheckValue {
  if (secret.length === 16 || secret.length === 24 || secret.length === 32) {
    return { method: 'AES-CMAC', value: keyCheckValues('AES', secret).cmac };
  }
  const h = createHash('sha256').update(SECRET_CHECK_DOMAIN).update(Buffer.from([0])).update(secret).digest();
  const value = toHex(h.subarray(0, SECRET_CHECK_BYTES));
  h.fill(0);
  return { method: 'SHA-256', value };
}
