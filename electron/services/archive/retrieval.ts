// Retrieval: an archived version unwrapped into an HSM (audited), in three steps:
//
//   1. checkRestorable  the material still exists, was wrapped under this archive's KEK, and its
//                       row still carries its MAC (a swapped or edited blob never reaches the HSM)
//   2. unwrap           C_UnwrapKey under the Archive KEK (RFC 5649 AES-KWP: its integrity check
//                       refuses a blob that was not wrapped under this KEK)
//   3. proveRestored    the new object's check value, or for a private key a signature checked
//                       with the archived public key; on a mismatch the new object is destroyed
import { createHash, createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { RECORDS } from '../../../shared/archive/canonical';
import { labelProblem } from '../../../shared/archive/validate';
import { invalidInput } from '../../../shared/result';
import type { KeyUsage, ObjectRef, RawObject, UnwrapTemplate } from '../../hsm/protocol';
import { hsmCheckValues, hsmHmacCheck } from '../hsm-kcv';
import { needsHsm, requireHsm, requireStore, scopeOf, type ArchiveContext } from './context';
import type { HsmBinding } from './crypto';
import { archiveError, FIX_INPUT } from './errors';
import { resolveVersion } from './queries';
import { rowMacValid } from './mac-rotation';
import { kekFor } from './kek-rotation';
import type { VersionRow } from './rows';
import type { ArchiveStore } from './store';

export interface RestoreTemplate {
  label: string;
  idHex?: string;
  usages: KeyUsage[];
  extractable?: boolean;
  onToken?: boolean;
  /** CKA_START_DATE / CKA_END_DATE (YYYY-MM-DD); the token stores them, Custos's operations enforce them. */
  startDate?: string;
  endDate?: string;
  /** Recorded in the audit entry; the counter itself is made beside the key by the caller. */
  maxUses?: number;
}

export interface Restored {
  object: RawObject;
  /** True when the restored key was compared with the archived check value or public key. */
  checked: boolean;
  /** Why nothing could be compared, when `checked` is false. */
  note?: string;
}

export async function restoreVersion(ctx: ArchiveContext, selector: string, template: RestoreTemplate, actor: string): Promise<Restored> {
  const store = requireStore(ctx);
  const b = requireHsm(ctx);
  const v = resolveVersion(ctx, selector);
  const wrapped = await checkRestorable(ctx, store, v);
  const p = labelProblem(template.label);
  if (p) invalidInput(p, FIX_INPUT);
  const keyType = keyTypeOf(v.algorithm);
  const tmpl: UnwrapTemplate = {
    kind: v.kind,
    keyType,
    label: template.label,
    idHex: template.idHex ?? randomBytes(16).toString('hex'),
    usages: template.usages,
    extractable: template.extractable ?? false,
    onToken: template.onToken ?? true,
    ...(template.startDate ? { startDate: template.startDate } : {}),
    ...(template.endDate ? { endDate: template.endDate } : {}),
  };
  // The KEK the row names: during a KEK rotation a version may be under the old or the new one.
  const kek = kekFor(ctx, v.kek_check)!;
  const object = await b.hsm.call('unwrap', { path: b.module, token: b.token, unwrapping: { ...kek, kind: 'secret' }, wrapped, mechanism: 'aes-kwp', template: tmpl });
  const ref: ObjectRef = { label: object.label, idHex: object.idHex, kind: v.kind };
  let proof: { checked: boolean; note?: string };
  try {
    proof = await proveRestored(b, v, ref, template.usages);
  } catch (e) {
    try {
      await b.hsm.call('destroy', { path: b.module, token: b.token, ref });
    } catch {
      /* reported below either way */
    }
    throw e;
  }
  const { checked, note } = proof;
  await store.commit(() => ({
    rows: [],
    audit: [
      {
        actor,
        action: 'version.retrieve',
        objectType: 'version',
        objectId: v.id,
        objectMac: v.mac,
        keyId: v.key_id,
        details: {
          version: v.version,
          into: { label: object.label, id: object.idHex, onToken: tmpl.onToken, extractable: tmpl.extractable },
          checked,
          ...(template.endDate || template.maxUses ? { limits: { ...(template.endDate ? { endDate: template.endDate } : {}), ...(template.maxUses ? { maxUses: template.maxUses } : {}) } } : {}),
        },
      },
    ],
  }));
  return note ? { object, checked, note } : { object, checked };
}

export interface ExportRequest {
  /** The object on the token to wrap with: an AES KEK (aes-kwp) or an RSA public key (rsa-aes-kwp-*). */
  wrapping: ObjectRef;
  mechanism: 'aes-kwp' | 'rsa-aes-kwp-sha1' | 'rsa-aes-kwp-sha256';
  /** What the evidence names as the receiver: the KEK's check value or the public key's fingerprint. */
  to: { kekCheckValue?: string; publicKeyFingerprint?: string; profile?: string | null };
}

export interface Exported extends Restored {
  wrapped: Buffer;
}

/**
 * Export for another system: the version is unwrapped under the Archive KEK into a session object
 * that may do nothing but be wrapped (no encrypt, sign, wrap or derive; extractable only under
 * wrap, sensitive), proved like a restore, wrapped to the target, and destroyed whatever happens.
 * The audit entry names the receiver by check value or fingerprint and the output by its SHA-256.
 */
export async function exportVersion(ctx: ArchiveContext, selector: string, req: ExportRequest, actor: string): Promise<Exported> {
  const store = requireStore(ctx);
  const b = requireHsm(ctx);
  const v = resolveVersion(ctx, selector);
  const wrapped = await checkRestorable(ctx, store, v);
  const tmpl: UnwrapTemplate = { kind: v.kind, keyType: keyTypeOf(v.algorithm), label: `custos export ${randomBytes(4).toString('hex')}`, idHex: randomBytes(16).toString('hex'), usages: [], extractable: true, onToken: false };
  const kek = kekFor(ctx, v.kek_check)!;
  const object = await b.hsm.call('unwrap', { path: b.module, token: b.token, unwrapping: { ...kek, kind: 'secret' }, wrapped, mechanism: 'aes-kwp', template: tmpl });
  const ref: ObjectRef = { label: object.label, idHex: object.idHex, kind: v.kind };
  let out: Buffer;
  let proof: { checked: boolean; note?: string };
  try {
    proof = await proveRestored(b, v, ref, []);
    const [w] = await b.hsm.call('wrap', { path: b.module, token: b.token, wrapping: req.wrapping, targets: [ref], mechanism: req.mechanism });
    out = Buffer.from(w!);
  } finally {
    // The plaintext exists only inside the token and only for these calls (SP 800-57 Part 2 §6.7).
    await b.hsm.call('destroy', { path: b.module, token: b.token, ref }).catch(() => undefined);
  }
  const { checked, note } = proof;
  await store.commit(() => ({
    rows: [],
    audit: [
      {
        actor,
        action: 'version.export',
        objectType: 'version',
        objectId: v.id,
        objectMac: v.mac,
        keyId: v.key_id,
        details: { version: v.version, mechanism: req.mechanism, to: req.to, sha256: createHash('sha256').update(out).digest('hex'), bytes: out.length, checked },
      },
    ],
  }));
  return { object, checked, ...(note ? { note } : {}), wrapped: out };
}

function keyTypeOf(algorithm: string): UnwrapTemplate['keyType'] {
  return algorithm.startsWith('aes-') ? 'aes' : algorithm.startsWith('hmac-') ? 'generic-secret' : algorithm === 'tdes' ? 'tdes' : algorithm.startsWith('rsa-') ? 'rsa' : algorithm.startsWith('ec-') ? 'ec' : 'ed25519';
}

/** Step 1: the wrapped material, if it may be given to the HSM. */
async function checkRestorable(ctx: ArchiveContext, store: ArchiveStore, v: VersionRow): Promise<Buffer> {
  if (!v.wrapped) throw archiveError('ARCHIVE_RECORD_NOT_FOUND', `Version ${v.version} was destroyed; its material was shredded and cannot be restored.`, 'Only the metadata of a destroyed version remains.');
  if (!kekFor(ctx, v.kek_check)) {
    throw archiveError(
      'WRAPPED_KEY_INVALID',
      `This version was wrapped under another archive's KEK (check value ${v.kek_check}), not this archive's (${ctx.ws.kek_check}).`,
      'Restore that KEK into the HSM first (from its backup shares), or retrieve the key on the workstation that archived it.',
    );
  }
  // The row must still carry its MAC: a swapped or edited blob is refused before it reaches the HSM.
  if (!ctx.crypto) needsHsm();
  // Under the MAC key the row names (mac-rotation.ts: during a rotation, the old or the new one).
  if (!(await rowMacValid(ctx, store.macInput(RECORDS.version, v as unknown as Record<string, unknown>), v as VersionRow & { mac_key?: string | null }))) {
    throw archiveError('ARCHIVE_TAMPERED', `The archive row of version ${v.version} does not match its MAC: it was altered or moved.`, 'Do not use it. Run `custos archive verify` and restore the archive from a trusted copy.', { versionId: v.id });
  }
  return v.wrapped;
}

/** Step 3: compares the restored key with what was archived, where its usages allow. */
async function proveRestored(b: HsmBinding, v: VersionRow, ref: ObjectRef, usages: KeyUsage[]): Promise<{ checked: boolean; note?: string }> {
  const mismatch = () => archiveError('CHECK_VALUE_MISMATCH', 'The restored key\'s check value differs from the archived one; the restored copy was destroyed.', 'Do not use this version. Run `custos archive verify`.');
  if (v.check_method === 'aes-cmac' || v.check_method === 'tdes-ecb') {
    const cv = await hsmCheckValues(scopeOf(b), ref);
    const got = v.check_method === 'aes-cmac' ? cv.cmac : cv.legacy;
    if (got !== v.check_value) throw mismatch();
    return { checked: true };
  }
  if (v.check_method === 'hmac-sha256-zeros' && usages.includes('sign')) {
    if ((await hsmHmacCheck(scopeOf(b), ref)) !== v.check_value) throw mismatch();
    return { checked: true };
  }
  if (v.kind === 'private' && v.public_spki && usages.includes('sign')) {
    // Prove the pair: sign a fresh challenge in the HSM and verify it with the archived public key.
    const challenge = randomBytes(32);
    const ec = v.algorithm.startsWith('ec-');
    const mech = ec ? 'ecdsa-sha256' : v.algorithm === 'ed25519' ? 'ed25519' : 'rsa-pkcs1-sha256';
    const [sig] = await b.hsm.call('sign', { path: b.module, token: b.token, ref, mechanism: mech, data: [challenge] });
    const key = createPublicKey({ key: v.public_spki, format: 'der', type: 'spki' });
    const ok = nodeVerify(mech === 'ed25519' ? null : 'sha256', challenge, ec ? { key, dsaEncoding: 'ieee-p1363' } : key, sig!);
    if (!ok) throw archiveError('CHECK_VALUE_MISMATCH', 'The restored private key does not match the archived public key; the restored copy was destroyed.', 'Do not use this version.');
    return { checked: true };
  }
  return { checked: false, note: 'No check value could be compared for this key with the usages given (the unwrap itself passed the RFC 5649 integrity check).' };
}
