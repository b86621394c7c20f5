// The audit log's chain, as stored in the archive file (tables audit_entries and checkpoints;
// docs/FORMAT.md "Audit log and checkpoints"):
//
//   entry n  = one line of canonical JSON (shared/archive/canonical.ts auditEntryText) holding
//              the archive id, n, the hash of entry n-1 ("prev"), time, actor, action, the row
//              it is about (with that row's MAC) and details
//   hash(n)  = SHA-256 of the UTF-8 bytes of entry n
//   checkpoint(n) = ECDSA P-256 / SHA-256 signature by the HSM audit key over checkpointText(n, hash(n))
//
// This module holds the definitions every part of the log shares: the hashes, the shapes of an
// entry before and after it is chained, and the stored checkpoint row. It writes nothing.
import { hash as nodeHash } from 'node:crypto';
import { auditEntryText, checkpointText } from '../../../shared/archive/canonical';
import type Database from 'better-sqlite3';

export type Db = Database.Database;

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

/** A checkpoints row as stored. */
export interface CheckpointRow {
  seq: number;
  head: string;
  at: string;
  key_fingerprint: string;
  signature_raw: Buffer;
  signature_der: Buffer;
  valid?: boolean;
}

/** Entries chained onto `head`, and the checkpoint that covers them (pure: nothing is read or written). */
export function chainEntries(archiveId: string, drafts: EntryDraft[], head: Head, at: string, keyFingerprint: string): { entries: PreparedEntry[]; checkpoint: PreparedCheckpoint } {
  const entries: PreparedEntry[] = [];
  let prev = head.hash;
  let seq = head.seq;
  for (const d of drafts) {
    seq++;
    const entry = auditEntryText({
      archive: archiveId,
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
  const message = Buffer.from(checkpointText({ archive: archiveId, seq, head: prev, at, key: keyFingerprint }), 'utf8');
  return { entries, checkpoint: { seq, head: prev, at, keyFingerprint, message } };
}
