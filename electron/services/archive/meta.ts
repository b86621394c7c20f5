// The meta table (format, schema version, archive id, one note per migration) is not a MACed
// record, and an edit there — a duplicate key, a migration note deleted or re-dated — changes what
// a reader of the file is told about it (issue #11 part 3). Its content is therefore kept in the
// signed audit log: the first commit (archive init) and the first commit after each migration
// append an `archive.meta` entry holding the whole table, and `archive verify` compares the table
// with the newest such entry, besides checking what can be derived (the format, the schema version,
// the archive id, and each migration's description).
//
// An archive written before this entry existed gets it at its next commit, from the table as it
// then is (trust on first use, like the audit key pin for the same archives).
import { ARCHIVE_FORMAT_ID } from '../../../shared/archive/types';
import type { VerifyProblem } from '../../../shared/archive/types';
import type { EntryDraft } from '../audit/chain';
import { MIGRATIONS, type Db } from './schema';

export const META_OBJECT = 'meta';
export const META_ACTION = 'archive.meta';

export interface MetaSnapshot {
  seq: number;
  schemaVersion: number;
  meta: Record<string, string>;
}

/** Every row of meta, read from the table itself (NOT INDEXED: a duplicate key hides from the index). */
export function metaRows(db: Db): Array<{ key: string; value: string }> {
  return db.prepare('SELECT key, value FROM meta NOT INDEXED ORDER BY rowid').all() as Array<{ key: string; value: string }>;
}

/** The newest `archive.meta` entry of the audit log, or null. */
export function latestSnapshot(db: Db): MetaSnapshot | null {
  const r = db.prepare('SELECT seq, entry FROM audit_entries WHERE object_type = ? AND object_id = ? ORDER BY seq DESC LIMIT 1').get(META_OBJECT, META_OBJECT) as { seq: number; entry: string } | undefined;
  if (!r) return null;
  try {
    const d = (JSON.parse(r.entry) as { details?: { schemaVersion?: unknown; meta?: unknown } }).details;
    const meta = d?.meta;
    if (typeof d?.schemaVersion !== 'number' || !meta || typeof meta !== 'object' || Array.isArray(meta)) return null;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(meta)) if (typeof v === 'string') out[k] = v;
    return { seq: r.seq, schemaVersion: d.schemaVersion, meta: out };
  } catch {
    return null;
  }
}

/** Keys a migration to `version` may add or change after a snapshot taken at `since`. */
const changedByMigration = (key: string, since: number): boolean => key === 'schema_version' || (/^migration_\d+$/.test(key) && Number(key.slice(10)) > since);

/**
 * The audit entry that records the meta table, when one is due: no snapshot yet, or a migration
 * since the last one. Never one that would make an edited table look genuine: with duplicate
 * keys, or keys the last snapshot holds changed by something other than a migration, none is
 * written (and `archive verify` reports the table).
 */
export function metaDraft(db: Db, actor: string): EntryDraft | null {
  const rows = metaRows(db);
  const meta: Record<string, string> = {};
  for (const r of rows) {
    if (Object.hasOwn(meta, r.key)) return null;
    meta[r.key] = r.value;
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  const snap = latestSnapshot(db);
  if (snap && snap.schemaVersion >= version) return null;
  if (snap) {
    for (const [k, v] of Object.entries(snap.meta)) if (!changedByMigration(k, snap.schemaVersion) && meta[k] !== v) return null;
  }
  const sorted = Object.fromEntries(Object.keys(meta).sort().map((k) => [k, meta[k]!]));
  return { actor, action: META_ACTION, objectType: META_OBJECT, objectId: META_OBJECT, details: { schemaVersion: version, meta: sorted } };
}

const ISO_MS = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z';
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What `archive verify` finds wrong with the meta table. */
export function metaProblems(db: Db, archiveId: string, version: number): VerifyProblem[] {
  const out: VerifyProblem[] = [];
  const problem = (message: string, id?: string) => out.push({ check: 'meta', table: 'meta', ...(id ? { id } : {}), message });
  const meta = new Map<string, string>();
  for (const r of metaRows(db)) {
    if (meta.has(r.key)) problem(`The meta table holds the key "${r.key.slice(0, 40)}" more than once: it was edited outside Custos.`, r.key);
    else meta.set(r.key, r.value);
  }
  const expect = (key: string, ok: (v: string) => boolean, what: string) => {
    const v = meta.get(key);
    if (v === undefined) problem(`The meta table has no "${key}" (${what}): it was deleted.`, key);
    else if (!ok(v)) problem(`The meta table's "${key}" is "${v.slice(0, 60)}", not ${what}.`, key);
  };
  expect('format', (v) => v === ARCHIVE_FORMAT_ID, `"${ARCHIVE_FORMAT_ID}"`);
  expect('schema_version', (v) => v === String(version), `the schema version ${version}`);
  expect('archive_id', (v) => v === archiveId, "the identity row's archive id");
  const known = new Set(['format', 'schema_version', 'archive_id']);
  for (const m of MIGRATIONS) {
    if (m.version > version) continue;
    const key = `migration_${m.version}`;
    known.add(key);
    const re = new RegExp(`^${ISO_MS} ${escapeRe(m.description)}$`);
    expect(key, (v) => re.test(v), `the note of migration ${m.version} (its time and "${m.description.slice(0, 40)}…")`);
  }
  for (const k of meta.keys()) if (!known.has(k)) problem(`The meta table holds "${k.slice(0, 40)}", which Custos never writes.`, k);
  const snap = latestSnapshot(db);
  if (snap) {
    if (snap.schemaVersion > version) problem(`Audit entry ${snap.seq} recorded schema version ${snap.schemaVersion}, but the file says ${version}: the file was rolled back or edited.`);
    for (const [k, v] of Object.entries(snap.meta)) {
      if (changedByMigration(k, snap.schemaVersion)) continue;
      const now = meta.get(k);
      if (now !== v) problem(`The meta table's "${k.slice(0, 40)}" is not what audit entry ${snap.seq} recorded${now === undefined ? ' (it was deleted)' : ''}.`, k);
    }
    // A migration note the snapshot recorded must still be there (checked above); one it did not
    // record may only be for a later migration.
    for (const k of meta.keys()) if (!Object.hasOwn(snap.meta, k) && !changedByMigration(k, snap.schemaVersion) && known.has(k)) problem(`The meta table's "${k}" was not in it when audit entry ${snap.seq} recorded the table.`, k);
  }
  return out;
}
