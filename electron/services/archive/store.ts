// The one way anything is written to an archive. A change is planned from the current state,
// every row it writes is MACed in the HSM, its audit entries are chained onto the current head and
// the new head is signed in the HSM — all before the database is touched. Then one IMMEDIATE
// transaction checks that nobody wrote in between (same head; updated rows still carry the MAC
// they were planned from), writes the rows, the entries and the checkpoint, and commits. If
// another writer got there first, the change is planned again from the new state.
//
// So a crash (or SIGKILL) at any moment leaves the archive either before or after the whole
// change: never rows without their audit entries, never entries without their signed checkpoint.
//
// Three more things every commit does (issue #11 parts 2 and 3; docs/FORMAT.md):
//   - the HSM's fresh checkpoint signature must verify under the audit key stored in the archive,
//     whose fingerprint the workstation then pins (anchors.ts): a stored key swapped for someone
//     else's is refused before anything is written, and never pinned;
//   - checkpoint times strictly increase (a commit in the same millisecond as the last one, or
//     with the clock set back, is stamped 1 ms after it), so that every transaction's entries
//     carry a time of their own and a checkpoint deleted from between two transactions shows;
//   - the meta table is recorded in the log when it is new or a migration changed it (meta.ts).
import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { CanonicalWriter, RECORDS, rowId, rowMacInput, type RecordSpec } from '../../../shared/archive/canonical';
import type { EntryDraft, PreparedCheckpoint } from '../audit/chain';
import type { AuditLog } from '../audit/log';
import type { AnchorStore } from './anchors';
import type { ArchiveCrypto } from './crypto';
import { archiveError, fromSqlite } from './errors';
import { uuidv7 } from './ids';
import { spkiSha256 } from './identity';
import { metaDraft } from './meta';
import type { Db } from './schema';

export interface RowWrite {
  spec: RecordSpec;
  /** 'remac' (MAC key rotation): only the MAC and mac_key change, found by `rowid`, MACed by Mutation.macWith. */
  op: 'insert' | 'update' | 'remac';
  /** Every field of the spec except the implicit archive id. */
  row: Record<string, unknown>;
  /** For updates: the MAC the row had when the change was planned (optimistic concurrency). */
  expectMac?: Uint8Array;
  /**
   * For updates: the only columns that change (`row` still holds every field, the MAC covers them
   * all). A narrower UPDATE leaves the indexes on other columns untouched: the KEK rotation
   * rewrites 10 of a version's 30 columns' index entries otherwise. The unchanged columns are
   * held to their planned values by the expected MAC, which covers them.
   */
  columns?: readonly string[];
  /**
   * With `columns`: the row's rowid, read with it. The row is then found by rowid (the table's own
   * b-tree) rather than through the index of its key, one random index look-up less per row; the
   * key is still compared.
   */
  rowid?: number;
}

export interface AuditDraft extends EntryDraft {
  /** Index into Mutation.rows: the entry then names that row and records its new MAC. */
  row?: number;
}

export interface Mutation {
  rows: RowWrite[];
  audit: AuditDraft[];
  /** Runs inside the write transaction before anything is written; throw to abort. */
  guard?: () => void;
  /** MACs the rows under another MAC key than the store's (MAC key rotation: the incoming key), whose check value goes into mac_key. */
  macWith?: { check: string; mac: (inputs: Uint8Array[]) => Promise<Uint8Array[]> };
}

export interface Committed {
  seq: number;
  headHash: string;
  macs: Uint8Array[];
}

class Replan extends Error {}

const ATTEMPTS = 5;

/** A new row id: a time-ordered UUIDv7 (ids.ts says why). */
export const newId = (): string => uuidv7();
export const nowIso = (): string => new Date().toISOString();

/** better-sqlite3 binds Buffers as BLOBs; a plain Uint8Array must be viewed as one. */
function bindable(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
  return out;
}

export class ArchiveStore {
  private readonly writer = new CanonicalWriter();
  private readonly statements = new Map<string, { insert: import('better-sqlite3').Statement; update: import('better-sqlite3').Statement }>();
  private readonly narrow = new Map<string, import('better-sqlite3').Statement>();

  constructor(
    private readonly db: Db,
    readonly path: string,
    readonly archiveId: string,
    private readonly audit: AuditLog,
    private readonly crypto: ArchiveCrypto,
    private readonly auditFingerprint: string,
    private readonly anchors: AnchorStore | null,
    /** The audit public key stored in the archive; at init, the workstation row being inserted gives it. */
    private readonly auditSpki: Uint8Array | null = null,
  ) {
    this.macCheck = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'workstation'").get() ? (db.prepare('SELECT mac_check FROM workstation').pluck().get() as string | undefined) : undefined;
  }

  private signer: { spki: Uint8Array; key: KeyObject } | null = null;

  /**
   * The HSM signed `message`; the signature must verify under the audit key the archive stores
   * (whose fingerprint goes into every checkpoint). Returns that key's fingerprint, to pin.
   */
  private checkSigner(m: Mutation, message: Buffer, signature: Uint8Array): string {
    const planned = m.rows.find((r) => r.spec === RECORDS.workstation && r.op === 'insert')?.row.audit_spki;
    const stored = this.auditSpki ?? (planned instanceof Uint8Array ? planned : (this.db.prepare('SELECT audit_spki FROM workstation').pluck().get() as unknown));
    const spki = stored instanceof Uint8Array ? stored : null;
    if (!spki) throw archiveError('ARCHIVE_CORRUPT', `The archive ${this.path} records no audit public key to check the HSM's signature with. Nothing was written.`, 'Run `custos archive verify` on it and restore the archive from a trusted copy.', { path: this.path });
    const fingerprint = spkiSha256(spki);
    let valid = false;
    try {
      if (this.signer?.spki !== spki) this.signer = { spki, key: createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }) };
      valid = fingerprint === this.auditFingerprint && nodeVerify('sha256', message, { key: this.signer.key, dsaEncoding: 'ieee-p1363' }, signature);
    } catch {
      valid = false;
    }
    if (!valid) {
      throw archiveError(
        'ARCHIVE_TAMPERED',
        `The HSM's audit key signed this change, but the signature does not verify with the audit key stored in ${this.path}: the stored key is not the HSM's (it was swapped). Nothing was written.`,
        'Do not use this file. Run `custos archive info --check-hsm` and `custos archive verify` on it, and restore the archive from a trusted copy.',
        { path: this.path },
      );
    }
    return fingerprint;
  }

  /** Now, or 1 ms after the last checkpoint if the clock has not moved past it (see the top). */
  private commitTime(): string {
    const now = nowIso();
    const last = this.audit.lastCheckpoint();
    if (!last || now > last.at) return now;
    const next = Date.parse(last.at) + 1;
    return Number.isFinite(next) ? new Date(next).toISOString() : now;
  }

  private stmts(spec: RecordSpec) {
    let s = this.statements.get(spec.type);
    if (!s) {
      const cols = spec.fields.slice(1).map((f) => f.name);
      const set = cols.filter((c) => !spec.key.includes(c));
      const where = spec.key.map((k) => `${k} = @${k}`).join(' AND ');
      s = {
        insert: this.db.prepare(`INSERT INTO ${spec.table} (${cols.join(', ')}, mac${this.hasMacKey(spec) ? ', mac_key' : ''}) VALUES (${cols.map((c) => `@${c}`).join(', ')}, @mac${this.hasMacKey(spec) ? ', @mac_key' : ''})`),
        update: this.db.prepare(`UPDATE ${spec.table} SET ${set.map((c) => `${c} = @${c}`).join(', ')}, mac = @mac${this.macKeyCol(spec)} WHERE ${where} AND mac = @expect_mac`),
      };
      this.statements.set(spec.type, s);
    }
    return s;
  }

  /** A row's new MAC under another MAC key (op 'remac'): nothing else of the row changes. */
  private remac(spec: RecordSpec) {
    const k = `remac:${spec.type}`;
    let s = this.narrow.get(k);
    if (!s) this.narrow.set(k, (s = this.db.prepare(`UPDATE ${spec.table} SET mac = @mac, mac_key = @mac_key WHERE rowid = @rowid AND mac = @expect_mac`)));
    return s;
  }

  /** An UPDATE of only `columns` (and the MAC), for RowWrite.columns. */
  private narrowUpdate(spec: RecordSpec, columns: readonly string[], byRowid: boolean) {
    const k = `${spec.type}:${columns.join(',')}:${byRowid}`;
    let s = this.narrow.get(k);
    if (!s) {
      const known = new Set(spec.fields.map((f) => f.name));
      if (columns.some((c) => !known.has(c) || spec.key.includes(c))) throw new Error(`not updatable columns of ${spec.table}: ${columns.join(', ')}`);
      const where = [...(byRowid ? ['rowid = @rowid'] : []), ...spec.key.map((c) => `${c} = @${c}`)].join(' AND ');
      s = this.db.prepare(`UPDATE ${spec.table} SET ${columns.map((c) => `${c} = @${c}`).join(', ')}, mac = @mac${this.macKeyCol(spec)} WHERE ${where} AND mac = @expect_mac`);
      this.narrow.set(k, s);
    }
    return s;
  }

  /** Schema 6: a row records the check value of the MAC key its MAC is under (mac_key). */
  private hasMacKey(spec: RecordSpec): boolean {
    let has = this.macKeyCols.get(spec.table);
    if (has === undefined) this.macKeyCols.set(spec.table, (has = !!this.db.prepare(`SELECT 1 FROM pragma_table_info('${spec.table}') WHERE name = 'mac_key'`).get()));
    return has;
  }

  private macKeyCol(spec: RecordSpec): string {
    return this.hasMacKey(spec) ? ', mac_key = @mac_key' : '';
  }

  private readonly macKeyCols = new Map<string, boolean>();

  /** The MAC key this store MACs under (the identity row's when it was opened); undefined before init. */
  private readonly macCheck: string | undefined;

  /** MAC input of a row as stored in this archive (copied: the writer's buffer is reused). */
  macInput(spec: RecordSpec, row: Record<string, unknown>): Uint8Array {
    return rowMacInput(this.writer, spec, this.archiveId, row).slice();
  }

  /**
   * `signed` runs once the checkpoint is signed, before the write transaction: the KEK rotation
   * sends its next batch to the HSM host there, so that the host re-wraps it while this commit
   * writes (a request sent earlier would queue the MAC and signature behind it).
   */
  async commit(plan: () => Mutation, opts: { signed?: () => void } = {}): Promise<Committed> {
    let signed = opts.signed;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const m = plan();
      // The checkpoint is signed with the audit key this process knows; that must still be the
      // archive's — another process may have rotated it since (a handover changes the head, so a
      // rotation committed after this read makes the transaction below plan again).
      const current = this.db.prepare('SELECT audit_fingerprint, mac_check FROM workstation').get() as { audit_fingerprint: string; mac_check: string } | undefined;
      if (current !== undefined && (current.audit_fingerprint !== this.auditFingerprint || (this.macCheck !== undefined && current.mac_check !== this.macCheck))) {
        const which = current.audit_fingerprint !== this.auditFingerprint ? 'audit' : 'MAC';
        throw archiveError('ARCHIVE_CONFLICT', `The ${which} key of ${this.path} was rotated by another process since it was opened here; nothing was written.`, 'Open the archive again (restart the app or run the command again) and repeat the step.', { path: this.path });
      }
      const inputs = m.rows.map((r) => this.macInput(r.spec, r.row));
      const macs = m.rows.length ? await (m.macWith ? m.macWith.mac(inputs) : this.crypto.mac(inputs)) : [];
      // At init the store has no identity row yet: the one being inserted names the MAC key.
      const mac_key = m.macWith?.check ?? this.macCheck ?? (m.rows.find((r) => r.spec === RECORDS.workstation)?.row.mac_check as string | undefined) ?? current?.mac_check ?? null;
      const head = this.audit.head();
      const drafts: EntryDraft[] = m.audit.map((d) => {
        if (d.row === undefined) return d;
        const w = m.rows[d.row]!;
        return { ...d, objectType: w.spec.type, objectId: rowId(w.spec, w.row), objectMac: macs[d.row]! };
      });
      const meta = metaDraft(this.db, m.audit[0]?.actor ?? 'Custos');
      if (meta) drafts.push(meta);
      const { entries, checkpoint } = this.audit.prepare(drafts, head, this.commitTime(), this.auditFingerprint);
      const [signature] = await this.crypto.sign([checkpoint.message]);
      const signer = this.checkSigner(m, checkpoint.message, signature!);
      signed?.();
      signed = undefined;
      try {
        this.db
          .transaction(() => {
            const now = this.audit.head();
            if (now.seq !== head.seq || now.hash !== head.hash) throw new Replan();
            m.guard?.();
            m.rows.forEach((w, i) => {
              const s = this.stmts(w.spec);
              if (w.op === 'insert') {
                s.insert.run(bindable({ ...w.row, mac: macs[i]!, ...(this.hasMacKey(w.spec) ? { mac_key } : {}) }));
              } else if (w.op === 'remac') {
                const r = this.remac(w.spec).run({ rowid: w.rowid, mac: Buffer.from(macs[i]!), mac_key, expect_mac: Buffer.from(w.expectMac!) });
                if (r.changes !== 1) throw new Replan();
              } else {
                if (!w.expectMac) throw new Error('an update needs the MAC it was planned from');
                const expect_mac = Buffer.from(w.expectMac);
                const mac = macs[i]!;
                const r = w.columns
                  ? this.narrowUpdate(w.spec, w.columns, w.rowid !== undefined).run(bindable({ ...Object.fromEntries([...w.spec.key, ...w.columns].map((c) => [c, w.row[c]])), ...(w.rowid !== undefined ? { rowid: w.rowid } : {}), mac, expect_mac, ...(this.hasMacKey(w.spec) ? { mac_key } : {}) }))
                  : s.update.run(bindable({ ...w.row, mac, expect_mac, ...(this.hasMacKey(w.spec) ? { mac_key } : {}) }));
                if (r.changes !== 1) throw new Replan();
              }
            });
            this.audit.append(entries, checkpoint, signature!);
          })
          .immediate();
      } catch (e) {
        if (e instanceof Replan) continue;
        throw fromSqlite(e, this.path);
      }
      this.advanceAnchor(checkpoint, signer);
      return { seq: checkpoint.seq, headHash: checkpoint.head, macs };
    }
    throw archiveError('ARCHIVE_BUSY', `The archive ${this.path} kept changing under this operation (another program is writing to it).`, 'Wait for the other program to finish, then repeat the step.', { path: this.path });
  }

  private advanceAnchor(cp: PreparedCheckpoint, auditKey: string): void {
    try {
      this.anchors?.record(this.archiveId, { seq: cp.seq, headHash: cp.head, at: cp.at, path: this.path, auditKey });
    } catch {
      // The commit stands; an anchor that lags behind only weakens rollback detection until the next commit.
    }
  }
}
