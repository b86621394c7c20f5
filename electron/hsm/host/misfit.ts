// Explaining a failed operation from the key's own attributes, inside the HSM host process.
import type { AppError } from '../../../shared/result';
import type { CipherMechanism, RawObject, SignMechanism } from '../protocol';
import { describe } from './objects';
import type { TokenContext } from './session';
import type { Handle } from './templates';

/** Key types each mechanism accepts: to name the real problem when a token answers vaguely. */
const MECHANISM_KEY_TYPES: Record<SignMechanism | CipherMechanism, Array<RawObject['keyType']>> = {
  'ecdsa-sha256': ['ec'],
  'ecdsa-sha384': ['ec'],
  'rsa-pkcs1-sha256': ['rsa'],
  'rsa-pkcs1-sha384': ['rsa'],
  'rsa-pss-sha256': ['rsa'],
  'rsa-pss-sha384': ['rsa'],
  ed25519: ['ed25519'],
  'hmac-sha256': ['generic-secret'],
  'hmac-sha384': ['generic-secret'],
  'hmac-sha512': ['generic-secret'],
  'aes-cmac': ['aes'],
  'aes-gcm': ['aes'],
  'rsa-oaep-sha1': ['rsa'],
  'rsa-oaep-sha256': ['rsa'],
};

/**
 * A failed operation on a key of the wrong type or without the usage, as a typed error. Tokens
 * answer these differently: SoftHSM says CKR_GENERAL_ERROR for a wrong key type (and for ECDSA
 * with an RSA key), NSS says CKR_KEY_TYPE_INCONSISTENT for a missing usage. Only inspected after a
 * failure, so the common path costs nothing.
 */
export function keyMisfit(ctx: TokenContext, key: Handle, mech: SignMechanism | CipherMechanism, usage: keyof RawObject['usage'], f: AppError): AppError {
  if (f.code !== 'DEVICE_ERROR' && f.code !== 'KEY_TYPE_MISMATCH' && f.code !== 'KEY_USAGE_NOT_PERMITTED') return f;
  let info: RawObject;
  try {
    info = describe(ctx, key);
  } catch {
    return f;
  }
  const allowed = MECHANISM_KEY_TYPES[mech];
  const details = { ...(f.details ?? {}), mechanism: mech, keyType: info.keyType ?? 'unknown' };
  if (!allowed.includes(info.keyType)) {
    return {
      code: 'KEY_TYPE_MISMATCH',
      message: `${mech} needs a key of type ${allowed.join(' or ')}; this key is of type ${info.keyType ?? 'unknown'}.`,
      action: `Choose a key of the right type for ${mech}, or an algorithm that fits this key.`,
      details,
    };
  }
  if (!info.usage[usage]) {
    return {
      code: 'KEY_USAGE_NOT_PERMITTED',
      message: `The key was created without permission to ${usage}.`,
      action: 'Use a key generated for this purpose; key usages cannot be widened after generation.',
      details,
    };
  }
  return f;
}
