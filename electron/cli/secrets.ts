import { readFileSync } from 'node:fs';
import { CustosError } from '../../shared/result';

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

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const buf = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return buf;
}

/** Reads a hidden line from the terminal without echo. */
async function prompt(question: string): Promise<Buffer> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  const bytes: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        for (const b of d) {
          if (b === 0x03) return reject(new CustosError({ code: 'INVALID_INPUT', message: 'Cancelled.', action: 'Run the command again when ready.' }));
          if (b === 0x0d || b === 0x0a) {
            stdin.off('data', onData);
            return resolve();
          }
          if (b === 0x7f || b === 0x08) bytes.pop();
          else bytes.push(b);
        }
        d.fill(0);
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
  const buf = Buffer.from(bytes);
  bytes.fill(0);
  return buf;
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
      throw new CustosError({ code: 'INVALID_INPUT', message: `The PIN file ${opts.file} cannot be read.`, action: 'Check the path and its permissions.' });
    }
  } else if (!process.stdin.isTTY) {
    buf = await readStdin();
  } else {
    buf = await prompt(opts.prompt);
  }
  const secret = fromBuffer(buf);
  if (secret.value.length === 0) {
    secret.wipe();
    throw new CustosError({ code: 'INVALID_INPUT', message: 'No PIN was given.', action: 'Type the PIN at the prompt, or use --pin-file FILE or stdin.' });
  }
  return secret;
}
