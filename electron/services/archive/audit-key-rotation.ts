// Audit key rotation (issue #10 part 4; docs/FORMAT.md "Audit key handover", "audit_keys"). One
// transaction, so a kill leaves the archive before or after the whole handover:
//
//   generate  a new EC P-256 key pair in the HSM (non-extractable, as at init), under a label only
//             this archive's rotations use; a pair left by a run killed before its commit never
//             signed anything recorded, and is destroyed and made again;
//   statement the NEW key signs handoverStatement(archive, old, new) inside the HSM;
//   handover  one commit, whose checkpoint the OLD key signs: the audit entry
//             archive.audit.handover naming both keys (fingerprints and public keys) with the new
//             key's signature, the identity row moved to the new key, and audit_keys recording
//             the old key as retired (its public key kept: the checkpoints it signed still verify)
//             and the new one as current;
//   pin       this workstation's anchor pin moves from the old key to the new (anchors.ts); a kill
//             before that is repaired on the next open, which follows the handover in the log;
//   retire    the old private key's signing use is turned off in the HSM (deactivated, kept:
//             destruction is the destruction ceremony's).
//
// Threat addressed: an audit key at the end of its cryptoperiod or suspected of exposure (NIST SP
// 800-57 Pt 1 §5.3.6) must stop signing without breaking the evidence it signed before.
import { randomBytes } from 'node:crypto';
import { RECORDS, handoverStatement } from '../../../shared/archive/canonical';
import { CustosError } from '../../../shared/result';
import { HANDOVER_ACTION } from '../audit/handover';
import { hsmPublicKey } from '../hsm-kcv';
import { guarded, requireHsm, requireStore, scopeOf, type ArchiveContext } from './context';
import { archiveError } from './errors';
import type { WorkstationRow } from './rows';
import { nowIso, type Mutation } from './store';

export interface AuditKeyRow {
  fingerprint: string;
  label: string;
  key_id: string;
  spki: Buffer;
  state: 'current' | 'retired';
  handover_seq: number;
  created_at: string;
  ceremony_id: string | null;
  updated_at: string;
  mac: Buffer;
}

export interface AuditKeyRotated {
  from: { fingerprint: string; label: string };
  to: { fingerprint: string; label: string };
  /** The handover entry's seq in the audit log. */
  handoverSeq: number;
  /** False when the token refused to turn the old key's signing off (it is still retired in the record). */
  oldKeyRestricted: boolean;
  /** True when this call found the rotation already done by the same ceremony (a resumed step). */
  alreadyDone: boolean;
}

const auditLabel = (archiveId: string, n: number) => `custos-audit/${archiveId}/${n}`;

export function auditKeyRows(ctx: Pick<ArchiveContext, 'db' | 'path'>): AuditKeyRow[] {
  return guarded(ctx, () => {
    // A schema-3 file opened read-only is not migrated: no table, so its audit key was never rotated.
    if (!ctx.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_keys'").get()) return [];
    return ctx.db.prepare('SELECT * FROM audit_keys ORDER BY handover_seq, state DESC').all() as AuditKeyRow[];
  });
}

const storedWs = (ctx: ArchiveContext) => guarded(ctx, () => ctx.db.prepare('SELECT * FROM workstation').get() as WorkstationRow);

/**
 * Rotates the audit key in one handover. `expectFrom` is the fingerprint the quorum approved: a
 * key that changed since is refused (CHECK_VALUE_MISMATCH), unless the change is this ceremony's
 * own finished handover (a step resumed after a kill), which is reported as done.
 */
export async function rotateAuditKey(ctx: ArchiveContext, opts: { actor: string; ceremonyId?: string | null; expectFrom?: string }): Promise<{ rotated: AuditKeyRotated; ws: WorkstationRow }> {
  const store = requireStore(ctx);
  const b = requireHsm(ctx);
  const ws = storedWs(ctx);
  const ceremony = opts.ceremonyId ?? null;
  if (opts.expectFrom && ws.audit_fingerprint !== opts.expectFrom) {
    const done = ceremony ? auditKeyRows(ctx).find((r) => r.state === 'current' && r.ceremony_id === ceremony && r.fingerprint === ws.audit_fingerprint) : undefined;
    const old = done ? auditKeyRows(ctx).find((r) => r.state === 'retired' && r.handover_seq === done.handover_seq && r.fingerprint === opts.expectFrom) : undefined;
    if (done && old) {
      const restricted = await retireOld(ctx, old);
      return { rotated: { from: { fingerprint: old.fingerprint, label: old.label }, to: { fingerprint: done.fingerprint, label: done.label }, handoverSeq: done.handover_seq, oldKeyRestricted: restricted, alreadyDone: true }, ws };
    }
    throw archiveError('CHECK_VALUE_MISMATCH', `The archive's audit key is no longer the one planned (fingerprint ${ws.audit_fingerprint.slice(0, 16)}…, planned ${opts.expectFrom.slice(0, 16)}…).`, 'Abort this ceremony and plan it again with the fingerprint `custos archive info` shows.');
  }
  const rows = auditKeyRows(ctx);
  // A run killed after its commit left its old key able to sign: every retired key still on the
  // token is made unable to sign again (one the destruction ceremony destroyed is not there).
  for (const r of rows) if (r.state === 'retired') await retireOld(ctx, r).catch(gone);
  const label = auditLabel(ctx.archiveId, Math.max(2, rows.length + 1));
  const scope = scopeOf(b);
  // Leftover of a run killed before its commit: it never signed anything recorded.
  const left = await b.hsm.call('objects', { path: b.module, token: b.token, ref: { label } });
  if (left.length) await b.hsm.call('destroy', { path: b.module, token: b.token, ref: { label } });
  const idHex = randomBytes(16).toString('hex');
  await b.hsm.call('generate', { path: b.module, token: b.token, spec: { type: 'ec-p256', label, idHex, usages: ['sign'], extractable: false } });
  killHook('generated');
  const pub = await hsmPublicKey(scope, { label, idHex });
  const to = pub.fingerprint.hex;
  if (to === ws.audit_fingerprint) throw archiveError('CHECK_VALUE_MISMATCH', 'The new audit key has the same public key as the old one.', 'Run the rotation again; report the token if this repeats.');
  const statement = Buffer.from(handoverStatement(ctx.archiveId, ws.audit_fingerprint, to), 'utf8');
  const [toSignature] = await b.hsm.call('sign', { path: b.module, token: b.token, ref: { label, idHex, kind: 'private' }, mechanism: 'ecdsa-sha256', data: [statement] });
  const now = nowIso();
  const prior = rows.find((r) => r.fingerprint === ws.audit_fingerprint) ?? null;
  let handoverSeq = 0;
  const { mac: wsMac, ...wsRow } = ws;
  await store.commit((): Mutation => {
    // The handover is the first entry of this commit (see docs/FORMAT.md).
    handoverSeq = ctx.audit.head().seq + 1;
    const retired = { fingerprint: ws.audit_fingerprint, label: ws.audit_label, key_id: ws.audit_id, spki: ws.audit_spki, state: 'retired', handover_seq: handoverSeq, created_at: prior?.created_at ?? ws.created_at, ceremony_id: prior?.ceremony_id ?? null, updated_at: now };
    const current = { fingerprint: to, label, key_id: idHex, spki: pub.spki, state: 'current', handover_seq: handoverSeq, created_at: now, ceremony_id: ceremony, updated_at: now };
    return {
      rows: [
        { spec: RECORDS.workstation, op: 'update', expectMac: wsMac, row: { ...wsRow, audit_label: label, audit_id: idHex, audit_spki: pub.spki, audit_fingerprint: to } },
        prior ? { spec: RECORDS['audit-key'], op: 'update', expectMac: prior.mac, row: retired } : { spec: RECORDS['audit-key'], op: 'insert', row: retired },
        { spec: RECORDS['audit-key'], op: 'insert', row: current },
      ],
      audit: [
        {
          actor: opts.actor,
          action: HANDOVER_ACTION,
          row: 0,
          details: {
            from: { fingerprint: ws.audit_fingerprint, label: ws.audit_label, id: ws.audit_id, spki: ws.audit_spki.toString('base64') },
            to: { fingerprint: to, label, id: idHex, spki: pub.spki.toString('base64') },
            toSignature: Buffer.from(toSignature!).toString('hex'),
            ceremony,
          },
        },
        { actor: opts.actor, action: 'archive.audit-key.retired', row: 1, details: { fingerprint: ws.audit_fingerprint } },
        { actor: opts.actor, action: 'archive.audit-key.current', row: 2, details: { fingerprint: to } },
      ],
      guard: () => {
        const now = ctx.db.prepare('SELECT audit_fingerprint FROM workstation').pluck().get();
        if (now !== ws.audit_fingerprint) throw archiveError('ARCHIVE_BUSY', 'Another program rotated the audit key of this archive at the same time.', 'Reopen the archive and check `custos archive info`.');
      },
    };
  });
  killHook('committed');
  ctx.anchors?.movePin(ctx.archiveId, ws.audit_fingerprint, to);
  const restricted = await retireOld(ctx, { label: ws.audit_label, key_id: ws.audit_id });
  return { rotated: { from: { fingerprint: ws.audit_fingerprint, label: ws.audit_label }, to: { fingerprint: to, label }, handoverSeq, oldKeyRestricted: restricted, alreadyDone: false }, ws: storedWs(ctx) };
}

/** A retired key no longer on the token (destroyed by the destruction ceremony): nothing to turn off. */
function gone(e: unknown): boolean {
  if (e instanceof CustosError && e.appError.code === 'OBJECT_NOT_FOUND') return false;
  throw e;
}

/** Turns the old private key's signing off in the HSM (idempotent); the key itself is kept. */
async function retireOld(ctx: ArchiveContext, old: { label: string; key_id: string }): Promise<boolean> {
  const b = requireHsm(ctx);
  const r = await b.hsm.call('restrictUsage', { path: b.module, token: b.token, ref: { label: old.label, idHex: old.key_id, kind: 'private' } });
  return r.refused.length === 0;
}

/**
 * Test hook for the kill-and-resume tests: with CUSTOS_ARCHIVE_TEST_HOOKS=1 the process kills
 * itself (SIGKILL) at CUSTOS_ARCHIVE_KILL_AT: audit:generated (new key pair made, nothing
 * committed) or audit:committed (handover committed, pin not yet moved, old key not restricted).
 */
function killHook(point: string): void {
  if (process.env.CUSTOS_ARCHIVE_TEST_HOOKS !== '1') return;
  if (process.env.CUSTOS_ARCHIVE_KILL_AT === `audit:${point}`) process.kill(process.pid, 'SIGKILL');
}
