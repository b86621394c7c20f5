// Archive retrieval under quorum (issue #10 part 3): an archived version comes back into the HSM
// to open old data. The purpose is stated at planning and is part of the fingerprint, so the
// custodians' approvals are bound to this version and this purpose; the archive checks the row's
// MAC in the HSM before the blob reaches it, unwraps it under the Archive KEK (RFC 5649), and proves
// the result against the archived check value or public key (archive/retrieval.ts).
import type { RunState } from '../../../shared/ceremony/run';
import { SYSTEM } from '../../../shared/ceremony/run';
import { fail } from '../../../shared/result';
import type { KeyUsage } from '../../hsm/protocol';
import { requireRunnable } from './engine';
import { complete, journaled } from './steps-common';
import { stepActor, type StepContext } from './step-context';

interface RetrievalPlan {
  version: { id: string; label: string; version: number; algorithm: string; kind: 'secret' | 'private'; state: string; checkValue: string | null; fingerprint: string | null };
  purpose: string;
  into: 'session' | 'token';
  label: string;
  usages: KeyUsage[];
  validDays: number | null;
  keyIdHex: string;
}

const params = (s: RunState) => s.plan.params as unknown as RetrievalPlan;
const tok = (ctx: StepContext) => ({ path: ctx.session.module, token: ctx.session.token });

export async function runCheckRetrieval(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const p = params(ctx.run.state);
  const d = await ctx.services.withArchive(async (a) => a.version(p.version.id));
  if (!d.summary.hasMaterial) fail('KEY_NOT_EXTRACTABLE', `Version ${p.version.version} of “${p.version.label}” was destroyed since the ceremony was planned.`, 'Abort this ceremony.');
  if (d.summary.checkValue !== p.version.checkValue || d.summary.fingerprint !== p.version.fingerprint) fail('CHECK_VALUE_MISMATCH', 'The archived version no longer has the check value it had when the ceremony was planned.', 'Abort, and run `custos archive verify`.');
  const taken = await ctx.services.hsm.call('objects', { ...tok(ctx), ref: { label: p.label } });
  if (taken.length) fail('INVALID_INPUT', `A key labelled “${p.label}” is already on this token.`, 'Abort, and plan the retrieval with another label.');
  await complete(ctx, stepActor(ctx, 'administrator'), { version: `${p.version.label}@${p.version.version}`, state: d.summary.state, checkValue: p.version.checkValue ?? p.version.fingerprint, material: `${d.wrappedBytes ?? 0} bytes under KEK ${d.kekCheck ?? '—'}` });
}

export async function runRetrieve(ctx: StepContext): Promise<void> {
  const p = params(ctx.run.state);
  const actor = stepActor(ctx, 'operator');
  await journaled(ctx, actor, { version: p.version.id, label: p.label, idHex: p.keyIdHex, into: p.into }, async () => {
    const r = await ctx.services.withArchive((a) =>
      a.restore(p.version.id, { label: p.label, idHex: p.keyIdHex, usages: p.usages, extractable: false, onToken: p.into === 'token' }, `${actor.name} (Operator), for: ${p.purpose.slice(0, 120)}`),
    );
    return {
      outcome: {
        label: r.object.label,
        idHex: r.object.idHex,
        into: p.into,
        checked: r.checked,
        ...(r.note ? { note: r.note } : {}),
        checkValue: p.version.checkValue ?? p.version.fingerprint,
        ...(p.validDays ? { validUntil: new Date(Date.now() + p.validDays * 86_400_000).toISOString().slice(0, 10) } : {}),
      },
    };
  });
}

/** Resume: a retrieval cut off after the unwrap is adopted (found by its planned CKA_ID); a session object went with the session. */
export async function adoptRetrieved(ctx: StepContext): Promise<boolean> {
  const p = params(ctx.run.state);
  const found = await ctx.services.hsm.call('objects', { ...tok(ctx), ref: { idHex: p.keyIdHex } });
  if (!found.length) return false;
  await complete(ctx, SYSTEM, { label: found[0]!.label, idHex: p.keyIdHex, into: p.into, adopted: true, checked: false, note: 'adopted after an interruption: compare its check value before use' });
  return true;
}
