// Audit entries that are about no archive row: what people did at this workstation (logins, key
// generation and destruction on a token, CSRs, wraps, share checks). They go through the one writer
// like every change, so each is chained and covered by a signed checkpoint. Entries first kept in
// the data folder's pending journal (electron/services/activity/pending.ts) carry its entry id in
// details.pending, so carrying them over twice is detected and skipped.
import type { EntryDraft } from '../audit/chain';
import { guarded, requireStore, type ArchiveContext } from './context';

/** Appends entries to the audit log in one commit (one checkpoint); returns the new head's sequence. */
export async function note(ctx: ArchiveContext, entries: EntryDraft[], guard?: () => void): Promise<number> {
  if (entries.length === 0) return ctx.audit.head().seq;
  const store = requireStore(ctx);
  const committed = await store.commit(() => ({ rows: [], audit: entries, ...(guard ? { guard } : {}) }));
  return committed.seq;
}

/** True when an entry carried over from the pending journal with this id is already in the log. */
export function hasPendingEntry(ctx: ArchiveContext, pendingId: string): boolean {
  // Entry ids are UUIDs; the details column holds canonical JSON, so the id appears verbatim.
  return guarded(ctx, () => !!ctx.db.prepare('SELECT 1 FROM audit_entries WHERE instr(entry, ?) > 0 LIMIT 1').get(`"pending":"${pendingId}"`));
}
