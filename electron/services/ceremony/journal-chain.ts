// The ceremony journal's own hash chain (docs/FORMAT.md "Ceremony journal"): each entry is
// canonical JSON of {actor, at, event, prev, seq}; its hash is SHA-256 of those UTF-8 bytes, and the
// next entry names it as `prev` (64 zeros for the first). The audit log chains and signs every
// journal row as well; this chain lets the transcript in an evidence bundle be checked on its own.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../../shared/ceremony/canonical';
import type { JournalEntry } from '../../../shared/ceremony/run';

export const JOURNAL_GENESIS = '0'.repeat(64);

/**
 * The hashed text of an entry. A wrapped-key blob written with its SHA-256 (`wrappedSha256`, a
 * backup's or a re-share's blobs, and the plans that copy them) is hashed by that digest alone: its
 * `wrapped` bytes are left out, so the entry hashes the same once a Backup Key rotation has shredded
 * them from the record (docs/FORMAT.md "Shredded blobs"). Entries without such blobs hash as ever.
 */
export function journalEntryText(e: JournalEntry): string {
  const text = canonicalJson({ actor: e.actor, at: e.at, event: e.event, prev: e.prev, seq: e.seq });
  return text.includes('"wrappedSha256":') ? canonicalJson({ actor: e.actor, at: e.at, event: withoutBlobBytes(e.event), prev: e.prev, seq: e.seq }) : text;
}

/** `v` with the `wrapped` field of every object that carries `wrappedSha256` left out. */
export function withoutBlobBytes<T>(v: T): T {
  if (Array.isArray(v)) return v.map(withoutBlobBytes) as T;
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const digest = typeof o.wrappedSha256 === 'string';
  for (const [k, x] of Object.entries(o)) if (!(digest && k === 'wrapped')) out[k] = withoutBlobBytes(x);
  return out as T;
}

/** SHA-256 of a blob's bytes (its hex decoded), as the journal commits to it. */
export const blobSha256 = (hex: string): string => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');

export const journalEntryHash = (e: JournalEntry): string => createHash('sha256').update(journalEntryText(e), 'utf8').digest('hex');

export function verifyJournalChain(entries: ReadonlyArray<JournalEntry & { hash: string }>): { ok: true } | { ok: false; problem: string } {
  let prev = JOURNAL_GENESIS;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.seq !== i + 1) return { ok: false, problem: `entry ${i + 1} has sequence number ${e.seq}` };
    if (e.prev !== prev) return { ok: false, problem: `entry ${e.seq} does not follow entry ${e.seq - 1}` };
    if (journalEntryHash(e) !== e.hash) return { ok: false, problem: `entry ${e.seq} was altered` };
    prev = e.hash;
  }
  return { ok: true };
}

/**
 * The chain of a journal.jsonl file: each line is an entry's canonical text, so its hash is the
 * SHA-256 of the line's bytes, and its `prev` and `seq` are the last two keys (canonical JSON sorts
 * them last), read from the end of the line without parsing the rest.
 */
export function verifyJournalLines(file: Buffer | null): { ok: true; entries: number; head: string } | { ok: false; problem: string } {
  if (!file) return { ok: false, problem: 'journal.jsonl is missing' };
  const text = file.toString('utf8');
  if (text.length && !text.endsWith('\n')) return { ok: false, problem: 'journal.jsonl does not end with a newline' };
  const lines = text.length ? text.slice(0, -1).split('\n') : [];
  let prev = JOURNAL_GENESIS;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = TAIL.exec(line);
    if (!m || !line.startsWith('{"actor":')) return { ok: false, problem: `line ${i + 1} is not a journal entry` };
    if (Number(m[2]) !== i + 1) return { ok: false, problem: `line ${i + 1} has sequence number ${m[2]}` };
    if (m[1] !== prev) return { ok: false, problem: `entry ${i + 1} does not follow entry ${i}` };
    prev = createHash('sha256').update(line, 'utf8').digest('hex');
  }
  return { ok: true, entries: lines.length, head: prev };
}

const TAIL = /"prev":"([0-9a-f]{64})","seq":(\d{1,9})\}$/;
