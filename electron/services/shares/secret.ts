// SLIP-39 for the share service: the primitives on node:crypto, the one wrapper that turns SLIP-39
// errors into Custos errors, and recovering a secret with its check value compared with the one
// recorded at the ceremony. The CLI's `shares combine` and the app's restore drill both recover
// through recoverSecret(), so both compare check values the same way.
import { createHash, createHmac, pbkdf2 as pbkdf2Callback, randomBytes } from 'node:crypto';
import { CustosError } from '../../../shared/result';
import { slip39AppError, type SecretCheckValue, type Sha256, type Slip39Context } from '../../../shared/shares';
import { combineMnemonics, Slip39Error, type Slip39Crypto } from '../../../shared/slip39';
import { keyCheckValues, secretCheckValue } from '../kcv';
import { checkValueText } from '../../../shared/check-value';

/** SLIP-39 primitives on node:crypto. PBKDF2 runs on libuv's pool, so a high exponent does not block main. */
export const nodeSlip39Crypto: Slip39Crypto = {
  pbkdf2Sha256: (password, salt, iterations, length) =>
    new Promise((resolve, reject) =>
      pbkdf2Callback(password, salt, iterations, length, 'sha256', (e, key) => (e ? reject(e) : resolve(key))),
    ),
  hmacSha256: (key, data) => createHmac('sha256', key).update(data).digest(),
  randomBytes: (n) => randomBytes(n),
};

export const nodeSha256: Sha256 = (data) => createHash('sha256').update(data).digest();

export const PASSPHRASE_WARNING =
  'SLIP-39 cannot detect a wrong passphrase: a wrong one recovers a different secret without any error. ' +
  'Compare the check value above with the one recorded at the ceremony before using the secret.';

/** Runs SLIP-39 code, turning its errors into Custos errors (their messages carry no words and no secrets). */
export async function slip39<T>(fn: () => Promise<T> | T, ctx: Slip39Context = {}): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Slip39Error) throw new CustosError(slip39AppError(e, ctx));
    throw e;
  }
}

export interface RecoveredSecret {
  /** The secret. The caller wipes it as soon as it is used. */
  secret: Uint8Array;
  checkValue: SecretCheckValue;
  /** For a secret that is an AES key: the legacy AES-ECB check value, printed beside the CMAC one. */
  legacyCheckValue?: string;
  /** Whether the check value equals the recorded one; null when nothing was recorded. */
  matches: boolean | null;
}

/**
 * Combines shares (with the passphrase, which SLIP-39 cannot check) and compares the secret's
 * check value with the one recorded at the ceremony: the only way to tell a wrong passphrase.
 */
export async function recoverSecret(
  mnemonics: readonly string[],
  passphrase: Uint8Array,
  recorded: SecretCheckValue | null | undefined,
  crypto: Slip39Crypto = nodeSlip39Crypto,
): Promise<RecoveredSecret> {
  const secret = await slip39(() => combineMnemonics([...mnemonics], passphrase, crypto));
  try {
    const checkValue = secretCheckValue(secret);
    const legacyCheckValue = checkValue.method === 'AES-CMAC' ? keyCheckValues('AES', secret).legacy : undefined;
    const matches = recorded ? recorded.method === checkValue.method && recorded.value === checkValue.value : null;
    return { secret, checkValue, ...(legacyCheckValue ? { legacyCheckValue } : {}), matches };
  } catch (e) {
    secret.fill(0);
    throw e;
  }
}

/** The error for a recovered secret whose check value is not the recorded one (the shares agreed, so the passphrase is suspect). */
export function checkValueMismatch(actual: SecretCheckValue, recorded: SecretCheckValue): CustosError {
  return new CustosError({
    code: 'CHECK_VALUE_MISMATCH',
    message:
      `The recovered secret's check value ${checkValueText(actual.value)} differs from the recorded ${checkValueText(recorded.value)}. ` +
      'The shares are consistent, so the passphrase is most likely wrong: SLIP-39 cannot detect a wrong passphrase.',
    action: 'Check the passphrase (case, spaces, keyboard layout) and try again. Do not use this secret.',
    details: { expected: recorded.value, actual: actual.value },
  });
}
