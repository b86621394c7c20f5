// Archive KEK rotation as a ceremony (issue #10 part 4): the quorum approves a fingerprint that
// names the KEK being replaced and the number of versions; the work itself is the archive's
// (archive/kek-rotation.ts): new KEK in the HSM, every version re-wrapped and verified there in
// batches, old KEK retired at the end. The step is journaled; a run cut off mid-rotation is marked
// failed on resume and runs again, which continues the archive's own rotation from the versions
// still under the old KEK (the archive, not the journal, knows which versions moved).
import type { RunState } from '../../../shared/ceremony/run';
import { fail } from '../../../shared/result';
import { requireRunnable } from './engine';
import { complete, journaled } from './steps-common';
import { stepActor, type StepContext } from './step-context';

interface KekPlan {
  kek: { check: string; label: string; id: string };
  versions: number;
}

const params = (s: RunState) => s.plan.params as unknown as KekPlan;

export async function runCheckKek(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const p = params(ctx.run.state);
  const st = await ctx.services.withArchive(async (a) => a.kekRotationState());
  // Resuming this run's own rotation: the old KEK is still the identity row's until the end.
  const ours = st.incoming && st.incoming.ceremonyId === ctx.run.state.plan.run;
  if (st.incoming && !ours) fail('INVALID_INPUT', 'Another KEK rotation is under way in this archive.', 'Abort this ceremony and resume the other one.');
  if (st.current.check !== p.kek.check) fail('CHECK_VALUE_MISMATCH', `The Archive KEK is no longer the one planned (check value ${st.current.check}, planned ${p.kek.check}).`, 'Abort this ceremony and plan it again.');
  const cv = await ctx.services.hsm.call('checkValue', { path: ctx.session.module, token: ctx.session.token, ref: { label: p.kek.label, idHex: p.kek.id, kind: 'secret' } });
  if (cv.cmacHex !== p.kek.check) fail('CHECK_VALUE_MISMATCH', 'The HSM’s Archive KEK does not have the check value recorded in the archive.', 'Abort, and run `custos archive verify --check-hsm`.');
  // New versions archived since the plan are re-wrapped too; fewer means some were destroyed.
  await complete(ctx, stepActor(ctx, 'administrator'), { kekCheck: cv.cmacHex, versions: st.versions, planned: p.versions, remaining: st.remaining });
}

export async function runRotateKek(ctx: StepContext): Promise<void> {
  const p = params(ctx.run.state);
  const actor = stepActor(ctx, 'operator');
  const step = requireRunnable(ctx.run);
  const run = ctx.run.state.plan.run;
  await journaled(ctx, actor, { from: p.kek.check, versions: p.versions }, async () => {
    const r = await ctx.services.withArchive((a) =>
      a.rotateKek({
        actor: `${actor.name} (Operator), ceremony ${run}`,
        ceremonyId: run,
        ...(ctx.services.cancel ? { signal: ctx.services.cancel(run) } : {}),
        onProgress: (e) => ctx.services.progress?.({ type: 'progress', run, step: step.id, done: e.done, total: e.total, message: `${e.done.toLocaleString('en')} of ${e.total.toLocaleString('en')} versions re-wrapped and verified (${e.perSecond.toLocaleString('en')}/s)` }),
      }),
    );
    if (!r.finished) fail('CEREMONY_INTERRUPTED', `The rotation was cancelled after ${r.rewrapped} version(s) of this run; every version is readable under the old or the new KEK.`, 'Resume the ceremony to finish the rotation (the old KEK stays in use until it finishes).');
    const st = await ctx.services.withArchive(async (a) => a.kekRotationState());
    return { outcome: { from: r.from, to: r.to, rewrapped: r.rewrapped, versions: st.versions, verified: 'each new blob unwrapped under the new KEK and wrapped back under the old one: byte-equal', oldKek: 'retired (kept in the HSM)' } };
  });
}
