// The chain walk. walkChain is self-contained (it uses only its parameters), because the same
// function runs in worker threads from its source text: one implementation for both paths.
import { Worker } from 'node:worker_threads';

/** Chains shorter than this are walked in the calling thread (starting workers costs ~50 ms). */
export const PARALLEL_FROM = 200_000;

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
  /** The time ("at") of each entry a checkpoint names, to compare with the checkpoint's own. */
  cpAts: Array<[number, string | null]>;
  /** Entries whose stored hash column is not the SHA-256 of their text. */
  badHashes: number[];
  /**
   * [seq, at of seq-1, at of seq] where the time changes between two entries that no checkpoint
   * separates. Every entry of one transaction carries that transaction's time, and each
   * transaction ends in a checkpoint: so a change of time with no checkpoint after seq-1 means
   * that checkpoint was deleted.
   */
  unsplit: Array<[number, string, string]>;
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
  const out: WalkResult = { count: 0, bytes: 0, lastSeq: 0, missing: [], misplaced: [], breaks: [], cpHashes: [], cpAts: [], badHashes: [], unsplit: [] };
  const cps = new Set(task.checkpoints);
  // The stored hash column comes along as one string of 64 hex digits per entry: it is not used
  // for chaining, but people read it (the audit trail shows it), so it must match the text.
  const chunk = db
    .prepare(
      'SELECT count(*), min(seq), max(seq), CAST(group_concat(entry, char(10)) AS BLOB), group_concat(hash, \'\') FROM (SELECT seq, entry, hash FROM audit_entries WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ' +
        CHUNK +
        ')',
    )
    .raw(true);
  const rowsOf = db.prepare('SELECT seq, CAST(entry AS BLOB), hash FROM audit_entries WHERE seq >= ? AND seq <= ? ORDER BY seq').raw(true);
  const prefix = Buffer.from(task.prefix, 'utf8');
  const atMark = Buffer.from(',"at":"', 'latin1');
  let atEnd = 0;
  // Where the entry's time starts (its end in atEnd), or -1: the JSON string after ',"at":"'.
  // In an entry of the documented shape it comes right after "prev" (`hint`); otherwise it is the
  // first one after the prefix (what comes before it is the seq and a hex hash). Bytes are
  // compared in plain loops (a handful each): cheaper here than a native call per entry.
  const atStart = (b: Buffer, start: number, end: number, hint: number): number => {
    let p = -1;
    if (hint >= 0 && hint + atMark.length <= end) {
      p = hint;
      for (let k = 0; k < atMark.length; k++) if (b[hint + k] !== atMark[k]) p = -1;
    }
    if (p < 0) p = b.indexOf(atMark, start + Math.min(prefix.length, end - start));
    if (p < 0 || p >= end) return -1;
    p += atMark.length;
    let q = p;
    while (q < end && q - p <= 64 && b[q] !== 34) q++;
    if (q >= end || q - p > 64) return -1;
    atEnd = q;
    return p;
  };
  const sameAt = (a: Buffer, as: number, ae: number, b: Buffer, bs: number, be: number): boolean => {
    if (ae - as !== be - bs) return false;
    for (let k = 0; k < ae - as; k++) if (a[as + k] !== b[bs + k]) return false;
    return true;
  };
  // The time of the previous entry of the same transaction (none after a checkpoint), as
  // buffer and span: three variables rather than an object per entry.
  let prevAtB: Buffer | null = null;
  let prevAtS = 0;
  let prevAtE = 0;
  // The link into this range: the hash of the entry before it (recomputed, never read).
  let prevH = zero;
  let expected = task.lo;
  if (task.lo > 1) {
    const before = db.prepare('SELECT seq, CAST(entry AS BLOB) FROM audit_entries WHERE seq < ? ORDER BY seq DESC LIMIT 1').raw(true).get(task.lo) as [number, Uint8Array] | undefined;
    if (before) {
      const b = Buffer.from(before[1].buffer, before[1].byteOffset, before[1].byteLength);
      prevH = hash('sha256', b);
      const t = cps.has(before[0]) ? -1 : atStart(b, 0, b.length, -1);
      if (t >= 0) [prevAtB, prevAtS, prevAtE] = [b, t, atEnd];
      expected = before[0] + 1;
    } else {
      expected = 1;
    }
  }
  // A chunk's hash column comes joined: a stored hash of another length shifts the rest, so an
  // entry whose slice does not match is only a suspect, re-read on its own (the error path only).
  const suspects: Array<[number, string]> = [];
  const storedHash = db.prepare('SELECT hash FROM audit_entries WHERE seq = ?').raw(true);
  // `stored` is the hash column: the 64 characters at `off` (a chunk's joined column), or the whole string (off < 0).
  const visit = (seq: number, buf: Buffer | null, start: number, end: number, stored: string | null, off: number) => {
    out.count++;
    if (seq !== expected) out.missing.push([expected, seq - 1]);
    let ok = buf !== null && end - start > prefix.length + 75 && prefix.compare(buf, start, start + prefix.length) === 0;
    let hint = -1;
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
      hint = at + 74;
    }
    const h = buf !== null ? hash('sha256', buf.subarray(start, end)) : zero;
    if (stored === null || !(off >= 0 ? stored.startsWith(h, off) : stored === h)) {
      if (off >= 0) suspects.push([seq, h]);
      else out.badHashes.push(seq);
    }
    const t = buf !== null ? atStart(buf, start, end, hint) : -1;
    if (t >= 0 && prevAtB !== null && !sameAt(buf!, t, atEnd, prevAtB, prevAtS, prevAtE)) {
      out.unsplit.push([seq, prevAtB.toString('latin1', prevAtS, prevAtE), buf!.toString('latin1', t, atEnd)]);
    }
    out.bytes += end - start;
    if (cps.has(seq)) {
      out.cpHashes.push([seq, h]);
      out.cpAts.push([seq, t >= 0 ? buf!.toString('latin1', t, atEnd) : null]);
      prevAtB = null; // a checkpoint ends the transaction: the next entry may have another time
    } else if (t >= 0) {
      prevAtB = buf;
      prevAtS = t;
      prevAtE = atEnd;
    } else {
      prevAtB = null;
    }
    prevH = h;
    expected = seq + 1;
    out.lastSeq = seq;
  };
  let from = task.lo;
  for (;;) {
    const c = chunk.get(from, task.hi) as [number, number | null, number | null, Buffer | null, string | null];
    const n = c[0];
    if (n === 0) break;
    const lo = c[1]!;
    const hi = c[2]!;
    const text = c[3];
    const hashes = c[4];
    let fast = hi - lo + 1 === n && text !== null && typeof hashes === 'string' && hashes.length === 64 * n;
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
        visit(lo + i, text!, start, end, hashes!, 64 * i);
        start = end + 1;
      }
      for (const [seq, h] of suspects.splice(0)) {
        const r = storedHash.get(seq) as [unknown] | undefined;
        if (r?.[0] !== h) out.badHashes.push(seq);
      }
    } else {
      for (const r of rowsOf.all(from, hi) as Array<[number, Buffer | null, unknown]>) visit(r[0], r[1], 0, r[1] ? r[1].length : 0, typeof r[2] === 'string' ? r[2] : null, -1);
    }
    from = hi + 1;
  }
  return out;
}

/** Runs walkChain in a worker thread on its own read-only connection to `file`. */
export function runWorker(file: string, task: WalkTask): Promise<WalkResult> {
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
