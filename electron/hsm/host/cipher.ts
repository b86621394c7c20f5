// Encryption inside the HSM host process: AES-GCM (a batch, one fresh IV per message) and
// RSA-OAEP, their decryption, and the token's random number generator.
import * as pkcs11js from 'pkcs11js';
import type { CipherMechanism, ObjectRef } from '../protocol';
import { CKA, CKM } from '../protocol/constants';
import { nativeBatch, packItems, splitOutput } from './batch';
import { fail, p11, p11Failure } from './failure';
import { keyMisfit } from './misfit';
import { oaepCall, oaepParams } from './oaep';
import { findOne, readAttrs } from './objects';
import type { TokenContext } from './session';
import { buf } from './templates';
import { WorkingCopies } from './working-copies';

const GCM_TAG_BITS = 128;

/** AES-GCM with a 96-bit IV and a 128-bit tag (NIST SP 800-38D), as every GCM call in the host uses it. */
export function gcmParams(iv: Buffer, aad?: Uint8Array): pkcs11js.Mechanism {
  // pkcs11js: CK_PARAMS_GCM (v2.40 layout) with tagBits; CK_PARAMS_AES_GCM is buggy (DESIGN.md).
  return {
    mechanism: CKM.AES_GCM,
    parameter: { type: pkcs11js.CK_PARAMS_GCM, iv, ivBits: 96, aad: aad ? buf(aad) : Buffer.alloc(0), tagBits: GCM_TAG_BITS } as pkcs11js.GcmParams,
  };
}

export function random(ctx: TokenContext, length: number): Uint8Array {
  return Buffer.from(p11('C_GenerateRandom', () => ctx.m.p11.C_GenerateRandom(ctx.session, Buffer.alloc(length))));
}

let scratch: Buffer | null = null;

/** A reusable output buffer for native batches (ciphertexts only: nothing secret is left in it). */
function outputScratch(length: number): Buffer {
  if (!scratch || scratch.length < length) scratch = Buffer.alloc(Math.max(length, 64 * 1024));
  return scratch.subarray(0, length);
}

export function encrypt(ctx: TokenContext, ref: ObjectRef, mech: CipherMechanism, data: Uint8Array[], aad?: Uint8Array): Array<{ iv: Uint8Array | null; ciphertext: Uint8Array }> {
  const out: Array<{ iv: Uint8Array | null; ciphertext: Uint8Array }> = [];
  if (mech === 'aes-gcm') {
    const key = findOne(ctx, { ...ref, kind: 'secret' });
    // A fresh 96-bit IV from the token's RNG for every message (NIST SP 800-38D §8.2.2), drawn for
    // the whole batch in one call; ciphertexts are slices of one buffer (no copy; IPC sends only
    // each slice's bytes).
    const ivs = Buffer.from(random(ctx, 12 * Math.max(1, data.length)));
    const outLength = data.reduce((n, d) => n + d.length + 16, 0);
    let off = 0;
    // One mechanism object for the batch; only its IV changes (pkcs11js reads it at C_EncryptInit).
    const params = gcmParams(ivs.subarray(0, 12), aad);
    const gcm = params.parameter as pkcs11js.GcmParams;
    const copies = new WorkingCopies(ctx);
    let fn = 'C_CopyObject';
    try {
      const use = copies.of(key, data.length);
      const native = nativeBatch(ctx.m, data.length);
      if (native) {
        fn = 'C_Encrypt';
        const { bytes, ends } = packItems(data);
        // Ciphertexts go into a buffer kept for the next batch: a fresh one would take a page
        // fault per 4 KiB inside the loop. The result is copied out (arena or message) before
        // the next request is read, as the host handles one request at a time.
        const out = outputScratch(outLength);
        const outEnds = native.addon.gcmEncrypt(native.list, ctx.session, use, ivs, aad ?? new Uint8Array(0), GCM_TAG_BITS, bytes, ends, out);
        return splitOutput(out, outEnds).map((ciphertext, i) => ({ iv: ivs.subarray(12 * i, 12 * i + 12), ciphertext }));
      }
      const slab = Buffer.alloc(outLength);
      for (let i = 0; i < data.length; i++) {
        const d = data[i]!;
        const iv = ivs.subarray(12 * i, 12 * i + 12);
        gcm.iv = iv;
        fn = 'C_EncryptInit';
        ctx.m.p11.C_EncryptInit(ctx.session, params, use);
        fn = 'C_Encrypt';
        const ct = ctx.m.p11.C_Encrypt(ctx.session, buf(d), slab.subarray(off, off + d.length + 16));
        off += ct.length;
        out.push({ iv, ciphertext: ct });
      }
    } catch (e) {
      return fail(keyMisfit(ctx, key, mech, 'encrypt', p11Failure(e, fn)));
    } finally {
      copies.release();
    }
    return out;
  }
  const key = findOne(ctx, { ...ref, kind: 'public' });
  // RFC 8017 §7.1.1: at most k − 2·hLen − 2 bytes. Checked here because SoftHSM answers longer
  // input with CKR_GENERAL_ERROR rather than CKR_DATA_LEN_RANGE.
  const k = readAttrs(ctx, key, [CKA.MODULUS]).get(CKA.MODULUS)?.length ?? 0;
  const max = k - 2 * (mech === 'rsa-oaep-sha1' ? 20 : 32) - 2;
  const tooLong = k > 0 ? data.find((d) => d.length > max) : undefined;
  if (tooLong) {
    return fail({
      code: 'DATA_TOO_LARGE',
      message: `RSA-OAEP (${mech}) with this ${k * 8}-bit key can encrypt at most ${max} bytes; this is ${tooLong.length} bytes.`,
      action: 'Encrypt a key (for example an AES key) with RSA-OAEP and the data with that key, or use a larger RSA key.',
      details: { maxBytes: max, bytes: tooLong.length },
    });
  }
  try {
    for (const d of data) {
      oaepCall(mech, 'C_EncryptInit', () => ctx.m.p11.C_EncryptInit(ctx.session, oaepParams(mech), key));
      out.push({ iv: null, ciphertext: Buffer.from(p11('C_Encrypt', () => ctx.m.p11.C_Encrypt(ctx.session, buf(d), Buffer.alloc(1024)))) });
    }
  } catch (e) {
    return fail(keyMisfit(ctx, key, mech, 'encrypt', p11Failure(e, 'C_Encrypt')));
  }
  return out;
}

export function decrypt(ctx: TokenContext, ref: ObjectRef, mech: CipherMechanism, ciphertext: Uint8Array, iv?: Uint8Array, aad?: Uint8Array): { plaintext: Uint8Array } {
  if (mech === 'aes-gcm') {
    if (!iv || iv.length !== 12) return fail({ code: 'DATA_INVALID', message: 'AES-GCM decryption needs the 12-byte IV that came with the ciphertext.', action: 'Give the IV produced at encryption.' });
    const key = findOne(ctx, { ...ref, kind: 'secret' });
    try {
      p11('C_DecryptInit', () => ctx.m.p11.C_DecryptInit(ctx.session, gcmParams(buf(iv), aad), key));
    } catch (e) {
      return fail(keyMisfit(ctx, key, mech, 'decrypt', p11Failure(e, 'C_DecryptInit')));
    }
    try {
      return { plaintext: Buffer.from(ctx.m.p11.C_Decrypt(ctx.session, buf(ciphertext), Buffer.alloc(ciphertext.length))) };
    } catch (e) {
      const f = p11Failure(e, 'C_Decrypt');
      // SoftHSM reports a GCM tag mismatch as CKR_GENERAL_ERROR: in this call it means tampering or a wrong key.
      if (f.code === 'DEVICE_ERROR' || f.code === 'DECRYPTION_FAILED' || f.code === 'DATA_INVALID') {
        return fail({ code: 'DECRYPTION_FAILED', message: 'The data could not be decrypted: the authentication tag does not match (wrong key, wrong IV or additional data, or the data was altered).', action: 'Check the key, IV and additional data; if they are right, the data was altered — do not use it.', details: f.details ?? {} });
      }
      return fail(f);
    }
  }
  const key = findOne(ctx, { ...ref, kind: 'private' });
  try {
    oaepCall(mech, 'C_DecryptInit', () => ctx.m.p11.C_DecryptInit(ctx.session, oaepParams(mech), key));
  } catch (e) {
    return fail(keyMisfit(ctx, key, mech, 'decrypt', p11Failure(e, 'C_DecryptInit')));
  }
  try {
    return { plaintext: Buffer.from(ctx.m.p11.C_Decrypt(ctx.session, buf(ciphertext), Buffer.alloc(1024))) };
  } catch (e) {
    const f = p11Failure(e, 'C_Decrypt');
    if (f.code === 'DEVICE_ERROR' || f.code === 'DATA_INVALID' || f.code === 'DATA_TOO_LARGE') {
      return fail({ code: 'DECRYPTION_FAILED', message: 'The data could not be decrypted with this RSA key (wrong key, wrong OAEP hash, or altered data).', action: 'Check the key and algorithm; if they are right, the data was altered.', details: f.details ?? {} });
    }
    return fail(f);
  }
}
