// What `archive verify` rebuilds and compares, for the parts of the file that carry no MAC
// (issue #11 part 3; docs/FORMAT.md "What verify checks"):
//
//   schema                the tables, indexes and triggers (sqlite_master) must be exactly those
//                         the migrations create: a trigger dropped, a CHECK or a primary key
//                         taken away (to slip in a duplicate meta row), an index redefined;
//   key_tags,             search indexes, rebuilt from the MACed keys rows (keys.tags,
//   key_custodians        keys.custodians): a custodian's row deleted here hides a key from
//                         `archive search --custodian`;
//   lifecycle_reachable   the table behind the transition trigger, rebuilt from the lifecycle in
//                         shared/archive/lifecycle.ts: an extra pair would let the trigger accept
//                         "destroyed" back to "active".
//
// Rows are read with NOT INDEXED: the tables themselves, not an index that might disagree with
// them (which only SQLite's integrity_check would notice; `archive verify --full` runs it).
import Database from 'better-sqlite3';
import { reachablePairs } from '../../../shared/archive/lifecycle';
import type { VerifyProblem } from '../../../shared/archive/types';
import { MIGRATIONS, type Db } from './schema';

interface SchemaRow {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

/** Statistics tables that `ANALYZE` may add: they steer query plans, never answers. */
const IGNORED = /^sqlite_stat\d$/;
const norm = (sql: string | null) => (sql === null ? null : sql.replace(/\s+/g, ' ').trim());

const expectedSchemas = new Map<number, Map<string, SchemaRow>>();

/** sqlite_master as the migrations up to `version` make it (built once, in memory). */
function expectedSchema(version: number): Map<string, SchemaRow> {
  let s = expectedSchemas.get(version);
  if (!s) {
    const mem = new Database(':memory:');
    try {
      for (const m of MIGRATIONS) if (m.version <= version) m.up(mem);
      s = new Map((mem.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master').all() as SchemaRow[]).map((r) => [`${r.type} ${r.name}`, r]));
    } finally {
      mem.close();
    }
    expectedSchemas.set(version, s);
  }
  return s;
}

export function schemaProblems(db: Db, version: number): VerifyProblem[] {
  const out: VerifyProblem[] = [];
  const want = expectedSchema(version);
  const have = new Map<string, SchemaRow>();
  for (const r of db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master').all() as SchemaRow[]) {
    if (IGNORED.test(r.name)) continue;
    const k = `${r.type} ${r.name}`;
    if (have.has(k)) out.push({ check: 'schema', message: `The schema names ${r.type} ${r.name} twice: it was edited outside SQLite.` });
    have.set(k, r);
  }
  for (const [k, w] of want) {
    const h = have.get(k);
    if (!h) out.push({ check: 'schema', table: w.tbl_name, message: `The ${w.type} ${w.name} is missing from the archive: it was dropped.` });
    else if (h.tbl_name !== w.tbl_name || norm(h.sql) !== norm(w.sql)) out.push({ check: 'schema', table: w.tbl_name, message: `The ${w.type} ${w.name} is not defined as Custos defines it: it was changed.` });
  }
  for (const [k, h] of have) if (!want.has(k)) out.push({ check: 'schema', table: h.tbl_name, message: `The ${h.type} ${h.name} is not part of a Custos archive: it was added.` });
  return out;
}

/** Rows of a (derived) table as strings, for set comparison. */
const key = (...v: unknown[]) => JSON.stringify(v);

function compareSets(table: string, have: string[], want: Set<string>, what: string): VerifyProblem[] {
  const seen = new Set<string>();
  let extra = 0;
  let dup = 0;
  for (const h of have) {
    if (seen.has(h)) dup++;
    seen.add(h);
    if (!want.has(h)) extra++;
  }
  let missing = 0;
  for (const w of want) if (!seen.has(w)) missing++;
  if (extra + missing + dup === 0) return [];
  const parts = [missing ? `${missing} missing` : '', extra ? `${extra} not derived from ${what}` : '', dup ? `${dup} duplicated` : ''].filter(Boolean).join(', ');
  return [{ check: 'derived', table, message: `The ${table} table does not match ${what}: ${parts}. It was edited outside Custos (searches may give wrong answers).` }];
}

export function derivedProblems(db: Db): VerifyProblem[] {
  const keys = db.prepare('SELECT id, label, tags, custodians FROM keys NOT INDEXED').all() as Array<{ id: string; label: string; tags: string; custodians: string }>;
  const tags = new Set<string>();
  const custodians = new Set<string>();
  for (const k of keys) {
    for (const t of parseList(k.tags)) tags.add(key(t, k.label, k.id));
    for (const c of parseList(k.custodians)) custodians.add(key(c, k.label, k.id));
  }
  const rows = (sql: string) => (db.prepare(sql).raw(true).all() as unknown[][]).map((r) => key(...r));
  return [
    ...compareSets('key_tags', rows('SELECT tag, label, key_id FROM key_tags NOT INDEXED'), tags, "the keys' tags"),
    ...compareSets('key_custodians', rows('SELECT custodian_id, label, key_id FROM key_custodians NOT INDEXED'), custodians, "the keys' custodians"),
    ...compareSets('lifecycle_reachable', rows('SELECT from_state, to_state FROM lifecycle_reachable NOT INDEXED'), new Set(reachablePairs().map(([a, b]) => key(a, b))), 'the key lifecycle (NIST SP 800-57)'),
  ];
}

/** A JSON array of strings as stored in keys.tags / keys.custodians; anything else derives nothing (the row's MAC speaks for it). */
function parseList(text: string): unknown[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}
