// Trusted wrapping (PKCS#11 v2.40 §4.9/§4.10): a key marked CKA_WRAP_WITH_TRUSTED can be wrapped
// only by a key marked CKA_TRUSTED, and only the SO can set CKA_TRUSTED. The archive's keys are
// generated with CKA_WRAP_WITH_TRUSTED, so the user PIN alone cannot take them out of the HSM; a
// backup ceremony brings the SO in to create the one trusted key that may, for a moment.
//
// An SO session writes public objects only, and the SO and the user cannot be logged in at once in
// one application, so the trusted Backup Key is a public token object made here (in an HSM host
// logged in as SO) and used and destroyed by the user's host right after (docs/ARCHITECTURE.md
// "Trusted wrapping"). It is sensitive and non-extractable, may only wrap, and its value is the
// Backup Key, which exists otherwise only in the custodians' shares.
import type { RawObject } from '../protocol';
import { CKA, CKK } from '../protocol/constants';
import { p11 } from './failure';
import { describe } from './objects';
import type { TokenContext } from './session';
import { buf, destroyQuietly, secretFlags, secretKeyTemplate } from './templates';

export function createTrustedKey(ctx: TokenContext, value: Uint8Array, label: string, idHex: string): RawObject {
  try {
    const tmpl = [
      ...secretKeyTemplate(CKK.AES, { onToken: true, label, idHex }, { privateObject: false, sensitive: true, extractable: false }, secretFlags({ wrap: true })),
      { type: CKA.TRUSTED, value: true },
      { type: CKA.VALUE, value: buf(value) },
    ];
    const h = p11('C_CreateObject', () => ctx.m.p11.C_CreateObject(ctx.session, tmpl));
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
