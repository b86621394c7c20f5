/**
 * One level of secret sharing with an embedded digest (SLIP-0039 "Sharing a secret":
 * SplitSecret and RecoverSecret). The same procedure runs at both levels of the scheme:
 * EMS -> group shares, and group share -> member shares.
 */

import { hmacSha256, randomBytes, type Slip39Crypto } from './crypto';
import { Slip39Error } from './errors';
import { interpolate, type Point } from './gf256';

/** x-coordinate holding the shared secret. Spec: f(255), not f(0) (rationale 3). */
export const SECRET_INDEX = 255;
/** x-coordinate holding the digest share D (rationale 4). */
export const DIGEST_INDEX = 254;
/** Bytes of HMAC-SHA256 kept as the digest. */
export const DIGEST_LENGTH = 4;
/** 4-bit index fields: at most 16 groups / 16 members. */
export const MAX_SHARE_COUNT = 16;

/** D = HMAC-SHA256(key = R, msg = S)[0:4] ‖ R. */
async function digestShare(c: Slip39Crypto, random: Uint8Array, secret: Uint8Array): Promise<Uint8Array> {
  const mac = await hmacSha256(c, random, secret);
  const d = new Uint8Array(DIGEST_LENGTH + random.length);
  d.set(mac.subarray(0, DIGEST_LENGTH), 0);
  d.set(random, DIGEST_LENGTH);
  return d;
}

/**
 * SplitSecret(T, N, S): returns N points with x = 0..N-1. Callers validate
 * 1 <= T <= N <= 16 and the secret length first.
 */
export async function splitShares(
  threshold: number,
  count: number,
  secret: Uint8Array,
  c: Slip39Crypto,
): Promise<Point[]> {
  if (!(threshold >= 1 && threshold <= count && count <= MAX_SHARE_COUNT)) {
    throw new RangeError('splitShares: require 1 <= threshold <= count <= 16');
  }
  // Step 2: with T = 1 every share is the secret itself; no digest is embedded.
  if (threshold === 1) {
    return Array.from({ length: count }, (_, x) => ({ x, y: Uint8Array.from(secret) }));
  }
  const n = secret.length;
  // Step 3: random R (n-4 bytes) and the digest share D.
  const digest = await digestShare(c, randomBytes(c, n - DIGEST_LENGTH), secret);
  // Step 4: T-2 fully random shares at x = 0..T-3.
  const shares: Point[] = [];
  for (let x = 0; x < threshold - 2; x++) shares.push({ x, y: randomBytes(c, n) });
  // Step 5: the rest are fixed by the random shares plus (254, D) and (255, S), which
  // together pin down a polynomial of degree T-1.
  const base: Point[] = [...shares, { x: DIGEST_INDEX, y: digest }, { x: SECRET_INDEX, y: secret }];
  for (let x = threshold - 2; x < count; x++) shares.push({ x, y: interpolate(base, x) });
  digest.fill(0);
  return shares;
}

/** Constant-time equality of the first `n` bytes (the digest is a secret-derived value). */
function equalPrefix(a: Uint8Array, b: Uint8Array, n: number): boolean {
  let diff = 0;
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0 && a.length >= n && b.length >= n;
}

/**
 * RecoverSecret(T, points). Callers have already checked that exactly T points with
 * distinct x and equal lengths are given. Throws DIGEST when the points do not lie on
 * one polynomial carrying a consistent digest: a wrong, corrupt or forged share.
 */
export async function recoverShares(
  threshold: number,
  points: readonly Point[],
  c: Slip39Crypto,
  groupIndex?: number,
): Promise<Uint8Array> {
  const first = points[0];
  if (first === undefined) throw new RangeError('recoverShares: no points');
  // Step 1: with T = 1 the share is the secret and carries no digest to check.
  if (threshold === 1) return Uint8Array.from(first.y);

  const secret = interpolate(points, SECRET_INDEX);
  const digest = interpolate(points, DIGEST_INDEX);
  const mac = await hmacSha256(c, digest.subarray(DIGEST_LENGTH), secret);
  const ok = equalPrefix(mac, digest, DIGEST_LENGTH);
  digest.fill(0);
  if (!ok) {
    secret.fill(0);
    const where =
      groupIndex === undefined
        ? 'The group shares do not fit together'
        : `The shares of group ${groupIndex + 1} do not fit together`;
    throw new Slip39Error(
      'DIGEST',
      `${where} (digest check failed). At least one share is mistyped in a way the ` +
        'checksum cannot catch, comes from a different backup, or has been tampered with. ' +
        'Compare each share with the written share, or try a different combination of shares.',
      groupIndex === undefined ? {} : { groupIndex },
    );
  }
  return secret;
}
