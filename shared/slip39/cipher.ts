/**
 * Encryption of the master secret with the passphrase (SLIP-0039 "Encryption of the
 * master secret" / "Decryption of the master secret").
 *
 * A 4-round Feistel network (Luby–Rackoff) whose round function is PBKDF2-HMAC-SHA256.
 * It is a permutation, so any chosen master secret (e.g. an existing BIP-32 seed) can be
 * backed up, and every passphrase decrypts to *some* secret: there is deliberately no
 * way to tell a wrong passphrase from a right one (rationale 8, plausible deniability).
 */

import { pbkdf2, type Slip39Crypto } from './crypto';

/** Four rounds: encryption uses i = 0,1,2,3 and decryption the reverse order. */
const ENCRYPT_ROUNDS = [0, 1, 2, 3] as const;
const DECRYPT_ROUNDS = [3, 2, 1, 0] as const;
/** Total iterations are 10000·2^e, spread over the four rounds: 2500·2^e each. */
const BASE_ITERATIONS_PER_ROUND = 2500;
const SALT_PREFIX = Array.from('shamir', (ch) => ch.charCodeAt(0));

export interface CipherParams {
  passphrase: Uint8Array;
  iterationExponent: number;
  identifier: number;
  extendable: boolean;
}

/**
 * Salt prefix. Without the extendable flag it is "shamir" ‖ id (2 bytes, big-endian),
 * binding the EMS to this split's identifier. With the flag the prefix is empty, so the
 * same EMS can later be re-split under a fresh identifier and still decrypt to the same
 * master secret for every passphrase.
 */
function saltPrefix(identifier: number, extendable: boolean): Uint8Array {
  if (extendable) return new Uint8Array(0);
  return Uint8Array.from([...SALT_PREFIX, (identifier >>> 8) & 0xff, identifier & 0xff]);
}

/** F(i, R) = PBKDF2(password = i ‖ passphrase, salt = prefix ‖ R, 2500 << e, |R|). */
async function roundFunction(
  i: number,
  right: Uint8Array,
  prefix: Uint8Array,
  p: CipherParams,
  c: Slip39Crypto,
): Promise<Uint8Array> {
  const password = new Uint8Array(1 + p.passphrase.length);
  password[0] = i;
  password.set(p.passphrase, 1);
  const salt = new Uint8Array(prefix.length + right.length);
  salt.set(prefix, 0);
  salt.set(right, prefix.length);
  const iterations = BASE_ITERATIONS_PER_ROUND * 2 ** p.iterationExponent;
  const out = await pbkdf2(c, password, salt, iterations, right.length);
  password.fill(0);
  salt.fill(0);
  return out;
}

/** Runs the rounds in the given order; encryption and decryption differ only in order. */
async function feistel(
  input: Uint8Array,
  rounds: readonly number[],
  p: CipherParams,
  c: Slip39Crypto,
): Promise<Uint8Array> {
  if (input.length % 2 !== 0) throw new RangeError('feistel: input length must be even');
  const half = input.length / 2;
  // Copies, never views: a Node Buffer's slice() is a view, and the halves are wiped below — that
  // would wipe the caller's secret.
  let left = Uint8Array.from(input.subarray(0, half));
  let right = Uint8Array.from(input.subarray(half));
  const prefix = saltPrefix(p.identifier, p.extendable);
  for (const i of rounds) {
    // (L, R) <- (R, L xor F(i, R))
    const f = await roundFunction(i, right, prefix, p, c);
    for (let k = 0; k < half; k++) left[k] = (left[k] as number) ^ (f[k] as number);
    f.fill(0);
    [left, right] = [right, left];
  }
  // Output is R ‖ L (the halves are swapped once more at the end).
  const out = new Uint8Array(input.length);
  out.set(right, 0);
  out.set(left, half);
  left.fill(0);
  right.fill(0);
  return out;
}

export function encrypt(masterSecret: Uint8Array, p: CipherParams, c: Slip39Crypto): Promise<Uint8Array> {
  return feistel(masterSecret, ENCRYPT_ROUNDS, p, c);
}

export function decrypt(ems: Uint8Array, p: CipherParams, c: Slip39Crypto): Promise<Uint8Array> {
  return feistel(ems, DECRYPT_ROUNDS, p, c);
}
