// Verifying the audit log: the chain recomputed from the stored entries, every checkpoint
// signature checked with the audit public key (Node's crypto: no HSM needed), and the first entry
// that is missing, altered, inserted, out of order or unsigned named; truncation is detected
// against the checkpoints and against the anchor this workstation keeps outside the file.
//
// Also checked, because nothing else would notice them (issue #11 part 3):
//   - the stored hash column against the entries' text (the audit trail shows it to people);
//   - a checkpoint deleted from the middle of the log: every entry of one transaction carries the
//     transaction's time, which is its checkpoint's "at", and the writer makes checkpoint times
//     strictly increase; so two neighbouring entries with different times and no checkpoint
//     between them lost the checkpoint that separated them;
//   - the public key against the fingerprint this workstation pinned (`expectKey`): a log
//     re-signed with someone else's key verifies against the key stored beside it.
import { createHash, hash as nodeHash, verify as nodeVerify } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { auditEntryPrefix, checkpointText } from '../../../shared/archive/canonical';
import type { VerifyProblem } from '../../../shared/archive/types';
import { sha256Hex, type CheckpointRow, type Db } from './chain';
import { checkpointSigners, publicKeyOf, readHandovers } from './handover';
import { PARALLEL_FROM, runWorker, walkChain, type WalkResult } from './walk';

export interface ChainVerdict {
  entries: number;
  checkpoints: number;
  lastCheckpoint: { seq: number; at: string; headHash: string } | null;
  firstBadEntry: number | null;
  problems: VerifyProblem[];
  /** Bytes hashed, for the benchmark's side-by-side raw loop. */
  bytesHashed: number;
}

/** Problems of one kind listed one by one; beyond this they are counted. */
const LIST_MAX = 20;

/**
 * Recomputes the chain from the stored entries and checks every checkpoint signature with the
 * audit public key (Node's crypto: no HSM needed). `expect` is an anchor kept outside the file
 * (the newest checkpoint this workstation saw): a log cut back to before it is reported even if
 * it is internally consistent.
 */
export async function verifyChain(
  db: Db,
  archiveId: string,
  auditSpki: Uint8Array,
  opts: { expect?: { seq: number; headHash: string } | null; expectKey?: string | null; threads?: number } = {},
): Promise<ChainVerdict> {
  const problems: VerifyProblem[] = [];
  let firstBad: number | null = null;
  const bad = (seq: number) => {
    if (firstBad === null || seq < firstBad) firstBad = seq;
  };
  const storedSpki = Buffer.from(auditSpki);
  if (!publicKeyOf(storedSpki)) {
    problems.push({ check: 'identity', message: 'The audit public key stored in the archive is not a valid public key.' });
    return { entries: 0, checkpoints: 0, lastCheckpoint: null, firstBadEntry: 1, problems, bytesHashed: 0 };
  }
  const fingerprint = createHash('sha256').update(storedSpki).digest('hex');
  // The audit keys the log hands over between (handover.ts); one key when it was never rotated.
  const chainKeys = readHandovers(db, archiveId, storedSpki);
  for (const p of chainKeys.problems) {
    problems.push(p);
    bad(p.seq ?? 1);
  }
  // The pin may name an earlier key of this archive: the handovers from it to the stored key,
  // each vouched for by the key before it (checkpoints below), carry the trust forward.
  if (opts.expectKey && !chainKeys.keys.some((k) => k.fingerprint === opts.expectKey)) {
    // Every signature below may verify, with the wrong key: none of them vouches for anything.
    problems.push({
      check: 'identity',
      seq: 1,
      message: `The audit key stored in the archive (fingerprint ${fingerprint.slice(0, 16)}…) is not the one this workstation pinned (${opts.expectKey.slice(0, 16)}…): the log may have been re-signed by someone else, so no checkpoint in it can be trusted.`,
    });
    bad(1);
  }

  // Checkpoints are few (one per transaction): load and check their signatures first, each with
  // the key that signed at its place in the log.
  const cps = db.prepare('SELECT seq, head, at, key_fingerprint, signature_raw, signature_der FROM checkpoints ORDER BY seq').all() as CheckpointRow[];
  const signers = checkpointSigners(chainKeys, cps.map((c) => c.seq));
  const bySeq = new Map<number, CheckpointRow>();
  for (const c of cps) {
    bySeq.set(c.seq, c);
    let valid = false;
    const signer = signers.get(c.seq)!;
    const key = publicKeyOf(signer.spki);
    try {
      const message = Buffer.from(checkpointText({ archive: archiveId, seq: c.seq, head: c.head, at: c.at, key: c.key_fingerprint }), 'utf8');
      valid =
        !!key &&
        c.key_fingerprint === signer.fingerprint &&
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
  const chunks = await walk(db, archiveId, opts.threads);
  const breaks: number[] = [];
  let count = 0;
  let bytes = 0;
  const computed = new Map<number, string>();
  const entryAt = new Map<number, string | null>();
  const badHashes: number[] = [];
  const unsplit: Array<[number, string, string]> = [];
  for (const c of chunks) {
    badHashes.push(...c.badHashes);
    unsplit.push(...c.unsplit);
    for (const [seq, at] of c.cpAts) entryAt.set(seq, at);
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
    } else if (entryAt.has(cp.seq) && entryAt.get(cp.seq) !== cp.at) {
      problems.push({ check: 'checkpoint', seq: cp.seq, message: `Checkpoint ${cp.seq} is dated ${cp.at}, but entry ${cp.seq} was written at ${String(entryAt.get(cp.seq))}: they were not made in the same transaction.` });
      bad(cp.seq);
    } else if (cp.head !== h) {
      problems.push({ check: 'checkpoint', seq: cp.seq, message: `Checkpoint ${cp.seq} signed a different entry ${cp.seq}: the log up to it was rewritten after it was signed.` });
      // Entry cp.seq certainly differs from what was signed; an earlier one in the same commit
      // is named if its text no longer matches its stored hash.
      bad(culprit(db, lastValidCp + 1, cp.seq, cp.seq).seq);
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
    const c = culprit(db, j - 1, j, referenced(db, j - 1) ? j : j - 1);
    problems.push({
      check: 'chain',
      seq: c.seq,
      message: c.byStoredHash
        ? `Audit entry ${c.seq} was altered: its text no longer matches the hash stored with it, and entries ${j - 1} and ${j} no longer chain.`
        : `Audit entries ${j - 1} and ${j} no longer chain (entry ${j} names a different predecessor): one of them was altered, inserted or moved.`,
    });
    bad(c.seq);
  }
  unsplit.sort((x, y) => x[0] - y[0]);
  for (const [seq, before, after] of unsplit.slice(0, LIST_MAX)) {
    problems.push({
      check: 'checkpoint',
      seq: seq - 1,
      message: `No checkpoint follows audit entry ${seq - 1}, yet entry ${seq} was written at another time (${before} and ${after}), in another transaction: the checkpoint after entry ${seq - 1} was deleted.`,
    });
  }
  if (unsplit.length > LIST_MAX) problems.push({ check: 'checkpoint', seq: unsplit[LIST_MAX]![0] - 1, message: `…and ${unsplit.length - LIST_MAX} more checkpoints missing from the middle of the log.` });
  if (badHashes.length > 0) {
    badHashes.sort((x, y) => x - y);
    const named = badHashes.slice(0, LIST_MAX).join(', ');
    problems.push({
      check: 'chain',
      seq: badHashes[0]!,
      message: `The hash stored with audit entr${badHashes.length === 1 ? 'y' : 'ies'} ${named}${badHashes.length > LIST_MAX ? ` (${badHashes.length} in all)` : ''} is not the SHA-256 of the entry's text: the hash column, or the entry, was edited.`,
    });
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
async function walk(db: Db, archiveId: string, threads?: number): Promise<WalkResult[]> {
  // Separate min() and max() queries: each alone is answered from the b-tree in O(log n).
  const bounds = {
    lo: (db.prepare('SELECT min(seq) FROM audit_entries').pluck().get() as number | null) ?? 0,
    hi: (db.prepare('SELECT max(seq) FROM audit_entries').pluck().get() as number | null) ?? 0,
  };
  const checkpoints = (db.prepare('SELECT seq FROM checkpoints ORDER BY seq').pluck().all() as number[]);
  const base = { prefix: auditEntryPrefix(archiveId), checkpoints };
  const n = threads ?? (bounds.hi - bounds.lo > PARALLEL_FROM ? Math.min(4, Math.max(1, availableParallelism())) : 1);
  const file = db.name;
  if (n <= 1 || !file || db.memory) return [walkChain(db, { ...base, lo: 1, hi: Number.MAX_SAFE_INTEGER }, nodeHash)];
  const span = Math.ceil((bounds.hi - bounds.lo + 1) / n);
  const ranges = Array.from({ length: n }, (_, i) => ({ lo: i === 0 ? 1 : bounds.lo + i * span, hi: i === n - 1 ? Number.MAX_SAFE_INTEGER : bounds.lo + (i + 1) * span - 1 }));
  try {
    return await Promise.all(ranges.map((r) => runWorker(file, { ...base, ...r })));
  } catch {
    return [walkChain(db, { ...base, lo: 1, hi: Number.MAX_SAFE_INTEGER }, nodeHash)];
  }
}

/** True if any entry names entry `seq`'s hash as its predecessor (a scan, on the error path only). */
function referenced(db: Db, seq: number): boolean {
  if (seq < 1) return true;
  const text = db.prepare('SELECT entry FROM audit_entries WHERE seq = ?').pluck().get(seq) as string | undefined;
  if (typeof text !== 'string') return false;
  return db.prepare('SELECT 1 FROM audit_entries WHERE instr(entry, ?) > 0 LIMIT 1').get(`,"prev":"${sha256Hex(text)}"`) !== undefined;
}

/**
 * Of the entries lo..hi, the first whose text no longer matches its stored hash (an entry edited
 * in place: the hash column was written with it). If every stored hash matches — the editor
 * recomputed them — `fallback`, the entry the chain or a signature proves altered.
 */
function culprit(db: Db, lo: number, hi: number, fallback: number): { seq: number; byStoredHash: boolean } {
  const rows = db.prepare('SELECT seq, entry, hash FROM audit_entries WHERE seq BETWEEN ? AND ? ORDER BY seq').raw(true).all(Math.max(lo, 1), hi) as Array<[number, string, string]>;
  for (const [seq, entry, hash] of rows) if (sha256Hex(entry) !== hash) return { seq, byStoredHash: true };
  return { seq: Math.max(fallback, 1), byStoredHash: false };
}
