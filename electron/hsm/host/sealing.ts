// Sealed shares, inside the HSM host process. A SLIP-39 share sealed to a custodian's token
// (custos.sealedshare v1, docs/FORMAT.md) is opened here, inside that token: the 256-bit content key
// is recovered into a session AES key by C_UnwrapKey with RSA-OAEP (RFC 8017 §7.1) or by
// C_DeriveKey with ECDH (NIST SP 800-56A Rev. 3 §5.7.1.2, ephemeral-static), and the share is
// decrypted with AES-GCM (NIST SP 800-38D) by C_Decrypt. Only the share bytes come back; the content
// key never leaves the token and is destroyed in `finally`.
import { createHash, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import type { AppError } from '../../../shared/result';
import type { ObjectRef, RawObject, SealedPayload, SealingProbe } from '../protocol';
import { CKA, CKK, CKM, CURVE_OIDS } from '../protocol/constants';
import { gcmParams } from './cipher';
import { fail, p11, p11Failure } from './failure';
import { oaepMechanism, oaepUnsupported } from './oaep';
import { describe, findOne } from './objects';
import { listedMechanisms } from './probe';
import type { TokenContext } from './session';
import {
  buf,
  createSecret,
  destroyQuietly,
  privateKeyTemplate,
  publicKeyTemplate,
  secretFlags,
  secretKeyTemplate,
  type Handle,
  type Placement,
  type Protection,
  type Template,
} from './templates';

/** What the content key of one sealed share may be: sensitive, non-extractable, decrypt only. */
const CONTENT_KEY: Protection = { privateObject: true, sensitive: true, extractable: false };
const CONTENT_KEY_USAGE = secretFlags({ decrypt: true });

/** A session AES-256 key that can only decrypt: the content key of one sealed share. */
function contentKeyTemplate(withLength: boolean): Template {
  // C_DeriveKey needs the length; SoftHSM refuses CKA_VALUE_LEN in an unwrap template.
  return secretKeyTemplate(CKK.AES, { onToken: false }, CONTENT_KEY, CONTENT_KEY_USAGE, withLength ? 32 : undefined);
}

const OPENING_FAILED = 'The sealed share could not be opened with this key: the envelope was altered, or it was sealed to another key.';
const OPENING_ACTION = 'Check that this is the card named in the envelope and that the file is the one written at the ceremony. Do not use an envelope that fails this check.';

function decryptionFailed(f: AppError): never {
  return fail({ code: 'DECRYPTION_FAILED', message: OPENING_FAILED, action: OPENING_ACTION, details: f.details ?? {} });
}

/** Token answers that mean "wrong key or altered data" for these calls (SoftHSM: CKR_GENERAL_ERROR). */
const looksLikeBadData = (f: AppError) =>
  f.code === 'DEVICE_ERROR' || f.code === 'DATA_INVALID' || f.code === 'DATA_TOO_LARGE' || f.code === 'DECRYPTION_FAILED' || f.code === 'WRAPPED_KEY_INVALID';

function checkPayload(p: SealedPayload): void {
  const bad = (what: string) =>
    fail({ code: 'DECRYPTION_FAILED', message: `The sealed share is malformed (${what}).`, action: 'Use the envelope file exactly as it was written at the ceremony.' });
  if (!(p.iv instanceof Uint8Array) || p.iv.length !== 12) bad('the IV is not 12 bytes');
  if (!(p.ciphertext instanceof Uint8Array) || p.ciphertext.length < 17) bad('the ciphertext is too short');
  if (!(p.aad instanceof Uint8Array)) bad('no header data');
  if (p.alg.startsWith('RSA-') && !(p.encryptedKey instanceof Uint8Array)) bad('no encrypted key');
  if (p.alg.startsWith('ECDH-') && (!(p.ephemeralPoint instanceof Uint8Array) || p.ephemeralPoint.length !== 65 || p.ephemeralPoint[0] !== 4)) {
    bad('the ephemeral public key is not an uncompressed P-256 point');
  }
}

/** RSA: the content key arrives by OAEP unwrap (key with CKA_UNWRAP) or, for an encrypt-only key, OAEP decrypt. */
function rsaContentKey(ctx: TokenContext, priv: Handle, info: RawObject, p: SealedPayload): Handle {
  if (info.keyType !== 'rsa') {
    return fail({ code: 'KEY_TYPE_MISMATCH', message: `The share was sealed to an RSA key, but this is ${info.keyType ?? 'an unknown'} key.`, action: 'Use the card and key named in the envelope.' });
  }
  const hash = p.alg === 'RSA-OAEP-SHA256+A256GCM' ? 'sha256' : 'sha1';
  const mechanism = oaepMechanism(hash);
  const onFailure = (e: unknown, fn: string): never => {
    const f = p11Failure(e, fn);
    if (hash === 'sha256' && oaepUnsupported(f)) {
      return fail({
        code: 'MECHANISM_UNSUPPORTED',
        message: 'This token does RSA-OAEP only with SHA-1, and the share was sealed with RSA-OAEP-SHA256.',
        action: 'Seal the share again for this card with --oaep-hash sha1 (the default), which every token supports.',
        details: f.details ?? {},
      });
    }
    if (looksLikeBadData(f)) return decryptionFailed(f);
    return fail(f);
  };
  if (info.usage.unwrap) {
    try {
      return ctx.m.p11.C_UnwrapKey(ctx.session, mechanism, priv, buf(p.encryptedKey!), contentKeyTemplate(false));
    } catch (e) {
      return onFailure(e, 'C_UnwrapKey');
    }
  }
  if (!info.usage.decrypt) {
    return fail({ code: 'KEY_USAGE_NOT_PERMITTED', message: 'The custodian key may neither unwrap nor decrypt, so it cannot open a sealed share.', action: 'Seal shares to a key generated with usage wrap or encrypt.' });
  }
  // Encrypt-only key: OAEP-decrypt the content key (PKCS#11 allows C_UnwrapKey only with CKA_UNWRAP)
  // and put it straight back into the token as a decrypt-only session key; zeroised at once.
  let k: Buffer | null = null;
  const scratch = Buffer.alloc(512);
  try {
    try {
      ctx.m.p11.C_DecryptInit(ctx.session, mechanism, priv);
      k = Buffer.from(ctx.m.p11.C_Decrypt(ctx.session, buf(p.encryptedKey!), scratch));
    } catch (e) {
      return onFailure(e, 'C_Decrypt');
    }
    if (k.length !== 32) return fail({ code: 'DECRYPTION_FAILED', message: OPENING_FAILED, action: OPENING_ACTION, details: { contentKeyBytes: k.length } });
    // The same object contentKeyTemplate(false) describes, with its value.
    return createSecret(ctx, k, CKK.AES, CONTENT_KEY, CONTENT_KEY_USAGE);
  } finally {
    k?.fill(0);
    scratch.fill(0);
  }
}

/**
 * ECDH (SP 800-56A Rev. 3 §5.7.1.2, ephemeral-static: the sender's key is one-time, the card's is
 * static) into a session AES-256 key. With kdf "none" (CKD_NULL) the key is the 32-byte shared secret
 * Z itself: SoftHSM 2.6 implements no other KDF in CKM_ECDH1_DERIVE. With "x963-sha256"
 * (CKD_SHA256_KDF) it is the ANSI X9.63 KDF of Z (SEC 1 v2 §3.6.1; allowed for ECDH by SP 800-135
 * Rev. 1 §4.1).
 */
function ecdhContentKey(ctx: TokenContext, priv: Handle, info: RawObject, p: SealedPayload): Handle {
  if (info.keyType !== 'ec' || info.curve !== 'P-256') {
    return fail({
      code: 'KEY_TYPE_MISMATCH',
      message: `The share was sealed to an EC P-256 key, but this is ${info.keyType === 'ec' ? `an EC ${info.curve ?? ''} key` : `${info.keyType ?? 'an unknown'} key`}.`,
      action: 'Use the card and key named in the envelope.',
    });
  }
  if (!info.usage.derive) {
    return fail({ code: 'KEY_USAGE_NOT_PERMITTED', message: 'The custodian EC key was created without the derive usage, so it cannot do ECDH.', action: 'Seal shares to an EC key generated with usage derive.' });
  }
  const x963 = p.kdf === 'x963-sha256';
  const parameter: pkcs11js.ECDH1 = {
    type: pkcs11js.CK_PARAMS_EC_DH,
    kdf: x963 ? pkcs11js.CKD_SHA256_KDF : pkcs11js.CKD_NULL,
    // PKCS#11 v2.40 §2.3.16: the other party's public value, the raw X9.62 point (SoftHSM also
    // accepts it DER-wrapped; smartcard modules expect it raw).
    publicData: buf(p.ephemeralPoint!),
  };
  if (x963) parameter.sharedData = buf(p.sharedInfo ?? new Uint8Array(0));
  try {
    return ctx.m.p11.C_DeriveKey(ctx.session, { mechanism: CKM.ECDH1_DERIVE, parameter }, priv, contentKeyTemplate(true));
  } catch (e) {
    const f = p11Failure(e, 'C_DeriveKey');
    if (f.code === 'MECHANISM_UNSUPPORTED') {
      return fail({
        code: 'MECHANISM_UNSUPPORTED',
        message: x963
          ? "This token's ECDH cannot apply the ANSI X9.63 SHA-256 KDF the share was sealed with (SoftHSM, for one, offers only the raw shared secret)."
          : 'This token cannot do ECDH key agreement with its key.',
        action: x963 ? 'Seal the share again for this card with --kdf none.' : 'Use a card whose EC key supports ECDH (CKM_ECDH1_DERIVE).',
        details: f.details ?? {},
      });
    }
    if (looksLikeBadData(f)) return decryptionFailed(f);
    return fail(f);
  }
}

function gcmDecrypt(ctx: TokenContext, key: Handle, p: SealedPayload): Buffer {
  const mechanism = gcmParams(buf(p.iv), p.aad);
  p11('C_DecryptInit', () => ctx.m.p11.C_DecryptInit(ctx.session, mechanism, key));
  const scratch = Buffer.alloc(p.ciphertext.length);
  try {
    return Buffer.from(ctx.m.p11.C_Decrypt(ctx.session, buf(p.ciphertext), scratch));
  } catch (e) {
    // SoftHSM reports a GCM tag mismatch as CKR_GENERAL_ERROR (DESIGN.md).
    const f = p11Failure(e, 'C_Decrypt');
    if (looksLikeBadData(f)) return decryptionFailed(f);
    return fail(f);
  } finally {
    scratch.fill(0);
  }
}

export function unsealShare(ctx: TokenContext, ref: ObjectRef, payload: SealedPayload): { plaintext: Uint8Array } {
  checkPayload(payload);
  const priv = findOne(ctx, { ...ref, kind: 'private' });
  const info = describe(ctx, priv);
  let key: Handle | null = null;
  try {
    key = payload.alg.startsWith('RSA-') ? rsaContentKey(ctx, priv, info, payload) : ecdhContentKey(ctx, priv, info, payload);
    const plaintext = gcmDecrypt(ctx, key, payload);
    // main.ts serialises the reply synchronously once this returns; wipe this copy afterwards.
    setImmediate(() => plaintext.fill(0));
    return { plaintext };
  } finally {
    destroyQuietly(ctx, key);
  }
}

/**
 * Whether CKM_ECDH1_DERIVE gives the right answer with CKD_NULL and with CKD_SHA256_KDF on this token,
 * checked against Node's own ECDH and X9.63 computation (mechanisms are not trusted by name). Uses a
 * public session key pair on the token and a throw-away key in Node; everything is destroyed.
 */
export function probeSealing(ctx: TokenContext): SealingProbe {
  const cacheKey = `sealing:${ctx.key}`;
  const cached = ctx.m.probes.get(cacheKey) as SealingProbe | undefined;
  if (cached) return cached;
  const notes: string[] = [];
  const result: SealingProbe = { ecdh: false, ecdhX963Sha256: false, notes };
  if (!listedMechanisms(ctx).has(CKM.ECDH1_DERIVE) || !listedMechanisms(ctx).has(CKM.EC_KEY_PAIR_GEN)) {
    notes.push('CKM_ECDH1_DERIVE or CKM_EC_KEY_PAIR_GEN is not listed');
    ctx.m.probes.set(cacheKey, result);
    return result;
  }
  let pair: { publicKey: Handle; privateKey: Handle } | null = null;
  const derived: Handle[] = [];
  try {
    // Public session objects, so that the probe needs no login; they can only derive.
    const transient: Placement = { onToken: false };
    pair = ctx.m.p11.C_GenerateKeyPair(
      ctx.session,
      { mechanism: CKM.EC_KEY_PAIR_GEN },
      publicKeyTemplate(CKK.EC, transient, ['derive'], [{ type: CKA.EC_PARAMS, value: Buffer.from(CURVE_OIDS['P-256']!, 'hex') }]),
      privateKeyTemplate(CKK.EC, transient, { privateObject: false, sensitive: true, extractable: false }, ['derive']),
    );
    const [pt] = ctx.m.p11.C_GetAttributeValue(ctx.session, pair.publicKey, [{ type: CKA.EC_POINT }]);
    const der = pt!.value;
    const tokenPoint = der.length === 67 && der[0] === 0x04 && der[1] === 65 ? der.subarray(2) : der;
    const jwk = { kty: 'EC', crv: 'P-256', x: tokenPoint.subarray(1, 33).toString('base64url'), y: tokenPoint.subarray(33, 65).toString('base64url') };
    const node = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const z = diffieHellman({ privateKey: node.privateKey, publicKey: createPublicKey({ key: jwk, format: 'jwk' }) });
    const nj = node.publicKey.export({ format: 'jwk' });
    const nodePoint = Buffer.concat([Buffer.from([4]), Buffer.from(nj.x!, 'base64url'), Buffer.from(nj.y!, 'base64url')]);
    const info = Buffer.from('custos.sealing-probe');
    // The derived value is read back to compare: readable, and good for nothing else.
    const readable = secretKeyTemplate(CKK.GENERIC_SECRET, transient, { privateObject: false, sensitive: false, extractable: true }, secretFlags({}), 32);
    const attempt = (kdf: number, expected: Buffer, name: string): boolean => {
      try {
        const parameter: pkcs11js.ECDH1 = { type: pkcs11js.CK_PARAMS_EC_DH, kdf, publicData: nodePoint };
        if (kdf !== pkcs11js.CKD_NULL) parameter.sharedData = info;
        const h = ctx.m.p11.C_DeriveKey(ctx.session, { mechanism: CKM.ECDH1_DERIVE, parameter }, pair!.privateKey, readable);
        derived.push(h);
        const [v] = ctx.m.p11.C_GetAttributeValue(ctx.session, h, [{ type: CKA.VALUE }]);
        const ok = !!v && v.value.equals(expected);
        if (!ok) notes.push(`${name} derives a value that differs from SP 800-56A / X9.63 as computed independently; not used`);
        v?.value.fill(0);
        return ok;
      } catch (e) {
        notes.push(`${name}: ${String(p11Failure(e, 'C_DeriveKey').details?.ckr ?? 'failed')}`);
        return false;
      }
    };
    const x963 = createHash('sha256').update(z).update(Buffer.from([0, 0, 0, 1])).update(info).digest();
    result.ecdh = attempt(pkcs11js.CKD_NULL, z, 'ECDH with CKD_NULL');
    result.ecdhX963Sha256 = attempt(pkcs11js.CKD_SHA256_KDF, x963, 'ECDH with CKD_SHA256_KDF');
    z.fill(0);
    x963.fill(0);
  } catch (e) {
    notes.push(`the probe could not run: ${String(p11Failure(e, 'C_GenerateKeyPair').details?.ckr ?? 'failed')}`);
  } finally {
    for (const h of derived) destroyQuietly(ctx, h);
    destroyQuietly(ctx, pair?.privateKey);
    destroyQuietly(ctx, pair?.publicKey);
  }
  // Cache only a probe that ran: one that could not (no login yet, a card that makes no session
  // keys) is asked again next time rather than remembered as "no".
  if (pair) ctx.m.probes.set(cacheKey, result);
  return result;
}
