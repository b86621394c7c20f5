// Enrolment (in the set-up and the enrolment ceremonies): each person in turn makes a key pair
// inside their own card (or, where the policy allows, chooses a passphrase), and the card proves at
// once that it holds it. Nothing takes effect until the set-policy step, approved by the quorum:
// in set-up by the newly enrolled custodians themselves (there is nobody before them), in a later
// enrolment by the custodians already enrolled.
import { randomBytes } from 'node:crypto';
import { enrolmentMessage } from '../../../shared/ceremony/approval';
import type { Policy } from '../../../shared/ceremony/policy';
import type { Role } from '../../../shared/ceremony/roles';
import { currentStep, SYSTEM, type Participant } from '../../../shared/ceremony/run';
import type { TranscriptCredential } from '../../../shared/ceremony/transcript';
import { fail } from '../../../shared/result';
import { credentialFromPublic, enrolCard, enrolPassphrase, isCard, publicCredential, type CardAccess, type CredentialRecord } from './credentials';
import { append, requireNotInterrupted, requireRunning } from './engine';
import { withFingerprint } from './plan';
import type { PersonRecord } from './record';
import { complete } from './steps-common';
import { stepActor, type StepContext } from './step-context';

interface NewPerson {
  person: string;
  name: string;
  roles: Role[];
  credentialKind: 'card' | 'passphrase';
}

const newcomers = (ctx: StepContext): NewPerson[] => {
  const p = ctx.run.state.plan.params;
  return ((p.people ?? p.add ?? []) as NewPerson[]).slice();
};

/** Credentials enrolled in this run so far, by person. */
export function enrolled(ctx: StepContext): Map<string, TranscriptCredential> {
  const out = new Map<string, TranscriptCredential>();
  const s = ctx.run.state;
  const step = s.steps.find((x) => x.kind === 'enrol');
  if (!step) return out;
  for (const p of s.step[step.id]!.progress) out.set(p.person as string, p.credential as TranscriptCredential);
  return out;
}

/** One person enrols: their card makes the key pair (or their passphrase derives it). */
export async function enrolPerson(ctx: StepContext, x: { person: string; proof: { card: CardAccess } | { passphrase: string } }): Promise<void> {
  requireRunning(ctx.run);
  requireNotInterrupted(ctx, ctx.run);
  const s = ctx.run.state;
  const step = currentStep(s);
  if (!step || step.kind !== 'enrol') fail('CEREMONY_STEP_BLOCKED', 'The ceremony is not at its enrolment step.', 'Enrol people when the ceremony reaches that step.');
  const who = newcomers(ctx).find((p) => p.person === x.person || p.name.toLowerCase() === x.person.toLowerCase());
  if (!who) fail('PERSON_NOT_FOUND', `“${x.person}” is not one of the people this ceremony enrols.`, 'Choose a person named in the ceremony’s parameters.');
  if (enrolled(ctx).has(who.person)) fail('INVALID_INPUT', `${who.name} is already enrolled in this ceremony.`, 'Enrol the next person.');
  const policy = ctx.record.policy();
  const wantsCard = 'card' in x.proof;
  if (wantsCard !== (who.credentialKind === 'card')) {
    fail('INVALID_INPUT', `${who.name} was planned with a ${who.credentialKind} credential.`, who.credentialKind === 'card' ? 'Insert their card and enter its PIN.' : 'Have them type their passphrase.');
  }
  if (!wantsCard && policy.passphraseCredentials === 'forbidden') fail('CREDENTIAL_FORBIDDEN', 'The policy does not accept passphrase credentials.', 'Enrol this person with a card.');
  const actor = { person: who.person, name: who.name, role: who.roles[0]! };
  let credential: CredentialRecord;
  let proof: { message: string; signature: string } | null = null;
  const proofIn = x.proof;
  if ('card' in proofIn) {
    const access = proofIn.card;
    // One card, one person: a card already holding someone's credential is refused before its PIN is used.
    await ctx.services.hsm.call('load', { path: access.module });
    const slots = await ctx.services.hsm.call('slots', { path: access.module });
    const card = slots.find((sl) => sl.token && isCard(access.token, sl.token))?.token;
    const taken = card && [...enrolled(ctx).entries(), ...ctx.record.people().filter((p) => p.credential?.card).map((p) => [p.id, p.credential!] as const)].find(([, c]) => c.card?.serial === card.serial);
    if (taken) fail('CARD_WRONG', `Card ${card!.serial} already holds another person’s credential.`, 'Each person enrols with their own card. No PIN attempt was used.');
    const nonce = randomBytes(16).toString('hex');
    const made = await enrolCard(ctx.services.hsm, access, who.person, (fp, c) => enrolmentMessage({ run: s.plan.run, person: who.person, name: who.name, credential: fp, nonce, token: { serial: c.serial, model: c.model } }));
    credential = made.credential;
    proof = made.proof;
  } else {
    credential = enrolPassphrase(proofIn.passphrase);
  }
  ctx.run = await append(ctx, ctx.run, [{ actor, event: { type: 'step.progress', step: step.id, holder: who.person, outcome: { person: who.person, name: who.name, credential: publicCredential(credential), ...(proof ? { proof } : {}) } } }]);
}

/** Every new person enrolled: the step completes, and the plan now names their credentials (a new fingerprint). */
export async function runEnrolDone(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  const made = enrolled(ctx);
  const missing = newcomers(ctx).filter((p) => !made.has(p.person));
  if (missing.length) fail('CEREMONY_STEP_BLOCKED', `${missing.map((m) => m.name).join(', ')} still need${missing.length === 1 ? 's' : ''} to enrol.`, 'Enrol each person named in the ceremony.');
  const participants: Participant[] = s.plan.participants.map((p) => {
    const c = made.get(p.person);
    return c ? { ...p, credential: { kind: c.kind, fingerprint: c.fingerprint } } : p;
  });
  const { fingerprint: _old, ...rest } = s.plan;
  void _old;
  const plan = withFingerprint({ ...rest, participants, amendment: s.plan.amendment + 1 });
  await complete(ctx, stepActor(ctx, 'administrator'), { enrolled: [...made.values()].map((c) => c.fingerprint) }, [], undefined);
  ctx.run = await append(ctx, ctx.run, [{ actor: SYSTEM, event: { type: 'run.amended', plan, reason: 'The people enrolled; their credentials are now part of the fingerprint.' } }]);
}

/** The quorum approved: the people, their credentials and the policy take effect. */
export async function runSetPolicy(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  const made = enrolled(ctx);
  const people: PersonRecord[] = [];
  for (const n of newcomers(ctx)) {
    const c = made.get(n.person);
    if (!c) fail('CEREMONY_STEP_BLOCKED', `${n.name} has not enrolled.`, 'Enrol every person first.');
    people.push({ id: n.person, name: n.name, roles: n.roles, status: 'active', credential: credentialFromPublic(c), createdAt: '', ceremony: s.plan.run });
  }
  for (const r of (s.plan.params.retire ?? []) as Array<{ person: string; name: string }>) {
    const rec = ctx.record.people().find((p) => p.id === r.person);
    if (rec) people.push({ ...rec, status: 'retired' });
  }
  const policy = (s.plan.params.policy ?? null) as Policy | null;
  await complete(ctx, stepActor(ctx, 'administrator'), { people: people.map((p) => `${p.name}: ${p.status}`), policy: policy ? 'set' : 'unchanged' }, [], {
    people,
    ...(policy ? { policy } : {}),
  });
}
