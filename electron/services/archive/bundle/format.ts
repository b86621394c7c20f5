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
//
// This module is the format itself: the manifest and record shapes and the field encoding. Reading
// and checking a bundle is read.ts, writing one export.ts, applying one import.ts, and deciding
// whose bundles to accept trust.ts.
import { RECORDS, type FieldSpec, type RecordSpec, type RecordType } from '../../../../shared/archive/canonical';
import type { KeyState } from '../../../../shared/archive/lifecycle';
import type { StateChange } from '../../../../shared/archive/types';
import { archiveError } from '../errors';

/** Record types a bundle carries, in the order they are written and applied (parents first). */
export const BUNDLE_TYPES: readonly RecordType[] = ['custodian', 'key', 'share-set', 'version'];
export const MAX_BUNDLE_BYTES = 4 * 1024 * 1024 * 1024;
export const MAX_LINE = 1 << 20;

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


export const bundleErr = (message: string, action = 'Ask for the bundle to be exported again; nothing was imported.') => archiveError('BUNDLE_INVALID', message, action);

// ---------------------------------------------------------------------------------------------
// Field encoding: text and integers as JSON, bytes as base64.

export function toJsonFields(spec: RecordSpec, row: Record<string, unknown>): Record<string, unknown> {
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

export function parseRecord(line: string, n: number): BundleRecord {
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

