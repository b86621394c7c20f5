// Archive retrieval under quorum (issue #10 part 3): an archived version comes back into the HSM
// to open old data. The purpose is stated at planning and is part of the fingerprint, so the
// custodians' approvals are bound to this version and this purpose; the archive checks the row's
// MAC in the HSM before the blob reaches it, unwraps it under the Archive KEK (RFC 5649), and proves
// the result against the archived check value or public key (archive/retrieval.ts).
import type { RunState } from '../../../shared/ceremony/run';
import { SYSTEM } from '../../../shared/ceremony/run';
import { fail } from '../../../shared/result';
import { mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../files/atomic';
import { requireRunnable } from './engine';
import type { RetrievalPlan } from './plan-retrieval';
import { prepareTarget, wrappedExportPath } from './retrieval-export';
import { complete, journaled } from './steps-common';
import { stepActor, type StepContext } from './step-context';


const params = (s: RunState) => s.plan.params as unknown as RetrievalPlan;
const tok = (ctx: StepContext) => ({ path: ctx.session.module, token: ctx.session.token });

export async function runCheckRetrieval(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const p = params(ctx.run.state);
  const d = await ctx.services.withArchive(async (a) => a.version(p.version.id));
  if (!d.summary.hasMaterial) fail('KEY_NOT_EXTRACTABLE', `Version ${p.version.version} of “${p.version.label}” was destroyed since the ceremony was planned.`, 'Abort this ceremony.');
  if (d.summary.checkValue !== p.version.checkValue || d.summary.fingerprint !== p.version.fingerprint) fail('CHECK_VALUE_MISMATCH', 'The archived version no longer has the check value it had when the ceremony was planned.', 'Abort, and run `custos archive verify`.');
  const taken = p.into === 'export' ? [] : await ctx.services.hsm.call('objects', { ...tok(ctx), ref: { label: p.label } });
  if (taken.length) fail('INVALID_INPUT', `A key labelled “${p.label}” is already on this token.`, 'Abort, and plan the retrieval with another label.');
  await complete(ctx, stepActor(ctx, 'administrator'), { version: `${p.version.label}@${p.version.version}`, state: d.summary.state, checkValue: p.version.checkValue ?? p.version.fingerprint, material: `${d.wrappedBytes ?? 0} bytes under KEK ${d.kekCheck ?? '—'}` });
}

export async function runRetrieve(ctx: StepContext): Promise<void> {
  const p = params(ctx.run.state);
  const actor = stepActor(ctx, 'operator');
  if (p.into === 'export') return runExport(ctx, p, actor);
  await journaled(ctx, actor, { version: p.version.id, label: p.label, idHex: p.keyIdHex, into: p.into }, async () => {
    const r = await ctx.services.withArchive((a) =>
      a.restore(
        p.version.id,
        // CKA_START_DATE / CKA_END_DATE as the plan fixed them: the token stores them for other tools
        // to read, and enforces neither (PKCS#11 v3.0 §4.7); the limits record below is what Custos holds to.
        { label: p.label, idHex: p.keyIdHex, usages: p.usages, extractable: false, onToken: p.into === 'token', ...(p.validFrom ? { startDate: p.validFrom } : {}), ...(p.validUntil ? { endDate: p.validUntil } : {}), ...(p.maxUses ? { maxUses: p.maxUses } : {}) },
        `${actor.name} (Operator), for: ${p.purpose.slice(0, 120)}`,
      ),
    );
    await makeLimits(ctx, p);
    return {
      outcome: {
        label: r.object.label,
        idHex: r.object.idHex,
        into: p.into,
        checked: r.checked,
        ...(r.note ? { note: r.note } : {}),
        checkValue: p.version.checkValue ?? p.version.fingerprint,
        ...(p.validUntil ? { validFrom: p.validFrom, validUntil: p.validUntil } : {}),
        ...(p.maxUses ? { maxUses: p.maxUses } : {}),
        // What holds each limit: the token stores the dates but refuses nothing (PKCS#11 v3.0 §4.7).
        ...(p.validUntil || p.maxUses ? { enforcedBy: 'custos' } : {}),
      },
    };
  });
}

/** Resume: a retrieval cut off after the unwrap is adopted (found by its planned CKA_ID); a session object went with the session. */
export async function adoptRetrieved(ctx: StepContext): Promise<boolean> {
  const p = params(ctx.run.state);
  // An export left nothing on the token (its session object went with the session): it runs again.
  if (p.into === 'export') return false;
  const found = await ctx.services.hsm.call('objects', { ...tok(ctx), ref: { idHex: p.keyIdHex } });
  if (!found.length) return false;
  if (!(await ctx.services.hsm.call('keyLimits', { ...tok(ctx), keyIdHex: p.keyIdHex }))) await makeLimits(ctx, p);
  await complete(ctx, SYSTEM, { label: found[0]!.label, idHex: p.keyIdHex, into: p.into, adopted: true, checked: false, note: 'adopted after an interruption: compare its check value before use' });
  return true;
}

/**
 * Export: the approved target made ready (the KEK found again with its approved check value, or the
 * approved public key imported for the moment), the version unwrapped into a wrap-only session
 * object, wrapped, the object destroyed (archive/retrieval.ts exportVersion). The wrapped bytes wait
 * beside the evidence folder until saved; the outcome, and so the evidence, names the receiver and
 * the file's SHA-256, never key material.
 */
async function runExport(ctx: StepContext, p: RetrievalPlan, actor: ReturnType<typeof stepActor>): Promise<void> {
  const t = p.export!;
  const to = t.kek ? { kekCheckValue: t.kek.checkValue } : { publicKeyFingerprint: t.publicKey!.fingerprint, profile: t.publicKey!.profile };
  await journaled(ctx, actor, { version: p.version.id, into: 'export', mechanism: t.mechanism, to }, async () => {
    const target = await prepareTarget(ctx.services.hsm, tok(ctx), t);
    let r;
    try {
      r = await ctx.services.withArchive((a) => a.exportWrapped(p.version.id, { wrapping: target.ref, mechanism: t.mechanism, to }, `${actor.name} (Operator), for: ${p.purpose.slice(0, 120)}`));
    } finally {
      await target.release();
    }
    const path = wrappedExportPath(ctx.services.bundleDir, ctx.run.state.plan.run);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileAtomic(dirname(path), path.slice(dirname(path).length + 1), r.wrapped, { mode: 0o600, replace: true });
    const sha256 = createHash('sha256').update(r.wrapped).digest('hex');
    r.wrapped.fill(0);
    return {
      outcome: {
        into: 'export',
        mechanism: t.mechanism,
        ...(t.kek ? { kek: { label: t.kek.label, checkValue: t.kek.checkValue } } : { publicKey: { fingerprint: t.publicKey!.fingerprint, bits: t.publicKey!.bits, profile: t.publicKey!.profile } }),
        strength: t.strength,
        checked: r.checked,
        ...(r.note ? { note: r.note } : {}),
        checkValue: p.version.checkValue ?? p.version.fingerprint,
        file: { bytes: r.wrapped.length, sha256, format: 'custos.wrapped-export v1' },
      },
    };
  });
}


/**
 * The limits record beside the retrieved key (host/limits.ts): its dates and uses, which Custos's own
 * operations check (key-service.ts). Made for every retrieval, so a key without limits says so.
 */
async function makeLimits(ctx: StepContext, p: RetrievalPlan): Promise<void> {
  await ctx.services.hsm.call('keyLimits', { ...tok(ctx), keyIdHex: p.keyIdHex, create: { validFrom: p.validFrom, validUntil: p.validUntil, maxUses: p.maxUses, used: 0, onToken: p.into === 'token' } });
}
