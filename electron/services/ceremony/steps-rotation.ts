// Rotation of a managed key (issue #10 part 4): the steps of its own. The generation, the check
// value read aloud and the round trip are the key-generation ceremony's (steps-keygen.ts reads the
// same plan names); what differs is here:
//   check         the version planned for replacement is still the active one, its token object
//                 still has the archived check value, the token can generate the algorithm;
//   archive       the new version is added as the next version with `activate`, which deactivates
//                 the old one in the same archive transaction (versions.ts): never two active
//                 versions, never none;
//   restrict-old  the old object stops protecting on the token (restrictUsage in the HSM host).
// Resume: a generation is adopted by its planned CKA_ID (steps-keygen), an archiving by the version
// that carries this run's ceremony id; a restriction is idempotent and simply runs again.
import { SYSTEM, type RunState } from '../../../shared/ceremony/run';
import { fail } from '../../../shared/result';
import { inspectKey } from '../archive/hsmkeys';
import { requireRunnable } from './engine';
import type { RotationPlan } from './plan-rotation';
import { complete, journaled, skip } from './steps-common';
import { GEN_MECHANISM } from './steps-keygen';
import { stepActor, type StepContext } from './step-context';

const params = (s: RunState) => s.plan.params as unknown as RotationPlan;
const tok = (ctx: StepContext) => ({ path: ctx.session.module, token: ctx.session.token });
const oldKind = (p: RotationPlan) => (p.old.checkValue !== null ? 'secret' : 'private');

/** The old version's object on this token, checked against the archived check value; null when it is not here. */
async function oldObject(ctx: StepContext, p: RotationPlan): Promise<{ idHex: string; label: string } | null> {
  if (!p.old.object) return null;
  const found = await ctx.services.hsm.call('objects', { ...tok(ctx), ref: { idHex: p.old.object.idHex, kind: oldKind(p) } });
  if (found.length === 0) return null;
  const seen = await inspectKey({ hsm: ctx.services.hsm, module: ctx.session.module, token: ctx.session.token }, { idHex: p.old.object.idHex, kind: oldKind(p) });
  if ((p.old.checkValue ?? p.old.fingerprint) !== (seen.checkValue ?? seen.fingerprint)) {
    fail('CHECK_VALUE_MISMATCH', `The object on the token with the id of version ${p.old.version} of “${p.key.label}” does not have that version’s archived check value.`, 'Abort the rotation, and find out what replaced the key on the token before going on.');
  }
  return { idHex: p.old.object.idHex, label: found[0]!.label };
}

/** The key's active version now, read from the archive. */
async function activeNow(ctx: StepContext, p: RotationPlan) {
  const d = await ctx.services.withArchive(async (a) => a.version(p.old.versionId));
  return { detail: d, active: d.versions.find((v) => v.state === 'active') ?? null };
}

export async function runCheckRotation(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const actor = stepActor(ctx, 'administrator');
  const s = ctx.run.state;
  const p = params(s);
  const checks: string[] = [];
  const slots = await ctx.services.hsm.call('slots', { path: ctx.session.module });
  const planned = s.plan.workstation.token;
  if (!slots.some((x) => x.token && x.token.serial === planned.serial && x.token.label === planned.label)) {
    fail('TOKEN_NOT_FOUND', `The token planned (“${planned.label}”, serial ${planned.serial}) is not present.`, 'Insert the planned token, or abort and plan the rotation again for this one.');
  }
  checks.push(`token “${planned.label}” serial ${planned.serial} present`);
  const { detail, active } = await activeNow(ctx, p);
  if (active?.versionId !== p.old.versionId) {
    fail('ARCHIVE_CONFLICT', `Version ${p.old.version} of “${p.key.label}” is no longer the active version (it is ${detail.summary.state}${active ? `; version ${active.version} is active` : ''}).`, 'Abort this rotation; plan a new one if the key still needs rotating.');
  }
  if ((detail.summary.checkValue ?? detail.summary.fingerprint) !== (p.old.checkValue ?? p.old.fingerprint)) {
    fail('CHECK_VALUE_MISMATCH', `Version ${p.old.version} of “${p.key.label}” no longer has the check value it had when the rotation was planned.`, 'Abort, and run `custos archive verify`.');
  }
  checks.push(`version ${p.old.version} of “${p.key.label}” is the active version, check value ${p.old.checkValue ?? p.old.fingerprint}`);
  const old = await oldObject(ctx, p);
  checks.push(old ? `its object “${old.label}” is on this token with the archived check value` : `version ${p.old.version} has no object on this token: it is deactivated in the archive only`);
  for (const ref of [{ label: p.label }, { idHex: p.keyIdHex }]) {
    const taken = await ctx.services.hsm.call('objects', { ...tok(ctx), ref });
    if (taken.length) fail('INVALID_INPUT', ref.label !== undefined ? `A key labelled “${p.label}” is already on this token.` : 'An object with the id planned for the new version is already on this token.', 'Abort, and plan the rotation again (with another label).');
  }
  checks.push(`label “${p.label}” is free`);
  const mechs = await ctx.services.hsm.call('mechanisms', tok(ctx));
  const need = GEN_MECHANISM[p.keyType]!;
  if (!mechs.some((m) => m.type === need)) {
    fail('MECHANISM_UNSUPPORTED', `This token cannot generate ${p.keyType} keys, so it cannot make the new version of “${p.key.label}”.`, 'Abort, and run the rotation on a token that can (Keys → capabilities lists what a token offers).');
  }
  checks.push(`mechanism 0x${need.toString(16)} for ${p.keyType} supported`);
  await complete(ctx, actor, { checks, oldObject: old });
}

export async function runArchiveRotation(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  const p = params(s);
  const actor = stepActor(ctx, 'operator');
  const { active } = await activeNow(ctx, p);
  if (active?.versionId !== p.old.versionId) {
    fail('ARCHIVE_CONFLICT', `Version ${p.old.version} of “${p.key.label}” stopped being the active version during the ceremony.`, 'Raise an exception and abort; the new version stays on the token, not archived.');
  }
  await journaled(ctx, actor, { key: p.key.label, idHex: p.keyIdHex, replaces: p.old.version }, async () => {
    const [added] = await ctx.services.withArchive((a) =>
      a.add([{ hsm: { idHex: p.keyIdHex, kind: oldKind(p) }, key: { label: p.key.label }, activate: true, ceremonyId: s.plan.run }], `${actor.name} (Operator), rotation of version ${p.old.version}`),
    );
    return { outcome: await archivedOutcome(ctx, p, added!.versionId) };
  });
}

/** What the archive now says of the new version and the old one (the dates set per the key's cryptoperiod policy). */
async function archivedOutcome(ctx: StepContext, p: RotationPlan, versionId: string): Promise<Record<string, unknown>> {
  return ctx.services.withArchive(async (a) => {
    const n = a.version(versionId);
    const o = a.version(p.old.versionId);
    return {
      versionId,
      version: n.summary.version,
      state: n.summary.state,
      activationDate: n.summary.activationDate,
      rotationDue: n.summary.rotationDue,
      processStopDate: n.processStopDate,
      old: { versionId: p.old.versionId, version: p.old.version, state: o.summary.state, deactivationDate: o.summary.deactivationDate, protectStopDate: o.protectStopDate, processStopDate: o.processStopDate },
    };
  });
}

/** Resume: an archiving cut off after the commit is adopted (the version that carries this run's id). */
export async function adoptArchivedRotation(ctx: StepContext): Promise<boolean> {
  const p = params(ctx.run.state);
  const hit = await ctx.services.withArchive(async (a) => a.version(p.old.versionId).versions.find((v) => a.version(v.versionId).ceremonyId === ctx.run.state.plan.run) ?? null);
  if (!hit) return false;
  await complete(ctx, SYSTEM, { ...(await archivedOutcome(ctx, p, hit.versionId)), adopted: true });
  return true;
}

/** The old object keeps decrypting, verifying and unwrapping; encrypt, sign and wrap are turned off where the token allows it. */
export async function runRestrictOld(ctx: StepContext): Promise<void> {
  const p = params(ctx.run.state);
  // The object the check step found with the archived check value (its check value cannot be read
  // again here: the HMAC convention signs, and a re-run after a crash finds sign already off).
  const checkStep = ctx.run.state.steps.find((x) => x.kind === 'check');
  const old = ((checkStep ? ctx.run.state.step[checkStep.id]!.outcome?.oldObject : null) ?? null) as { idHex: string; label: string } | null;
  if (!old) {
    await skip(ctx, `Version ${p.old.version} has no object on this token; it is deactivated in the archive, and a copy restored later is restored for decryption only.`);
    return;
  }
  const actor = stepActor(ctx, 'operator');
  await journaled(ctx, actor, { idHex: old.idHex }, async () => {
    const r = await ctx.services.hsm.call('restrictUsage', { ...tok(ctx), ref: { idHex: old.idHex } });
    const still = r.objects.flatMap((o) => (['encrypt', 'sign', 'wrap'] as const).filter((u) => o.usage[u]).map((u) => `${o.kind} ${u}`));
    return {
      outcome: {
        label: old.label,
        idHex: old.idHex,
        objects: r.objects.map((o) => ({ kind: o.kind, usage: o.usage })),
        stillProtecting: still,
        ...(r.refused.length
          ? {
              refused: r.refused,
              note: `The token would not turn off ${still.join(', ')} on the old object: it can still be used to protect data there. The archive records the version as deactivated; remove the old object from the applications that use this token, or destroy it once no old data needs it.`,
            }
          : {}),
      },
    };
  });
}
