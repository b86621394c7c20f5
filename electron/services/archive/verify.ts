// `archive verify`: everything that can be checked (docs/FORMAT.md "What verify checks").
//   Without the HSM:
//   1. SQLite's structure: quick_check, or with `full` integrity_check, which also compares every
//      index with its table (an index that disagrees with its table gives wrong answers to
//      searches, and quick_check does not look);
//   2. the audit key: the stored key against the fingerprint this workstation pinned (a log
//      re-signed with someone else's key verifies against the key stored beside it);
//   3. the audit chain, every checkpoint signature, the stored hash column, checkpoints deleted
//      from the middle, the rollback anchor (audit/verify.ts);
//   4. every MACed row is the one its newest audit entry recorded (same MAC), and every row the
//      audit log has a MAC for still exists: a row deleted, inserted, or put back to an older,
//      validly MACed copy (say, "compromised" back to "active");
//   5. what carries no MAC, rebuilt and compared: the schema, the search indexes and the lifecycle
//      table (consistency.ts), the meta table (meta.ts), and domain rules the schema cannot state.
//   With the HSM, also:
//   6. the HSM's keys are the archive's (same audit public key, KEK check value, MAC key check);
//   7. every MACed row: HMAC-SHA256(Archive MAC key, canonical row) equals its mac column, under
//      the key the row names (mac_key, schema 6: during a MAC key rotation some rows are under the
//      incoming key), and the MAC key handovers chain from the key made at init to the current one.
import { timingSafeEqual } from 'node:crypto';
import { CanonicalError, CanonicalWriter, RECORDS, rowId, rowMacInput, type RecordSpec } from '../../../shared/archive/canonical';
import type { VerifyProblem, VerifyVerdict } from '../../../shared/archive/types';
import { CustosError } from '../../../shared/result';
import { HMAC_CHECK_DATA, hmacCheckOf, hsmCheckValues } from '../hsm-kcv';
import { derivedProblems, schemaProblems } from './consistency';
import { needsHsm, scopeOf, type ArchiveContext } from './context';
import type { ArchiveCrypto } from './crypto';
import { fromSqlite } from './errors';
import { auditKeyProblems, auditKeyStatus, hsmAuditSpki } from './identity';
import { macKeyRows, macWithKey, MAC_HANDOVER_ACTION } from './mac-rotation';
import { metaProblems } from './meta';
import { refsOf } from './rows';
import type { Db } from './schema';

/** Problems listed in a verdict; beyond this they are counted. */
const MAX_PROBLEMS = 100;
/** Rows MACed per HSM request while checking row MACs. */
const PAGE = 4096;

export interface VerifyOptions {
  withHsm?: boolean;
  /** false skips SQLite's own check altogether (benchmarks). */
  quickCheck?: boolean;
  /** SQLite's integrity_check instead of quick_check: slower, and also compares indexes with tables. */
  full?: boolean;
  threads?: number;
}

/**
 * A check that reads the file: a damaged or edited file may make SQLite (or the canonical encoder,
 * or a JSON parser) fail half-way. That is a finding, reported as a problem; the other checks
 * still run. Errors from the HSM still end the verification (nothing was found out).
 */
function readCheck(problems: VerifyProblem[], ctx: ArchiveContext, what: string, fn: () => VerifyProblem[]): void {
  try {
    problems.push(...fn());
  } catch (e) {
    problems.push(unreadable(ctx, what, e));
  }
}

function unreadable(ctx: ArchiveContext, what: string, e: unknown): VerifyProblem {
  if (e instanceof CanonicalError || e instanceof SyntaxError) return { check: 'sqlite', message: `${what} could not be checked: a value has the wrong type or shape (${e.message.slice(0, 80)}).` };
  const mapped = fromSqlite(e, ctx.path);
  if (mapped instanceof CustosError && mapped !== e) return { check: 'sqlite', message: `${what} could not be checked: ${mapped.appError.message}` };
  throw e;
}

export async function verifyArchive(ctx: ArchiveContext, opts: VerifyOptions = {}): Promise<VerifyVerdict> {
  const started = performance.now();
  const problems: VerifyProblem[] = [];
  const withHsm = opts.withHsm ?? ctx.crypto !== null;
  if (withHsm && !ctx.crypto) needsHsm();
  const full = opts.full === true;
  if (opts.quickCheck !== false || full) {
    const pragma = full ? 'integrity_check' : 'quick_check';
    try {
      const rows = ctx.db.pragma(`${pragma}(${full ? 100 : 20})`) as Array<Record<string, string>>;
      for (const r of rows) {
        const text = r[pragma] ?? Object.values(r)[0] ?? '';
        if (text !== 'ok') problems.push({ check: 'sqlite', message: `SQLite: ${text}` });
      }
    } catch (e) {
      const mapped = fromSqlite(e, ctx.path);
      problems.push({ check: 'sqlite', message: mapped instanceof Error ? mapped.message : 'SQLite could not check the file.' });
    }
  }

  let hsmSpki: Buffer | null = null;
  if (withHsm && ctx.binding) {
    try {
      hsmSpki = await hsmAuditSpki(ctx);
    } catch (e) {
      if (!(e instanceof CustosError)) throw e;
      problems.push({ check: 'identity', message: `The archive's audit key could not be read from the HSM: ${e.appError.message}` });
    }
  }
  const auditKey = auditKeyStatus(ctx, hsmSpki);
  problems.push(...auditKeyProblems(auditKey));

  const anchor = ctx.anchors?.get(ctx.archiveId) ?? null;
  let chain;
  try {
    chain = await ctx.audit.verify(ctx.ws.audit_spki, { expect: anchor, expectKey: auditKey.pinned, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) });
  } catch (e) {
    throw fromSqlite(e, ctx.path);
  }
  problems.push(...chain.problems);

  let rows = 0;
  if (withHsm) {
    const b = ctx.binding;
    if (b) {
      // The HSM must hold this archive's KEK (same check value); its audit key was compared above.
      try {
        const kcv = await hsmCheckValues(scopeOf(b), refsOf(ctx.ws).kek);
        if (kcv.cmac !== ctx.ws.kek_check) problems.push({ check: 'identity', message: "The HSM's Archive KEK does not have the check value recorded in the archive." });
      } catch (e) {
        if (!(e instanceof CustosError)) throw e;
        problems.push({ check: 'identity', message: `The archive's keys could not be checked in the HSM: ${e.appError.message}` });
      }
    }
    const [check] = await ctx.crypto!.mac([HMAC_CHECK_DATA]);
    if (hmacCheckOf(check!) !== ctx.ws.mac_check) problems.push({ check: 'identity', message: 'The Archive MAC key in the HSM is not the one recorded in the archive.' });
    for (const k of macKeyRows(ctx).filter((x) => x.state === 'incoming' && ctx.binding)) {
      const [c] = await macWithKey(ctx, k.mac_check)!([HMAC_CHECK_DATA]);
      if (hmacCheckOf(c!) !== k.mac_check) problems.push({ check: 'identity', message: `The incoming MAC key ${k.mac_label} in the HSM does not have the check value recorded in the archive.` });
    }
    const r = await macRows(ctx, ctx.crypto!);
    rows = r.rows;
    problems.push(...r.problems);
  }
  readCheck(problems, ctx, 'The rows against the audit log', () => auditBinding(ctx.db));
  readCheck(problems, ctx, 'The MAC key handovers', () => macHandovers(ctx));
  const version = ctx.db.pragma('user_version', { simple: true }) as number;
  readCheck(problems, ctx, 'The schema', () => schemaProblems(ctx.db, version));
  readCheck(problems, ctx, 'The search indexes and the lifecycle table', () => derivedProblems(ctx.db));
  readCheck(problems, ctx, 'The meta table', () => metaProblems(ctx.db, ctx.ws.archive_id, version));
  readCheck(problems, ctx, 'The key versions', () => invariants(ctx.db));
  return {
    ok: problems.length === 0,
    archiveId: ctx.archiveId,
    withHsm,
    full,
    auditKey,
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
const tableExists = (db: Db, table: string) => !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);

/** Check 7: every MACed row's MAC, recomputed in the HSM, table by table. */
async function macRows(ctx: ArchiveContext, crypto: ArchiveCrypto): Promise<{ rows: number; problems: VerifyProblem[] }> {
  const { db, archiveId } = ctx;
  const problems: VerifyProblem[] = [];
  const w = new CanonicalWriter();
  const retired = new Set(macKeyRows(ctx).filter((k) => k.state === 'retired').map((k) => k.mac_check));
  let rows = 0;
  for (const spec of Object.values(RECORDS)) {
    // A schema-1 archive opened read-only has not been migrated: its schema-2 tables are not there yet.
    let page: Array<Record<string, unknown> & { _rowid: number; mac: unknown }>;
    let after = 0;
    try {
      if (!tableExists(db, spec.table)) continue;
      const stmt = db.prepare(`SELECT rowid AS _rowid, * FROM ${spec.table} NOT INDEXED WHERE rowid > ? ORDER BY rowid LIMIT ${PAGE}`);
      for (;;) {
        page = stmt.all(after) as typeof page;
        if (page.length === 0) break;
        // Schema 6: grouped by the MAC key each row names (mac_key; NULL is the identity row's).
        const groups = new Map<string | null, { inputs: Uint8Array[]; checked: typeof page }>();
        for (const r of page) {
          try {
            const input = rowMacInput(w, spec, archiveId, r).slice();
            // undefined: a schema-4 file read as it is (no column), all under the identity row's key.
            const k = r.mac_key === undefined || r.mac_key === ctx.ws.mac_check ? '' : typeof r.mac_key === 'string' ? r.mac_key : null;
            const g = groups.get(k) ?? { inputs: [], checked: [] };
            groups.set(k, g);
            g.inputs.push(input);
            g.checked.push(r);
          } catch (e) {
            if (!(e instanceof CanonicalError)) throw e;
            problems.push({ check: 'row-mac', table: spec.table, id: rowId(spec, r), message: `Row ${rowId(spec, r)} of ${spec.table} cannot be authenticated: ${e.message} (a field's type was changed).` });
          }
        }
        for (const [k, { inputs, checked }] of groups) {
        // A row under a retired key: every row moved before the key was retired, so it was put back.
        if (k && retired.has(k)) {
          for (const r of checked) problems.push({ check: 'row-mac', table: spec.table, id: rowId(spec, r), message: `Row ${rowId(spec, r)} of ${spec.table} is under the retired MAC key ${k}: it was put back from before the rotation.` });
          continue;
        }
        const fn = k === '' ? (x: Uint8Array[]) => crypto.mac(x) : macWithKey(ctx, k);
        if (!fn) {
          for (const r of checked) problems.push({ check: 'row-mac', table: spec.table, id: rowId(spec, r), message: k === null ? `Row ${rowId(spec, r)} of ${spec.table} names no MAC key: it was not written by Custos.` : `Row ${rowId(spec, r)} of ${spec.table} names a MAC key the archive does not know (check value ${k}): it was altered.` });
          continue;
        }
        const macs = await fn(inputs);
        checked.forEach((r, i) => {
          const m = Buffer.from(macs[i]!);
          const stored = Buffer.isBuffer(r.mac) ? r.mac : Buffer.alloc(0);
          if (stored.length !== m.length || !timingSafeEqual(stored, m)) {
            problems.push({ check: 'row-mac', table: spec.table, id: rowId(spec, r), message: `Row ${rowId(spec, r)} of ${spec.table} does not match its MAC: it was altered, or copied from another row or archive.` });
          }
        });
        }
        rows += page.length;
        after = page[page.length - 1]!._rowid;
      }
    } catch (e) {
      if (e instanceof CustosError) throw e;
      problems.push(unreadable(ctx, `The rows of ${spec.table}`, e));
    }
  }
  return { rows, problems };
}

/**
 * Check 7 without the HSM: the MAC key handovers (archive.mac.handover) chain from the MAC key of
 * archive.init to the identity row's, each retired key in mac_keys was handed over from, and at
 * most one key is incoming.
 */
function macHandovers(ctx: ArchiveContext): VerifyProblem[] {
  const out: VerifyProblem[] = [];
  const init = ctx.db.prepare("SELECT json_extract(entry, '$.details.mac.check') FROM audit_entries WHERE action = 'archive.init' ORDER BY seq LIMIT 1").pluck().get() as string | undefined;
  if (!init) return out;
  let at = init;
  const handed = new Set<string>();
  for (const h of ctx.db.prepare(`SELECT seq, json_extract(entry, '$.details.from.check') AS f, json_extract(entry, '$.details.to.check') AS t FROM audit_entries WHERE action = '${MAC_HANDOVER_ACTION}' ORDER BY seq`).all() as Array<{ seq: number; f: string; t: string }>) {
    if (h.f !== at) out.push({ check: 'identity', seq: h.seq, message: `MAC key handover ${h.seq} hands over from ${h.f}, but the MAC key then was ${at}.` });
    handed.add(h.f);
    at = h.t;
  }
  if (at !== ctx.ws.mac_check) out.push({ check: 'identity', message: `The archive's MAC key (check value ${ctx.ws.mac_check}) is not the one its handovers lead to (${at}): the identity row was altered.` });
  const keys = macKeyRows(ctx);
  for (const k of keys) if (k.state === 'retired' && !handed.has(k.mac_check)) out.push({ check: 'identity', message: `The retired MAC key ${k.mac_check} was never handed over from.` });
  if (keys.filter((k) => k.state === 'incoming').length > 1) out.push({ check: 'identity', message: 'More than one MAC key is recorded as incoming.' });
  return out;
}

/** Check 4: each MACed row is the one its newest audit entry recorded; no recorded row is missing. */
function auditBinding(db: Db): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  for (const spec of Object.values(RECORDS)) {
    if (!tableExists(db, spec.table)) continue;
    const latest = `WITH latest AS (
        SELECT object_id, object_mac, max(seq) AS seq FROM audit_entries
        WHERE object_type = ? AND object_id IS NOT NULL AND object_mac IS NOT NULL GROUP BY object_id)`;
    const stale = db
      .prepare(`${latest} SELECT ${pkExpr(spec, 't')} AS id, l.seq AS seq FROM ${spec.table} t NOT INDEXED LEFT JOIN latest l ON l.object_id = ${pkExpr(spec, 't')} WHERE l.object_mac IS NULL OR l.object_mac <> lower(hex(t.mac)) LIMIT 50`)
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
      .prepare(`${latest} SELECT l.object_id AS id, l.seq AS seq FROM latest l WHERE NOT EXISTS (SELECT 1 FROM ${spec.table} t NOT INDEXED WHERE ${pkExpr(spec, 't')} = l.object_id) LIMIT 50`)
      .all(spec.type) as Array<{ id: string; seq: number }>;
    for (const r of missing) {
      problems.push({ check: 'row-audit', table: spec.table, id: r.id, seq: r.seq, message: `Row ${r.id} of ${spec.table} (audit entry ${r.seq}) is missing: it was deleted.` });
    }
    // Two rows under one primary key (only possible by editing the file around its index).
    const twice = db.prepare(`SELECT ${pkExpr(spec, 't')} AS id FROM ${spec.table} t NOT INDEXED GROUP BY id HAVING count(*) > 1 LIMIT 20`).all() as Array<{ id: string }>;
    for (const r of twice) problems.push({ check: 'row-audit', table: spec.table, id: r.id, message: `Row ${r.id} of ${spec.table} is there twice: the file was edited around its index.` });
  }
  return problems;
}

/** Domain rules the schema cannot state. */
function invariants(db: Db): VerifyProblem[] {
  const out: VerifyProblem[] = [];
  for (const r of db.prepare('SELECT v.id FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE v.purpose <> k.purpose LIMIT 20').all() as Array<{ id: string }>) {
    out.push({ check: 'invariant', table: 'key_versions', id: r.id, message: `Version ${r.id} has a purpose different from its key's.` });
  }
  for (const r of db.prepare("SELECT id FROM key_versions WHERE state IN ('active', 'suspended', 'deactivated') AND activation_date IS NULL LIMIT 20").all() as Array<{ id: string }>) {
    out.push({ check: 'invariant', table: 'key_versions', id: r.id, message: `Version ${r.id} is in use but has no activation date.` });
  }
  // Every version of this archive with material names a KEK it knows: the current one, or one it recorded
  // (schema 3, archive_keks: a rotation's incoming or retired KEK). Otherwise nothing can open it.
  const hasKeks = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'archive_keks'").get() !== undefined;
  const known = hasKeks
    ? 'SELECT kek_check FROM workstation UNION SELECT kek_check FROM archive_keks'
    : 'SELECT kek_check FROM workstation';
  // Versions imported from another workstation's bundle keep that archive's KEK (retrieval refuses them here).
  for (const r of db.prepare(`SELECT id, kek_check FROM key_versions WHERE wrapped IS NOT NULL AND origin_archive = (SELECT archive_id FROM workstation) AND (kek_check IS NULL OR kek_check NOT IN (${known})) LIMIT 20`).all() as Array<{ id: string; kek_check: string | null }>) {
    out.push({ check: 'invariant', table: 'key_versions', id: r.id, message: `Version ${r.id} is wrapped under a KEK the archive does not know (check value ${r.kek_check ?? 'none'}): nothing here can open it.` });
  }
  return out;
}
