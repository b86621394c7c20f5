// Trust: which other workstations' bundles this archive accepts. A trusted audit public key is a
// MACed, audited row, so it cannot be slipped into the file from outside (read.ts checks its MAC).
import { RECORDS } from '../../../../shared/archive/canonical';
import { textProblem } from '../../../../shared/archive/validate';
import { CustosError } from '../../../../shared/result';
import { parsePublicKey, spkiFingerprint } from '../../formats/publicKey';
import type { ArchiveService } from '../service';
import { nowIso } from '../store';

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
