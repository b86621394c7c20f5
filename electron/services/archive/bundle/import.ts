// Applying a bundle (`custos archive import`). Never a silent overwrite: a record is inserted
// when absent, updated only when the incoming copy comes from the record's own origin archive with
// a higher revision (and, for versions, a lifecycle state reachable from the local one), and
// everything else that differs is a conflict. By default any conflict stops the whole import.
import { RECORDS, type RecordSpec, type RecordType } from '../../../../shared/archive/canonical';
import { reachable, type KeyState } from '../../../../shared/archive/lifecycle';
import type { ImportConflict, ImportReport } from '../../../../shared/archive/types';
import type { DetailValue } from '../../audit/chain';
import { archiveError } from '../errors';
import type { ArchiveService } from '../service';
import type { AuditDraft, RowWrite } from '../store';
import { BUNDLE_TYPES, type BundleManifest, type BundleRecord } from './format';
import { readBundle, type CheckedBundle } from './read';

/** True when two copies of a record hold the same values (bytes compared as bytes). */
const same = (spec: RecordSpec, a: Record<string, unknown>, b: Record<string, unknown>) =>
  spec.fields.slice(1).every((f) => {
    const x = a[f.name] ?? null;
    const y = b[f.name] ?? null;
    if (x instanceof Uint8Array || y instanceof Uint8Array) return x instanceof Uint8Array && y instanceof Uint8Array && Buffer.from(x).equals(Buffer.from(y));
    return x === y;
  });

export async function importBundle(svc: ArchiveService, file: string, opts: { skipConflicts?: boolean; dryRun?: boolean }, actor: string): Promise<ImportReport> {
  const { db } = svc.internals;
  if (!opts.dryRun && !svc.internals.store) throw archiveError('NOT_LOGGED_IN', 'Importing writes MACed rows and audit entries: it needs the archive\'s HSM.', 'Give --module and --token and log in, or use --dry-run to only check the bundle.');
  const checked = await readBundle(svc, file);
  const { manifest, records } = checked;
  let report: ImportReport = emptyReport(checked);

  // Look-ups prepared once and indexes over the bundle, so a large bundle is planned in linear time.
  const byId = Object.fromEntries(BUNDLE_TYPES.map((t) => [t, db.prepare(`SELECT * FROM ${RECORDS[t].table} WHERE id = ?`)])) as Record<RecordType, ReturnType<typeof db.prepare>>;
  const keyExists = db.prepare('SELECT 1 FROM keys WHERE id = ?');
  const labelClash = db.prepare('SELECT id FROM keys WHERE label = ? AND id <> ?');
  const versionTaken = db.prepare('SELECT id FROM key_versions WHERE key_id = ? AND version = ?');
  const activeOther = db.prepare("SELECT id FROM key_versions WHERE key_id = ? AND state = 'active' AND id <> ?");
  const bundleKeys = new Set(records.filter((r) => r.type === 'key').map((r) => r.id));
  const bundleState = new Map(records.filter((r) => r.type === 'version').map((r) => [r.id, r.fields.state]));

  const plan = () => {
    report = emptyReport(checked);
    const rows: RowWrite[] = [];
    const audit: AuditDraft[] = [];
    const conflicts: ImportConflict[] = [];
    // Keys of the bundle that this import keeps (inserted, updated or already here unchanged).
    const acceptedKeys = new Set<string>();
    const activeByKey = new Map<string, string>();
    for (const rec of records) {
      const spec = RECORDS[rec.type];
      const f = rec.fields;
      const local = byId[rec.type].get(rec.id) as (Record<string, unknown> & { mac: Buffer; revision: number; origin_archive: string }) | undefined;
      const conflict = (reason: string) => conflicts.push({ type: rec.type, id: rec.id, ...(typeof f.label === 'string' ? { label: f.label } : {}), reason });
      if (local && same(spec, local, f)) {
        if (rec.type === 'key') acceptedKeys.add(rec.id);
        report.unchanged++;
        continue;
      }
      const keyKnown = (keyId: unknown) => typeof keyId === 'string' && (acceptedKeys.has(keyId) || (!bundleKeys.has(keyId) && !!keyExists.get(keyId)));
      // Cross-record rules first.
      if (rec.type === 'key') {
        const clash = labelClash.get(f.label, rec.id) as { id: string } | undefined;
        if (clash) {
          conflict(`another key in this archive already has the label "${String(f.label)}"`);
          continue;
        }
      }
      if ((rec.type === 'share-set' && f.key_id !== null) || rec.type === 'version') {
        if (!keyKnown(f.key_id)) {
          conflict('its key is not imported (see the conflict about the key) and not in this archive');
          continue;
        }
      }
      if (rec.type === 'version') {
        const keyId = f.key_id as string;
        if (!local) {
          const taken = versionTaken.get(keyId, f.version) as { id: string } | undefined;
          if (taken) {
            conflict(`this archive already has a different version ${String(f.version)} of that key`);
            continue;
          }
        }
        if (f.state === 'active') {
          const act = activeOther.get(keyId, rec.id) as { id: string } | undefined;
          const pending = activeByKey.get(keyId);
          // Allowed if the bundle also carries the locally active version in another state (a rotation at the source).
          const leaving = act !== undefined && bundleState.has(act.id) && bundleState.get(act.id) !== 'active';
          if ((act && !leaving) || (pending && pending !== rec.id)) {
            conflict('another version of that key is active here; only one may be');
            continue;
          }
          activeByKey.set(keyId, rec.id);
        }
      }
      if (!local) {
        rows.push({ spec, op: 'insert', row: { ...f } });
        audit.push(importDraft(actor, 'import.insert', rows.length - 1, rec, manifest));
        if (rec.type === 'key') acceptedKeys.add(rec.id);
        report.inserted++;
        continue;
      }
      // The local row differs: only its owner's newer revision may replace it.
      if (local.origin_archive !== f.origin_archive) {
        conflict(`this archive's copy comes from archive ${local.origin_archive}, the bundle's from ${String(f.origin_archive)}`);
        continue;
      }
      if (local.origin_archive === svc.archiveId) {
        conflict(`this archive owns the record (its copy, revision ${local.revision}, is authoritative)`);
        continue;
      }
      if ((f.revision as number) <= local.revision) {
        conflict(`this archive's copy is as new or newer (revision ${local.revision}, bundle revision ${String(f.revision)})`);
        continue;
      }
      if (rec.type === 'version') {
        if (!reachable(local.state as KeyState, f.state as KeyState)) {
          conflict(`the bundle's state ${String(f.state)} cannot follow the local state ${String(local.state)}`);
          continue;
        }
        if (local.wrapped === null && f.wrapped !== null) {
          conflict('the material was shredded here and cannot come back');
          continue;
        }
      }
      rows.push({ spec, op: 'update', row: { ...f }, expectMac: local.mac });
      audit.push(importDraft(actor, 'import.update', rows.length - 1, rec, manifest, local.revision));
      if (rec.type === 'key') acceptedKeys.add(rec.id);
      report.updated++;
    }
    report.conflicts = conflicts;
    audit.push({
      actor,
      action: 'bundle.import',
      details: {
        bundle: manifest.bundleId,
        source: manifest.archive,
        sourceName: manifest.name,
        signer: checked.signer.fingerprint,
        records: records.length,
        inserted: report.inserted,
        updated: report.updated,
        unchanged: report.unchanged,
        conflicts: conflicts.length,
      },
    });
    return { rows, audit };
  };

  const preview = plan();
  if (opts.dryRun || (report.conflicts.length > 0 && !opts.skipConflicts) || preview.rows.length === 0) {
    return { ...report, applied: false };
  }
  await svc.commit(plan);
  return { ...report, applied: true };
}

function emptyReport(c: CheckedBundle): ImportReport {
  return { bundleArchiveId: c.manifest.archive, bundleName: c.manifest.name, signedBy: c.signer.fingerprint, records: c.records.length, inserted: 0, updated: 0, unchanged: 0, conflicts: [], applied: false };
}

function importDraft(actor: string, action: string, row: number, rec: BundleRecord, m: BundleManifest, localRevision?: number): AuditDraft {
  const details: Record<string, DetailValue> = { bundle: m.bundleId, source: m.archive, sourceRevision: rec.fields.revision as number };
  if (localRevision !== undefined) details.previousRevision = localRevision;
  if (rec.type === 'version') {
    details.label = null;
    details.version = rec.fields.version as number;
    details.to = rec.fields.state as string;
    details.from = null;
    if (rec.history) details.history = rec.history as unknown as DetailValue;
  }
  const keyId = rec.type === 'key' ? rec.id : rec.type === 'version' ? (rec.fields.key_id as string) : null;
  return { actor, action, row, keyId, details };
}
