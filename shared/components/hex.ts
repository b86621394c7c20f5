/**
 * Hexadecimal as custodians type and read it: in groups of four digits ("0123 4567 89AB"),
 * the way payment HSM consoles and key-component forms print keys and components.
 *
 * Parsing never echoes the input back in an error: the text may be a key component. Errors
 * name positions and counts only.
 */

import { CustosError, type ErrorCode } from '../result';

const HEX_DIGITS = '0123456789abcdef';

/** Lowercase hex without separators (the machine form: JSON, files). */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX_DIGITS[b >>> 4]! + HEX_DIGITS[b & 15]!;
  return s;
}

/**
 * Uppercase hex in groups of `group` digits separated by single spaces (the human form:
 * screens and paper). Uppercase because printed forms use it and it avoids the b/6 and l/1
 * confusions of lowercase in some fonts.
 */
export function formatHex(bytes: Uint8Array, group = 4): string {
  return groupHex(toHex(bytes), group);
}

/** Regroups an already-hex string (any case, no separators) into uppercase groups. */
export function groupHex(hex: string, group = 4): string {
  const up = hex.toUpperCase();
  const parts: string[] = [];
  for (let i = 0; i < up.length; i += group) parts.push(up.slice(i, i + group));
  return parts.join(' ');
}

export interface ParseHexOptions {
  /** What the text is, for messages: "Component 2", "The key", "The check value". */
  label: string;
  /** Allowed lengths in bytes; omitted = any whole number of bytes >= 1. */
  expectedBytes?: number | readonly number[];
  /** Error code to throw (default INVALID_INPUT). */
  code?: ErrorCode;
  /** Extra details to attach to every error (e.g. { component: 2 }). */
  details?: Record<string, string | number | boolean>;
}

const isHexDigit = (c: string): boolean => /^[0-9a-fA-F]$/.test(c);
const isSeparator = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/**
 * Parses hex digits, ignoring spaces and tabs between groups. Throws CustosError with a
 * message that says exactly what is wrong (not hex / odd number of digits / wrong length).
 */
export function parseHex(text: string, opts: ParseHexOptions): Uint8Array {
  const code = opts.code ?? 'INVALID_INPUT';
  const fail = (message: string, action: string, extra: Record<string, number> = {}): never => {
    throw new CustosError({ code, message, action, details: { ...opts.details, ...extra } });
  };
  let digits = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (isSeparator(c)) continue;
    if (!isHexDigit(c)) {
      // The character itself is not shown: it is part of what may be a secret.
      fail(
        `${opts.label}: character ${i + 1} is not a hexadecimal digit (0-9, A-F).`,
        'Check that character: the letter O typed for zero, I or l for one, and S for 5 are ' +
          'common slips. Spaces between groups are fine.',
        { position: i + 1 },
      );
    }
    digits += c;
  }
  if (digits.length === 0) fail(`${opts.label} is empty.`, 'Enter the hexadecimal digits.');
  if (digits.length % 2 !== 0) {
    fail(
      `${opts.label} has ${digits.length} hexadecimal digits, an odd number; every byte is two digits.`,
      'A digit is missing or one too many was typed. Compare it group by group with the original.',
      { digits: digits.length },
    );
  }
  const n = digits.length / 2;
  const allowed = opts.expectedBytes === undefined ? undefined : ([] as number[]).concat(opts.expectedBytes);
  if (allowed && !allowed.includes(n)) {
    const want = allowed.map((b) => `${b} bytes (${b * 2} digits)`).join(' or ');
    fail(
      `${opts.label} has ${n} bytes (${n * 2} hexadecimal digits), but ${want} ${allowed.length === 1 ? 'is' : 'are'} expected.`,
      'Look for a missing or repeated group of digits.',
      { bytes: n, digits: n * 2 },
    );
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  digits = '';
  return out;
}

/** Constant-time byte equality (for secret material). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
