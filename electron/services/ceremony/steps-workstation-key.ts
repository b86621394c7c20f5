// Rotation of a workstation key as a ceremony (issue #10 part 4): the audit key, or the MAC key
// (archive/mac-rotation.ts: every row verified under the old key and re-MACed under a new one in
// batches, with progress, cancel and resume, then the handover). For the audit key, the quorum
// approves a fingerprint that names the key being replaced; the work is the archive's
// (archive/audit-key-rotation.ts): a new key pair in the HSM, the handover signed by both keys in
// one commit, the pin moved, the old key's signing turned off. The step is journaled; a run cut
// off mid-step is marked failed on resume and runs again, which finds its own finished handover
// (by the ceremony id recorded with the new key) and reports it instead of rotating twice.
import type { RunState } from '../../../shared/ceremony/run';
import { fail } from '../../../shared/result';
import type { MechanismEntry } from '../../hsm/protocol';
import { CKM } from '../../hsm/protocol/constants';
import { hsmHmacCheck, hsmPublicKey } from '../hsm-kcv';
import { requireRunnable } from './engine';
import { complete, journaled } from './steps-common';
import { stepActor, type StepContext } from './step-context';

type WorkstationKeyPlan = { key: 'audit'; audit: { fingerprint: string; label: string; id: string } } | { key: 'mac'; mac: { check: string; label: string; id: string }; rows: number };

const params = (s: RunState) => s.plan.params as unknown as WorkstationKeyPlan;
const CKF_SIGN = 0x800;

/**
 * What the token lacks to make the new audit key and sign with it (an EC P-256 pair made inside it,
 * raw ECDSA over a SHA-256 hash, as archive/audit-key-rotation.ts uses them): empty when nothing.
 * Pure, for the tests. EC key sizes are in bits (PKCS#11 v2.40 §2.3.1).
 */
export function auditKeyGaps(mechs: readonly Pick<MechanismEntry, 'type' | 'minKeySize' | 'maxKeySize' | 'flags'>[]): string[] {
  const fits = (m: Pick<MechanismEntry, 'minKeySize' | 'maxKeySize'>) => m.maxKeySize === 0 || (m.minKeySize <= 256 && 256 <= m.maxKeySize);
  const gaps: string[] = [];
  if (!mechs.some((m) => m.type === CKM.EC_KEY_PAIR_GEN && fits(m))) gaps.push('EC P-256 key pairs made inside it (CKM_EC_KEY_PAIR_GEN)');
  if (!mechs.some((m) => m.type === CKM.ECDSA && (m.flags & CKF_SIGN) !== 0 && fits(m))) gaps.push('ECDSA signatures with P-256 keys (CKM_ECDSA)');
  return gaps;
}

export async function runCheckWorkstationKey(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const p = params(ctx.run.state);
  if (p.key === 'mac') return checkMac(ctx, p);
  const now = await ctx.services.withArchive(async (a) => ({ fingerprint: a.workstation.audit_fingerprint, retired: a.auditKeys().filter((k) => k.state === 'retired').length }));
  if (now.fingerprint !== p.audit.fingerprint) fail('CHECK_VALUE_MISMATCH', `The archive’s audit key is no longer the one planned (fingerprint ${now.fingerprint.slice(0, 16)}…, planned ${p.audit.fingerprint.slice(0, 16)}…).`, 'Abort this ceremony and plan it again.');
  const hsm = await hsmPublicKey({ hsm: ctx.services.hsm, path: ctx.session.module, token: ctx.session.token }, { label: p.audit.label, idHex: p.audit.id });
  if (hsm.fingerprint.hex !== p.audit.fingerprint) fail('CHECK_VALUE_MISMATCH', 'The HSM’s audit key is not the one the archive names (its public key differs).', 'Abort, and run `custos archive info --check-hsm` and `custos archive verify`.');
  // Before the quorum approves anything: a token that cannot make or use the new key stops here.
  const gaps = auditKeyGaps(await ctx.services.hsm.call('mechanisms', { path: ctx.session.module, token: ctx.session.token }));
  if (gaps.length) fail('MECHANISM_UNSUPPORTED', `This token cannot hold a new audit key: it lacks ${gaps.join('; and ')}.`, 'Abort: the audit key stays as it is. Nothing has been made. Rotate on a workstation token that lists these mechanisms (Keys → capabilities).');
  await complete(ctx, stepActor(ctx, 'administrator'), { key: 'audit', fingerprint: hsm.fingerprint.hex, label: p.audit.label, retiredBefore: now.retired });
}

async function checkMac(ctx: StepContext, p: Extract<WorkstationKeyPlan, { key: 'mac' }>): Promise<void> {
  const st = await ctx.services.withArchive(async (a) => a.macRotationState());
  // Resuming this run's own rotation: the old key stays the identity row's until the handover.
  if (st.incoming && st.incoming.ceremonyId !== ctx.run.state.plan.run) fail('INVALID_INPUT', 'Another MAC key rotation is under way in this archive.', 'Abort this ceremony and resume the other one.');
  if (st.current.check !== p.mac.check) fail('CHECK_VALUE_MISMATCH', `The archive’s MAC key is no longer the one planned (check value ${st.current.check}, planned ${p.mac.check}).`, 'Abort this ceremony and plan it again.');
  const check = await hsmHmacCheck({ hsm: ctx.services.hsm, path: ctx.session.module, token: ctx.session.token }, { label: p.mac.label, idHex: p.mac.id });
  if (check !== p.mac.check) fail('CHECK_VALUE_MISMATCH', 'The HSM’s MAC key does not have the check value recorded in the archive.', 'Abort, and run `custos archive verify --check-hsm`.');
  await complete(ctx, stepActor(ctx, 'administrator'), { key: 'mac', check, rows: st.rows, planned: p.rows, remaining: st.incoming ? st.remaining : st.rows });
}

async function rotateMac(ctx: StepContext, p: Extract<WorkstationKeyPlan, { key: 'mac' }>): Promise<void> {
  const actor = stepActor(ctx, 'operator');
  const step = requireRunnable(ctx.run);
  const run = ctx.run.state.plan.run;
  await journaled(ctx, actor, { key: 'mac', from: p.mac.check, rows: p.rows }, async () => {
    const r = await ctx.services.withArchive((a) =>
      a.rotateMacKey({
        actor: `${actor.name} (Operator), ceremony ${run}`,
        ceremonyId: run,
        expectFrom: p.mac.check,
        ...(ctx.services.cancel ? { signal: ctx.services.cancel(run) } : {}),
        onProgress: (e) => ctx.services.progress?.({ type: 'progress', run, step: step.id, done: e.done, total: e.total, message: `${e.done.toLocaleString('en')} of ${e.total.toLocaleString('en')} rows verified and re-MACed (${e.perSecond.toLocaleString('en')}/s)` }),
      }),
    );
    if (!r.finished) fail('CEREMONY_INTERRUPTED', `The rotation was cancelled after ${r.remaced} row(s) of this run; every row verifies under the old or the new MAC key.`, 'Resume the ceremony to finish the rotation (the old MAC key stays in use until it finishes).');
    return {
      outcome: {
        key: 'mac',
        from: r.from,
        to: r.to,
        newLabel: r.newLabel,
        remaced: r.remaced,
        ...(r.handoverSeq !== null ? { handoverEntry: r.handoverSeq } : {}),
        verified: 'each row’s MAC recomputed under the old key and compared before it was re-MACed under the new one',
        oldKey: 'retired in the record and kept in the HSM (no row is under it any more)',
        ...(r.alreadyDone ? { resumed: 'the handover had been committed before the interruption' } : {}),
      },
    };
  });
}

export async function runRotateWorkstationKey(ctx: StepContext): Promise<void> {
  const p = params(ctx.run.state);
  if (p.key === 'mac') return rotateMac(ctx, p);
  const actor = stepActor(ctx, 'operator');
  const run = ctx.run.state.plan.run;
  await journaled(ctx, actor, { key: p.key, from: p.audit.fingerprint }, async () => {
    const r = await ctx.services.withArchive((a) => a.rotateAuditKey({ actor: `${actor.name} (Operator), ceremony ${run}`, ceremonyId: run, expectFrom: p.audit.fingerprint }));
    return {
      outcome: {
        key: 'audit',
        from: r.from.fingerprint,
        to: r.to.fingerprint,
        newLabel: r.to.label,
        handoverEntry: r.handoverSeq,
        signedBy: 'the old key (the checkpoint covering the handover) and the new key (the handover statement)',
        oldKey: r.oldKeyRestricted ? 'retired: kept in the HSM, may no longer sign; its public key stays in the record' : 'retired in the record and kept in the HSM (the token refused to turn its signing off)',
        ...(r.alreadyDone ? { resumed: 'the handover had been committed before the interruption' } : {}),
      },
    };
  });
}
