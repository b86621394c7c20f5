// Archive bundles: archive records on removable media, from one workstation to another
// (docs/FORMAT.md "Archive bundle"). A bundle is a text file of JSON lines:
//
//   line 1        manifest (format, version, source archive, signer fingerprint, counts,
//                 recordsSha256 = SHA-256 of the bytes of every record line, newlines included)
//   lines 2..n-1  records, one per line: {"type", "id", "fields", "history"?}
//   line n        {"signature": {"algorithm": "ecdsa-p256-sha256", "der": base64, "raw": hex}} —
//                 the audit key's ECDSA signature over the bytes of line 1 (with its newline)
//
// So `head -n 1 bundle | openssl dgst -sha256 -verify pub.pem -signature sig.der` checks the
// manifest and `sed '1d;$d' bundle | sha256sum` the records. Wrapped material stays wrapped under
// the source archive's KEK (named by its check value): a bundle moves records, never keys in clear.
//
// Import trusts a bundle only if its signer's public key was trusted beforehand
// (`custos archive trust`), and never silently overwrites: a record is inserted when absent,
// updated only when the incoming copy comes from the record's own origin archive with a higher
// revision (and, for versions, a lifecycle state reachable from the local one), and everything
// else that differs is a conflict. By default any conflict stops the whole import.
import { createPublicKey, randomUUID, verify as nodeVerify } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { RECORDS, type FieldSpec, type RecordSpec, type RecordType } from '../../../shared/archive/canonical';
import { reachable, type KeyState } from '../../../shared/archive/lifecycle';
import { BUNDLE_FORMAT_ID, BUNDLE_FORMAT_VERSION, type BundleSummary, type ImportConflict, type ImportReport, type StateChange } from '../../../shared/archive/types';
import { textProblem } from '../../../shared/archive/validate';
import { CustosError } from '../../../shared/result';
import { sha256, type DetailValue } from '../audit/chain';
import { ecdsaRawToDer } from '../formats/ecdsa';
import { parsePublicKey, spkiFingerprint } from '../formats/publicKey';
import { archiveError } from './errors';
import type { ArchiveService } from './service';
import { nowIso, type AuditDraft, type RowWrite } from './store';

/** Record types a bundle carries, in the order they are written and applied (parents first). */
const BUNDLE_TYPES: readonly RecordType[] = ['custodian', 'key', 'share-set', 'version'];
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024 * 1024;
const MAX_LINE = 1 << 20;

export interface BundleRecord {
  type: RecordType;
  id: string;
  fields: Record<string, unknown>;
  history?: StateChange[];
}

export interface BundleManifest {
  format: string;
  version: number;
  bundleId: string;
  archive: string;
  name: string;
  createdAt: string;
  signer: { algorithm: 'ecdsa-p256-sha256'; fingerprint: string };
  kekCheck: string;
  selection: { all: boolean; labels: string[] };
  counts: Record<string, number>;
  records: number;
  recordsSha256: string;
}

const bundleErr = (message: string, action = 'Ask for the bundle to be exported again; nothing was imported.') => archiveError('BUNDLE_INVALID', message, action);

// ---------------------------------------------------------------------------------------------
// Field encoding: text and integers as JSON, bytes as base64.

function toJsonFields(spec: RecordSpec, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of spec.fields.slice(1)) {
    const v = row[f.name];
    out[f.name] = v === null || v === undefined ? null : f.kind === 'bytes' ? Buffer.from(v as Uint8Array).toString('base64') : v;
  }
  return out;
}

function fromJsonField(f: FieldSpec, v: unknown, where: string): unknown {
  if (v === null || v === undefined) {
    if (!f.nullable) throw bundleErr(`${where}: field ${f.name} is missing.`);
    return null;
  }
  if (f.kind === 'text') {
    if (typeof v !== 'string' || v.length > 100_000) throw bundleErr(`${where}: field ${f.name} is not text.`);
    return v;
  }
  if (f.kind === 'int') {
    if (!Number.isSafeInteger(v)) throw bundleErr(`${where}: field ${f.name} is not an integer.`);
    return v;
  }
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw bundleErr(`${where}: field ${f.name} is not base64.`);
  return Buffer.from(v, 'base64');
}

function parseRecord(line: string, n: number): BundleRecord {
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch {
    throw bundleErr(`Line ${n} of the bundle is not JSON.`);
  }
  const o = r as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || typeof o.type !== 'string' || !BUNDLE_TYPES.includes(o.type as RecordType) || typeof o.id !== 'string') {
    throw bundleErr(`Line ${n} of the bundle is not a record of a known type.`);
  }
  const spec = RECORDS[o.type as RecordType];
  const fieldsIn = o.fields as Record<string, unknown>;
  if (typeof fieldsIn !== 'object' || fieldsIn === null) throw bundleErr(`Line ${n}: the record has no fields.`);
  const names = new Set(spec.fields.slice(1).map((f) => f.name));
  for (const k of Object.keys(fieldsIn)) if (!names.has(k)) throw bundleErr(`Line ${n}: unknown field "${k.slice(0, 40)}".`);
  const fields: Record<string, unknown> = {};
  for (const f of spec.fields.slice(1)) fields[f.name] = fromJsonField(f, fieldsIn[f.name], `Line ${n}`);
  if (fields.id !== o.id) throw bundleErr(`Line ${n}: the record id does not match its fields.`);
  const rec: BundleRecord = { type: o.type as RecordType, id: o.id, fields };
  if (o.history !== undefined) {
    if (!Array.isArray(o.history) || o.history.length > 10_000) throw bundleErr(`Line ${n}: the history is malformed.`);
    rec.history = o.history.map((h: Record<string, unknown>) => ({
      seq: Number(h.seq) || 0,
      at: String(h.at ?? ''),
      actor: String(h.actor ?? ''),
      action: String(h.action ?? ''),
      from: (h.from ?? null) as KeyState | null,
      to: String(h.to ?? '') as KeyState,
      reason: h.reason === null || h.reason === undefined ? null : String(h.reason),
    }));
  }
  return rec;
}

// ---------------------------------------------------------------------------------------------
// Export

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

// ---------------------------------------------------------------------------------------------
// Reading and checking a bundle (before anything is planned)

export interface CheckedBundle {
  manifest: BundleManifest;
  records: BundleRecord[];
  signer: { fingerprint: string; name: string };
}

export async function readBundle(svc: ArchiveService, file: string): Promise<CheckedBundle> {
  const path = resolve(file);
  if (!existsSync(path)) throw archiveError('BUNDLE_INVALID', `There is no bundle at ${path}.`, 'Check the path.');
  if (statSync(path).size > MAX_BUNDLE_BYTES) throw bundleErr('The bundle is larger than 4 GiB, which no Custos export produces.');
  const buf = readFileSync(path);
  if (buf.length === 0 || buf[buf.length - 1] !== 0x0a) throw bundleErr('The bundle is empty or cut off (it does not end with a complete line).');
  // Split into lines on the raw bytes, so signed bytes are exactly the file's bytes.
  const lineEnds: number[] = [];
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) lineEnds.push(i);
  if (lineEnds.length < 2) throw bundleErr('The bundle has no signature line.');
  const manifestBytes = buf.subarray(0, lineEnds[0]! + 1);
  const sigStart = lineEnds[lineEnds.length - 2]! + 1;
  const recordBytes = buf.subarray(manifestBytes.length, sigStart);
  let manifest: BundleManifest;
  let sig: { algorithm?: unknown; der?: unknown; raw?: unknown };
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as BundleManifest;
    sig = (JSON.parse(buf.subarray(sigStart).toString('utf8')) as { signature: typeof sig }).signature;
  } catch {
    throw bundleErr('The bundle\'s first or last line is not JSON: this is not a Custos bundle, or it is damaged.');
  }
  if (!manifest || manifest.format !== BUNDLE_FORMAT_ID) throw bundleErr('This file is not a Custos archive bundle.', 'Check the file; bundles are made with `custos archive export`.');
  if (manifest.version !== BUNDLE_FORMAT_VERSION) {
    throw bundleErr(`This bundle has format version ${String(manifest.version)}; this version of Custos reads version ${BUNDLE_FORMAT_VERSION}.`, 'Import it with a newer version of Custos.');
  }
  if (typeof manifest.signer?.fingerprint !== 'string' || typeof manifest.archive !== 'string' || typeof manifest.recordsSha256 !== 'string' || !Number.isInteger(manifest.records)) {
    throw bundleErr('The bundle manifest is incomplete.');
  }
  if (!sig || sig.algorithm !== 'ecdsa-p256-sha256' || typeof sig.der !== 'string' || typeof sig.raw !== 'string') throw bundleErr('The bundle signature line is malformed.');

  // Whose signature? Only keys trusted beforehand (their trust row must still carry its MAC).
  const { db, store, crypto } = svc.internals;
  const ws = svc.workstation;
  let spki: Buffer;
  let name: string;
  if (manifest.signer.fingerprint === ws.audit_fingerprint) {
    spki = ws.audit_spki;
    name = `${ws.name} (this archive)`;
  } else {
    const t = db.prepare('SELECT * FROM trusted_workstations WHERE fingerprint = ?').get(manifest.signer.fingerprint) as (Record<string, unknown> & { public_spki: Buffer; name: string; mac: Buffer }) | undefined;
    if (!t) {
      throw archiveError(
        'BUNDLE_UNTRUSTED',
        `The bundle was signed by a workstation this archive does not trust (audit key ${manifest.signer.fingerprint.slice(0, 16)}…, archive "${String(manifest.name).slice(0, 60)}").`,
        'Nothing was imported. If the workstation is genuine, compare its audit key fingerprint over a separate channel and run `custos archive trust --public-key FILE`.',
        { fingerprint: manifest.signer.fingerprint },
      );
    }
    if (store && crypto) {
      const [m] = await crypto.mac([store.macInput(RECORDS.trusted, t)]);
      if (!Buffer.from(m!).equals(t.mac)) {
        throw archiveError('ARCHIVE_TAMPERED', 'The trust record for the signing workstation does not match its MAC: it was not added by Custos.', 'Nothing was imported. Run `custos archive verify`.');
      }
    }
    spki = t.public_spki;
    name = t.name;
  }
  if (spkiFingerprint(spki).hex !== manifest.signer.fingerprint) throw archiveError('ARCHIVE_TAMPERED', 'A trusted public key does not have the fingerprint it is filed under.', 'Run `custos archive verify`.');
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  let valid = false;
  try {
    valid = nodeVerify('sha256', manifestBytes, { key, dsaEncoding: 'der' }, Buffer.from(sig.der, 'base64')) && nodeVerify('sha256', manifestBytes, { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig.raw, 'hex'));
  } catch {
    valid = false;
  }
  if (!valid) {
    throw archiveError('BUNDLE_SIGNATURE_INVALID', `The bundle's signature does not verify with the audit key of "${name}": it was altered or not made by that workstation.`, 'Nothing was imported. Do not use this file; ask for a new export.');
  }
  if (sha256(recordBytes).toString('hex') !== manifest.recordsSha256) {
    throw archiveError('BUNDLE_SIGNATURE_INVALID', 'The bundle\'s records do not match its signed manifest: records were altered, added or removed.', 'Nothing was imported. Do not use this file; ask for a new export.');
  }
  const records: BundleRecord[] = [];
  let start = 0;
  let n = 1;
  while (start < recordBytes.length) {
    const end = recordBytes.indexOf(0x0a, start);
    n++;
    if (end - start > MAX_LINE) throw bundleErr(`Line ${n} of the bundle is too long.`);
    records.push(parseRecord(recordBytes.subarray(start, end).toString('utf8'), n));
    start = end + 1;
  }
  if (records.length !== manifest.records) throw bundleErr('The number of records differs from the manifest.');
  return { manifest, records, signer: { fingerprint: manifest.signer.fingerprint, name } };
}

// ---------------------------------------------------------------------------------------------
// Import

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

// ---------------------------------------------------------------------------------------------
// Trust

export async function trustWorkstation(svc: ArchiveService, publicKeyText: string, name: string, actor: string): Promise<{ fingerprint: string; name: string; added: boolean }> {
  const parsed = parsePublicKey(publicKeyText);
  if (parsed.kind !== 'ec' || (parsed.curve !== 'P-256' && parsed.curve !== 'P-384')) {
    throw new CustosError({ code: 'KEY_TYPE_MISMATCH', message: 'Audit keys are EC P-256 or P-384 keys; this public key is not one.', action: 'Use the audit-public-key.pem of the other workstation (custos archive info --public-key-out, or custos audit export).' });
  }
  const p = textProblem('The name', name, 100);
  if (p || name.trim() === '') throw new CustosError({ code: 'INVALID_INPUT', message: p ?? 'Give the trusted workstation a name.', action: 'Pass --name.' });
  const fingerprint = spkiFingerprint(parsed.spki).hex;
  if (fingerprint === svc.workstation.audit_fingerprint) {
    throw new CustosError({ code: 'INVALID_INPUT', message: 'This is this archive\'s own audit key; it is always trusted.', action: 'Give the public key of the other workstation.' });
  }
  const { db } = svc.internals;
  if (db.prepare('SELECT 1 FROM trusted_workstations WHERE fingerprint = ?').get(fingerprint)) return { fingerprint, name, added: false };
  await svc.commit(() => ({
    rows: [{ spec: RECORDS.trusted, op: 'insert', row: { fingerprint, name: name.trim(), public_spki: Buffer.from(parsed.spki), archive_id: null, added_at: nowIso() } }],
    audit: [{ actor, action: 'trust.add', row: 0, details: { fingerprint, name: name.trim() } }],
  }));
  return { fingerprint, name: name.trim(), added: true };
}

