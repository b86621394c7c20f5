// Key wrap and unwrap inside the HSM host process: AES-KW (RFC 3394), AES-KWP (RFC 5649), RSA-OAEP,
// and RSA-OAEP + AES-KWP, the CKM_RSA_AES_KEY_WRAP layout composed from the two steps. Only
// mechanisms that passed the probe's known-answer tests (probe.ts) are used.
import type { AppError } from '../../../shared/result';
import { constants as cryptoConstants, createPublicKey, publicEncrypt } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import type { ObjectRef, RawObject, UnwrapTemplate, WrapMechanism } from '../protocol';
import { CKA, CKK, CKM, CKO } from '../protocol/constants';
import { nativeBatch, splitOutput } from './batch';
import { random } from './cipher';
import { fail, p11, p11Failure } from './failure';
import { oaepCall, oaepParams, oaepUnsupported } from './oaep';
import { bool, describe, describeRef, findOne, readAttrs, ulong } from './objects';
import { probeWrap } from './probe';
import type { TokenContext } from './session';
import { buf, createSecret, destroyQuietly, keyTemplate, secretFlags, secretKeyTemplate, type Handle } from './templates';
import { WorkingCopies } from './working-copies';

/**
 * The trusted RFC 5649 mechanism for this direction. For wrapping, `keyBytes` is the length of the
 * key data when it is known (secret keys): a token whose output is RFC 5649 only for aligned data
 * may still wrap an AES key, never a private key (its PKCS#8 encoding has any length).
 */
export function kwpMechanism(ctx: TokenContext, direction: 'wrap' | 'unwrap', keyBytes?: number | null): number {
  const probe = probeWrap(ctx);
  const kwp = probe.aesKwp;
  const usable =
    kwp !== null &&
    (direction === 'unwrap' || kwp.wrap === 'any' || (kwp.wrap === 'aligned' && keyBytes !== undefined && keyBytes !== null && keyBytes % 8 === 0));
  if (!usable) {
    return fail({
      code: 'WRAP_MECHANISM_UNTRUSTED',
      message:
        kwp === null
          ? 'This token has no AES key wrap with padding that reproduces the RFC 5649 test vectors.'
          : "This token's AES-KWP output is standard (RFC 5649) only for keys whose length is a multiple of 8 bytes, and this key is not one of them.",
      action: 'Wrap this key on another token, or use RSA-OAEP transport for it; data wrapped here could not be read by other tools.',
      details: { notes: probe.notes.join('; ') },
    });
  }
  return kwp!.mechanism;
}

function kwMechanism(ctx: TokenContext): number {
  const probe = probeWrap(ctx);
  if (probe.aesKw === null) {
    return fail({ code: 'WRAP_MECHANISM_UNTRUSTED', message: 'This token has no AES key wrap that reproduces the RFC 3394 test vectors.', action: 'Use another wrap mechanism or token.', details: { notes: probe.notes.join('; ') } });
  }
  return probe.aesKw;
}

/**
 * What wrap needs to know of a target, in one C_GetAttributeValue: whether it may leave the token,
 * and the byte length of a secret key's value (null for private keys, whose wrapped form is PKCS#8).
 * Not describe(): its 23-attribute read fails on every key that lacks one of them (a secret key has
 * no CKA_MODULUS...) and falls back to 23 single reads, ~3 ms a key on SoftHSM token objects.
 */
function wrapTarget(ctx: TokenContext, h: Handle): { extractable: boolean | null; secretBytes: number | null; maxBytes: number | null } {
  // A private key has no CKA_VALUE_LEN: readAttrs then asks singly (private keys only).
  const a = readAttrs(ctx, h, [CKA.CLASS, CKA.KEY_TYPE, CKA.EXTRACTABLE, CKA.VALUE_LEN]);
  const extractable = bool(a.get(CKA.EXTRACTABLE));
  if (ulong(a.get(CKA.CLASS)) !== CKO.SECRET_KEY) return { extractable, secretBytes: null, maxBytes: null };
  const len = ulong(a.get(CKA.VALUE_LEN));
  if (len) return { extractable, secretBytes: len, maxBytes: len };
  // SoftHSM 2.6 reports CKA_VALUE_LEN 0 for every key it unwrapped (and refuses it in the unwrap
  // template). AES keys (16, 24 or 32 bytes) and DES3 keys (24) are whole 8-byte blocks anyway:
  // secretBytes stands for the alignment, maxBytes bounds the wrapped size.
  const kt = ulong(a.get(CKA.KEY_TYPE));
  if (kt === CKK.AES) return { extractable, secretBytes: 16, maxBytes: 32 };
  if (kt === CKK.DES3) return { extractable, secretBytes: 24, maxBytes: 24 };
  return { extractable, secretBytes: null, maxBytes: null };
}

/**
 * The ephemeral AES-256 key of RSA-OAEP + AES-KWP: a session object that wraps (or unwraps) the
 * target once and is destroyed. Generating it needs CKA_VALUE_LEN; SoftHSM refuses that attribute
 * in an unwrap template.
 */
const ephemeralAesTemplate = (valueLen?: number) =>
  secretKeyTemplate(CKK.AES, { onToken: false }, { privateObject: true, sensitive: true, extractable: true }, secretFlags({ wrap: true, unwrap: true }), valueLen);

export function wrap(ctx: TokenContext, wrappingRef: ObjectRef, targets: ObjectRef[], mech: WrapMechanism): Uint8Array[] {
  // Each distinct target is found and inspected once, however often the batch names it.
  const distinct = new Map<string, { h: Handle; secretBytes: number | null; maxBytes: number | null; uses: number; use?: Handle; mechanism?: pkcs11js.Mechanism }>();
  const resolved = targets.map((t) => {
    const k = `${t.idHex ?? ''}\u0001${t.label ?? '\u0002'}\u0001${t.kind ?? ''}`;
    let r = distinct.get(k);
    if (!r) {
      const h = findOne(ctx, { ...t, kind: t.kind ?? undefined });
      const info = wrapTarget(ctx, h);
      // NSS's softoken (3.87) wraps keys whose CKA_EXTRACTABLE is false, with AES-KW and RSA-OAEP
      // alike: the host enforces the attribute itself, for every token.
      if (info.extractable === false) {
        fail({
          code: 'KEY_NOT_EXTRACTABLE',
          message: `The ${describeRef(t)} was created non-extractable: it cannot leave the token, not even wrapped.`,
          action: 'Only keys generated as extractable can be wrapped; generate a new, extractable key if it must be exported.',
          details: { ckr: 'CKR_KEY_UNEXTRACTABLE', function: 'C_WrapKey' },
        });
      }
      distinct.set(k, (r = { h, secretBytes: info.secretBytes, maxBytes: info.maxBytes, uses: 0 }));
    }
    r.uses++;
    return r;
  });
  const out: Uint8Array[] = [];
  const scratch = Buffer.alloc(8192);
  if (mech === 'aes-kw' || mech === 'aes-kwp') {
    const kek = findOne(ctx, { ...wrappingRef, kind: 'secret' });
    const copies = new WorkingCopies(ctx);
    try {
      const useKek = copies.of(kek, resolved.length);
      const native = resolved.every((r) => r.maxBytes !== null) ? nativeBatch(ctx.m, resolved.length) : null;
      if (native) {
        // One mechanism for the whole batch, once every distinct target passed its length check.
        const distinctTargets = [...new Set(resolved)];
        const m = mech === 'aes-kw' ? kwMechanism(ctx) : distinctTargets.map((r) => kwpMechanism(ctx, 'wrap', r.secretBytes))[0]!;
        const handles = Buffer.concat(resolved.map((r) => (r.use ??= copies.of(r.h, r.uses))));
        // RFC 3394/5649 output: the key rounded up to whole 8-byte blocks, plus one block.
        const output = Buffer.alloc(resolved.reduce((n, r) => n + Math.ceil(r.maxBytes! / 8) * 8 + 8, 0));
        return splitOutput(output, native.addon.wrap(native.list, ctx.session, m, useKek, handles, output));
      }
      for (const r of resolved) {
        r.mechanism ??= { mechanism: mech === 'aes-kw' ? kwMechanism(ctx) : kwpMechanism(ctx, 'wrap', r.secretBytes) };
        r.use ??= copies.of(r.h, r.uses);
        out.push(Buffer.from(ctx.m.p11.C_WrapKey(ctx.session, r.mechanism, useKek, r.use, scratch)));
      }
    } catch (e) {
      return fail(p11Failure(e, 'C_WrapKey'));
    } finally {
      copies.release();
    }
    return out;
  }
  const rsaPub = findOne(ctx, { ...wrappingRef, kind: 'public' });
  if (mech === 'rsa-oaep-sha1' || mech === 'rsa-oaep-sha256') {
    for (const { h } of resolved) out.push(Buffer.from(oaepCall(mech, 'C_WrapKey', () => ctx.m.p11.C_WrapKey(ctx.session, oaepParams(mech), rsaPub, h, scratch))));
    return out;
  }
  // CKM_RSA_AES_KEY_WRAP layout (PKCS#11 v2.40 §2.1.21): OAEP(ephemeral AES key) ‖ KWP(target).
  // pkcs11js has no parameter type for the native mechanism, so it is always composed from the
  // two steps here, inside the token; the ephemeral key is a session object destroyed at once.
  const oaep = oaepParams(mech === 'rsa-aes-kwp-sha1' ? 'rsa-oaep-sha1' : 'rsa-oaep-sha256');
  for (const { h, secretBytes } of resolved) {
    const kwp = kwpMechanism(ctx, 'wrap', secretBytes);
    let eph: Handle | null = null;
    try {
      eph = p11('C_GenerateKey', () => ctx.m.p11.C_GenerateKey(ctx.session, { mechanism: CKM.AES_KEY_GEN }, ephemeralAesTemplate(32)));
      const wrappedTarget = Buffer.from(p11('C_WrapKey', () => ctx.m.p11.C_WrapKey(ctx.session, { mechanism: kwp }, eph!, h, scratch)));
      let wrappedEph: Buffer;
      try {
        wrappedEph = Buffer.from(ctx.m.p11.C_WrapKey(ctx.session, oaep, rsaPub, eph, scratch));
      } catch (e) {
        const f = p11Failure(e, 'C_WrapKey');
        if (mech !== 'rsa-aes-kwp-sha256' || !oaepUnsupported(f)) return fail(f);
        destroyQuietly(ctx, eph);
        eph = null;
        out.push(composeOaepOnHost(ctx, rsaPub, h, kwp, scratch));
        continue;
      }
      out.push(Buffer.concat([wrappedEph, wrappedTarget]));
    } finally {
      destroyQuietly(ctx, eph);
    }
  }
  return out;
}

/**
 * RSA-OAEP-SHA256 + AES-KWP for a token that lacks OAEP with SHA-256. The ephemeral AES key comes
 * from the token's RNG, is imported as a session object to KWP-wrap the target inside the token,
 * and is OAEP-encrypted here with the (public) RSA key; its bytes are zeroised straight after.
 * The target key never leaves the token unwrapped.
 */
function composeOaepOnHost(ctx: TokenContext, rsaPub: Handle, target: Handle, kwp: number, scratch: Buffer): Buffer {
  const a = readAttrs(ctx, rsaPub, [CKA.MODULUS, CKA.PUBLIC_EXPONENT]);
  const n = a.get(CKA.MODULUS);
  const e = a.get(CKA.PUBLIC_EXPONENT);
  if (!n || !e) return fail({ code: 'KEY_TYPE_MISMATCH', message: 'The wrapping key is not an RSA public key.', action: 'Choose an RSA public key (for example the one a cloud KMS gave you for import).' });
  const ephValue = Buffer.from(random(ctx, 32));
  let eph: Handle | null = null;
  try {
    eph = createSecret(ctx, ephValue, CKK.AES, { privateObject: true, sensitive: true, extractable: false }, secretFlags({ wrap: true }));
    const wrappedTarget = Buffer.from(p11('C_WrapKey', () => ctx.m.p11.C_WrapKey(ctx.session, { mechanism: kwp }, eph!, target, scratch)));
    const key = createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
    const wrappedEph = publicEncrypt({ key, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, ephValue);
    return Buffer.concat([wrappedEph, wrappedTarget]);
  } finally {
    ephValue.fill(0);
    destroyQuietly(ctx, eph);
  }
}

export function unwrap(ctx: TokenContext, unwrappingRef: ObjectRef, wrapped: Uint8Array, mech: WrapMechanism, template: UnwrapTemplate): RawObject {
  try {
    return unwrapWith(ctx, unwrappingRef, wrapped, mech, template);
  } catch (e) {
    return fail(unwrapFailure(p11Failure(e, 'C_UnwrapKey')));
  }
}

/**
 * SoftHSM answers a failed AES-KW/KWP integrity check and a bad RSA-OAEP block with
 * CKR_GENERAL_ERROR (NSS: CKR_WRAPPED_KEY_INVALID). In C_UnwrapKey it means the wrapped data.
 * Random garbage sometimes yields CKR_FUNCTION_FAILED or a data-length error instead.
 */
export function unwrapFailure(f: AppError): AppError {
  if (['DEVICE_ERROR', 'FUNCTION_FAILED', 'DATA_INVALID', 'DATA_TOO_LARGE'].includes(f.code) && f.details?.function === 'C_UnwrapKey') {
    return {
      code: 'WRAPPED_KEY_INVALID',
      message: 'The wrapped key could not be unwrapped: the unwrapping key is not the one it was wrapped with, the mechanism differs, or the data was altered.',
      action: 'Check the unwrapping key and mechanism, and that the wrapped key was copied completely.',
      details: f.details,
    };
  }
  return f;
}

function unwrapWith(ctx: TokenContext, unwrappingRef: ObjectRef, wrapped: Uint8Array, mech: WrapMechanism, template: UnwrapTemplate): RawObject {
  const tmpl = keyTemplate(template);
  if (mech === 'aes-kw' || mech === 'aes-kwp') {
    const kek = findOne(ctx, { ...unwrappingRef, kind: 'secret' });
    const m = mech === 'aes-kw' ? kwMechanism(ctx) : kwpMechanism(ctx, 'unwrap');
    return describe(ctx, p11('C_UnwrapKey', () => ctx.m.p11.C_UnwrapKey(ctx.session, { mechanism: m }, kek, buf(wrapped), tmpl)));
  }
  const rsaPriv = findOne(ctx, { ...unwrappingRef, kind: 'private' });
  if (mech === 'rsa-oaep-sha1' || mech === 'rsa-oaep-sha256') {
    return describe(ctx, oaepCall(mech, 'C_UnwrapKey', () => ctx.m.p11.C_UnwrapKey(ctx.session, oaepParams(mech), rsaPriv, buf(wrapped), tmpl)));
  }
  const oaep = oaepParams(mech === 'rsa-aes-kwp-sha1' ? 'rsa-oaep-sha1' : 'rsa-oaep-sha256');
  // The private key has no CKA_MODULUS_BITS on every token; its CKA_MODULUS length is the size.
  const modulusBytes = readAttrs(ctx, rsaPriv, [CKA.MODULUS]).get(CKA.MODULUS)?.length ?? 0;
  if (!modulusBytes || wrapped.length <= modulusBytes + 8) {
    return fail({ code: 'WRAPPED_KEY_INVALID', message: 'The wrapped key is too short for RSA-OAEP + AES-KWP under this RSA key.', action: 'Check that the file is complete and that you chose the right unwrapping key.' });
  }
  let eph: Handle | null = null;
  try {
    const ephTmpl = ephemeralAesTemplate();
    eph = oaepCall(mech, 'C_UnwrapKey', () => ctx.m.p11.C_UnwrapKey(ctx.session, oaep, rsaPriv, buf(wrapped.subarray(0, modulusBytes)), ephTmpl));
    const kwp = kwpMechanism(ctx, 'unwrap');
    return describe(ctx, p11('C_UnwrapKey', () => ctx.m.p11.C_UnwrapKey(ctx.session, { mechanism: kwp }, eph!, buf(wrapped.subarray(modulusBytes)), tmpl)));
  } finally {
    destroyQuietly(ctx, eph);
  }
}
