/**
 * Injected cryptographic primitives.
 *
 * shared/ runs both in Node and in the browser and must not import node:crypto, so the
 * caller supplies PBKDF2-HMAC-SHA256, HMAC-SHA256 and a CSPRNG. Results may be returned
 * synchronously (node:crypto) or as promises (WebCrypto).
 */

import { Slip39Error } from './errors';

export interface Slip39Crypto {
  /** PBKDF2 with HMAC-SHA256 as PRF; returns `length` bytes. */
  pbkdf2Sha256(
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    length: number,
  ): Uint8Array | Promise<Uint8Array>;
  /** HMAC-SHA256(key, data); returns 32 bytes. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * `n` bytes from a CSPRNG. SLIP-0039 "Sharing a secret": the randomness "MUST be
   * suitable for generating cryptographic keys".
   */
  randomBytes(n: number): Uint8Array;
}

/** Copy into a fresh ArrayBuffer-backed array (WebCrypto refuses shared buffers). */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

/**
 * A Slip39Crypto built on WebCrypto (`globalThis.crypto` in browsers, Electron
 * renderers and Node >= 20). Pure: no Node imports.
 */
export function webCryptoSlip39(crypto: Crypto): Slip39Crypto {
  const subtle = crypto.subtle;
  return {
    async pbkdf2Sha256(password, salt, iterations, length) {
      const key = await subtle.importKey('raw', own(password), 'PBKDF2', false, ['deriveBits']);
      const bits = await subtle.deriveBits(
        { name: 'PBKDF2', hash: 'SHA-256', salt: own(salt), iterations },
        key,
        length * 8,
      );
      return new Uint8Array(bits);
    },
    async hmacSha256(key, data) {
      const k = await subtle.importKey('raw', own(key), { name: 'HMAC', hash: 'SHA-256' }, false, [
        'sign',
      ]);
      return new Uint8Array(await subtle.sign('HMAC', k, own(data)));
    },
    randomBytes(n) {
      // getRandomValues fills at most 65536 bytes per call.
      const out = new Uint8Array(n);
      for (let off = 0; off < n; off += 65536) {
        crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
      }
      return out;
    },
  };
}

/** Call the injected PBKDF2 and make sure it honoured the requested length. */
export async function pbkdf2(
  c: Slip39Crypto,
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
): Promise<Uint8Array> {
  const out = await c.pbkdf2Sha256(password, salt, iterations, length);
  if (!(out instanceof Uint8Array) || out.length !== length) {
    throw new Slip39Error(
      'INVALID_PARAMETERS',
      `The crypto provider's PBKDF2 returned ${out?.length ?? 'no'} bytes instead of ${length}. Fix the provider.`,
    );
  }
  return out;
}

export async function hmacSha256(
  c: Slip39Crypto,
  key: Uint8Array,
  data: Uint8Array,
): Promise<Uint8Array> {
  const out = await c.hmacSha256(key, data);
  if (!(out instanceof Uint8Array) || out.length !== 32) {
    throw new Slip39Error(
      'INVALID_PARAMETERS',
      `The crypto provider's HMAC-SHA256 returned ${out?.length ?? 'no'} bytes instead of 32. Fix the provider.`,
    );
  }
  return out;
}

export function randomBytes(c: Slip39Crypto, n: number): Uint8Array {
  const out = c.randomBytes(n);
  if (!(out instanceof Uint8Array) || out.length !== n) {
    throw new Slip39Error(
      'INVALID_PARAMETERS',
      `The crypto provider's randomBytes returned ${out?.length ?? 'no'} bytes instead of ${n}. Fix the provider.`,
    );
  }
  return out;
}
