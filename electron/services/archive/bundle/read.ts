// Reading a bundle and checking it before anything is planned: its shape, its signer (this
// archive's own audit key, or one trusted beforehand whose trust row still carries its MAC), the
// ECDSA signature over the manifest line, and the records' SHA-256 against the signed manifest.
// Lines are split on the raw bytes, so the signed bytes are exactly the file's bytes.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { auditKeyRows } from '../audit-key-rotation';
import { RECORDS } from '../../../../shared/archive/canonical';
import { BUNDLE_FORMAT_ID, BUNDLE_FORMAT_VERSION } from '../../../../shared/archive/types';
import { sha256 } from '../../audit/chain';
import { spkiFingerprint } from '../../formats/publicKey';
import { archiveError } from '../errors';
import type { ArchiveService } from '../service';
import { bundleErr, MAX_BUNDLE_BYTES, MAX_LINE, parseRecord, type BundleManifest, type BundleRecord } from './format';

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
  // A key this archive's audit key rotations retired (audit_keys, MACed): its bundles stay valid.
  const retired = manifest.signer.fingerprint === ws.audit_fingerprint ? undefined : auditKeyRows({ db, path: svc.path }).find((r) => r.fingerprint === manifest.signer.fingerprint && r.state === 'retired');
  if (manifest.signer.fingerprint === ws.audit_fingerprint) {
    spki = ws.audit_spki;
    name = `${ws.name} (this archive)`;
  } else if (retired) {
    if (store && crypto) {
      if (!(await svc.rowMacValid(RECORDS['audit-key'], retired as unknown as Record<string, unknown> & { mac: Buffer }))) throw archiveError('ARCHIVE_TAMPERED', 'The record of the retired audit key that signed the bundle does not match its MAC: it was not written by Custos.', 'Nothing was imported. Run `custos archive verify`.');
    }
    spki = retired.spki;
    name = `${ws.name} (this archive, audit key retired at entry ${retired.handover_seq})`;
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
      if (!(await svc.rowMacValid(RECORDS.trusted, t))) {
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
