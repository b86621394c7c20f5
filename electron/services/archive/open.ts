// Opening an archive file, carefully: nothing is written to a file until it is known to be a
// Custos archive of a schema this code understands, whose audit log is not older than the newest
// checkpoint this workstation has seen. Checks, in order:
//   1. the first 100 bytes (read with plain file I/O): SQLite magic, application_id 'CUST',
//      user_version not newer than this code;
//   2. a read-only connection: meta.format, the schema version, the identity row;
//   3. the rollback anchor (anchors.ts);
// and only then, unless read-only was asked for, a read-write connection that may run migrations.
import Database from 'better-sqlite3';
import { closeSync, existsSync, linkSync, openSync, readSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ARCHIVE_FORMAT_ID } from '../../../shared/archive/types';
import type { AnchorStore } from './anchors';
import { archiveError, corrupt, fromSqlite, notAnArchive } from './errors';
import { APPLICATION_ID, applyPragmas, LATEST_SCHEMA, migrate, type Db } from './schema';

export interface OpenOptions {
  readonly?: boolean;
  anchors?: AnchorStore | null;
  /** Accept an archive older than the anchor (a backup restored on purpose) and move the anchor back. */
  acceptRollback?: boolean;
}

export interface OpenedFile {
  db: Db;
  path: string;
  archiveId: string;
  schemaVersion: number;
  readonly: boolean;
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

function readHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(100);
    const n = readSync(fd, buf, 0, 100, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function tooNew(path: string, version: number): Error {
  return archiveError(
    'ARCHIVE_VERSION_UNSUPPORTED',
    `The archive ${path} has schema version ${version}; this version of Custos understands up to ${LATEST_SCHEMA}.`,
    'Open it with a newer version of Custos. Nothing was changed in the file.',
    { path, schemaVersion: version, supported: LATEST_SCHEMA },
  );
}

function guarded<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromSqlite(e, path);
  }
}

/** Structural checks on a read-only connection; returns the archive id and schema version. */
function inspect(db: Db, path: string): { archiveId: string; schemaVersion: number } {
  return guarded(path, () => {
    const appId = db.pragma('application_id', { simple: true }) as number;
    if (appId !== APPLICATION_ID) throw notAnArchive(path, 'its application id is not Custos');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > LATEST_SCHEMA) throw tooNew(path, version);
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (!hasMeta) throw notAnArchive(path, 'it has no meta table');
    const meta = Object.fromEntries((db.prepare('SELECT key, value FROM meta').all() as Array<{ key: string; value: string }>).map((r) => [r.key, r.value]));
    if (meta.format !== ARCHIVE_FORMAT_ID) throw notAnArchive(path, `its format is "${String(meta.format ?? 'missing').slice(0, 40)}"`);
    const schemaVersion = Number(meta.schema_version);
    if (schemaVersion > LATEST_SCHEMA) throw tooNew(path, schemaVersion);
    if (schemaVersion !== version) throw corrupt(path, `meta.schema_version (${meta.schema_version}) and user_version (${version}) disagree`);
    const ws = db.prepare('SELECT archive_id FROM workstation').all() as Array<{ archive_id: string }>;
    if (ws.length !== 1 || ws[0]!.archive_id !== meta.archive_id) throw corrupt(path, 'the identity row is missing or does not match meta.archive_id');
    return { archiveId: ws[0]!.archive_id, schemaVersion: version };
  });
}

function checkAnchor(db: Db, path: string, archiveId: string, anchors: AnchorStore, accept: boolean): void {
  const anchor = anchors.get(archiveId);
  if (!anchor) return;
  const last = guarded(path, () => db.prepare('SELECT seq, head FROM checkpoints ORDER BY seq DESC LIMIT 1').get() as { seq: number; head: string } | undefined);
  const lastSeq = last?.seq ?? 0;
  if (lastSeq < anchor.seq) {
    if (accept) {
      anchors.reset(archiveId, last ? { seq: last.seq, headHash: last.head, at: new Date().toISOString(), path } : null);
      return;
    }
    throw archiveError(
      'ARCHIVE_ROLLED_BACK',
      `The archive ${path} ends at checkpoint ${lastSeq}, but this workstation has already seen checkpoint ${anchor.seq}: recent changes are missing (an older copy, a lost or truncated -wal file, or a cut-off log).`,
      'Find the newest copy of the archive (with its -wal file) and open that. If you restored an older backup on purpose, open it with --accept-rollback.',
      { path, lastCheckpoint: lastSeq, expected: anchor.seq },
    );
  }
  const at = guarded(path, () => db.prepare('SELECT head FROM checkpoints WHERE seq = ?').get(anchor.seq) as { head: string } | undefined);
  if (!at || at.head !== anchor.headHash) {
    throw archiveError(
      'ARCHIVE_TAMPERED',
      `Checkpoint ${anchor.seq} of ${path} is not the one this workstation recorded: the audit log was rewritten, or this is a different archive with the same id.`,
      'Do not use this file. Run `custos archive verify` on it and restore the archive from a trusted copy.',
      { path, checkpoint: anchor.seq },
    );
  }
}

export function openArchiveFile(pathIn: string, opts: OpenOptions = {}): OpenedFile {
  const path = resolve(pathIn);
  if (!existsSync(path)) {
    throw archiveError('ARCHIVE_NOT_FOUND', `There is no archive at ${path}.`, 'Check the path given with --archive, or create an archive with `custos archive init`.', { path });
  }
  const st = statSync(path);
  if (!st.isFile()) throw notAnArchive(path, 'it is not a regular file');
  const header = readHeader(path);
  if (header.length < 100 || !header.subarray(0, 16).equals(SQLITE_MAGIC)) {
    throw notAnArchive(path, header.length === 0 ? 'the file is empty' : 'it is not an SQLite database');
  }
  // The header fields are only a first look: they may lag behind the -wal file, so the connection checks them again.
  if (header.readUInt32BE(68) !== APPLICATION_ID) throw notAnArchive(path, 'its application id is not Custos');
  const headerVersion = header.readUInt32BE(60);
  if (headerVersion > LATEST_SCHEMA) throw tooNew(path, headerVersion);

  let ro: Db;
  try {
    ro = new Database(path, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw fromSqlite(e, path);
  }
  let info: { archiveId: string; schemaVersion: number };
  try {
    ro.pragma('busy_timeout = 10000');
    info = inspect(ro, path);
    if (opts.anchors) checkAnchor(ro, path, info.archiveId, opts.anchors, opts.acceptRollback === true);
  } catch (e) {
    ro.close();
    throw e;
  }
  if (opts.readonly) {
    ro.pragma('query_only = ON');
    return { db: ro, path, archiveId: info.archiveId, schemaVersion: info.schemaVersion, readonly: true };
  }
  ro.close();
  const db = guarded(path, () => new Database(path, { fileMustExist: true }));
  try {
    guarded(path, () => {
      applyPragmas(db);
      if (info.schemaVersion < LATEST_SCHEMA) {
        migrate(db, new Date().toISOString());
        db.pragma('wal_checkpoint(TRUNCATE)');
      }
    });
  } catch (e) {
    db.close();
    throw e;
  }
  return { db, path, archiveId: info.archiveId, schemaVersion: LATEST_SCHEMA, readonly: false };
}

/**
 * A new archive is built in a temporary file next to `path` and linked into place only when
 * complete (link(2) refuses to replace an existing file), so a crash during init never leaves a
 * half-made archive under the real name.
 */
export function createArchiveFile(pathIn: string): { db: Db; tmp: string; path: string } {
  const path = resolve(pathIn);
  if (existsSync(path)) {
    throw archiveError('ARCHIVE_EXISTS', `A file already exists at ${path}.`, 'Choose another path; Custos never overwrites an archive.', { path });
  }
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw archiveError('INVALID_INPUT', `The folder ${dir} does not exist, so the archive cannot be created in it.`, 'Create the folder first (it should be readable by you only), or choose another path.', { path });
  }
  const tmp = `${path}.init-${process.pid}-${Date.now()}`;
  // Created empty with mode 0600 before SQLite opens it: SQLite would make it 0644, readable by every
  // user of the workstation, and gives its -wal and -shm files the database file's mode (issue #11).
  try {
    writeFileSync(tmp, '', { flag: 'wx', mode: 0o600 });
  } catch (e) {
    throw archiveError('INVALID_INPUT', `The archive cannot be created in ${dir} (${(e as { code?: string }).code ?? 'error'}).`, 'Choose a folder you may write to.', { path });
  }
  const db = guarded(path, () => new Database(tmp));
  guarded(path, () => {
    applyPragmas(db);
    migrate(db, new Date().toISOString());
  });
  return { db, tmp, path };
}

export function finishCreate(c: { db: Db; tmp: string; path: string }): void {
  guarded(c.path, () => c.db.pragma('wal_checkpoint(TRUNCATE)'));
  c.db.close();
  try {
    linkSync(c.tmp, c.path);
  } catch {
    throw archiveError('ARCHIVE_EXISTS', `A file appeared at ${c.path} while the archive was being created.`, 'Choose another path; Custos never overwrites an archive.', { path: c.path });
  } finally {
    for (const f of [c.tmp, `${c.tmp}-wal`, `${c.tmp}-shm`]) {
      try {
        unlinkSync(f);
      } catch {
        /* already gone */
      }
    }
  }
}

export function abandonCreate(c: { db: Db; tmp: string }): void {
  try {
    c.db.close();
  } catch {
    /* closing is best effort here */
  }
  for (const f of [c.tmp, `${c.tmp}-wal`, `${c.tmp}-shm`]) {
    try {
      unlinkSync(f);
    } catch {
      /* already gone */
    }
  }
}
