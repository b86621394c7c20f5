// RSA-OAEP (RFC 8017 §7.1) as the host uses it for encryption, key wrap and sealed shares.
import * as pkcs11js from 'pkcs11js';
import { CKG_MGF1, CKM, CKZ_DATA_SPECIFIED } from '../protocol/constants';
import { fail, p11Failure } from './failure';

/** RSA-OAEP with SHA-1 or SHA-256 (RFC 8017 §7.1: MGF1 with the same hash, empty label). */
export function oaepMechanism(hash: 'sha1' | 'sha256'): pkcs11js.Mechanism {
  const sha1 = hash === 'sha1';
  return {
    mechanism: CKM.RSA_PKCS_OAEP,
    parameter: { type: pkcs11js.CK_PARAMS_RSA_OAEP, hashAlg: sha1 ? CKM.SHA_1 : CKM.SHA256, mgf: sha1 ? CKG_MGF1.SHA1 : CKG_MGF1.SHA256, source: CKZ_DATA_SPECIFIED } as pkcs11js.RsaOAEP,
  };
}

/** The mechanism for the contract's OAEP names. */
export const oaepParams = (mech: 'rsa-oaep-sha1' | 'rsa-oaep-sha256'): pkcs11js.Mechanism => oaepMechanism(mech === 'rsa-oaep-sha1' ? 'sha1' : 'sha256');

/** An OAEP call whose "bad arguments" answer is translated: the token lacks that OAEP hash. */
export function oaepCall<T>(mech: string, fn: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    const f = p11Failure(e, fn);
    if (mech.includes('sha256') && oaepUnsupported(f)) {
      return fail({
        code: 'MECHANISM_UNSUPPORTED',
        message: 'This token does RSA-OAEP only with SHA-1, not SHA-256.',
        action: 'Choose the SHA-1 variant (still safe for OAEP), or use a token that supports OAEP with SHA-256.',
        details: f.details ?? {},
      });
    }
    return fail(f);
  }
}

/** SoftHSM (among others) does RSA-OAEP only with SHA-1 and answers other hashes with CKR_ARGUMENTS_BAD. */
export function oaepUnsupported(f: { code: string; details?: Record<string, unknown> }): boolean {
  return f.code === 'MECHANISM_UNSUPPORTED' || f.details?.ckr === 'CKR_ARGUMENTS_BAD';
}
