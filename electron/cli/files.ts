// The files and streams the CLI reads and writes, bounded and with typed errors. Every input has an
// upper size: a PIN file named /dev/zero, or a `yes |` on stdin, must end in a refusal, not a hang or
// an out-of-memory crash (issue #11). Every output path is checked before any work is done, so a
// folder that does not exist is a usage error, not an INTERNAL one after the HSM did its part.
// Every output file is written atomically (services/files/atomic.ts: a temporary file in the same
// folder, fsync'ed, then linked or renamed into place), so a command killed half-way leaves no
// half-written signature or key file under the name asked for; an existing file is replaced only
// with --force, and records, sheets and keys never.
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { CustosError, fail, invalidInput } from '../../shared/result';
import { writeFileAtomic } from '../services/files/atomic';

/** Upper bounds, in bytes, on what one command reads. Each is far above any honest input. */
export const LIMITS = {
  /** A PIN or passphrase: one short line (PKCS#11 tokens allow at most a few hundred bytes). */
  secret: 4096,
  /** Shares or key components typed or piped in: 256 shares of 33 words fit in a tenth of it. */
  shares: 1 << 20,
  /** A record, sealed share, public key, signature, definition or secret file. */
  small: 1 << 20,
  /** Data to sign, encrypt or wrap in one call: it travels to the HSM host in one message. */
  data: 64 << 20,
} as const;

const size = (n: number) => (n >= 1 << 20 ? `${n / (1 << 20)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} bytes`);

function tooLarge(what: string, where: string, max: number): never {
  return invalidInput(
    `The ${what} ${where} is longer than ${size(max)}, more than any ${what} can be.`,
    `Check that you named the right file (a device such as /dev/zero never ends), or shorten the input.`,
    { limit: max },
  );
}

/**
 * A whole file, read in chunks and refused once it passes `max` bytes. Regular files, pipes and
 * devices are all read the same way (`--pin-file <(pass show hsm)` and `/dev/stdin` work); a folder
 * or a file that is not there is named in the error. Chunks are zeroed: the file may hold a secret.
 */
export function readBounded(path: string, max: number, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') invalidInput(`The ${what} file ${path} does not exist.`, 'Check the path.', { path });
    if (code === 'EACCES' || code === 'EPERM') invalidInput(`The ${what} file ${path} cannot be read: permission denied.`, 'Check the file permissions.', { path });
    invalidInput(`The ${what} file ${path} cannot be opened (${code ?? 'error'}).`, 'Check the path and its permissions.', { path });
  }
  const chunks: Buffer[] = [];
  try {
    if (fstatSync(fd).isDirectory()) invalidInput(`${path} is a folder, not a ${what} file.`, 'Name the file itself.', { path });
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, max + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        chunk.fill(0);
        return invalidInput(`The ${what} file ${path} cannot be read (${(e as { code?: string }).code ?? 'error'}).`, 'Check the file.', { path });
      }
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > max) tooLarge(what, `file ${path}`, max);
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
    for (const c of chunks) c.fill(0);
  }
}

/** All of standard input, refused (and no longer read) once it passes `max` bytes. */
export async function readStdinBounded(max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const c of process.stdin) {
      const b = c as Buffer;
      chunks.push(b);
      total += b.length;
      if (total > max) {
        process.stdin.destroy();
        tooLarge(what, 'on standard input', max);
      }
    }
    return Buffer.concat(chunks);
  } finally {
    for (const c of chunks) c.fill(0);
  }
}

/**
 * Checks, before any work, that `path` can be created: its folder exists and it is not a folder
 * itself. An existing file is refused unless `force` (--force); with `fresh` it is refused always
 * (records, sheets and keys are never overwritten).
 */
export function checkOutputFile(path: string, what: string, opts: { fresh?: boolean; force?: boolean } = {}): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) invalidInput(`The folder ${dir} for the ${what} does not exist.`, 'Create the folder first, or name a file in a folder that exists.', { path });
  if (!statSync(dir).isDirectory()) invalidInput(`${dir} is a file, not a folder, so the ${what} cannot be written in it.`, 'Name a file in a folder.', { path });
  if (existsSync(path)) {
    const st = statSync(path);
    if (st.isDirectory()) invalidInput(`${path} is a folder; the ${what} needs a file name.`, 'Name a file, for example inside that folder.', { path });
    if (opts.fresh) fileExists(path, true);
    if (!opts.force) fileExists(path, false);
    if (!st.isFile()) invalidInput(`${path} is not a regular file, so it cannot be replaced.`, 'Name a regular file; leave out --out to print to standard output.', { path });
  }
}

/**
 * An output file that exists: FILE_EXISTS, the code the app's save gives too (files/atomic.ts), exit
 * 2 like the other refusals of a path. `fresh`: records, sheets and keys, never overwritten.
 */
function fileExists(path: string, fresh: boolean): never {
  return fail('FILE_EXISTS', `${path} already exists; Custos does not overwrite it${fresh ? '' : ' unless told to'}.`, fresh ? 'Choose another file name, or move the old file away first.' : 'Choose another file name, or add --force to replace it.', { path });
}

/** Checks that `path` is a folder or can be made as one (its parent exists). */
export function checkOutputFolder(path: string, what: string): void {
  if (existsSync(path)) {
    if (!statSync(path).isDirectory()) invalidInput(`${path} is a file, not a folder for the ${what}.`, 'Name a folder (it is created if it does not exist).', { path });
    return;
  }
  const parent = dirname(resolve(path));
  if (!existsSync(parent) || !statSync(parent).isDirectory()) {
    invalidInput(`The folder ${parent} does not exist, so ${path} cannot be made for the ${what}.`, 'Create the parent folder first, or name a folder in one that exists.', { path });
  }
}

/**
 * Writes an output file atomically, with the same words as checkOutputFile when the file system
 * says no (the folder may have gone between the check and the write). `mode` is the new file's.
 */
export function writeOutputFile(path: string, data: string | Uint8Array, what: string, opts: { mode?: number; fresh?: boolean; force?: boolean } = {}): void {
  checkOutputFile(path, what, opts);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  try {
    writeFileAtomic(dirname(resolve(path)), basename(path), bytes, { mode: opts.mode ?? 0o644, replace: !!opts.force && !opts.fresh });
  } catch (e) {
    if (!(e instanceof CustosError)) throw e;
    const code = e.appError.code;
    // The CLI's words for a file: usage errors (exit 2) name the path and the flag that helps.
    if (code === 'FILE_EXISTS') fileExists(path, !!opts.fresh);
    if (code === 'MEDIA_READ_ONLY') invalidInput(`The ${what} cannot be written to ${path}: ${e.appError.message.includes('read-only') ? 'the media is read-only' : 'permission denied'}.`, 'Choose a folder you may write to.', { path });
    if (code === 'DISK_FULL') invalidInput(`The disk is full; the ${what} was not written to ${path}.`, 'Free some space and try again.', { path });
    if (code === 'FOLDER_NOT_FOUND') invalidInput(`The folder ${dirname(resolve(path))} for the ${what} does not exist.`, 'Create the folder first, or name a file in a folder that exists.', { path });
    invalidInput(`The ${what} cannot be written to ${path} (${code}).`, 'Check the path.', { path });
  }
}

/** Fails when any of `paths` exists: records, sheets and keys are never overwritten. */
export function refuseExisting(paths: readonly string[]): void {
  for (const p of paths) {
    if (existsSync(p)) fail('FILE_EXISTS', `${p} already exists; Custos does not overwrite it.`, 'Choose another file name or folder, or move the old file away first.', { path: p });
  }
}
