// Exporting the audit log: the entries as JSON Lines (each line the exact hashed bytes), the
// checkpoints with their signatures, and the audit public key: verifiable with sha256sum and
// OpenSSL alone (docs/FORMAT.md "Audit log and checkpoints").
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointText } from '../../../shared/archive/canonical';
import { AUDIT_EXPORT_FORMAT_ID } from '../../../shared/archive/types';
import { spkiToPem } from '../formats/publicKey';
import type { CheckpointRow, Db } from './chain';
import { readHandovers } from './handover';

/** Entries read per query while writing audit.jsonl. */
const PAGE = 20_000;

export function exportLog(db: Db, archiveId: string, dir: string, auditSpki: Uint8Array): { dir: string; entries: number; checkpoints: number; files: Record<string, string> } {
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
    const stmt = db.prepare(`SELECT seq, entry FROM audit_entries WHERE seq > ? ORDER BY seq LIMIT ${PAGE}`).raw(true);
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
    for (const c of db.prepare('SELECT seq, head, at, key_fingerprint, signature_raw, signature_der FROM checkpoints ORDER BY seq').all() as CheckpointRow[]) {
      const message = checkpointText({ archive: archiveId, seq: c.seq, head: c.head, at: c.at, key: c.key_fingerprint });
      put(JSON.stringify({ seq: c.seq, head: c.head, at: c.at, key: c.key_fingerprint, message, signature_der: c.signature_der.toString('base64'), signature_raw: c.signature_raw.toString('hex') }));
      checkpoints++;
    }
  });
  const pem = spkiToPem(auditSpki);
  writeFileSync(join(dir, 'audit-public-key.pem'), pem);
  files['audit-public-key.pem'] = createHash('sha256').update(pem).digest('hex');
  // After audit key rotations, the keys that signed the older checkpoints (each checkpoint names
  // its key's fingerprint): one PEM per retired key, named by its fingerprint.
  const current = createHash('sha256').update(auditSpki).digest('hex');
  const retired = readHandovers(db, archiveId, Buffer.from(auditSpki)).keys.filter((k) => k.fingerprint !== current);
  for (const k of retired) {
    const name = `audit-public-key-${k.fingerprint}.pem`;
    const text = spkiToPem(k.spki);
    writeFileSync(join(dir, name), text);
    files[name] = createHash('sha256').update(text).digest('hex');
  }
  const manifest = {
    format: AUDIT_EXPORT_FORMAT_ID,
    version: 1,
    archive: archiveId,
    entries,
    checkpoints,
    publicKeyFingerprint: current,
    ...(retired.length ? { retiredKeyFingerprints: retired.map((k) => k.fingerprint) } : {}),
    files,
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { dir, entries, checkpoints, files };
}
