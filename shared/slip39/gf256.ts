/**
 * Arithmetic in GF(256) and Lagrange interpolation (SLIP-0039 "Shamir's secret-sharing"
 * and "Polynomial interpolation").
 *
 * Bytes are polynomials over GF(2) reduced modulo the Rijndael polynomial
 * x^8 + x^4 + x^3 + x + 1 (0x11B), as in AES (FIPS-197 section 4). Addition and
 * subtraction are both XOR.
 *
 * Multiplication is done with a fixed 8-step shift-and-add loop using masks instead of
 * log/exp tables: share values are secret, and table lookups indexed by secret bytes
 * can leak through cache timing. The cost is irrelevant at SLIP-39 sizes (at most
 * 16 points times a few dozen bytes).
 */

/** a·b in GF(256); no branches or table lookups that depend on a or b. */
export function gfMul(a: number, b: number): number {
  let result = 0;
  let x = a & 0xff;
  let y = b & 0xff;
  for (let i = 0; i < 8; i++) {
    // Add x when the low bit of y is set: -(y & 1) is all ones or all zeros.
    result ^= x & -(y & 1);
    y >>>= 1;
    // Multiply x by the polynomial "x", reducing by 0x11B when bit 8 overflows.
    const carry = -((x >>> 7) & 1);
    x = ((x << 1) ^ (0x11b & carry)) & 0xff;
  }
  return result;
}

/**
 * Multiplicative inverse: a^254, since a^255 = 1 for every non-zero a. Only ever used on
 * differences of x-coordinates, which are public share indices.
 */
export function gfInv(a: number): number {
  if ((a & 0xff) === 0) throw new RangeError('GF(256): zero has no inverse');
  // Square-and-multiply over the bits of 254 = 0b11111110.
  let result = 1;
  let base = a & 0xff;
  let e = 254;
  while (e > 0) {
    if (e & 1) result = gfMul(result, base);
    base = gfMul(base, base);
    e >>>= 1;
  }
  return result;
}

export interface Point {
  /** x-coordinate: a share index 0..15, or 254 (digest) / 255 (secret). */
  readonly x: number;
  /** y-values, one per byte of the shared secret (each byte is its own polynomial). */
  readonly y: Uint8Array;
}

/**
 * Evaluate at `x` the lowest-degree polynomial through `points`, independently for each
 * byte position:
 *
 *   f(x) = Σ_i y_i · Π_{j≠i} (x − x_j) / (x_i − x_j)
 *
 * The x-coordinates must be pairwise distinct and all y-vectors the same length; the
 * callers guarantee this (and report user-facing errors) before getting here. If x is
 * one of the x_i, the formula itself returns y_i, so no special case is needed.
 */
export function interpolate(points: readonly Point[], x: number): Uint8Array {
  const first = points[0];
  if (first === undefined) throw new RangeError('interpolate: no points');
  const length = first.y.length;
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Point;
    if (p.y.length !== length) throw new RangeError('interpolate: y-vectors differ in length');
    for (let j = 0; j < i; j++) {
      if ((points[j] as Point).x === p.x) throw new RangeError('interpolate: duplicate x');
    }
  }

  const result = new Uint8Array(length);
  for (let i = 0; i < points.length; i++) {
    const pi = points[i] as Point;
    // Lagrange basis polynomial i evaluated at x (depends only on public coordinates).
    let num = 1;
    let den = 1;
    for (let j = 0; j < points.length; j++) {
      if (j === i) continue;
      const xj = (points[j] as Point).x;
      num = gfMul(num, x ^ xj);
      den = gfMul(den, pi.x ^ xj);
    }
    const basis = gfMul(num, gfInv(den));
    for (let k = 0; k < length; k++) {
      result[k] = (result[k] as number) ^ gfMul(pi.y[k] as number, basis);
    }
  }
  return result;
}
