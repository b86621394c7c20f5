// The journal's hash chain commits to a wrapped-key blob by its SHA-256 when the blob carries one
// (docs/FORMAT.md "Shredded blobs"): leaving the bytes out changes no hash, and an entry written
// before blobs carried a digest hashes exactly as it always did.
import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../shared/ceremony/run';
import { blobSha256, journalEntryHash, journalEntryText, JOURNAL_GENESIS, verifyJournalChain, verifyJournalLines } from '../../electron/services/ceremony/journal-chain';
import { canonicalJson } from '../../shared/ceremony/canonical';

const hex = 'a1'.repeat(40);
const blob = { target: 'archive-kek', label: 'KEK', wrapped: hex };
const entry = (b: Record<string, unknown>, seq = 1, prev = JOURNAL_GENESIS): JournalEntry =>
  ({ seq, at: '2026-12-05T10:00:00.000Z', actor: { person: 'p', name: 'Otto', role: 'operator' }, event: { type: 'step.completed', step: 'commit-backup', outcome: { blobs: [b] } }, prev }) as unknown as JournalEntry;

describe('journal entries with wrapped-key blobs', () => {
  it('hashes a blob that carries its SHA-256 by the digest: the entry hashes the same without the bytes', () => {
    const withDigest = { ...blob, wrappedSha256: blobSha256(hex) };
    const { wrapped: _w, ...redacted } = withDigest;
    expect(journalEntryHash(entry(withDigest))).toBe(journalEntryHash(entry(redacted)));
    // The hashed text holds no byte of the blob.
    expect(journalEntryText(entry(withDigest))).not.toContain(hex);
    // Another digest is another hash: the digest is what the chain commits to.
    expect(journalEntryHash(entry({ ...redacted, wrappedSha256: blobSha256('b2'.repeat(40)) }))).not.toBe(journalEntryHash(entry(redacted)));
  });

  it('hashes an entry without a digest exactly as before (its canonical JSON), so removing its bytes would show', () => {
    const e = entry(blob);
    expect(journalEntryText(e)).toBe(canonicalJson({ actor: e.actor, at: e.at, event: e.event, prev: e.prev, seq: e.seq }));
    const { wrapped: _w, ...stripped } = blob;
    expect(journalEntryHash(entry(stripped))).not.toBe(journalEntryHash(e));
  });

  it('keeps a chain intact across a redaction, in the record and as journal.jsonl lines', () => {
    const first = entry({ ...blob, wrappedSha256: blobSha256(hex) });
    const h1 = journalEntryHash(first);
    const second = { ...entry({ target: 'x', label: 'y', wrapped: 'c3'.repeat(40) }, 2, h1) };
    const chain = [first, second].map((e) => ({ ...e, hash: journalEntryHash(e) }));
    const { wrapped: _w, ...gone } = { ...blob, wrappedSha256: blobSha256(hex) };
    const redactedFirst = entry(gone);
    expect(verifyJournalChain([{ ...redactedFirst, hash: journalEntryHash(redactedFirst) }, chain[1]!])).toEqual({ ok: true });
    const lines = Buffer.from([redactedFirst, second].map((e) => journalEntryText(e) + '\n').join(''), 'utf8');
    expect(verifyJournalLines(lines)).toEqual({ ok: true, entries: 2, head: chain[1]!.hash });
  });
});
