// The audit log: append-only, hash-chained, checkpointed. Lives in the archive file
// (tables audit_entries and checkpoints; docs/FORMAT.md "Audit log and checkpoints"); the chain's
// definition is in chain.ts.
//
// Every write to the archive is one transaction that appends its entries AND a checkpoint signed
// by the HSM over the new head: every committed state ends in a signature, so any entry after the
// last checkpoint was not written by Custos. verify() (verify.ts) names the first entry that is
// missing, altered, inserted, out of order or unsigned, and detects truncation against the
// checkpoints; export() (export.ts) writes the log for offline checking with OpenSSL.
//
// The stored text is the hashed input: verification hashes stored bytes (no re-serialisation),
// and reads two values per entry (seq, entry). The stored hash column is only consulted to tell
// which of two entries that no longer chain was altered.
//
// This folder depends on nothing in the archive service: the archive writes through AuditLog
// (archive/store.ts), never the other way round.
import { GENESIS_HASH_HEX } from '../../../shared/archive/canonical';
import type { AuditEntryView, AuditPage } from '../../../shared/archive/types';
import { ecdsaRawToDer } from '../formats/ecdsa';
import { chainEntries, sha256Hex, type Db, type EntryDraft, type Head, type PreparedCheckpoint, type PreparedEntry } from './chain';
import { exportLog } from './export';
import { verifyChain, type ChainVerdict } from './verify';

const VIEW_COLUMNS = 'seq, at, actor, action, object_type, object_id, key_id, details, hash';

export class AuditLog {
  private readonly lastStmt;
  private readonly insertEntry;
  private readonly insertCheckpoint;

  constructor(
    private readonly db: Db,
    readonly archiveId: string,
  ) {
    this.lastStmt = db.prepare('SELECT seq, entry FROM audit_entries ORDER BY seq DESC LIMIT 1');
    this.insertEntry = db.prepare('INSERT INTO audit_entries (seq, entry, hash) VALUES (?, ?, ?)');
    this.insertCheckpoint = db.prepare('INSERT INTO checkpoints (seq, head, at, key_fingerprint, signature_raw, signature_der) VALUES (?, ?, ?, ?, ?, ?)');
  }

  /** The newest entry and its hash, recomputed from its text (the stored hash is not trusted for chaining). */
  head(): Head {
    const row = this.lastStmt.get() as { seq: number; entry: string } | undefined;
    return row ? { seq: row.seq, hash: sha256Hex(row.entry) } : { seq: 0, hash: GENESIS_HASH_HEX };
  }

  /** Entries chained onto `head`, and the checkpoint that covers them. Nothing is written. */
  prepare(drafts: EntryDraft[], head: Head, at: string, keyFingerprint: string): { entries: PreparedEntry[]; checkpoint: PreparedCheckpoint } {
    return chainEntries(this.archiveId, drafts, head, at, keyFingerprint);
  }

  /** Appends prepared entries and their signed checkpoint; call inside the write transaction. */
  append(entries: PreparedEntry[], checkpoint: PreparedCheckpoint, signatureRaw: Uint8Array): void {
    for (const e of entries) this.insertEntry.run(e.seq, e.entry, e.hash);
    this.insertCheckpoint.run(checkpoint.seq, checkpoint.head, checkpoint.at, checkpoint.keyFingerprint, Buffer.from(signatureRaw), ecdsaRawToDer(signatureRaw));
  }

  lastCheckpoint(): { seq: number; at: string; headHash: string } | null {
    const r = this.db.prepare('SELECT seq, at, head FROM checkpoints ORDER BY seq DESC LIMIT 1').get() as { seq: number; at: string; head: string } | undefined;
    return r ? { seq: r.seq, at: r.at, headHash: r.head } : null;
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  page(filter: { keyId?: string; objectType?: string; objectId?: string; action?: string; limit?: number; beforeSeq?: number }): AuditPage {
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.keyId) {
      where.push('key_id = ?');
      params.push(filter.keyId);
    }
    if (filter.objectType && filter.objectId) {
      where.push('object_type = ? AND object_id = ?');
      params.push(filter.objectType, filter.objectId);
    }
    if (filter.action) {
      where.push('action = ?');
      params.push(filter.action);
    }
    if (filter.beforeSeq) {
      where.push('seq < ?');
      params.push(filter.beforeSeq);
    }
    const rows = this.db
      .prepare(`SELECT ${VIEW_COLUMNS} FROM audit_entries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`)
      .all(...params, limit + 1) as ViewRow[];
    return { entries: rows.slice(0, limit).map(viewOf), hasMore: rows.length > limit };
  }

  /** Entries about one row, oldest first (a version's state history). */
  about(objectType: string, objectId: string): AuditEntryView[] {
    return (this.db.prepare(`SELECT ${VIEW_COLUMNS} FROM audit_entries WHERE object_type = ? AND object_id = ? ORDER BY seq`).all(objectType, objectId) as ViewRow[]).map(viewOf);
  }

  /**
   * Recomputes the chain and checks every checkpoint signature (verify.ts). `expect` is the anchor
   * kept outside the file: a log cut back to before it is reported even if internally consistent;
   * `expectKey` the audit key fingerprint pinned outside it: a log signed by another key is refused.
   */
  verify(auditSpki: Uint8Array, opts: { expect?: { seq: number; headHash: string } | null; expectKey?: string | null; threads?: number } = {}): Promise<ChainVerdict> {
    return verifyChain(this.db, this.archiveId, auditSpki, opts);
  }

  /** JSON Lines + checkpoint signatures + the audit public key, into `dir` (export.ts). */
  export(dir: string, auditSpki: Uint8Array): { dir: string; entries: number; checkpoints: number; files: Record<string, string> } {
    return exportLog(this.db, this.archiveId, dir, auditSpki);
  }
}

interface ViewRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  object_type: string | null;
  object_id: string | null;
  key_id: string | null;
  details: string;
  hash: string;
}

function viewOf(r: ViewRow): AuditEntryView {
  let details: unknown;
  try {
    details = JSON.parse(r.details);
  } catch {
    details = r.details;
  }
  return { seq: r.seq, at: r.at, actor: r.actor, action: r.action, objectType: r.object_type, objectId: r.object_id, keyId: r.key_id, details, hash: r.hash };
}
