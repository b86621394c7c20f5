// `archive verify`: everything that can be checked.
//   Without the HSM: SQLite's structure, the audit chain and every checkpoint signature
//   (audit/verify.ts), and the domain rules the schema cannot state (invariants).
//   With the HSM, also:
//   1. the HSM's keys are the archive's (same audit public key, KEK check value, MAC key check);
//   2. every MACed row: HMAC-SHA256(Archive MAC key, canonical row) equals its mac column;
//   3. every MACed row is the one its newest audit entry recorded (same MAC), and every row the
//      audit log has a MAC for still exists. MACs alone cannot see a row put back to an older,
//      validly MACed copy (say, "compromised" back to "active") or a row deleted outright; the
//      signed audit chain can.
import { timingSafeEqual } from 'node:crypto';
import { CanonicalWriter, RECORDS, rowId, rowMacInput, type RecordSpec } from '../../../shared/archive/canonical';
import type { VerifyProblem, VerifyVerdict } from '../../../shared/archive/types';
import { CustosError } from '../../../shared/result';
import { HMAC_CHECK_DATA, hmacCheckOf, hsmCheckValues, hsmPublicKey } from '../hsm-kcv';
import { guarded, needsHsm, scopeOf, type ArchiveContext } from './context';
import type { ArchiveCrypto } from './crypto';
import { fromSqlite } from './errors';
import { refsOf } from './rows';
import type { Db } from './schema';

/** Problems listed in a verdict; beyond this they are counted. */
const MAX_PROBLEMS = 100;
/** Rows MACed per HSM request while checking row MACs. */
const PAGE = 4096;

/**
 * Checks everything that can be checked: SQLite's structure, the audit chain and every
 * checkpoint signature (no HSM needed), and with the HSM: every row's MAC, that each row is the
 * one its latest audit entry recorded (no row replaced by an older, validly MACed copy; no row
 * deleted), and that the HSM's keys are the archive's. Names the first bad audit entry.
 */
export async function verifyArchive(ctx: ArchiveContext, opts: { withHsm?: boolean; quickCheck?: boolean; threads?: number } = {}): Promise<VerifyVerdict> {
  const started = performance.now();
  const problems: VerifyProblem[] = [];
  const withHsm = opts.withHsm ?? ctx.crypto !== null;
  if (withHsm && !ctx.crypto) needsHsm();
  if (opts.quickCheck !== false) {
    try {
      const rows = ctx.db.pragma('quick_check(20)') as Array<{ quick_check: string }>;
      for (const r of rows) if (r.quick_check !== 'ok') problems.push({ check: 'sqlite', message: `SQLite: ${r.quick_check}` });
    } catch (e) {
      const mapped = fromSqlite(e, ctx.path);
      problems.push({ check: 'sqlite', message: mapped instanceof Error ? mapped.message : 'SQLite could not check the file.' });
    }
  }
  const anchor = ctx.anchors?.get(ctx.archiveId) ?? null;
  let chain;
  try {
    chain = await ctx.audit.verify(ctx.ws.audit_spki, { expect: anchor, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) });
  } catch (e) {
    throw fromSqlite(e, ctx.path);
  }
  problems.push(...chain.problems);
  let rows = 0;
  if (withHsm) {
    const b = ctx.binding;
    if (b) {
      // The HSM must hold this archive's audit key (same public key) and KEK (same check value).
      try {
        const pub = await hsmPublicKey(scopeOf(b), refsOf(ctx.ws).audit);
        if (!pub.spki.equals(ctx.ws.audit_spki)) problems.push({ check: 'identity', message: "The HSM's audit key is not the one recorded in the archive." });
        const kcv = await hsmCheckValues(scopeOf(b), refsOf(ctx.ws).kek);
        if (kcv.cmac !== ctx.ws.kek_check) problems.push({ check: 'identity', message: "The HSM's Archive KEK does not have the check value recorded in the archive." });
      } catch (e) {
        if (!(e instanceof CustosError)) throw e;
        problems.push({ check: 'identity', message: `The archive's keys could not be checked in the HSM: ${e.appError.message}` });
      }
    }
    const [check] = await ctx.crypto!.mac([HMAC_CHECK_DATA]);
    if (hmacCheckOf(check!) !== ctx.ws.mac_check) problems.push({ check: 'identity', message: 'The Archive MAC key in the HSM is not the one recorded in the archive.' });
    const r = await verifyRows(ctx.db, ctx.path, ctx.archiveId, ctx.crypto!);
    rows = r.rows;
    problems.push(...r.problems);
  }
  problems.push(...guarded(ctx, () => invariants(ctx.db)));
  return {
    ok: problems.length === 0,
    archiveId: ctx.archiveId,
    withHsm,
    entries: chain.entries,
    checkpoints: chain.checkpoints,
    lastCheckpoint: chain.lastCheckpoint ? { seq: chain.lastCheckpoint.seq, at: chain.lastCheckpoint.at } : null,
    rows,
    firstBadEntry: chain.firstBadEntry,
    problems: problems.slice(0, MAX_PROBLEMS),
    moreProblems: Math.max(0, problems.length - MAX_PROBLEMS),
    tookMs: Math.round(performance.now() - started),
  };
}

const pkExpr = (spec: RecordSpec, alias: string) => spec.key.map((k) => `${alias}.${k}`).join(` || '/' || `);

/** Checks 2 and 3 of the list at the top, table by table. */
export async function verifyRows(db: Db, _path: string, archiveId: string, crypto: ArchiveCrypto): Promise<{ rows: number; problems: VerifyProblem[] }> {
  const problems: VerifyProblem[] = [];
  const w = new CanonicalWriter();
  let rows = 0;
  for (const spec of Object.values(RECORDS)) {
    // A schema-1 archive opened read-only has not been migrated: its schema-2 tables are not there yet.
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(spec.table)) continue;
    const stmt = db.prepare(`SELECT rowid AS _rowid, * FROM ${spec.table} WHERE rowid > ? ORDER BY rowid LIMIT ${PAGE}`);
    let after = 0;
    for (;;) {
      const page = stmt.all(after) as Array<Record<string, unknown> & { _rowid: number; mac: Buffer }>;
      if (page.length === 0) break;
      const inputs = page.map((r) => rowMacInput(w, spec, archiveId, r).slice());
      const macs = await crypto.mac(inputs);
      page.forEach((r, i) => {
        const m = Buffer.from(macs[i]!);
        if (r.mac.length !== m.length || !timingSafeEqual(r.mac, m)) {
          problems.push({ check: 'row-mac', table: spec.table, id: rowId(spec, r), message: `Row ${rowId(spec, r)} of ${spec.table} does not match its MAC: it was altered, or copied from another row or archive.` });
        }
      });
      rows += page.length;
      after = page[page.length - 1]!._rowid;
    }

    const latest = `WITH latest AS (
        SELECT object_id, object_mac, max(seq) AS seq FROM audit_entries
        WHERE object_type = ? AND object_id IS NOT NULL AND object_mac IS NOT NULL GROUP BY object_id)`;
    const stale = db
      .prepare(`${latest} SELECT ${pkExpr(spec, 't')} AS id, l.seq AS seq FROM ${spec.table} t LEFT JOIN latest l ON l.object_id = ${pkExpr(spec, 't')} WHERE l.object_mac IS NULL OR l.object_mac <> lower(hex(t.mac)) LIMIT 50`)
      .all(spec.type) as Array<{ id: string; seq: number | null }>;
    for (const r of stale) {
      problems.push({
        check: 'row-audit',
        table: spec.table,
        id: r.id,
        ...(r.seq !== null ? { seq: r.seq } : {}),
        message:
          r.seq === null
            ? `Row ${r.id} of ${spec.table} has no audit entry: it was not written by Custos.`
            : `Row ${r.id} of ${spec.table} is not the one audit entry ${r.seq} recorded: it was replaced (for example by an older copy).`,
      });
    }
    const missing = db
      .prepare(`${latest} SELECT l.object_id AS id, l.seq AS seq FROM latest l WHERE NOT EXISTS (SELECT 1 FROM ${spec.table} t WHERE ${pkExpr(spec, 't')} = l.object_id) LIMIT 50`)
      .all(spec.type) as Array<{ id: string; seq: number }>;
    for (const r of missing) {
      problems.push({ check: 'row-audit', table: spec.table, id: r.id, seq: r.seq, message: `Row ${r.id} of ${spec.table} (audit entry ${r.seq}) is missing: it was deleted.` });
    }
  }
  return { rows, problems };
}

/** Domain rules the schema cannot state. */
function invariants(db: Db): VerifyProblem[] {
  const out: VerifyProblem[] = [];
  for (const r of db.prepare('SELECT v.id FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE v.purpose <> k.purpose LIMIT 20').all() as Array<{ id: string }>) {
    out.push({ check: 'invariant', table: 'key_versions', id: r.id, message: `Version ${r.id} has a purpose different from its key's.` });
  }
  const drift = db
    .prepare(
      `SELECT count(*) AS n FROM (
         SELECT t.key_id, t.tag FROM key_tags t WHERE NOT EXISTS (SELECT 1 FROM keys k, json_each(k.tags) j WHERE k.id = t.key_id AND k.label = t.label AND j.value = t.tag)
         UNION ALL
         SELECT k.id, j.value FROM keys k, json_each(k.tags) j WHERE NOT EXISTS (SELECT 1 FROM key_tags t WHERE t.tag = j.value AND t.label = k.label AND t.key_id = k.id))`,
    )
    .get() as { n: number };
  if (drift.n > 0) out.push({ check: 'invariant', table: 'key_tags', message: `${drift.n} tag index entr${drift.n === 1 ? 'y does' : 'ies do'} not match the keys' tags.` });
  for (const r of db.prepare("SELECT id FROM key_versions WHERE state IN ('active', 'suspended', 'deactivated') AND activation_date IS NULL LIMIT 20").all() as Array<{ id: string }>) {
    out.push({ check: 'invariant', table: 'key_versions', id: r.id, message: `Version ${r.id} is in use but has no activation date.` });
  }
  return out;
}
