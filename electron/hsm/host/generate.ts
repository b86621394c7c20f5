// New key material inside the HSM host process: generated keys, imported public keys, and the
// check values of secret keys. Templates set every usage attribute explicitly (SoftHSM, among
// others, defaults unset CKA_SIGN/CKA_WRAP/... to true), keys are sensitive and non-extractable
// unless asked, and temporary objects are session objects destroyed in `finally`.
import type { GenerateSpec, KeyUsage, ObjectRef, PublicKeyAttrs, RawObject } from '../protocol';
import { CKA, CKK, CKM, CURVE_OIDS } from '../protocol/constants';
import { p11 } from './failure';
import { describe, findOne } from './objects';
import type { TokenContext } from './session';
import {
  allowedUsages,
  buf,
  checkUsages,
  destroyQuietly,
  privateKeyTemplate,
  publicKeyTemplate,
  secretKeyTemplate,
  usageAttrs,
  type Handle,
  type Placement,
  type Protection,
  type Template,
} from './templates';

export function generate(ctx: TokenContext, spec: GenerateSpec): RawObject[] {
  const { m, session } = ctx;
  checkUsages(spec.type, spec.usages, allowedUsages(spec.type));
  const where: Placement = { onToken: true, label: spec.label, idHex: spec.idHex };
  const protection: Protection = { privateObject: true, sensitive: true, extractable: spec.extractable, wrapWithTrusted: spec.wrapWithTrusted === true };
  const secret = (mechanism: number, keyType: number, valueLen?: number) => {
    const template = secretKeyTemplate(keyType, where, protection, usageAttrs(spec.usages, 'secret'), valueLen);
    return [describe(ctx, p11('C_GenerateKey', () => m.p11.C_GenerateKey(session, { mechanism }, template)))];
  };
  const aes = /^aes-(\d+)$/.exec(spec.type);
  if (aes) return secret(CKM.AES_KEY_GEN, CKK.AES, Number(aes[1]) / 8);
  if (spec.type === 'hmac-256') return secret(CKM.GENERIC_SECRET_KEY_GEN, CKK.GENERIC_SECRET, 32);
  if (spec.type === 'tdes') return secret(CKM.DES3_KEY_GEN, CKK.DES3);
  const pair = (mechanism: number, keyType: number, publicParams: Template) => {
    const publicKey = publicKeyTemplate(keyType, where, spec.usages, publicParams);
    const privateKey = privateKeyTemplate(keyType, where, protection, spec.usages);
    const h = p11('C_GenerateKeyPair', () => m.p11.C_GenerateKeyPair(session, { mechanism }, publicKey, privateKey));
    return [describe(ctx, h.privateKey), describe(ctx, h.publicKey)];
  };
  const rsa = /^rsa-(\d+)$/.exec(spec.type);
  if (rsa) {
    return pair(CKM.RSA_PKCS_KEY_PAIR_GEN, CKK.RSA, [
      { type: CKA.MODULUS_BITS, value: Number(rsa[1]) },
      { type: CKA.PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
    ]);
  }
  if (spec.type === 'ed25519') {
    return pair(CKM.EC_EDWARDS_KEY_PAIR_GEN, CKK.EC_EDWARDS, [{ type: CKA.EC_PARAMS, value: Buffer.from(CURVE_OIDS.Ed25519!, 'hex') }]);
  }
  const curve = spec.type === 'ec-p256' ? 'P-256' : 'P-384';
  return pair(CKM.EC_KEY_PAIR_GEN, CKK.EC, [{ type: CKA.EC_PARAMS, value: Buffer.from(CURVE_OIDS[curve]!, 'hex') }]);
}

export function importPublic(ctx: TokenContext, label: string, idHex: string, attrs: PublicKeyAttrs, usages: KeyUsage[], onToken: boolean): RawObject {
  const where: Placement = { onToken, label, idHex };
  const tmpl =
    attrs.keyType === 'rsa'
      ? publicKeyTemplate(CKK.RSA, where, usages, [
          { type: CKA.MODULUS, value: buf(attrs.modulus!) },
          { type: CKA.PUBLIC_EXPONENT, value: buf(attrs.publicExponent!) },
        ])
      : publicKeyTemplate(attrs.keyType === 'ec' ? CKK.EC : CKK.EC_EDWARDS, where, usages, [
          { type: CKA.EC_PARAMS, value: buf(attrs.ecParams!) },
          { type: CKA.EC_POINT, value: buf(attrs.ecPoint!) },
        ]);
  const h = p11('C_CreateObject', () => ctx.m.p11.C_CreateObject(ctx.session, tmpl));
  return describe(ctx, h);
}

// ---------------------------------------------------------------------------------------------
// Check values

/**
 * AES: CMAC of one zero block, 5 bytes (ANSI X9.24-1:2017 / PCI PIN 15-1) and the legacy
 * ECB-of-zeros value, 3 bytes. TDES: ECB of zeros, 3 bytes, and TDES-CMAC. Computed inside the
 * HSM. A key whose own usages forbid the computation is copied to a session object that may
 * (C_CopyObject), measured, and the copy destroyed: the key value never leaves the token.
 */
export function checkValue(ctx: TokenContext, ref: ObjectRef): { cmacHex: string | null; ecbHex: string | null; note?: string } {
  const h = findOne(ctx, { ...ref, kind: 'secret' });
  const info = describe(ctx, h);
  if (info.keyType !== 'aes' && info.keyType !== 'tdes') {
    return { cmacHex: null, ecbHex: null, note: 'No check value convention exists for this key type; compare key fingerprints or MACs of agreed data instead.' };
  }
  const block = Buffer.alloc(info.keyType === 'aes' ? 16 : 8);
  const cmacMech = info.keyType === 'aes' ? CKM.AES_CMAC : CKM.DES3_CMAC;
  const ecbMech = info.keyType === 'aes' ? CKM.AES_ECB : CKM.DES3_ECB;
  const compute = (key: Handle) => {
    let cmacHex: string | null = null;
    let ecbHex: string | null = null;
    try {
      ctx.m.p11.C_SignInit(ctx.session, { mechanism: cmacMech }, key);
      cmacHex = ctx.m.p11.C_Sign(ctx.session, block, Buffer.alloc(16)).subarray(0, 5).toString('hex');
    } catch {
      /* not permitted or not supported: try via a copy below */
    }
    try {
      ctx.m.p11.C_EncryptInit(ctx.session, { mechanism: ecbMech }, key);
      ecbHex = ctx.m.p11.C_Encrypt(ctx.session, block, Buffer.alloc(block.length)).subarray(0, 3).toString('hex');
    } catch {
      ecbHex = info.checkValueHex ? info.checkValueHex.slice(0, 6) : null;
    }
    return { cmacHex, ecbHex };
  };
  let result = compute(h);
  if (result.cmacHex === null) {
    let copy: Handle | null = null;
    try {
      copy = ctx.m.p11.C_CopyObject(ctx.session, h, [
        { type: CKA.TOKEN, value: false },
        { type: CKA.SIGN, value: true },
        { type: CKA.ENCRYPT, value: true },
      ]);
      result = { ...compute(copy), ...(result.ecbHex ? { ecbHex: result.ecbHex } : {}) };
    } catch {
      return { ...result, note: 'The token does not allow computing a CMAC check value for this key (its usages forbid it and it cannot be copied).' };
    } finally {
      destroyQuietly(ctx, copy);
    }
  }
  return result;
}
