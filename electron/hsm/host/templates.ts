// PKCS#11 attribute templates shared by the HSM host's key operations (generate, probe, wrap, ...)
// and sealing (sealing.ts). Every usage attribute is set explicitly: SoftHSM, among others,
// defaults unset CKA_SIGN/CKA_WRAP/... to true (DESIGN.md).
import * as pkcs11js from 'pkcs11js';
import { CKA, CKO } from '../protocol/constants';
import type { KeyUsage } from '../protocol';
import { p11 } from './failure';
import type { TokenContext } from './session';

export type Template = pkcs11js.Template;
export type Handle = Buffer;

/** The same bytes as a Buffer, without a copy (pkcs11js wants Buffers). */
export const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export function destroyQuietly(ctx: TokenContext, h: Handle | null | undefined): void {
  if (!h) return;
  try {
    ctx.m.p11.C_DestroyObject(ctx.session, h);
  } catch {
    /* a session object goes with its session anyway */
  }
}

type SecretFlag = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'wrap' | 'unwrap' | 'derive';

/** All seven usage attributes of a secret key (PKCS#11 v2.40 §4.10), each false unless given. */
export function secretFlags(flags: Partial<Record<SecretFlag, boolean>>): Template {
  return [
    { type: CKA.ENCRYPT, value: flags.encrypt ?? false },
    { type: CKA.DECRYPT, value: flags.decrypt ?? false },
    { type: CKA.SIGN, value: flags.sign ?? false },
    { type: CKA.VERIFY, value: flags.verify ?? false },
    { type: CKA.WRAP, value: flags.wrap ?? false },
    { type: CKA.UNWRAP, value: flags.unwrap ?? false },
    { type: CKA.DERIVE, value: flags.derive ?? false },
  ];
}

export function usageAttrs(usages: KeyUsage[], kind: 'secret' | 'private' | 'public'): Template {
  const has = (u: KeyUsage) => usages.includes(u);
  // Only the attributes valid for the object class (PKCS#11 v2.40 §4.8–4.10): SoftHSM rejects
  // CKA_DECRYPT on a public key with CKR_ATTRIBUTE_TYPE_INVALID, and defaults any unset one to true.
  const pub: Template = [
    { type: CKA.ENCRYPT, value: has('encrypt') },
    { type: CKA.VERIFY, value: has('sign') },
    { type: CKA.VERIFY_RECOVER, value: false },
    { type: CKA.WRAP, value: has('wrap') },
    { type: CKA.DERIVE, value: has('derive') },
  ];
  const priv: Template = [
    { type: CKA.DECRYPT, value: has('encrypt') },
    { type: CKA.SIGN, value: has('sign') },
    { type: CKA.SIGN_RECOVER, value: false },
    { type: CKA.UNWRAP, value: has('wrap') },
    { type: CKA.DERIVE, value: has('derive') },
  ];
  if (kind === 'public') return pub;
  if (kind === 'private') return priv;
  return secretFlags({
    encrypt: has('encrypt'),
    decrypt: has('encrypt'),
    sign: has('sign'),
    verify: has('sign'),
    wrap: has('wrap'),
    unwrap: has('wrap'),
    derive: has('derive'),
  });
}

/** A session secret key with the given value (C_CreateObject); `attrs` adds usages and protection. */
export function createSecret(ctx: TokenContext, value: Buffer, keyType: number, attrs: Template, privateObject = false): Handle {
  return p11('C_CreateObject', () =>
    ctx.m.p11.C_CreateObject(ctx.session, [
      { type: CKA.CLASS, value: CKO.SECRET_KEY },
      { type: CKA.KEY_TYPE, value: keyType },
      { type: CKA.TOKEN, value: false },
      // Probe vectors are public values: as public session objects they need no login.
      { type: CKA.PRIVATE, value: privateObject },
      { type: CKA.VALUE, value },
      ...attrs,
    ]),
  );
}
