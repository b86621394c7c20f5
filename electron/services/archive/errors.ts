// Typed errors of the archive, and SQLite's errors translated into them. Messages name the file
// and say what to do; they never contain key material, MACs of secrets, or PINs.
import { CustosError, type AppError, type ErrorCode } from '../../../shared/result';

export function archiveError(code: ErrorCode, message: string, action: string, details?: AppError['details']): CustosError {
  return new CustosError(details ? { code, message, action, details } : { code, message, action });
}

export function notAnArchive(path: string, why: string): CustosError {
  return archiveError('ARCHIVE_NOT_ARCHIVE', `${path} is not a Custos archive (${why}).`, 'Check the file name; a Custos archive is made with `custos archive init`.', { path });
}

export function corrupt(path: string, why: string): CustosError {
  return archiveError(
    'ARCHIVE_CORRUPT',
    `The archive ${path} is damaged: ${why}.`,
    'Do not write to it. Restore the archive from a backup copy (with its -wal file, if there is one) and run `custos archive verify` on it.',
    { path },
  );
}

/** Maps an exception from better-sqlite3 to a typed error; anything else passes through. */
export function fromSqlite(e: unknown, path: string): unknown {
  if (e instanceof CustosError) return e;
  const err = e as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof err?.code !== 'string' || !err.code.startsWith('SQLITE_')) return e;
  const code = err.code;
  const msg = typeof err.message === 'string' ? err.message : '';
  if (code === 'SQLITE_NOTADB') return notAnArchive(path, 'not a database, or encrypted by another tool');
  if (code.startsWith('SQLITE_CORRUPT')) return corrupt(path, 'SQLite reports the database structure as malformed');
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return archiveError('ARCHIVE_BUSY', `The archive ${path} is being written by another program.`, 'Wait until the other Custos window or command has finished, then try again.', { path });
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return archiveError('INVALID_INPUT', `The archive ${path} is read-only here.`, 'Copy it to a writable place, or use only search and show (which do not write).', { path });
  }
  if (code === 'SQLITE_FULL') return archiveError('DEVICE_MEMORY', `The disk holding ${path} is full; nothing was written.`, 'Free some space and repeat the step.', { path });
  if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN') {
    return archiveError('ARCHIVE_CORRUPT', `The archive ${path} could not be read or written (${code}).`, 'Check the storage device and the file permissions; if the medium is failing, restore from a backup copy.', { path, sqlite: code });
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    const custos = /custos: (.*)$/.exec(msg)?.[1];
    if (custos?.includes('lifecycle')) {
      return archiveError('LIFECYCLE_TRANSITION_INVALID', 'The archive refused a state change that the key lifecycle does not allow.', 'Check the version\'s state; only the transitions of NIST SP 800-57 are possible.', { path });
    }
    if (msg.includes('key_versions_one_active') || (msg.includes('key_versions.key_id') && msg.includes('UNIQUE'))) {
      return archiveError('ARCHIVE_CONFLICT', 'A key can have only one active version at a time.', 'Deactivate the active version first (a rotation does both in one step).', { path });
    }
    if (msg.includes('keys.label')) return archiveError('ARCHIVE_CONFLICT', 'Another key in the archive already has this label.', 'Choose another label, or add a version to the existing key.', { path });
    return archiveError('ARCHIVE_CONFLICT', `The archive refused the change: ${custos ?? 'a constraint failed'}.`, 'Nothing was written. Check the input and try again.', { path, sqlite: code });
  }
  return archiveError('FUNCTION_FAILED', `The archive ${path} reported an error (${code}).`, 'Nothing was written. Try again; if it repeats, run `custos archive verify`.', { path, sqlite: code });
}

/** The next step for input that breaks a rule the message names. */
export const FIX_INPUT = 'Correct the input and try again.';
