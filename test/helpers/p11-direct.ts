// Direct pkcs11js access from a test, bypassing the HSM host: an independent second look at what a
// module does (for example whether a wrap mechanism really is RFC 5649), with session objects only.
import * as pkcs11js from 'pkcs11js';

export interface DirectSession {
  p11: pkcs11js.PKCS11;
  session: Buffer;
  /** A session secret key with this value, usable to wrap/unwrap and be wrapped. */
  secret(value: Buffer, keyType: number): Buffer;
  close(): void;
}

/**
 * Opens `tokenLabel` of `module` in this process. `env` is the host environment of the fixture:
 * SOFTHSM2_CONF for SoftHSM, CUSTOS_NSS_CONFIGDIR for the NSS softoken (its libraryParameters).
 */
export function openDirect(module: string, env: NodeJS.ProcessEnv, tokenLabel: string, pin: string): DirectSession {
  const p11 = new pkcs11js.PKCS11();
  const savedConf = process.env.SOFTHSM2_CONF;
  if (env.SOFTHSM2_CONF) process.env.SOFTHSM2_CONF = env.SOFTHSM2_CONF;
  p11.load(module);
  try {
    const nss = env.CUSTOS_NSS_CONFIGDIR && /libsoftokn3\.so$/.test(module);
    p11.C_Initialize({
      flags: pkcs11js.CKF_OS_LOCKING_OK,
      // pkcs11js drops the last character of libraryParameters: the trailing "flags=" absorbs it.
      ...(nss ? { libraryParameters: `configdir='sql:${env.CUSTOS_NSS_CONFIGDIR}' certPrefix='' keyPrefix='' secmod='secmod.db' flags=` } : {}),
    });
  } finally {
    if (savedConf === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = savedConf;
  }
  const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.replace(/[\s\0]+$/, '') === tokenLabel);
  if (!slot) throw new Error(`no token labelled ${tokenLabel}`);
  const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    p11.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch {
    /* NSS with an empty password needs no login; SoftHSM gets the right PIN */
  }
  return {
    p11,
    session,
    secret: (value, keyType) =>
      p11.C_CreateObject(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: keyType },
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_VALUE, value },
        { type: pkcs11js.CKA_WRAP, value: true },
        { type: pkcs11js.CKA_UNWRAP, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: false },
        { type: pkcs11js.CKA_EXTRACTABLE, value: true },
      ]),
    close() {
      try {
        p11.C_CloseSession(session);
        p11.C_Finalize();
      } finally {
        p11.close();
      }
    },
  };
}

/** Does `mechanism` unwrap each vector's ciphertext to its plaintext, and wrap the plaintext to the ciphertext? */
export function kwVerdicts(d: DirectSession, mechanism: number, vectors: Array<{ kek: string; plaintext: string; ciphertext: string }>) {
  return vectors.map((v) => {
    const kek = d.secret(Buffer.from(v.kek, 'hex'), pkcs11js.CKK_AES);
    const target = d.secret(Buffer.from(v.plaintext, 'hex'), pkcs11js.CKK_GENERIC_SECRET);
    let wrap = false;
    let unwrap = false;
    try {
      wrap = d.p11.C_WrapKey(d.session, { mechanism }, kek, target, Buffer.alloc(v.ciphertext.length / 2 + 16)).toString('hex') === v.ciphertext;
    } catch {
      /* refused: not this layout */
    }
    try {
      const h = d.p11.C_UnwrapKey(d.session, { mechanism }, kek, Buffer.from(v.ciphertext, 'hex'), [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_SENSITIVE, value: false },
        { type: pkcs11js.CKA_EXTRACTABLE, value: true },
      ]);
      unwrap = d.p11.C_GetAttributeValue(d.session, h, [{ type: pkcs11js.CKA_VALUE }])[0]?.value.toString('hex') === v.plaintext;
    } catch {
      /* refused: not this layout */
    }
    return { bytes: v.plaintext.length / 2, wrap, unwrap };
  });
}
