// Steps every ceremony has: the roll call, the fingerprint, the operator's login, the sign-off with
// its evidence bundle. Each checks the step table's prerequisites first (engine.requireRunnable):
// the witness's tick of the previous step, the approvals, no open exception at sign-off.
import { destructionCertificate, destructionCertificateText, DESTRUCTION_CERTIFICATE_FILE } from '../../../shared/ceremony/destruction-certificate';
import { canonicalJson } from '../../../shared/ceremony/canonical';
import { SYSTEM, type Actor, type JournalEvent } from '../../../shared/ceremony/run';
import { buildTranscript, type TranscriptCredential } from '../../../shared/ceremony/transcript';
import { checkPinLength } from '../../../shared/pin-length';
import { matchesSelector } from '../../../shared/pkcs11-uri';
import { CustosError, fail } from '../../../shared/result';
import { loginWarned } from '../pin-login';
import { append, enrolledInRun, loadRun, requireRunnable, type LoadedRun } from './engine';
import { publicCredential } from './credentials';
import { writeBundle } from './evidence';
import { subjectOf } from './plan';
import type { RunEffects } from './record';
import { stepActor, type StepContext } from './step-context';

/**
 * Test hook for the kill-and-resume tests: with CUSTOS_CEREMONY_TEST_HOOKS=1, the process kills
 * itself (SIGKILL, as a power cut would) at the first point CUSTOS_CEREMONY_KILL_AT names (a comma
 * list), e.g. "generate:before" (after the
 * intent was journaled, before the HSM is touched) or "generate:after" (the HSM work done, its
 * outcome not yet journaled).
 */
export function crashHook(point: string): void {
  if (process.env.CUSTOS_CEREMONY_TEST_HOOKS === '1' && (process.env.CUSTOS_CEREMONY_KILL_AT ?? '').split(',').includes(point)) process.kill(process.pid, 'SIGKILL');
}

/** Appends the completion of the current step (and anything before it), and re-reads the run. */
export async function complete(ctx: StepContext, actor: Actor, outcome: Record<string, unknown>, before: JournalEvent[] = [], effects?: RunEffects): Promise<LoadedRun> {
  const step = requireRunnable(ctx.run);
  ctx.run = await append(ctx, ctx.run, [...before.map((event) => ({ actor, event })), { actor, event: { type: 'step.completed', step: step.id, outcome } }], effects);
  crashHook(`${step.id}:done`);
  return ctx.run;
}

export async function skip(ctx: StepContext, reason: string): Promise<LoadedRun> {
  const step = requireRunnable(ctx.run);
  ctx.run = await append(ctx, ctx.run, [{ actor: SYSTEM, event: { type: 'step.skipped', step: step.id, reason } }]);
  return ctx.run;
}

/**
 * Runs `work` as a journaled step: `step.started` (the intent) is written before the HSM is
 * touched, then `step.completed` with the outcome, or `step.failed` with the error's code and
 * words. A crash in between leaves `step.started` alone in the journal: the run shows as
 * interrupted at this step, and resume decides (adopt what was made, or undo it).
 */
export async function journaled(ctx: StepContext, actor: Actor, intent: Record<string, unknown>, work: () => Promise<{ outcome: Record<string, unknown>; effects?: RunEffects }>): Promise<LoadedRun> {
  const step = requireRunnable(ctx.run);
  ctx.run = await append(ctx, ctx.run, [{ actor, event: { type: 'step.started', step: step.id, intent } }]);
  crashHook(`${step.id}:before`);
  let done: { outcome: Record<string, unknown>; effects?: RunEffects };
  try {
    done = await work();
    crashHook(`${step.id}:after`);
  } catch (e) {
    const err = e instanceof CustosError ? e.appError : { code: 'INTERNAL' as const, message: 'The step failed inside Custos.' };
    ctx.run = await append(ctx, loadRun(ctx.record, ctx.run.state.plan.run), [{ actor: SYSTEM, event: { type: 'step.failed', step: step.id, error: { code: err.code, message: err.message } } }]);
    throw e;
  }
  ctx.run = await append(ctx, ctx.run, [{ actor, event: { type: 'step.completed', step: step.id, outcome: done.outcome } }], done.effects);
  crashHook(`${step.id}:done`);
  return ctx.run;
}

export async function runRollCall(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  const actor = stepActor(ctx, 'administrator');
  // Set-up: nobody is enrolled yet, so nobody can sign; the administrator reads the names and the
  // witness, who is in the room, vouches by ticking the step.
  const vouched = s.plan.participants.filter((p) => !p.credential).map((p) => p.name);
  await complete(ctx, actor, { present: s.plan.participants.map((p) => p.name), ...(vouched.length ? { vouchedFor: vouched } : {}) });
}

export async function runReadFingerprint(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  await complete(ctx, stepActor(ctx, 'administrator'), { fingerprint: s.plan.fingerprint });
}

/**
 * Refuses a PIN the token would refuse for its length before C_Login: on a real HSM or card such a
 * PIN still costs a try (shared/pin-length.ts). Tokens that report no limits are not checked.
 */
export async function checkTokenPin(hsm: Pick<StepContext['services']['hsm'], 'call'>, t: { path: string; token: string }, pin: string, who: string): Promise<void> {
  let limits: { minPinLength: number; maxPinLength: number } | undefined;
  try {
    const slots = await hsm.call('slots', { path: t.path });
    const found = slots.filter((x) => x.token && matchesSelector(t.token, x.token));
    if (found.length === 1) limits = found[0]!.token!;
  } catch {
    /* the login itself will say what is wrong with the token */
  }
  if (limits) checkPinLength(pin, limits, who);
}

/** The operator logs in to the workstation token (once: a wrong PIN is reported, never retried). */
export async function runLogin(ctx: StepContext, pin: string | null): Promise<void> {
  const actor = stepActor(ctx, 'operator');
  const step = requireRunnable(ctx.run);
  const tok = ctx.run.state.plan.workstation.token;
  if (pin !== null) {
    await checkTokenPin(ctx.services.hsm, { path: ctx.session.module, token: ctx.session.token }, pin, 'The workstation token');
    try {
      await loginWarned(ctx.services.hsm, { path: ctx.session.module, token: ctx.session.token, role: 'user', pin });
    } catch (e) {
      const code = e instanceof CustosError ? e.appError.code : 'INTERNAL';
      if (code !== 'ALREADY_LOGGED_IN') {
        const msg = e instanceof CustosError ? e.appError.message : 'The login failed.';
        ctx.run = await append(ctx, ctx.run, [{ actor, event: { type: 'step.failed', step: step.id, error: { code, message: msg } } }]).catch(() => ctx.run);
        throw e;
      }
    }
  }
  await complete(ctx, actor, { token: tok.label, serial: tok.serial, model: tok.model });
}

/** The witness's sign-off: every witness has signed, no exception is open; then the bundle. */
export async function runSignOff(ctx: StepContext): Promise<{ bundle: string; hash: string }> {
  const step = requireRunnable(ctx.run);
  const actor = stepActor(ctx, 'witness');
  const s = ctx.run.state;
  const signed = ctx.run.state.approvals.filter((a) => a.step === step.id).map((a) => a.person);
  const missing = s.plan.participants.filter((p) => p.roles.includes('witness') && !signed.includes(p.person));
  if (missing.length) fail('QUORUM_NOT_MET', `${missing.map((m) => m.name).join(', ')} must sign off with their card first.`, 'The witness approves the sign-off step with their card or passphrase.');

  // The sign-off is journaled first, so the transcript holds it; the run is completed with the bundle's hash.
  ctx.run = await append(ctx, ctx.run, [{ actor, event: { type: 'step.completed', step: step.id, outcome: { signedBy: signed.length } } }]);
  const done = ctx.run;
  const credentials = new Map<string, TranscriptCredential>();
  for (const p of done.state.plan.participants) {
    if (!p.credential) continue;
    const c = ctx.record.credential(p.credential.fingerprint) ?? enrolledInRun(done.state, p.credential.fingerprint);
    if (c) credentials.set(c.fingerprint, publicCredential(c));
  }
  const transcript = buildTranscript({
    state: { ...done.state, status: 'completed', endedAt: done.stored.entries.at(-1)!.at },
    definition: done.stored.definition,
    journal: done.stored.entries,
    credentials,
    record: { name: ctx.record.info.name, archiveId: ctx.record.info.archiveId, auditKey: ctx.record.info.auditKey.fingerprint },
  });
  const subject = subjectOf(s.plan.definition.type, s.plan.params, ctx.record);
  const extras: Record<string, string> = {};
  for (const st of done.state.steps) {
    const o = done.state.step[st.id]!.outcome;
    if (o && typeof o.csrPem === 'string') extras['csr.pem'] = o.csrPem;
    if (o && Array.isArray(o.blobs)) extras['backup-blobs.json'] = canonicalJson({ format: 'custos.backup-blobs', version: 1, run: s.plan.run, blobs: o.blobs }) + '\n';
  }
  // Destruction: the certificate, drawn from the transcript alone (the verifier rebuilds it).
  const certificate = destructionCertificate(transcript);
  if (certificate) extras[DESTRUCTION_CERTIFICATE_FILE] = destructionCertificateText(certificate);
  const written = await writeBundle(ctx.services.bundleDir, { transcript, journal: done.stored.entries, subjects: [subject], extras }, ctx.record.signer());
  ctx.run = await append(ctx, ctx.run, [{ actor, event: { type: 'run.completed', bundle: { hash: written.hash, name: written.name } } }], {
    status: 'completed',
    bundle: { hash: written.hash, name: written.name, subjects: [subject], previous: s.plan.previousBundle, practice: s.plan.practice },
  });
  return { bundle: written.path, hash: written.hash };
}

