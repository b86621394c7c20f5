/**
 * RS1024 checksum (SLIP-0039 "Checksum").
 *
 * A Reed–Solomon code over GF(1024) with three check symbols, evaluated in its BCH form
 * like Bech32's polymod. It detects every error affecting at most 3 words. We only ever
 * verify or create; the spec ("Combining the shares", step 1) says implementations
 * SHOULD NOT correct errors, because a "corrected" mnemonic may be valid but wrong.
 */

/** Number of 10-bit checksum words at the end of every mnemonic. */
export const CHECKSUM_WORDS = 3;

/**
 * Customization strings. SLIP-0039: "shamir" for shares with the extendable flag clear,
 * "shamir_extendable" with it set, so a share's flag cannot be flipped without also
 * breaking its checksum.
 */
const CS_ORIGINAL = 'shamir';
const CS_EXTENDABLE = 'shamir_extendable';

// Generator constants from the spec's reference snippet: the multiples of the generator
// polynomial (x - a)(x - a^2)(x - a^3), a a root of x^10 + x^3 + 1, one per bit of the
// symbol shifted out.
const GEN = [
  0xe0e040, 0x1c1c080, 0x3838100, 0x7070200, 0xe0e0009, 0x1c0c2412, 0x38086c24, 0x3090fc48,
  0x21b1f890, 0x3f3f120,
] as const;

function customization(extendable: boolean): number[] {
  const cs = extendable ? CS_EXTENDABLE : CS_ORIGINAL;
  // The spec feeds "each character's US-ASCII value" in before the data.
  return Array.from(cs, (ch) => ch.charCodeAt(0));
}

/** The 30-bit polymod state after absorbing `values` (each 0..1023), starting from 1. */
function polymod(values: Iterable<number>): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 20;
    // 30-bit state: fits in a 32-bit JS integer, so plain bit operations are exact.
    chk = ((chk & 0xfffff) << 10) ^ v;
    for (let i = 0; i < 10; i++) {
      if ((top >>> i) & 1) chk ^= GEN[i] as number;
    }
  }
  return chk;
}

/** True when `words` (data words followed by the 3 checksum words) verify. */
export function rs1024Verify(words: readonly number[], extendable: boolean): boolean {
  return polymod([...customization(extendable), ...words]) === 1;
}

/** The three checksum words for `data` (the mnemonic without its checksum). */
export function rs1024Create(data: readonly number[], extendable: boolean): [number, number, number] {
  const x = polymod([...customization(extendable), ...data, 0, 0, 0]) ^ 1;
  return [(x >>> 20) & 1023, (x >>> 10) & 1023, x & 1023];
}
