// Audit key handovers (issue #10 part 4; docs/FORMAT.md "Audit key handover"). An archive's audit
// key can be rotated: the handover is an audit entry, in a transaction whose checkpoint the OLD
// key signs, that names both keys (fingerprint and public key) and carries the NEW key's signature
// over handoverStatement(archive, old, new). Checkpoints after it are signed by the new key.
//
// So the log itself says which key signed which checkpoint, and a verifier needs nothing but the
// log and one key it trusts (the pin, or a key given by hand): the chain of handovers from that
// key to the stored one. Threats: a forger who swaps the stored key cannot hand over to it — the
// checkpoint covering the handover must verify under the key before it, and the statement under
// the key after it, and a forger holds neither the old key nor (naming a real new key) the new one.
import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { checkpointText, handoverStatement } from '../../../shared/archive/canonical';
import type { VerifyProblem } from '../../../shared/archive/types';
import { sha256, sha256Hex, type CheckpointRow, type Db } from './chain';

export const HANDOVER_ACTION = 'archive.audit.handover';

export interface ChainKey {
  fingerprint: string;
  spki: Buffer;
}

export interface Handover {
  /** The handover entry's seq. */
  seq: number;
  from: ChainKey;
  to: ChainKey;
}

export interface HandoverChain {
  /** Every audit key the log names, oldest first; the last is the one that signs now. */
  keys: ChainKey[];
  handovers: Handover[];
  problems: VerifyProblem[];
}

const HEX64 = /^[0-9a-f]{64}$/;
const keyCache = new WeakMap<Buffer, KeyObject | null>();

/** A public key from its SPKI DER, or null if it is not one. */
export function publicKeyOf(spki: Buffer): KeyObject | null {
  if (!keyCache.has(spki)) {
    let k: KeyObject | null = null;
    try {
      k = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    } catch {
      k = null;
    }
    keyCache.set(spki, k);
  }
  return keyCache.get(spki)!;
}

export function verifyRaw(spki: Buffer, message: Buffer, raw: Uint8Array): boolean {
  const key = publicKeyOf(spki);
  try {
    return !!key && nodeVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, raw);
  } catch {
    return false;
  }
}

function chainKey(v: unknown): ChainKey | null {
  const o = v as { fingerprint?: unknown; spki?: unknown } | null;
  if (!o || typeof o.fingerprint !== 'string' || !HEX64.test(o.fingerprint) || typeof o.spki !== 'string') return null;
  const spki = Buffer.from(o.spki, 'base64');
  return sha256(spki).toString('hex') === o.fingerprint ? { fingerprint: o.fingerprint, spki } : null;
}

const hasHandoverIndex = (db: Db) => !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'audit_handovers'").get();

/**
 * The handovers in the log and the keys they chain, checked: each names a public key with the
 * fingerprint it gives, its statement verifies under the new key, it starts from the key the one
 * before it ended with, and the last ends with the key stored in the archive. With
 * `covering`, also the checkpoint that covers each handover: it must chain from the handover entry
 * and verify under the old key (what opening an archive checks before it follows a handover).
 */
export function readHandovers(db: Db, archiveId: string, storedSpki: Buffer, opts: { covering?: boolean } = {}): HandoverChain {
  const stored: ChainKey = { fingerprint: sha256(storedSpki).toString('hex'), spki: storedSpki };
  // A schema-3 file opened read-only has no index and no handover: its one key is the stored one.
  if (!hasHandoverIndex(db)) return { keys: [stored], handovers: [], problems: [] };
  const rows = db.prepare(`SELECT seq, entry FROM audit_entries WHERE action = '${HANDOVER_ACTION}' ORDER BY seq`).all() as Array<{ seq: number; entry: string }>;
  const problems: VerifyProblem[] = [];
  const handovers: Handover[] = [];
  const keys: ChainKey[] = [];
  for (const r of rows) {
    let details: { from?: unknown; to?: unknown; toSignature?: unknown } = {};
    try {
      details = (JSON.parse(r.entry) as { details?: typeof details }).details ?? {};
    } catch {
      /* reported below: no keys */
    }
    const from = chainKey(details.from);
    const to = chainKey(details.to);
    if (!from || !to) {
      problems.push({ check: 'identity', seq: r.seq, message: `Audit key handover ${r.seq} does not name two public keys with the fingerprints it gives: it was altered.` });
      continue;
    }
    const sig = typeof details.toSignature === 'string' && /^[0-9a-f]{128}$/.test(details.toSignature) ? Buffer.from(details.toSignature, 'hex') : null;
    if (!sig || !verifyRaw(to.spki, Buffer.from(handoverStatement(archiveId, from.fingerprint, to.fingerprint), 'utf8'), sig)) {
      problems.push({ check: 'identity', seq: r.seq, message: `The new audit key did not sign audit key handover ${r.seq} (${to.fingerprint.slice(0, 16)}…): the handover was forged or altered.` });
    }
    const prev = keys[keys.length - 1];
    if (prev && prev.fingerprint !== from.fingerprint) {
      problems.push({ check: 'identity', seq: r.seq, message: `Audit key handover ${r.seq} hands over from ${from.fingerprint.slice(0, 16)}…, but the key in use then was ${prev.fingerprint.slice(0, 16)}…: the handover was forged or altered.` });
    }
    if (!prev) keys.push(from);
    keys.push(to);
    handovers.push({ seq: r.seq, from, to });
    if (opts.covering) problems.push(...coveringProblems(db, archiveId, r.seq, from));
  }
  if (keys.length === 0) keys.push(stored);
  else if (keys[keys.length - 1]!.fingerprint !== stored.fingerprint) {
    problems.push({ check: 'identity', message: `The audit key stored in the archive (${stored.fingerprint.slice(0, 16)}…) is not the one the last handover names (${keys[keys.length - 1]!.fingerprint.slice(0, 16)}…): the stored key was swapped.` });
  }
  return { keys, handovers, problems };
}

/** The checkpoint that covers handover `seq` chains from it and verifies under the old key. */
function coveringProblems(db: Db, archiveId: string, seq: number, from: ChainKey): VerifyProblem[] {
  const cp = db.prepare('SELECT seq, head, at, key_fingerprint, signature_raw, signature_der FROM checkpoints WHERE seq >= ? ORDER BY seq LIMIT 1').get(seq) as CheckpointRow | undefined;
  const bad = (why: string): VerifyProblem[] => [{ check: 'checkpoint', seq, message: `Audit key handover ${seq} is not vouched for by the old key: ${why}.` }];
  if (!cp) return bad('no checkpoint covers it');
  const entries = db.prepare('SELECT seq, entry FROM audit_entries WHERE seq BETWEEN ? AND ? ORDER BY seq').all(seq, cp.seq) as Array<{ seq: number; entry: string }>;
  if (entries.length !== cp.seq - seq + 1) return bad('entries between it and its checkpoint are missing');
  let prev: string | null = null;
  for (const e of entries) {
    if (prev !== null && !e.entry.includes(`,"prev":"${prev}",`)) return bad(`entry ${e.seq} does not chain from the one before it`);
    prev = sha256Hex(e.entry);
  }
  if (prev !== cp.head) return bad(`checkpoint ${cp.seq} signed another head`);
  let message: Buffer;
  try {
    message = Buffer.from(checkpointText({ archive: archiveId, seq: cp.seq, head: cp.head, at: cp.at, key: cp.key_fingerprint }), 'utf8');
  } catch {
    return bad(`checkpoint ${cp.seq} is malformed`);
  }
  if (cp.key_fingerprint !== from.fingerprint || !verifyRaw(from.spki, message, cp.signature_raw)) return bad(`checkpoint ${cp.seq} does not verify under the old key`);
  return [];
}

/**
 * The key that must have signed each checkpoint: the first key up to and including the checkpoint
 * that covers the first handover, then the next key, and so on.
 */
export function checkpointSigners(chain: HandoverChain, checkpointSeqs: number[]): Map<number, ChainKey> {
  const out = new Map<number, ChainKey>();
  let epoch = 0;
  let h = 0;
  for (const seq of checkpointSeqs) {
    out.set(seq, chain.keys[Math.min(epoch, chain.keys.length - 1)]!);
    while (h < chain.handovers.length && chain.handovers[h]!.seq <= seq) {
      h++;
      epoch++;
    }
  }
  return out;
}
