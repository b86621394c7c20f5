// Writing a bundle (`custos archive export`): the selected keys with all their versions, their
// custodians and share sets, a manifest signed in the HSM by the audit key, written to a
// temporary file and renamed into place only after the export is in the audit log.
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { RECORDS, type RecordType } from '../../../../shared/archive/canonical';
import { BUNDLE_FORMAT_ID, BUNDLE_FORMAT_VERSION, type BundleSummary, type StateChange } from '../../../../shared/archive/types';
import { sha256 } from '../../audit/chain';
import { ecdsaRawToDer } from '../../formats/ecdsa';
import { archiveError } from '../errors';
import type { ArchiveService } from '../service';
import { nowIso } from '../store';
import { toJsonFields, type BundleManifest } from './format';

export async function exportBundle(svc: ArchiveService, out: string, selection: { all?: boolean; labels?: string[] }, actor: string): Promise<BundleSummary> {
  const { db, crypto } = svc.internals;
  if (!crypto) throw archiveError('NOT_LOGGED_IN', 'Signing a bundle needs the HSM that holds the audit key.', 'Give --module and --token and log in.');
  const path = resolve(out);
  if (existsSync(path)) throw archiveError('ARCHIVE_EXISTS', `A file already exists at ${path}.`, 'Choose another file name; bundles are never overwritten.', { path });
  const ws = svc.workstation;
  const labels = selection.labels ?? [];
  const keys = (
    selection.all || labels.length === 0
      ? db.prepare('SELECT * FROM keys ORDER BY label').all()
      : labels.map((l) => {
          const k = db.prepare('SELECT * FROM keys WHERE label = ?').get(l);
          if (!k) throw archiveError('ARCHIVE_RECORD_NOT_FOUND', `The archive has no key labelled "${l.slice(0, 140)}".`, 'Check the label (custos archive search).');
          return k;
        })
  ) as Array<Record<string, unknown> & { id: string; custodians: string }>;
  const keyIds = new Set(keys.map((k) => k.id));
  const custodianIds = new Set<string>();
  for (const k of keys) for (const c of JSON.parse(k.custodians) as string[]) custodianIds.add(c);

  const lines: string[] = [];
  const counts: Record<string, number> = {};
  const put = (type: RecordType, row: Record<string, unknown>, history?: StateChange[]) => {
    const rec: Record<string, unknown> = { type, id: row.id, fields: toJsonFields(RECORDS[type], row) };
    if (history) rec.history = history;
    lines.push(JSON.stringify(rec) + '\n');
    counts[type] = (counts[type] ?? 0) + 1;
  };
  for (const id of [...custodianIds].sort()) {
    const c = db.prepare('SELECT * FROM custodians WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    if (c) put('custodian', c);
  }
  for (const k of keys) put('key', k);
  for (const s of db.prepare('SELECT * FROM share_sets WHERE key_id IS NOT NULL ORDER BY id').all() as Array<Record<string, unknown> & { key_id: string }>) {
    if (keyIds.has(s.key_id)) put('share-set', s);
  }
  const versionsOf = db.prepare('SELECT * FROM key_versions WHERE key_id = ? ORDER BY version');
  for (const k of keys) {
    for (const v of versionsOf.all(k.id) as Array<Record<string, unknown> & { id: string }>) put('version', v, svc.history(v.id));
  }
  const recordBytes = Buffer.from(lines.join(''), 'utf8');
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT_ID,
    version: BUNDLE_FORMAT_VERSION,
    bundleId: randomUUID(),
    archive: svc.archiveId,
    name: ws.name,
    createdAt: nowIso(),
    signer: { algorithm: 'ecdsa-p256-sha256', fingerprint: ws.audit_fingerprint },
    kekCheck: ws.kek_check,
    selection: { all: selection.all === true || labels.length === 0, labels },
    counts,
    records: lines.length,
    recordsSha256: sha256(recordBytes).toString('hex'),
  };
  const manifestLine = Buffer.from(JSON.stringify(manifest) + '\n', 'utf8');
  const [raw] = await crypto.sign([manifestLine]);
  const sigLine = Buffer.from(JSON.stringify({ signature: { algorithm: 'ecdsa-p256-sha256', signer: ws.audit_fingerprint, der: ecdsaRawToDer(raw!).toString('base64'), raw: Buffer.from(raw!).toString('hex') } }) + '\n');
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, manifestLine);
    writeSync(fd, recordBytes);
    writeSync(fd, sigLine);
  } finally {
    closeSync(fd);
  }
  const fileSha = sha256(readFileSync(tmp)).toString('hex');
  try {
    await svc.commit(() => ({
      rows: [],
      audit: [{ actor, action: 'bundle.export', details: { bundle: manifest.bundleId, file: path, records: manifest.records, counts, sha256: fileSha, selection: manifest.selection } }],
    }));
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone already */
    }
    throw e;
  }
  return { path, records: manifest.records, keys: counts.key ?? 0, versions: counts.version ?? 0, sha256: fileSha };
}
