// Row checks for `archive verify` (with the HSM):
//   1. every MACed row: HMAC-SHA256(Archive MAC key, canonical row) equals its mac column;
//   2. every MACed row is the one its newest audit entry recorded (same MAC), and every row the
//      audit log has a MAC for still exists. MACs alone cannot see a row put back to an older,
//      validly MACed copy (say, "compromised" back to "active") or a row deleted outright; the
//      signed audit chain can.
import { timingSafeEqual } from 'node:crypto';
import { CanonicalWriter, RECORDS, rowId, rowMacInput, type RecordSpec } from '../../../shared/archive/canonical';
import type { VerifyProblem } from '../../../shared/archive/types';
import type { ArchiveCrypto } from './crypto';
import type { Db } from './schema';

const PAGE = 4096;

const pkExpr = (spec: RecordSpec, alias: string) => spec.key.map((k) => `${alias}.${k}`).join(` || '/' || `);

export async function verifyRows(db: Db, _path: string, archiveId: string, crypto: ArchiveCrypto): Promise<{ rows: number; problems: VerifyProblem[] }> {
  const problems: VerifyProblem[] = [];
  const w = new CanonicalWriter();
  let rows = 0;
  for (const spec of Object.values(RECORDS)) {
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
