// Reading shares, components, keys and passphrases for the split-knowledge commands. Secrets
// come only from files, stdin or a prompt that does not echo — never from arguments, which
// other users can read in the process list — and buffers that held them are zeroed after use.
import { CustosError, invalidInput } from '../../shared/result';
import { LIMITS, readBounded, readStdinBounded } from './files';

/** All of standard input, up to `max` bytes (a PIN, shares or data: the caller says which). */
export function readStdin(max: number = LIMITS.secret, what = 'input'): Promise<Buffer> {
  return readStdinBounded(max, what);
}

export const stdinIsTerminal = (): boolean => !!process.stdin.isTTY;

/** One line from the terminal without echo (raw mode), at most `max` bytes. Ctrl-C cancels. */
export async function promptHidden(question: string, max: number = LIMITS.secret): Promise<Buffer> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  const bytes: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        for (const b of d) {
          if (b === 0x03) {
            stdin.off('data', onData);
            return reject(new CustosError({ code: 'INVALID_INPUT', message: 'Cancelled.', action: 'Run the command again when ready.' }));
          }
          if (b === 0x0d || b === 0x0a) {
            stdin.off('data', onData);
            return resolve();
          }
          if (b === 0x7f || b === 0x08) bytes.pop();
          else bytes.push(b);
          if (bytes.length > max) {
            stdin.off('data', onData);
            d.fill(0);
            return reject(new CustosError({ code: 'INVALID_INPUT', message: `The entry is longer than ${max} bytes, more than it can be.`, action: 'Check what was pasted, and enter it again.' }));
          }
        }
        d.fill(0);
      };
      stdin.on('data', onData);
    });
  } catch (e) {
    bytes.fill(0);
    throw e;
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
  const buf = Buffer.from(bytes);
  bytes.fill(0);
  return buf;
}

/** Reads a whole file, at most `max` bytes; a friendly error (naming the file, not its content) when it cannot. */
export function readInputFile(path: string, what: string, max: number = LIMITS.small): Buffer {
  return readBounded(path, max, what);
}

export type SecretEncoding = 'auto' | 'hex' | 'raw';

/**
 * Key or secret bytes from a file's content.
 *  - hex: hexadecimal digits, spaces and line breaks allowed anywhere;
 *  - raw: the bytes of the file exactly as they are;
 *  - auto: hex if the file, less surrounding whitespace, is only hex digits and whitespace
 *    with an even number of digits; raw otherwise. (A random 16-byte raw key looks like hex
 *    with probability below 10^-15; use --encoding raw to be sure.)
 * The returned array is a copy; the caller zeroes it.
 */
export function decodeSecretBytes(buf: Buffer, encoding: SecretEncoding, what: string): Uint8Array {
  // Decoded byte by byte from the buffer, so the secret never sits in a (non-wipeable) string.
  const nibble = (c: number): number =>
    c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
  const space = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  let digits = 0;
  let other = false;
  for (const c of buf) {
    if (nibble(c) >= 0) digits++;
    else if (!space(c)) other = true;
  }
  const asHex = encoding === 'hex' || (encoding === 'auto' && !other && digits > 0 && digits % 2 === 0);
  if (!asHex) {
    if (buf.length === 0) invalidInput(`The ${what} is empty.`, 'Check the file.');
    return Uint8Array.from(buf);
  }
  if (other) invalidInput(`The ${what} is not hexadecimal text.`, 'Give hexadecimal digits, or the raw bytes with --encoding raw.');
  if (digits === 0 || digits % 2 !== 0) {
    invalidInput(`The ${what} has ${digits} hexadecimal digits; a whole number of bytes is two digits each.`, 'Check the file for a missing or extra digit.');
  }
  const out = new Uint8Array(digits / 2);
  let i = 0;
  for (const c of buf) {
    const v = nibble(c);
    if (v < 0) continue;
    if (i % 2 === 0) out[i >> 1] = v << 4;
    else out[i >> 1]! |= v;
    i++;
  }
  return out;
}

/**
 * A passphrase from the first line of a file (a trailing newline from an editor or `echo` is
 * not part of it). SLIP-39 passphrases are bytes; the file is taken as UTF-8/ASCII bytes.
 */
export function readPassphraseFile(path: string): Uint8Array {
  const buf = readInputFile(path, 'passphrase', LIMITS.secret);
  let end = buf.indexOf(0x0a);
  if (end < 0) end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0d) end--;
  const pass = Uint8Array.from(buf.subarray(0, end));
  buf.fill(0);
  if (pass.length === 0) {
    invalidInput(`The passphrase file ${path} has an empty first line.`, 'Put the passphrase on the first line, or leave out --passphrase-file if there is no passphrase.');
  }
  return pass;
}

/**
 * One mnemonic from text. Numbered words as printed on a share sheet ("1. dive 2. type …", in
 * any order, e.g. copied column by column) are put in number order; plain words are kept in
 * their order. Numbers are never SLIP-39 words, so this cannot change a valid share.
 */
export function parseMnemonicText(text: string, label = 'The share'): string {
  const tokens = text.trim().split(/\s+/).filter((t) => t !== '');
  const numbered = tokens.filter((t) => /^\d+[.):]?$/.test(t));
  if (numbered.length === 0) return tokens.join(' ');
  const words = new Map<number, string>();
  for (let i = 0; i < tokens.length; i++) {
    const m = /^(\d+)[.):]?$/.exec(tokens[i]!);
    const next = tokens[i + 1];
    if (!m || next === undefined || /^\d+[.):]?$/.test(next)) {
      invalidInput(`${label} mixes numbered and unnumbered words.`, 'Enter the words either all numbered ("1. word 2. word") or none.');
    }
    const n = Number(m[1]);
    if (words.has(n)) invalidInput(`${label} has word number ${n} twice.`, 'Check the numbering.', { word: n });
    words.set(n, next);
    i++;
  }
  for (let n = 1; n <= words.size; n++) {
    if (!words.has(n)) invalidInput(`${label} has no word number ${n}.`, 'Enter every numbered word.', { word: n });
  }
  return [...words.keys()].sort((a, b) => a - b).map((n) => words.get(n)!).join(' ');
}
