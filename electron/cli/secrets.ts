import { readFileSync } from 'node:fs';
import { invalidInput } from '../../shared/result';
import { promptHidden, readStdin } from './input';

export interface Secret {
  /** The secret as a string, for APIs that only take strings (pkcs11js C_Login). */
  readonly value: string;
  /** Overwrites the bytes this module held. JS strings themselves cannot be wiped. */
  wipe(): void;
}

function fromBuffer(buf: Buffer): Secret {
  // First line only; a trailing newline from `echo` or an editor is not part of the secret.
  let end = buf.indexOf(0x0a);
  if (end < 0) end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0d) end--;
  const value = buf.subarray(0, end).toString('utf8');
  return {
    value,
    wipe: () => buf.fill(0),
  };
}

/**
 * A PIN or passphrase comes from --pin-file, from stdin when it is not a terminal, or from a hidden
 * prompt — never from a command-line argument, which other users can read in the process list.
 */
export async function readSecret(opts: { file?: string | undefined; prompt: string }): Promise<Secret> {
  let buf: Buffer;
  if (opts.file) {
    try {
      buf = readFileSync(opts.file);
    } catch {
      invalidInput(`The PIN file ${opts.file} cannot be read.`, 'Check the path and its permissions.');
    }
  } else if (!process.stdin.isTTY) {
    buf = await readStdin();
  } else {
    buf = await promptHidden(opts.prompt);
  }
  const secret = fromBuffer(buf);
  if (secret.value.length === 0) {
    secret.wipe();
    invalidInput('No PIN was given.', 'Type the PIN at the prompt, or use --pin-file FILE or stdin.');
  }
  return secret;
}
