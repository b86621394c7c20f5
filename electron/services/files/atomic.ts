// Writing a file or a folder onto removable media so that it is either all there under its final
// name or not there at all. The bytes go to a temporary name in the target folder itself (a rename
// is atomic only within one file system, POSIX rename(2)), are fsync'ed, and only then take the
// final name: link(2) when nothing may be replaced (it fails with EEXIST if the name appeared
// meanwhile, so two saves cannot clobber each other), rename(2) when the person said "replace".
// A failure removes the temporary file; a process killed half-way leaves one whose name carries its
// PID and start time, and the next save into that folder removes it once that process is gone.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../../shared/result';
import { isRunning, markOf } from '../process-alive';

const TMP = /^\..+\.custos-tmp\.(\d+)\.(\d+|x)\.[0-9a-f]{8}$/;

function tempName(name: string): string {
  const m = markOf();
  return `.${name.slice(0, 100)}.custos-tmp.${m.pid}.${m.start ?? 'x'}.${randomBytes(4).toString('hex')}`;
}

/** A plain file name: no folder part, no control characters, not "." or "..". */
export function checkFileName(name: string): void {
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (!name || Buffer.byteLength(name) > 255 || name === '.' || name === '..' || /[/\u0000-\u001f]/.test(name)) {
    fail('INVALID_INPUT', `“${name.slice(0, 60)}” cannot be used as a file name.`, 'Choose a name without slashes or control characters.', { name: name.slice(0, 60) });
  }
}

/** The typed error for a failed write, by errno: what happened to the media and what to do. */
export function writeError(e: unknown, where: string): never {
  const code = (e as NodeJS.ErrnoException).code;
  if (e instanceof Error && e.name === 'CustosError') throw e;
  switch (code) {
    case 'EEXIST':
    case 'ENOTEMPTY':
      return fail('FILE_EXISTS', `${where} already exists; Custos does not overwrite it.`, 'Move the old file away (or choose another name) and save again; replace it only if it is an older copy of the same thing.', { path: where });
    case 'ENOENT':
    case 'ENOTDIR':
      return fail('FOLDER_NOT_FOUND', `The folder for ${where} is not there (was the media removed?).`, 'Insert the media again or choose a folder that exists, then save again.', { path: where });
    case 'EROFS':
      return fail('MEDIA_READ_ONLY', `${where} cannot be written: the media is read-only.`, 'Slide the write-protect switch off, or choose other media, then save again.', { path: where });
    case 'EACCES':
    case 'EPERM':
      return fail('MEDIA_READ_ONLY', `${where} cannot be written: permission denied.`, 'Choose a folder you may write to, then save again.', { path: where });
    case 'ENOSPC':
    case 'EDQUOT':
      return fail('DISK_FULL', `The media is full; nothing was saved to ${where}.`, 'Free some space on it or use other media, then save again.', { path: where });
    default:
      return fail('FILE_WRITE_FAILED', `${where} could not be written (${code ?? 'error'}); nothing was saved.`, 'Check the media (it may be failing) and save again, or use other media.', { path: where });
  }
}

/** The folder must exist and be a real folder (not a symlink to elsewhere swapped in later). */
export function checkFolder(dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    return writeError(e, dir);
  }
  if (!st.isDirectory()) fail('FOLDER_NOT_FOUND', `${dir} is not a folder.`, 'Choose a folder to save into.', { path: dir });
}

/** Removes temporary files and folders that a killed save left in `dir`. */
export function sweepLeftovers(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of names) {
    const m = TMP.exec(n);
    if (!m) continue;
    if (isRunning({ pid: Number(m[1]), start: m[2] === 'x' ? null : m[2]! })) continue;
    try {
      rmSync(join(dir, n), { recursive: true, force: true });
      removed++;
    } catch {
      /* read-only media: the write below reports it */
    }
  }
  return removed;
}

function writeAll(path: string, bytes: Uint8Array, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some file systems (vfat on some kernels) refuse fsync on a folder; the data itself is synced */
  }
}

/** Writes `bytes` to dir/name atomically; refuses an existing name unless `replace`. */
export function writeFileAtomic(dir: string, name: string, bytes: Uint8Array, opts: { mode: number; replace?: boolean }): string {
  checkFileName(name);
  checkFolder(dir);
  const final = join(dir, name);
  const existing = lstatOrNull(final);
  if (existing && (!opts.replace || !existing.isFile())) writeError({ code: 'EEXIST' }, final);
  sweepLeftovers(dir);
  const tmp = join(dir, tempName(name));
  try {
    writeAll(tmp, bytes, opts.mode);
    if (opts.replace) renameSync(tmp, final);
    else {
      linkSync(tmp, final);
      unlinkSync(tmp);
    }
    fsyncDir(dir);
  } catch (e) {
    rmSync(tmp, { force: true });
    writeError(e, final);
  }
  return final;
}

/**
 * Makes a folder dir/name atomically (never replacing: a folder is named once): `fill` writes its
 * files into a temporary folder beside it, which takes the final name only when all are written.
 * Every file is then set to `mode` and fsync'ed.
 */
export async function writeFolderAtomic(dir: string, name: string, fill: (tmp: string) => Promise<void> | void, opts: { mode: number }): Promise<string> {
  checkFileName(name);
  checkFolder(dir);
  const final = join(dir, name);
  if (lstatOrNull(final)) writeError({ code: 'EEXIST' }, final);
  sweepLeftovers(dir);
  const tmp = join(dir, tempName(name));
  try {
    mkdirSync(tmp, { mode: 0o700 });
    await fill(tmp);
    for (const n of readdirSync(tmp)) {
      const p = join(tmp, n);
      const fd = openSync(p, 'r');
      try {
        fchmodSync(fd, opts.mode);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    fsyncDir(tmp);
    // rename(2) onto an existing empty folder would succeed: checked above, and again here.
    if (lstatOrNull(final)) writeError({ code: 'EEXIST' }, final);
    renameSync(tmp, final);
    fsyncDir(dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    writeError(e, final);
  }
  return final;
}

/** One file into a folder being filled (a new file, never an existing one). */
export function writeNew(path: string, bytes: Uint8Array, mode: number): void {
  writeAll(path, bytes, mode);
}

function lstatOrNull(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}
