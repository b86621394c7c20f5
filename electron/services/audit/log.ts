// The audit log: append-only, hash-chained, checkpointed. Lives in the archive file
// (tables audit_entries and checkpoints; docs/FORMAT.md "Audit log and checkpoints").
//
//   entry n  = one line of canonical JSON (shared/archive/canonical.ts auditEntryText) holding
//              the archive id, n, the hash of entry n-1 ("prev"), time, actor, action, the row
//              it is about (with that row's MAC) and details
//   hash(n)  = SHA-256 of the UTF-8 bytes of entry n
//   checkpoint(n) = ECDSA P-256 / SHA-256 signature by the HSM audit key over checkpointText(n, hash(n))
//
// Every write to the archive is one transaction that appends its entries AND a checkpoint signed
// by the HSM over the new head: every committed state ends in a signature, so any entry after the
// last checkpoint was not written by Custos. verify() names the first entry that is missing,
// altered, inserted, out of order or unsigned, and detects truncation against the checkpoints.
//
// The stored text is the hashed input: verification hashes stored bytes (no re-serialisation),
// and reads two values per entry (seq, entry). The stored hash column is only consulted to tell
// which of two entries that no longer chain was altered.
import { createHash, createPublicKey, hash as nodeHash, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { auditEntryPrefix, auditEntryText, checkpointText, GENESIS_HASH_HEX } from '../../../shared/archive/canonical';
import { AUDIT_EXPORT_FORMAT_ID, type AuditEntryView, type AuditPage, type VerifyProblem } from '../../../shared/archive/types';
import { ecdsaRawToDer } from '../formats/ecdsa';
import { spkiToPem } from '../formats/publicKey';
import type Database from 'better-sqlite3';

type Db = Database.Database;

export const sha256 = (data: Uint8Array): Buffer => nodeHash('sha256', data, 'buffer') as unknown as Buffer;
/** SHA-256 of a string's UTF-8 bytes, as lower-case hex (the fastest form Node offers). */
export const sha256Hex = (text: string): string => nodeHash('sha256', text) as string;

/** Plain JSON values only: no Buffers, so nothing binary (or secret) slips into a detail by accident. */
export type DetailValue = string | number | boolean | null | DetailValue[] | { [k: string]: DetailValue };

export interface EntryDraft {
  actor: string;
  action: string;
  objectType?: string | null;
  objectId?: string | null;
  keyId?: string | null;
  objectMac?: Uint8Array | null;
  details?: Record<string, DetailValue>;
}

export interface PreparedEntry {
  seq: number;
  entry: string;
  hash: string;
}

export interface PreparedCheckpoint {
  seq: number;
  head: string;
  at: string;
  keyFingerprint: string;
  /** The signed bytes (UTF-8 of checkpointText). */
  message: Buffer;
}

export interface Head {
  seq: number;
  hash: string;
}

export interface ChainVerdict {
  entries: number;
  checkpoints: number;
  lastCheckpoint: { seq: number; at: string; headHash: string } | null;
  firstBadEntry: number | null;
  problems: VerifyProblem[];
  /** Bytes hashed, for the benchmark's side-by-side raw loop. */
  bytesHashed: number;
}

const PAGE = 20_000;
/** Problems of one kind listed one by one; beyond this they are counted. */
const LIST_MAX = 20;
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
    const entries: PreparedEntry[] = [];
    let prev = head.hash;
    let seq = head.seq;
    for (const d of drafts) {
      seq++;
      const entry = auditEntryText({
        archive: this.archiveId,
        seq,
        prev,
        at,
        actor: d.actor,
        action: d.action,
        object_type: d.objectType ?? null,
        object_id: d.objectId ?? null,
        key_id: d.keyId ?? null,
        object_mac: d.objectMac ? Buffer.from(d.objectMac).toString('hex') : null,
        details: JSON.stringify(d.details ?? {}),
      });
      const hash = sha256Hex(entry);
      entries.push({ seq, entry, hash });
      prev = hash;
    }
    const message = Buffer.from(checkpointText({ archive: this.archiveId, seq, head: prev, at, key: keyFingerprint }), 'utf8');
    return { entries, checkpoint: { seq, head: prev, at, keyFingerprint, message } };
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

  // -------------------------------------------------------------------------------------------
  // Verification

  /**
   * Recomputes the chain from the stored entries and checks every checkpoint signature with the
   * audit public key (Node's crypto: no HSM needed). `expect` is an anchor kept outside the file
   * (the newest checkpoint this workstation saw): a log cut back to before it is reported even if
   * it is internally consistent.
   */
  async verify(auditSpki: Uint8Array, opts: { expect?: { seq: number; headHash: string } | null; threads?: number } = {}): Promise<ChainVerdict> {
    const problems: VerifyProblem[] = [];
    let firstBad: number | null = null;
    const bad = (seq: number) => {
      if (firstBad === null || seq < firstBad) firstBad = seq;
    };
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.from(auditSpki), format: 'der', type: 'spki' });
    } catch {
      problems.push({ check: 'identity', message: 'The audit public key stored in the archive is not a valid public key.' });
      return { entries: 0, checkpoints: 0, lastCheckpoint: null, firstBadEntry: 1, problems, bytesHashed: 0 };
    }
    const fingerprint = createHash('sha256').update(auditSpki).digest('hex');

    // Checkpoints are few (one per transaction): load and check their signatures first.
    const cps = this.db.prepare('SELECT seq, head, at, key_fingerprint, signature_raw, signature_der FROM checkpoints ORDER BY seq').all() as CheckpointRow[];
    const bySeq = new Map<number, CheckpointRow>();
    for (const c of cps) {
      bySeq.set(c.seq, c);
      let valid = false;
      try {
        const message = Buffer.from(checkpointText({ archive: this.archiveId, seq: c.seq, head: c.head, at: c.at, key: c.key_fingerprint }), 'utf8');
        valid =
          c.key_fingerprint === fingerprint &&
          nodeVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, c.signature_raw) &&
          nodeVerify('sha256', message, { key, dsaEncoding: 'der' }, c.signature_der);
      } catch {
        valid = false;
      }
      c.valid = valid;
      if (!valid) {
        problems.push({ check: 'checkpoint', seq: c.seq, message: `The signature of checkpoint ${c.seq} does not verify with this archive's audit key: the checkpoint was forged or altered.` });
      }
    }

    // Walk the chain (in worker threads for long logs), then merge.
    const chunks = await this.walk(opts.threads);
    const breaks: number[] = [];
    let count = 0;
    let bytes = 0;
    const computed = new Map<number, string>();
    for (const c of chunks) {
      count += c.count;
      bytes += c.bytes;
      for (const [a, b] of c.missing.slice(0, LIST_MAX)) {
        problems.push({ check: 'chain', seq: a, message: a === b ? `Audit entry ${a} is missing (deleted).` : `Audit entries ${a}–${b} are missing (deleted).` });
        bad(a);
      }
      if (c.missing.length > LIST_MAX) problems.push({ check: 'chain', seq: c.missing[LIST_MAX]![0], message: `…and ${c.missing.length - LIST_MAX} more gaps in the log.` });
      for (const seq of c.misplaced.slice(0, LIST_MAX)) {
        problems.push({ check: 'chain', seq, message: `Audit entry ${seq} is not in its place: its text names another position or archive (entries were inserted or reordered).` });
        bad(seq);
      }
      if (c.misplaced.length > LIST_MAX) {
        problems.push({ check: 'chain', seq: c.misplaced[LIST_MAX]!, message: `…and ${c.misplaced.length - LIST_MAX} more entries out of place from entry ${c.misplaced[LIST_MAX]} on.` });
      }
      breaks.push(...c.breaks);
      for (const [seq, h] of c.cpHashes) computed.set(seq, h);
    }
    const lastSeq = chunks.reduce((m, c) => Math.max(m, c.lastSeq), 0);
    let lastValidCp = 0;
    for (const cp of cps) {
      const h = computed.get(cp.seq);
      if (h === undefined) continue; // beyond the end of the log: truncation, below
      if (!cp.valid) {
        // A forged checkpoint vouches for nothing: what came after the last genuine one is unproven.
        bad(lastValidCp + 1);
      } else if (cp.head !== h) {
        problems.push({ check: 'checkpoint', seq: cp.seq, message: `Checkpoint ${cp.seq} signed a different entry ${cp.seq}: the log up to it was rewritten after it was signed.` });
        // Entry cp.seq certainly differs from what was signed; an earlier one in the same commit
        // is named if its text no longer matches its stored hash.
        bad(this.culprit(lastValidCp + 1, cp.seq, cp.seq).seq);
      } else {
        lastValidCp = cp.seq;
      }
    }
    // The first breaks decide the first bad entry; each costs a scan to analyse, so only the first
    // LIST_MAX are analysed and the rest are counted.
    breaks.sort((x, y) => x - y);
    if (breaks.length > LIST_MAX) {
      problems.push({ check: 'chain', seq: breaks[LIST_MAX]!, message: `…and ${breaks.length - LIST_MAX} more places where entries no longer chain, from entry ${breaks[LIST_MAX]} on.` });
    }
    for (const j of breaks.slice(0, LIST_MAX)) {
      // Entry j names a predecessor other than entry j-1: one of the two is not what was written.
      // The stored hashes tell which when the editor did not recompute them. Otherwise: if some
      // entry still names entry j-1's hash, j-1 is genuine and j was moved, forged or edited;
      // if none does, j-1 itself was edited or inserted.
      const c = this.culprit(j - 1, j, this.referenced(j - 1) ? j : j - 1);
      problems.push({
        check: 'chain',
        seq: c.seq,
        message: c.byStoredHash
          ? `Audit entry ${c.seq} was altered: its text no longer matches the hash stored with it, and entries ${j - 1} and ${j} no longer chain.`
          : `Audit entries ${j - 1} and ${j} no longer chain (entry ${j} names a different predecessor): one of them was altered, inserted or moved.`,
      });
      bad(c.seq);
    }
    const lastCp = cps.length ? cps[cps.length - 1]! : null;
    if (lastCp && lastCp.seq > lastSeq) {
      problems.push({
        check: 'truncation',
        seq: lastSeq + 1,
        message: `The log ends at entry ${lastSeq}, but checkpoint ${lastCp.seq} covers ${lastCp.seq} entries: entries ${lastSeq + 1}–${lastCp.seq} were cut off.`,
      });
      bad(lastSeq + 1);
    }
    if (lastSeq > 0 && (lastCp?.seq ?? 0) < lastSeq) {
      const from = (lastCp?.seq ?? 0) + 1;
      problems.push({ check: 'checkpoint', seq: from, message: `Entries ${from}–${lastSeq} are not covered by a valid signed checkpoint: they were not written by Custos, or their checkpoint was removed.` });
      bad(from);
    }
    if (opts.expect && opts.expect.seq > 0) {
      const at = bySeq.get(opts.expect.seq);
      if (!at || opts.expect.seq > lastSeq) {
        const from = Math.min(lastSeq + 1, opts.expect.seq);
        problems.push({ check: 'truncation', seq: from, message: `This workstation last saw checkpoint ${opts.expect.seq}, but the archive ends at entry ${lastSeq}: it was rolled back or cut off.` });
        bad(from);
      } else if (at.head !== opts.expect.headHash) {
        problems.push({ check: 'checkpoint', seq: opts.expect.seq, message: `Checkpoint ${opts.expect.seq} differs from the one this workstation recorded: the log was rewritten.` });
        bad(1);
      }
    }
    return {
      entries: count,
      checkpoints: cps.length,
      lastCheckpoint: lastCp ? { seq: lastCp.seq, at: lastCp.at, headHash: lastCp.head } : null,
      firstBadEntry: firstBad,
      problems,
      bytesHashed: bytes,
    };
  }

  /**
   * Walks the chain: in this thread for short logs, else split by seq over worker threads, each
   * with its own read-only connection (WAL lets readers run side by side). A worker that cannot
   * start (no file path, no worker support) falls back to this thread.
   */
  private async walk(threads?: number): Promise<WalkResult[]> {
    // Separate min() and max() queries: each alone is answered from the b-tree in O(log n).
    const bounds = {
      lo: (this.db.prepare('SELECT min(seq) FROM audit_entries').pluck().get() as number | null) ?? 0,
      hi: (this.db.prepare('SELECT max(seq) FROM audit_entries').pluck().get() as number | null) ?? 0,
    };
    const checkpoints = (this.db.prepare('SELECT seq FROM checkpoints ORDER BY seq').pluck().all() as number[]);
    const base = { prefix: auditEntryPrefix(this.archiveId), checkpoints };
    const n = threads ?? (bounds.hi - bounds.lo > PARALLEL_FROM ? Math.min(4, Math.max(1, availableParallelism())) : 1);
    const file = this.db.name;
    if (n <= 1 || !file || this.db.memory) return [walkChain(this.db, { ...base, lo: 1, hi: Number.MAX_SAFE_INTEGER }, nodeHash)];
    const span = Math.ceil((bounds.hi - bounds.lo + 1) / n);
    const ranges = Array.from({ length: n }, (_, i) => ({ lo: i === 0 ? 1 : bounds.lo + i * span, hi: i === n - 1 ? Number.MAX_SAFE_INTEGER : bounds.lo + (i + 1) * span - 1 }));
    try {
      return await Promise.all(ranges.map((r) => runWorker(file, { ...base, ...r })));
    } catch {
      return [walkChain(this.db, { ...base, lo: 1, hi: Number.MAX_SAFE_INTEGER }, nodeHash)];
    }
  }

  /**
   * Of the entries lo..hi, the first whose text no longer matches its stored hash (an entry edited
   * in place: the hash column was written with it). If every stored hash matches — the editor
   * recomputed them — `fallback`, the entry the chain or a signature proves altered.
   */
  /** True if any entry names entry `seq`'s hash as its predecessor (a scan, on the error path only). */
  private referenced(seq: number): boolean {
    if (seq < 1) return true;
    const text = this.db.prepare('SELECT entry FROM audit_entries WHERE seq = ?').pluck().get(seq) as string | undefined;
    if (typeof text !== 'string') return false;
    return this.db.prepare('SELECT 1 FROM audit_entries WHERE instr(entry, ?) > 0 LIMIT 1').get(`,"prev":"${sha256Hex(text)}"`) !== undefined;
  }

  private culprit(lo: number, hi: number, fallback: number): { seq: number; byStoredHash: boolean } {
    const rows = this.db.prepare('SELECT seq, entry, hash FROM audit_entries WHERE seq BETWEEN ? AND ? ORDER BY seq').raw(true).all(Math.max(lo, 1), hi) as Array<[number, string, string]>;
    for (const [seq, entry, hash] of rows) if (sha256Hex(entry) !== hash) return { seq, byStoredHash: true };
    return { seq: Math.max(fallback, 1), byStoredHash: false };
  }

  // -------------------------------------------------------------------------------------------
  // Export: the entries as JSON Lines (each line the exact hashed bytes), the checkpoints with
  // their signatures, and the audit public key: verifiable with sha256sum and OpenSSL alone.

  export(dir: string, auditSpki: Uint8Array): { dir: string; entries: number; checkpoints: number; files: Record<string, string> } {
    mkdirSync(dir, { recursive: true });
    const files: Record<string, string> = {};
    const write = (name: string, fill: (put: (line: string) => void) => void) => {
      const tmp = join(dir, `.${name}.tmp`);
      const fd = openSync(tmp, 'w', 0o644);
      const h = createHash('sha256');
      let parts: string[] = [];
      let size = 0;
      const flush = () => {
        const b = Buffer.from(parts.join(''), 'utf8');
        writeSync(fd, b);
        h.update(b);
        parts = [];
        size = 0;
      };
      try {
        fill((line) => {
          parts.push(line, '\n');
          size += line.length + 1;
          if (size > 1 << 20) flush();
        });
        flush();
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, join(dir, name));
      files[name] = h.digest('hex');
    };
    let entries = 0;
    write('audit.jsonl', (put) => {
      const stmt = this.db.prepare(`SELECT seq, entry FROM audit_entries WHERE seq > ? ORDER BY seq LIMIT ${PAGE}`).raw(true);
      let after = 0;
      for (;;) {
        const rows = stmt.all(after) as Array<[number, string]>;
        if (rows.length === 0) break;
        for (const [seq, entry] of rows) {
          put(entry);
          entries++;
          after = seq;
        }
      }
    });
    let checkpoints = 0;
    write('checkpoints.jsonl', (put) => {
      for (const c of this.db.prepare('SELECT seq, head, at, key_fingerprint, signature_raw, signature_der FROM checkpoints ORDER BY seq').all() as CheckpointRow[]) {
        const message = checkpointText({ archive: this.archiveId, seq: c.seq, head: c.head, at: c.at, key: c.key_fingerprint });
        put(JSON.stringify({ seq: c.seq, head: c.head, at: c.at, key: c.key_fingerprint, message, signature_der: c.signature_der.toString('base64'), signature_raw: c.signature_raw.toString('hex') }));
        checkpoints++;
      }
    });
    const pem = spkiToPem(auditSpki);
    writeFileSync(join(dir, 'audit-public-key.pem'), pem);
    files['audit-public-key.pem'] = createHash('sha256').update(pem).digest('hex');
    const manifest = {
      format: AUDIT_EXPORT_FORMAT_ID,
      version: 1,
      archive: this.archiveId,
      entries,
      checkpoints,
      publicKeyFingerprint: createHash('sha256').update(auditSpki).digest('hex'),
      files,
    };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    return { dir, entries, checkpoints, files };
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

interface CheckpointRow {
  seq: number;
  head: string;
  at: string;
  key_fingerprint: string;
  signature_raw: Buffer;
  signature_der: Buffer;
  valid?: boolean;
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

// ---------------------------------------------------------------------------------------------
// The chain walk. Self-contained (it uses only its parameters), because the same function runs
// in worker threads from its source text: one implementation for both paths.

/** Chains shorter than this are walked in the calling thread (starting workers costs ~50 ms). */
const PARALLEL_FROM = 200_000;

export interface WalkTask {
  prefix: string;
  lo: number;
  hi: number;
  checkpoints: number[];
}

export interface WalkResult {
  count: number;
  bytes: number;
  lastSeq: number;
  missing: Array<[number, number]>;
  misplaced: number[];
  breaks: number[];
  cpHashes: Array<[number, string]>;
}

type HashFn = (algorithm: string, data: string | Uint8Array) => string;
interface WalkDb {
  prepare(sql: string): { raw(on: boolean): { all(...p: unknown[]): unknown[]; get(...p: unknown[]): unknown } };
}

export function walkChain(db: WalkDb, task: WalkTask, hash: HashFn): WalkResult {
  // Entries are read in chunks joined by SQLite into one buffer (group_concat, cast to a BLOB):
  // one value per ~256 entries instead of two per entry — reading is most of the cost — and the
  // bytes are hashed as they are stored, without a round trip through JavaScript strings. A chunk
  // with a gap in seq, or whose pieces do not match its row count (a line break inside an entry:
  // only an edited entry has one), is read again row by row, so every check sees exactly the rows.
  const CHUNK = 256;
  const zero = '0000000000000000000000000000000000000000000000000000000000000000';
  const out: WalkResult = { count: 0, bytes: 0, lastSeq: 0, missing: [], misplaced: [], breaks: [], cpHashes: [] };
  const cps = new Set(task.checkpoints);
  const chunk = db
    .prepare('SELECT count(*), min(seq), max(seq), CAST(group_concat(entry, char(10)) AS BLOB) FROM (SELECT seq, entry FROM audit_entries WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ' + CHUNK + ')')
    .raw(true);
  const rowsOf = db.prepare('SELECT seq, CAST(entry AS BLOB) FROM audit_entries WHERE seq >= ? AND seq <= ? ORDER BY seq').raw(true);
  // The link into this range: the hash of the entry before it (recomputed, never read).
  let prevH = zero;
  let expected = task.lo;
  if (task.lo > 1) {
    const before = db.prepare('SELECT seq, CAST(entry AS BLOB) FROM audit_entries WHERE seq < ? ORDER BY seq DESC LIMIT 1').raw(true).get(task.lo) as [number, Uint8Array] | undefined;
    if (before) {
      prevH = hash('sha256', before[1]);
      expected = before[0] + 1;
    } else {
      expected = 1;
    }
  }
  const prefix = Buffer.from(task.prefix, 'utf8');
  const visit = (seq: number, buf: Buffer | null, start: number, end: number) => {
    out.count++;
    if (seq !== expected) out.missing.push([expected, seq - 1]);
    let ok = buf !== null && end - start > prefix.length + 75 && prefix.compare(buf, start, start + prefix.length) === 0;
    if (!ok) {
      out.misplaced.push(seq);
    } else {
      // The seq the text claims, and where its digits end.
      let at = start + prefix.length;
      let claimed = 0;
      while (at < end && buf![at]! >= 48 && buf![at]! <= 57 && at - start - prefix.length < 16) claimed = claimed * 10 + (buf![at++]! - 48);
      if (claimed !== seq || at === start + prefix.length) out.misplaced.push(seq);
      // ',"prev":"<hash of the previous entry>"' exactly, compared as one string.
      ok = end - at > 74 && buf![at + 73] === 34 && buf!.toString('latin1', at, at + 74) === ',"prev":"' + prevH + '"';
      if (!ok) out.breaks.push(seq);
    }
    const h = buf !== null ? hash('sha256', buf.subarray(start, end)) : zero;
    out.bytes += end - start;
    if (cps.has(seq)) out.cpHashes.push([seq, h]);
    prevH = h;
    expected = seq + 1;
    out.lastSeq = seq;
  };
  let from = task.lo;
  for (;;) {
    const c = chunk.get(from, task.hi) as [number, number | null, number | null, Buffer | null];
    const n = c[0];
    if (n === 0) break;
    const lo = c[1]!;
    const hi = c[2]!;
    const text = c[3];
    let fast = hi - lo + 1 === n && text !== null;
    if (fast) {
      // n pieces, split on LF; a chunk with any other number of line breaks takes the row path.
      let pieces = 1;
      for (let p = text!.indexOf(10); p !== -1; p = text!.indexOf(10, p + 1)) pieces++;
      fast = pieces === n;
    }
    if (fast) {
      let start = 0;
      for (let i = 0; i < n; i++) {
        let end = i < n - 1 ? text!.indexOf(10, start) : text!.length;
        if (end < 0) end = text!.length;
        visit(lo + i, text!, start, end);
        start = end + 1;
      }
    } else {
      for (const r of rowsOf.all(from, hi) as Array<[number, Buffer | null]>) visit(r[0], r[1], 0, r[1] ? r[1].length : 0);
    }
    from = hi + 1;
  }
  return out;
}

/** Runs walkChain in a worker thread on its own read-only connection to `file`. */
function runWorker(file: string, task: WalkTask): Promise<WalkResult> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { hash } = require('node:crypto');
    const Database = require(workerData.sqlite);
    const walkChain = ${walkChain.toString()};
    const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
    try {
      db.pragma('query_only = ON');
      parentPort.postMessage({ ok: true, value: walkChain(db, workerData.task, hash) });
    } catch (e) {
      parentPort.postMessage({ ok: false, error: String(e && e.message || e) });
    } finally {
      db.close();
    }`;
  return new Promise((resolve, reject) => {
    const w = new Worker(source, { eval: true, workerData: { file, task, sqlite: require.resolve('better-sqlite3') } });
    w.once('message', (m: { ok: boolean; value?: WalkResult; error?: string }) => (m.ok ? resolve(m.value!) : reject(new Error(m.error))));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`audit verification worker exited with ${code}`));
    });
  });
}
