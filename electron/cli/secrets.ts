import { invalidInput } from '../../shared/result';
import { LIMITS, readBounded } from './files';
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
 * prompt — never from a command-line argument, which other users can read in the process list. Each
 * source is read to at most LIMITS.secret bytes: `--pin-file /dev/zero` or an endless pipe is refused
 * at once instead of hanging (issue #11).
 */
export async function readSecret(opts: { file?: string | undefined; prompt: string; what?: string }): Promise<Secret> {
  const what = opts.what ?? 'PIN';
  let buf: Buffer;
  if (opts.file) buf = readBounded(opts.file, LIMITS.secret, what);
  else if (!process.stdin.isTTY) buf = await readStdin(LIMITS.secret, what);
  else buf = await promptHidden(opts.prompt, LIMITS.secret);
  const secret = fromBuffer(buf);
  if (secret.value.length === 0) {
    secret.wipe();
    invalidInput(`No ${what} was given.`, `Type the ${what} at the prompt, or use --pin-file FILE or stdin.`);
  }
  return secret;
}
