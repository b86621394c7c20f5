// Opening an archive file, carefully: nothing is written to a file until it is known to be a
// Custos archive of a schema this code understands, whose audit log is not older than the newest
// checkpoint this workstation has seen. Checks, in order:
//   1. the first 100 bytes (read with plain file I/O): SQLite magic, application_id 'CUST',
//      user_version not newer than this code;
//   2. a read-only connection: meta.format, the schema version, the identity row;
//   3. the rollback anchor and the pinned audit key (anchors.ts);
// and only then, unless read-only was asked for, a read-write connection that may run migrations.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, linkSync, openSync, readSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ARCHIVE_FORMAT_ID } from '../../../shared/archive/types';
import type { CustosError } from '../../../shared/result';
import { readHandovers } from '../audit/handover';
import type { AnchorStore } from './anchors';
import { archiveError, corrupt, fromSqlite, notAnArchive } from './errors';
import { APPLICATION_ID, applyPragmas, LATEST_SCHEMA, migrate, type Db } from './schema';

export interface OpenOptions {
  readonly?: boolean;
  anchors?: AnchorStore | null;
  /** Accept an archive older than the anchor (a backup restored on purpose) and move the anchor back. */
  acceptRollback?: boolean;
  /**
   * Open even if the stored audit key is not the one this workstation pinned, so that the
   * mismatch can be reported (`archive info`, `archive verify`, `audit verify`). Every other
   * open refuses such a file: its log, its bundles and its evidence would all be checked against
   * a key someone else may hold. Only with read-only opens.
   */
  reportAuditKey?: boolean;
}

export interface OpenedFile {
  db: Db;
  path: string;
  archiveId: string;
  schemaVersion: number;
  readonly: boolean;
}

/** The stored audit key as the file gives it, for the pin check. */
interface StoredAuditKey {
  /** SHA-256 of the stored SPKI: the key verification actually uses. */
  spkiFingerprint: string;
  /** The fingerprint stored beside it (workstation.audit_fingerprint). */
  recorded: string;
  /** The stored SPKI itself (to follow audit key handovers from the pinned key). */
  spki?: Buffer;
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
function inspect(db: Db, path: string): { archiveId: string; schemaVersion: number; auditKey: StoredAuditKey } {
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
    const ws = db.prepare('SELECT archive_id, audit_spki, audit_fingerprint FROM workstation').all() as Array<{ archive_id: string; audit_spki: unknown; audit_fingerprint: unknown }>;
    if (ws.length !== 1 || ws[0]!.archive_id !== meta.archive_id) throw corrupt(path, 'the identity row is missing or does not match meta.archive_id');
    const w = ws[0]!;
    const spki = Buffer.isBuffer(w.audit_spki) ? w.audit_spki : Buffer.from(String(w.audit_spki ?? ''), 'utf8');
    const auditKey = { spkiFingerprint: createHash('sha256').update(spki).digest('hex'), recorded: String(w.audit_fingerprint ?? ''), spki };
    return { archiveId: w.archive_id, schemaVersion: version, auditKey };
  });
}

/**
 * The stored audit key must be the one this workstation pinned: both the key itself (its SPKI's
 * SHA-256, what signatures are checked with) and the fingerprint recorded beside it.
 */
function checkPin(db: Db, path: string, archiveId: string, stored: StoredAuditKey, anchors: AnchorStore): void {
  const pinned = anchors.pinnedAuditKey(archiveId);
  if (!pinned || (stored.spkiFingerprint === pinned && stored.recorded === pinned)) return;
  // An audit key rotation since this workstation pinned the key: follow the handovers from the
  // pinned key to the stored one, each checked against the key before it, and move the pin.
  if (stored.spkiFingerprint === stored.recorded && stored.spki) {
    const chain = guarded(path, () => readHandovers(db, archiveId, stored.spki!, { covering: true }));
    const from = chain.keys.findIndex((k) => k.fingerprint === pinned);
    if (from >= 0 && chain.problems.length === 0 && chain.keys[chain.keys.length - 1]!.fingerprint === stored.spkiFingerprint) {
      anchors.movePin(archiveId, pinned, stored.spkiFingerprint);
      return;
    }
  }
  throw archiveError(
    'ARCHIVE_TAMPERED',
    `The audit key stored in ${path} (fingerprint ${stored.spkiFingerprint.slice(0, 16)}…) is not the one this workstation pinned for the archive (${pinned.slice(0, 16)}…): the key was swapped, and the log may have been re-signed by someone else.`,
    'Do not use this file, and do not hand out its audit key. Run `custos archive info` and `custos archive verify` on it, and restore the archive from a trusted copy.',
    { path, pinned, stored: stored.spkiFingerprint },
  );
}

function checkAnchor(db: Db, path: string, archiveId: string, anchors: AnchorStore, accept: boolean): void {
  const anchor = anchors.get(archiveId);
  // seq 0: a pin kept after --accept-rollback to an archive with no checkpoint yet.
  if (!anchor || anchor.seq < 1) return;
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
    const inspected = inspect(ro, path);
    info = inspected;
    if (opts.anchors) {
      if (!(opts.reportAuditKey && opts.readonly)) checkPin(ro, path, info.archiveId, inspected.auditKey, opts.anchors);
      checkAnchor(ro, path, info.archiveId, opts.anchors, opts.acceptRollback === true);
    }
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

/** An archive being created: its connection, its temporary file and the name it will take. */
export interface Creating {
  db: Db;
  tmp: string;
  path: string;
}

/** What a temporary file set is made of: the database and SQLite's companions (WAL, index, rollback journal). */
const TEMP_SET = ['', '-wal', '-shm', '-journal'];

/**
 * The temporary name a new archive is built under: `FILE.init-PID-MS`. The process id and time in
 * it let a later run tell whether the process that made it may still be at work (init-recovery.ts).
 */
export function tempNameFor(pathIn: string): string {
  return `${resolve(pathIn)}.init-${process.pid}-${Date.now()}`;
}

export function archiveExists(path: string): CustosError {
  return archiveError('ARCHIVE_EXISTS', `A file already exists at ${path}.`, 'Choose another path; Custos never overwrites an archive.', { path });
}

/**
 * A new archive is built in a temporary file next to `path` and linked into place only when
 * complete (link(2) refuses to replace an existing file), so a crash during init never leaves a
 * half-made archive under the real name. What a crash does leave (the temporary files, keys in the
 * HSM) is named in the init journal and cleared by init-recovery.ts.
 */
export function createArchiveFile(pathIn: string, tmp: string = tempNameFor(pathIn)): Creating {
  const path = resolve(pathIn);
  if (existsSync(path)) throw archiveExists(path);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw archiveError('INVALID_INPUT', `The folder ${dir} does not exist, so the archive cannot be created in it.`, 'Create the folder first (it should be readable by you only), or choose another path.', { path });
  }
  // Created empty with mode 0600 before SQLite opens it: SQLite would make it 0644, readable by every
  // user of the workstation, and gives its -wal and -shm files the database file's mode (issue #11).
  try {
    writeFileSync(tmp, '', { flag: 'wx', mode: 0o600 });
  } catch (e) {
    throw archiveError('INVALID_INPUT', `The archive cannot be created in ${dir} (${(e as { code?: string }).code ?? 'error'}).`, 'Choose a folder you may write to.', { path });
  }
  const db = guarded(path, () => new Database(tmp));
  try {
    guarded(path, () => {
      applyPragmas(db);
      migrate(db, new Date().toISOString());
    });
  } catch (e) {
    abandonCreate({ db, tmp });
    throw e;
  }
  return { db, tmp, path };
}

/** Folds the WAL into the temporary file, closes it and links it to its real name; the temporary names go. */
export function finishCreate(c: Creating): void {
  guarded(c.path, () => c.db.pragma('wal_checkpoint(TRUNCATE)'));
  c.db.close();
  try {
    linkSync(c.tmp, c.path);
  } catch {
    throw archiveError('ARCHIVE_EXISTS', `A file appeared at ${c.path} while the archive was being created.`, 'Choose another path; Custos never overwrites an archive.', { path: c.path });
  } finally {
    removeTempSet(c.tmp);
  }
}

export function abandonCreate(c: { db: Db; tmp: string }): void {
  try {
    c.db.close();
  } catch {
    /* closing is best effort here */
  }
  removeTempSet(c.tmp);
}

/** Deletes a temporary archive and its companions; returns the files that were there. */
export function removeTempSet(tmp: string): string[] {
  const removed: string[] = [];
  for (const f of TEMP_SET.map((s) => `${tmp}${s}`)) {
    try {
      unlinkSync(f);
      removed.push(f);
    } catch {
      /* not there */
    }
  }
  return removed;
}

/**
 * The temporary file of an interrupted init, reopened (which replays its -wal) if its identity row
 * was committed: then it is a complete archive that only missed being linked into place. Null when
 * it is missing, unreadable or incomplete (the commit never happened: nothing in it is worth keeping).
 */
export function reopenCreated(tmp: string, pathIn: string): { creating: Creating; archiveId: string } | null {
  if (!existsSync(tmp)) return null;
  let db: Db;
  try {
    db = new Database(tmp, { fileMustExist: true });
  } catch {
    return null;
  }
  try {
    applyPragmas(db);
    const ws = db.prepare('SELECT archive_id FROM workstation').all() as Array<{ archive_id: string }>;
    const meta = db.prepare("SELECT value FROM meta WHERE key = 'archive_id'").get() as { value: string } | undefined;
    if (ws.length === 1 && meta?.value === ws[0]!.archive_id) return { creating: { db, tmp, path: resolve(pathIn) }, archiveId: meta.value };
  } catch {
    /* no tables yet, or a file cut off while it was being made */
  }
  db.close();
  return null;
}

/** The archive id of the Custos archive at `path`, or null (no file, not an archive, unreadable). Read-only. */
export function archiveIdAt(path: string): string | null {
  if (!existsSync(path)) return null;
  let db: Db | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    if ((db.pragma('application_id', { simple: true }) as number) !== APPLICATION_ID) return null;
    const row = db.prepare("SELECT value FROM meta WHERE key = 'archive_id'").get() as { value: string } | undefined;
    return row?.value ?? null;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}
