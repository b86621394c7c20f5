// Signatures and MACs inside the HSM host process: sign (a batch) and verify. Hashing that a token
// cannot do itself (SoftHSM has no CKM_ECDSA_SHA256) happens here, before the token signs the digest.
import { createHash } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import type { ObjectRef, SignMechanism } from '../protocol';
import { CKG_MGF1, CKM } from '../protocol/constants';
import { nativeBatch, packItems, splitOutput } from './batch';
import { fail, p11, p11Failure } from './failure';
import { keyMisfit } from './misfit';
import { findOne } from './objects';
import { listedMechanisms } from './probe';
import type { TokenContext } from './session';
import { buf } from './templates';
import { WorkingCopies } from './working-copies';

// RFC 8017 §9.2 note 1: DER DigestInfo prefixes for EMSA-PKCS1-v1_5 over a host-side hash.
const DIGEST_INFO: Record<string, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
};

interface PreparedSign {
  mechanism: pkcs11js.Mechanism;
  /** Applied to each input before the token signs it (host-side hashing). */
  prepare(data: Buffer): Buffer;
  outLen: number;
}

function signMechanism(ctx: TokenContext, mech: SignMechanism): PreparedSign {
  const hash = (alg: string) => (d: Buffer) => createHash(alg).update(d).digest();
  const same = (d: Buffer) => d;
  switch (mech) {
    case 'ecdsa-sha256':
    case 'ecdsa-sha384':
      // SoftHSM has no CKM_ECDSA_SHA256: hash here, sign the digest with CKM_ECDSA (raw r‖s).
      return { mechanism: { mechanism: CKM.ECDSA }, prepare: hash(mech === 'ecdsa-sha256' ? 'sha256' : 'sha384'), outLen: 132 };
    case 'rsa-pkcs1-sha256':
    case 'rsa-pkcs1-sha384': {
      const alg = mech.endsWith('256') ? 'sha256' : 'sha384';
      const native = alg === 'sha256' ? CKM.SHA256_RSA_PKCS : CKM.SHA384_RSA_PKCS;
      if (listedMechanisms(ctx).has(native)) return { mechanism: { mechanism: native }, prepare: same, outLen: 512 };
      return { mechanism: { mechanism: CKM.RSA_PKCS }, prepare: (d) => Buffer.concat([Buffer.from(DIGEST_INFO[alg]!, 'hex'), hash(alg)(d)]), outLen: 512 };
    }
    case 'rsa-pss-sha256':
    case 'rsa-pss-sha384': {
      const is256 = mech.endsWith('256');
      const parameter = {
        type: pkcs11js.CK_PARAMS_RSA_PSS,
        hashAlg: is256 ? CKM.SHA256 : CKM.SHA384,
        mgf: is256 ? CKG_MGF1.SHA256 : CKG_MGF1.SHA384,
        saltLen: is256 ? 32 : 48,
      } as pkcs11js.RsaPSS;
      const native = is256 ? CKM.SHA256_RSA_PKCS_PSS : CKM.SHA384_RSA_PKCS_PSS;
      if (listedMechanisms(ctx).has(native)) return { mechanism: { mechanism: native, parameter }, prepare: same, outLen: 512 };
      return { mechanism: { mechanism: CKM.RSA_PKCS_PSS, parameter }, prepare: hash(is256 ? 'sha256' : 'sha384'), outLen: 512 };
    }
    case 'ed25519':
      return { mechanism: { mechanism: CKM.EDDSA }, prepare: same, outLen: 64 };
    case 'hmac-sha256':
      return { mechanism: { mechanism: CKM.SHA256_HMAC }, prepare: same, outLen: 32 };
    case 'hmac-sha384':
      return { mechanism: { mechanism: CKM.SHA384_HMAC }, prepare: same, outLen: 48 };
    case 'hmac-sha512':
      return { mechanism: { mechanism: CKM.SHA512_HMAC }, prepare: same, outLen: 64 };
    case 'aes-cmac':
      return { mechanism: { mechanism: CKM.AES_CMAC }, prepare: same, outLen: 16 };
  }
}

const SIGN_KIND: Record<SignMechanism, 'private' | 'secret'> = {
  'ecdsa-sha256': 'private',
  'ecdsa-sha384': 'private',
  'rsa-pkcs1-sha256': 'private',
  'rsa-pkcs1-sha384': 'private',
  'rsa-pss-sha256': 'private',
  'rsa-pss-sha384': 'private',
  ed25519: 'private',
  'hmac-sha256': 'secret',
  'hmac-sha384': 'secret',
  'hmac-sha512': 'secret',
  'aes-cmac': 'secret',
};

export function sign(ctx: TokenContext, ref: ObjectRef, mech: SignMechanism, data: Uint8Array[]): Uint8Array[] {
  const key = findOne(ctx, { ...ref, kind: SIGN_KIND[mech] });
  const prepared = signMechanism(ctx, mech);
  const out: Uint8Array[] = [];
  const scratch = Buffer.alloc(prepared.outLen);
  const copies = new WorkingCopies(ctx);
  let fn = 'C_CopyObject';
  try {
    const use = copies.of(key, data.length);
    const native = prepared.mechanism.parameter === undefined ? nativeBatch(ctx.m, data.length) : null;
    if (native) {
      fn = 'C_Sign';
      const { bytes, ends } = packItems(data.map((d) => prepared.prepare(buf(d))));
      const output = Buffer.alloc(prepared.outLen * data.length);
      return splitOutput(output, native.addon.sign(native.list, ctx.session, use, prepared.mechanism.mechanism, bytes, ends, output));
    }
    for (const d of data) {
      fn = 'C_SignInit';
      ctx.m.p11.C_SignInit(ctx.session, prepared.mechanism, use);
      fn = 'C_Sign';
      out.push(Buffer.from(ctx.m.p11.C_Sign(ctx.session, prepared.prepare(buf(d)), scratch)));
    }
  } catch (e) {
    return fail(keyMisfit(ctx, key, mech, 'sign', p11Failure(e, fn)));
  } finally {
    copies.release();
  }
  return out;
}

export function verify(ctx: TokenContext, ref: ObjectRef, mech: SignMechanism, data: Uint8Array, signature: Uint8Array): { valid: boolean } {
  const kind = SIGN_KIND[mech] === 'private' ? 'public' : 'secret';
  const key = findOne(ctx, { ...ref, kind });
  const prepared = signMechanism(ctx, mech);
  try {
    p11('C_VerifyInit', () => ctx.m.p11.C_VerifyInit(ctx.session, prepared.mechanism, key));
  } catch (e) {
    return fail(keyMisfit(ctx, key, mech, 'verify', p11Failure(e, 'C_VerifyInit')));
  }
  try {
    return { valid: ctx.m.p11.C_Verify(ctx.session, prepared.prepare(buf(data)), buf(signature)) };
  } catch (e) {
    // SoftHSM throws CKR_SIGNATURE_INVALID rather than returning false: both mean "not valid".
    const f = p11Failure(e, 'C_Verify');
    if (f.code === 'SIGNATURE_INVALID') return { valid: false };
    return fail(keyMisfit(ctx, key, mech, 'verify', f));
  }
}
