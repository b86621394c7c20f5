// Shared set-up for the archive tests: a SoftHSM2 token, one HSM host process, a logged-in session.
import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { HsmClient } from '../../electron/hsm/client';
import type { GenerateSpec } from '../../electron/hsm/protocol';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import { AnchorStore } from '../../electron/services/archive/anchors';
import type { HsmBinding } from '../../electron/services/archive/crypto';
import { ArchiveService } from '../../electron/services/archive/service';
import { ecdsaRawToDer } from '../../electron/services/formats/ecdsa';
import { auditEntryText, checkpointText, GENESIS_HASH_HEX, type AuditEntryFields } from '../../shared/archive/canonical';
import { CustosError, type AppError } from '../../shared/result';
import { HOST_SCRIPT, requireBuild, SOFTHSM_MODULE, softhsm, type SoftHsmFixture } from '../helpers/softhsm';

export const USER_PIN = '246810';
export const SO_PIN = '13579135';
export const TOKEN = 'Archive';

export interface ArchiveFixture {
  fx: SoftHsmFixture;
  hsm: HsmClient;
  binding: HsmBinding;
  anchors: AnchorStore;
  dataDir: string;
  file(name: string): string;
  generate(type: GenerateSpec['type'], label: string, opts?: { extractable?: boolean; usages?: GenerateSpec['usages'] }): Promise<{ label: string; idHex: string }>;
  init(name?: string, file?: string): Promise<ArchiveService>;
  close(): Promise<void>;
}

let counter = 0;

export async function archiveFixture(prefix = 'custos-archive-'): Promise<ArchiveFixture> {
  requireBuild();
  const fx = softhsm(prefix);
  fx.initToken(TOKEN, { so: SO_PIN, user: USER_PIN });
  const hsm = new HsmClient(nodeHostSpawner(HOST_SCRIPT, fx.env));
  await hsm.call('login', { path: SOFTHSM_MODULE, token: TOKEN, role: 'user', pin: USER_PIN });
  const binding: HsmBinding = { hsm, module: SOFTHSM_MODULE, token: TOKEN };
  const dataDir = join(fx.dir, 'data');
  const anchors = new AnchorStore(dataDir);
  const defaults: Record<string, GenerateSpec['usages']> = { hmac: ['sign'], ec: ['sign'], rsa: ['sign'], ed: ['sign'] };
  return {
    fx,
    hsm,
    binding,
    anchors,
    dataDir,
    file: (name) => join(fx.dir, name),
    async generate(type, label, opts = {}) {
      const idHex = (++counter).toString(16).padStart(8, '0') + Math.random().toString(16).slice(2, 10).padEnd(8, '0');
      const usages = opts.usages ?? defaults[type.split('-')[0]!] ?? ['encrypt'];
      await hsm.call('generate', { path: SOFTHSM_MODULE, token: TOKEN, spec: { type, label, idHex, usages, extractable: opts.extractable ?? true } });
      return { label, idHex };
    },
    init(name = 'Workstation A', file = 'archive.custos') {
      return ArchiveService.init(join(fx.dir, file), { hsm: binding, name, actor: 'test', anchors });
    },
    async close() {
      await hsm.close();
      fx.cleanup();
    },
  };
}

/** The AppError a promise (or function) failed with; fails the test if it succeeded. */
export async function failure(p: Promise<unknown> | (() => unknown)): Promise<AppError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof CustosError) return e.appError;
    throw e;
  }
  throw new Error('expected a failure, but the call succeeded');
}

/**
 * Rewrites an archive's audit log as whoever holds a signing key could: the entries `keep` accepts
 * stay (renumbered and chained again), each transaction's checkpoint is made again over what is left
 * of it, dated as before, naming the key `spki` and signed by `sign` (raw r‖s). The connection must
 * have the append-only triggers dropped. Used to make an archive as an older Custos wrote it (with
 * the genuine key), and by the attack tests (with someone else's).
 */
export async function rewriteLog(
  db: Database.Database,
  archiveId: string,
  opts: { spki: Uint8Array; sign: (message: Buffer) => Promise<Uint8Array> | Uint8Array; keep?: (entry: AuditEntryFields) => boolean },
): Promise<void> {
  const rows = db.prepare('SELECT seq, entry FROM audit_entries ORDER BY seq').all() as Array<{ seq: number; entry: string }>;
  const cps = db.prepare('SELECT seq, at FROM checkpoints ORDER BY seq').all() as Array<{ seq: number; at: string }>;
  const key = createHash('sha256').update(opts.spki).digest('hex');
  const entries: Array<{ seq: number; entry: string; hash: string }> = [];
  const checkpoints: Array<{ seq: number; head: string; at: string; raw: Uint8Array }> = [];
  let prev = GENESIS_HASH_HEX;
  let from = 0;
  for (const cp of cps) {
    let kept = 0;
    for (const r of rows.filter((x) => x.seq > from && x.seq <= cp.seq)) {
      const e = JSON.parse(r.entry) as AuditEntryFields & { details: unknown };
      const fields: AuditEntryFields = { ...e, details: JSON.stringify(e.details) };
      if (opts.keep && !opts.keep(fields)) continue;
      const text = auditEntryText({ ...fields, seq: entries.length + 1, prev });
      prev = createHash('sha256').update(text, 'utf8').digest('hex');
      entries.push({ seq: entries.length + 1, entry: text, hash: prev });
      kept++;
    }
    from = cp.seq;
    if (kept === 0) continue;
    const seq = entries.length;
    const message = Buffer.from(checkpointText({ archive: archiveId, seq, head: prev, at: cp.at, key }), 'utf8');
    checkpoints.push({ seq, head: prev, at: cp.at, raw: await opts.sign(message) });
  }
  db.transaction(() => {
    db.prepare('DELETE FROM audit_entries').run();
    db.prepare('DELETE FROM checkpoints').run();
    const putEntry = db.prepare('INSERT INTO audit_entries (seq, entry, hash) VALUES (?, ?, ?)');
    for (const e of entries) putEntry.run(e.seq, e.entry, e.hash);
    const putCp = db.prepare('INSERT INTO checkpoints (seq, head, at, key_fingerprint, signature_raw, signature_der) VALUES (?, ?, ?, ?, ?, ?)');
    for (const c of checkpoints) putCp.run(c.seq, c.head, c.at, key, Buffer.from(c.raw), ecdsaRawToDer(c.raw));
  })();
}

/** Signs with the archive's own audit key in the HSM (raw r‖s), as Custos does. */
export function hsmAuditSigner(f: ArchiveFixture, a: ArchiveService): (message: Buffer) => Promise<Uint8Array> {
  return async (message) => {
    const [sig] = await f.hsm.call('sign', { path: SOFTHSM_MODULE, token: TOKEN, ref: { ...a.keyRefs.audit, kind: 'private' }, mechanism: 'ecdsa-sha256', data: [message] });
    return sig!;
  };
}
