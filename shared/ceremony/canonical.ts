// Canonical JSON for everything a ceremony signs or hashes (docs/FORMAT.md "Ceremony canonical
// JSON"), and the read-aloud forms of the ceremony fingerprint.
//
//   canonical(v) = v as JSON with no white space, object keys sorted by UTF-16 code units (all keys
//   Custos writes are ASCII), keys whose value is undefined left out, strings as ECMAScript
//   JSON.stringify writes them except U+2028/U+2029 written as \u2028/\u2029, integers only (a
//   fractional or non-finite number is refused: floats have no single spelling across languages).
//
// A verifier in another language re-implements this in a few lines (the Python in FORMAT.md does).
import { WORDLIST } from '../slip39/wordlist';

export type CanonicalJson = null | boolean | number | string | CanonicalJson[] | { [k: string]: CanonicalJson | undefined };

export class CanonicalJsonError extends Error {}

const LINE_SEPARATORS = /[\u2028\u2029]/;

function str(s: string): string {
  const out = JSON.stringify(s);
  return LINE_SEPARATORS.test(out) ? out.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029') : out;
}

export function canonicalJson(value: unknown): string {
  return encode(value, null, '');
}

/** The same value and key order, indented with two spaces (for files people read: transcripts). */
export function canonicalJsonPretty(value: unknown): string {
  return encode(value, '  ', '');
}

function encode(value: unknown, indent: string | null, at: string): string {
  const inner = indent === null ? '' : at + indent;
  const open = indent === null ? '' : '\n' + inner;
  const close = indent === null ? '' : '\n' + at;
  const sep = indent === null ? ',' : ',\n' + inner;
  const colon = indent === null ? ':' : ': ';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new CanonicalJsonError(`canonical JSON takes safe integers only, not ${value}`);
      return String(value);
    case 'string':
      return str(value);
    case 'object': {
      if (Array.isArray(value)) {
        if (value.length === 0) return '[]';
        return `[${open}${value.map((v) => (v === undefined ? 'null' : encode(v, indent, inner))).join(sep)}${close}]`;
      }
      if (value instanceof Uint8Array) throw new CanonicalJsonError('canonical JSON takes no raw bytes: write them as hex');
      const o = value as Record<string, unknown>;
      const keys = Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort();
      if (keys.length === 0) return '{}';
      return `{${open}${keys.map((k) => `${str(k)}${colon}${encode(o[k], indent, inner)}`).join(sep)}${close}}`;
    }
    default:
      throw new CanonicalJsonError(`canonical JSON cannot hold a ${typeof value}`);
  }
}

/** UTF-8 bytes of canonical JSON. */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

export const FINGERPRINT_WORDS = 8;

/**
 * The fingerprint's first 80 bits as 8 words of the SLIP-39 word list (10 bits each; the list's
 * words differ in their first four letters, so a misheard word is caught). 80 bits: finding other
 * parameters with the same words takes ~2^80 hashes; approvals sign the full 256 bits anyway.
 */
export function fingerprintWords(hex: string): string[] {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new CanonicalJsonError('a fingerprint is 64 lower-case hex digits');
  let bits = '';
  for (const c of hex.slice(0, 20)) bits += parseInt(c, 16).toString(2).padStart(4, '0');
  const words: string[] = [];
  for (let i = 0; i < FINGERPRINT_WORDS; i++) words.push(WORDLIST[parseInt(bits.slice(i * 10, i * 10 + 10), 2)]!);
  return words;
}

/** 64 hex digits as 16 groups of 4, upper case ("9F3A 01C2 …"), for reading and printing. */
export function fingerprintGroups(hex: string): string {
  return hex
    .toUpperCase()
    .match(/.{1,4}/g)!
    .join(' ');
}
