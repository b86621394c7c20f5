// Import of a secret key through an ephemeral RSA transport key, inside the HSM host process.
// A key rebuilt from XOR components in the main process enters the token wrapped, not as
// plaintext C_CreateObject: step 1 makes an ephemeral RSA-2048 session key pair and returns its
// public half; main encrypts the key with RSA-OAEP-SHA1 (RFC 8017 §7.1.1) in Node; step 2
// C_UnwrapKey's it into a sensitive key and destroys the pair. C_CreateObject with the value is only
// the documented fallback for tokens without RSA-OAEP unwrap (see importSecretPlain).
import { randomBytes } from 'node:crypto';
import type { ImportTransport, KeyUsage, RawObject, UnwrapTemplate } from '../protocol';
import { CKA, CKF_MECH, CKK, CKM } from '../protocol/constants';
import { fail, p11 } from './failure';
import { oaepMechanism } from './oaep';
import { describe, findHandles, findOne } from './objects';
import { listedMechanisms } from './probe';
import type { TokenContext } from './session';
import { allowedUsages, buf, checkUsages, destroyQuietly, keyTemplate, privateKeyTemplate, publicKeyTemplate, type Placement, type Template } from './templates';

function mechanismFlags(ctx: TokenContext, mech: number): number {
  if (!listedMechanisms(ctx).has(mech)) return 0;
  try {
    return ctx.m.p11.C_GetMechanismInfo(ctx.slot, mech).flags;
  } catch {
    return 0;
  }
}

/** By the PKCS#11 key type an import creates: the usages of the generated type it matches. */
const IMPORT_USAGES: Record<string, readonly KeyUsage[]> = { aes: allowedUsages('aes-256'), tdes: allowedUsages('tdes'), 'generic-secret': allowedUsages('hmac-256') };

/** The new key's template: sensitive always, extractable (under wrap) only if asked, usages explicit. */
function importTemplate(t: UnwrapTemplate): Template {
  const allowed = IMPORT_USAGES[t.keyType];
  if (t.kind !== 'secret' || !allowed) {
    return fail({ code: 'TEMPLATE_INVALID', message: 'Only AES, TDES and generic secret keys can be imported this way.', action: 'This is a bug in Custos; report it.' });
  }
  checkUsages(t.keyType, t.usages, allowed);
  // CKA_DERIVE is false: 'derive' is in no IMPORT_USAGES list, so it was refused above.
  return keyTemplate(t);
}

const TRANSPORT_LABEL = 'custos import transport (ephemeral)';

function destroyTransport(ctx: TokenContext, transportId: string): number {
  if (!/^[0-9a-f]{32}$/.test(transportId)) return 0;
  let n = 0;
  for (const h of findHandles(ctx, { idHex: transportId })) {
    destroyQuietly(ctx, h);
    n++;
  }
  return n;
}

export function importSecretBegin(ctx: TokenContext): ImportTransport {
  const oaep = mechanismFlags(ctx, CKM.RSA_PKCS_OAEP);
  if (!listedMechanisms(ctx).has(CKM.RSA_PKCS_KEY_PAIR_GEN) || (oaep & CKF_MECH.UNWRAP) === 0) {
    return fail({
      code: 'MECHANISM_UNSUPPORTED',
      message: 'This token cannot receive a key wrapped with RSA-OAEP (it lacks RSA key generation or RSA-OAEP unwrap).',
      action: 'Use a token that supports RSA-OAEP unwrap, or allow the plaintext import fallback explicitly (--allow-plaintext-import).',
      details: { fallback: 'plaintext' },
    });
  }
  const transportId = randomBytes(16).toString('hex');
  const transport: Placement = { onToken: false, label: TRANSPORT_LABEL, idHex: transportId };
  const pair = p11('C_GenerateKeyPair', () =>
    ctx.m.p11.C_GenerateKeyPair(
      ctx.session,
      { mechanism: CKM.RSA_PKCS_KEY_PAIR_GEN },
      publicKeyTemplate(CKK.RSA, transport, ['wrap'], [
        { type: CKA.MODULUS_BITS, value: 2048 },
        { type: CKA.PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ]),
      privateKeyTemplate(CKK.RSA, transport, { privateObject: true, sensitive: true, extractable: false }, ['wrap']),
    ),
  );
  try {
    const [n, e] = p11('C_GetAttributeValue', () =>
      ctx.m.p11.C_GetAttributeValue(ctx.session, pair.publicKey, [{ type: CKA.MODULUS }, { type: CKA.PUBLIC_EXPONENT }]),
    );
    // Main encrypts with these numbers in Node; the token's public half is not needed any more.
    destroyQuietly(ctx, pair.publicKey);
    return { transportId, modulus: Buffer.from(n!.value), publicExponent: Buffer.from(e!.value) };
  } catch (err) {
    destroyQuietly(ctx, pair.publicKey);
    destroyQuietly(ctx, pair.privateKey);
    throw err;
  }
}

export function importSecretWrapped(ctx: TokenContext, transportId: string, wrapped: Uint8Array, template: UnwrapTemplate): RawObject {
  try {
    const tmpl = importTemplate(template);
    const priv = findOne(ctx, { idHex: transportId, kind: 'private' });
    const h = p11('C_UnwrapKey', () => ctx.m.p11.C_UnwrapKey(ctx.session, oaepMechanism('sha1'), priv, buf(wrapped), tmpl));
    try {
      return describe(ctx, h);
    } catch (e) {
      destroyQuietly(ctx, h);
      throw e;
    }
  } finally {
    destroyTransport(ctx, transportId);
  }
}

export function importSecretAbort(ctx: TokenContext, transportId: string): { destroyed: number } {
  return { destroyed: destroyTransport(ctx, transportId) };
}

/**
 * The fallback for tokens without RSA-OAEP unwrap: the key value crosses to the token in the clear
 * (PKCS#11 C_CreateObject). Only on the caller's explicit request; the host's copy is zeroised.
 */
export function importSecretPlain(ctx: TokenContext, value: Uint8Array, template: UnwrapTemplate): RawObject {
  try {
    const tmpl = importTemplate(template);
    const h = p11('C_CreateObject', () => ctx.m.p11.C_CreateObject(ctx.session, [...tmpl, { type: CKA.VALUE, value: buf(value) }]));
    try {
      return describe(ctx, h);
    } catch (e) {
      destroyQuietly(ctx, h);
      throw e;
    }
  } finally {
    value.fill(0);
  }
}
