// The ceremony engine: runs any checked definition, in the app and the CLI alike. Every decision —
// which step is current, whether a person holds the role they act in, whether the quorum is met,
// whether an approval is fresh — is made here, in the main process, from the run's journal; the
// screens and the CLI only send intents and show the answer (shared/ceremony/view.ts).
//
// Each action reads the journal, checks the action against the folded state, does the work (the
// HSM, the record) and appends what happened in one commit. Two processes acting on one run are
// serialised by the journal: an append names the entry it follows, and loses if another came
// first. Secrets (the Backup Key, the shares) live only in this process's memory (secrets.ts);
// the journal records outcomes only.
import { randomBytes, randomUUID } from 'node:crypto';
import { approvalMessage, type ApprovalPurpose } from '../../../shared/ceremony/approval';
import { resolveSteps, type CeremonyDefinition, type ResolvedStep } from '../../../shared/ceremony/definition';
import type { Policy } from '../../../shared/ceremony/policy';
import { ROLE_TITLES, type Role } from '../../../shared/ceremony/roles';
import {
  CHALLENGE_MINUTES,
  approvalsFor,
  currentStep,
  foldJournal,
  inFlightStep,
  openExceptions,
  participant,
  prerequisites,
  quorumStepsDue,
  SYSTEM,
  type Actor,
  type JournalEntry,
  type JournalEvent,
  type RunState,
} from '../../../shared/ceremony/run';
import { runView, type RunView } from '../../../shared/ceremony/view';
import { CustosError, fail } from '../../../shared/result';
import { credentialFromPublic, signWithCard, signWithPassphrase, verifyCredential, type CardAccess, type CredentialRecord } from './credentials';
import type { TranscriptCredential } from '../../../shared/ceremony/transcript';
import type { CeremonyRecord, RunEffects, StoredRun } from './record';
import type { SecretStore } from './secrets';

/** How a person proves who they are for one action: their card and its PIN, or their passphrase. */
export type Proof = { card: CardAccess } | { passphrase: string };

export interface LoadedRun {
  stored: StoredRun;
  state: RunState;
  steps: ResolvedStep[];
}

export interface EngineContext {
  record: CeremonyRecord;
  secrets: SecretStore;
  now(): Date;
}

export function policyThreshold(policy: Policy, def: CeremonyDefinition) {
  return (role: Role) => (role === 'custodian' ? policy.approvals[def.type] : 1);
}

export function loadRun(record: CeremonyRecord, run: string): LoadedRun {
  const stored = record.loadRun(run);
  if (!stored) fail('CEREMONY_NOT_FOUND', `There is no ceremony ${run} in this record.`, 'List the ceremonies (custos ceremony list) and use one of their ids.', { run: run.slice(0, 64) });
  const steps = macWording(resolveSteps(stored.definition, policyThreshold(record.policy(), stored.definition)), stored);
  return { stored, state: foldJournal(stored.entries, steps), steps };
}

/** A workstation key rotation of the MAC key: its rotate step says so (the built-in definition's words are the audit key's). */
function macWording(steps: ResolvedStep[], stored: StoredRun): ResolvedStep[] {
  const e = stored.entries[0]?.event;
  if (e?.type !== 'run.planned' || (e.plan.params as { key?: unknown } | undefined)?.key !== 'mac') return steps;
  const say = 'With the quorum’s approval, a new MAC key is made inside the HSM. Every row of the archive is checked under the old key and MACed again under the new one, in batches, with progress shown; it can be stopped and resumed. Then the handover is recorded and the old key retired (kept in the HSM, no row under it any more).';
  return steps.map((s) => (s.kind === 'rotate-workstation-key' && s.title === 'Rotate the audit key' ? { ...s, title: 'Rotate the MAC key', say } : s));
}

export function view(ctx: EngineContext, r: LoadedRun): RunView {
  return runView(r.state, { record: ctx.record.info.name, secretsHere: ctx.secrets.has(r.state.plan.run) });
}

/** The actor for a journal entry: a participant acting in one of their run roles. */
export function actorOf(s: RunState, person: string, role: Role): Actor {
  const p = participant(s, person);
  if (!p) fail('PERSON_NOT_FOUND', 'That person is not a participant of this ceremony.', 'Choose one of the people named in the ceremony.', { person: person.slice(0, 64) });
  if (!p.roles.includes(role)) {
    fail('ROLE_MISSING', `${p.name} does not take part as ${ROLE_TITLES[role].toLowerCase()} in this ceremony, so cannot do this.`, `Ask the ${ROLE_TITLES[role].toLowerCase()} named in the ceremony to do it.`);
  }
  return { person: p.person, name: p.name, role };
}

export function requireRunning(r: LoadedRun): void {
  if (r.state.status !== 'running') {
    fail('CEREMONY_FINISHED', `This ceremony is ${r.state.status === 'completed' ? 'complete' : 'aborted'}; nothing more can be done in it.`, 'Start a new ceremony if more is needed.');
  }
}

/** Refuses to act on a run whose last step was cut off, until it is resumed (or aborted). */
export function requireNotInterrupted(ctx: EngineContext, r: LoadedRun): void {
  const v = view(ctx, r);
  if (v.status === 'interrupted') {
    fail('CEREMONY_INTERRUPTED', `The ceremony was interrupted at step ${v.interrupted!.title}.`, 'Resume it (it continues safely or makes the lost part again), or abort it.');
  }
}

export async function append(ctx: EngineContext, r: LoadedRun, events: Array<{ actor: Actor; event: JournalEvent }>, effects?: RunEffects): Promise<LoadedRun> {
  await ctx.record.append(r.state.plan.run, r.state.lastSeq, events, effects);
  return loadRun(ctx.record, r.state.plan.run);
}

// ---- Challenges, approvals and presence --------------------------------------------------------

/** The open challenge for `step`, or a new one (journaled) when there is none or it expired. */
export async function challengeFor(ctx: EngineContext, r: LoadedRun, step: string): Promise<{ loaded: LoadedRun; counter: number; nonce: string }> {
  const c = r.state.challenge;
  if (c && c.step === step && new Date(c.expiresAt) > ctx.now()) return { loaded: r, counter: c.counter, nonce: c.nonce };
  const counter = r.state.counter + 1;
  const nonce = randomBytes(16).toString('hex');
  const expiresAt = new Date(ctx.now().getTime() + CHALLENGE_MINUTES * 60_000).toISOString();
  const loaded = await append(ctx, r, [{ actor: SYSTEM, event: { type: 'challenge.issued', step, counter, nonce, expiresAt } }]);
  return { loaded, counter, nonce };
}

/** A credential enrolled earlier in this run, before the record holds it (set-up, enrolment). */
export function enrolledInRun(s: RunState, fingerprint: string): CredentialRecord | null {
  for (const st of s.steps) {
    for (const p of s.step[st.id]!.progress) {
      const c = p.credential as TranscriptCredential | undefined;
      if (c && c.fingerprint === fingerprint) return credentialFromPublic(c);
    }
  }
  return null;
}

function credentialOf(ctx: EngineContext, s: RunState, person: string): CredentialRecord {
  const p = participant(s, person)!;
  const c = p.credential ? (ctx.record.credential(p.credential.fingerprint) ?? enrolledInRun(s, p.credential.fingerprint)) : null;
  if (!c) fail('CARD_WRONG', `${p.name} has no enrolled credential.`, 'Enrol a card or passphrase for this person first.');
  return c;
}

/** Makes the signature: inside the person's card, or under their passphrase. */
export async function prove(ctx: EngineContext & { hsm: import('../../hsm/client').HsmClient }, cred: CredentialRecord, proof: Proof, message: string): Promise<string> {
  if ('card' in proof) return signWithCard(ctx.hsm, cred, proof.card, message);
  return signWithPassphrase(cred, proof.passphrase, message);
}

/**
 * Checks a signed approval against everything the main process knows, in this order, each with its
 * own typed error; nothing is written when one fails. `counter`/`nonce` are those the signer used.
 */
export function checkApproval(
  ctx: EngineContext,
  s: RunState,
  a: { step: string; person: string; role: Role; counter: number; nonce: string; fingerprint: string; signature: string; purpose: ApprovalPurpose },
): CredentialRecord {
  const step = s.steps.find((x) => x.id === a.step);
  if (!step) fail('APPROVAL_WRONG_STEP', `This ceremony has no step "${a.step}".`, 'Approve one of the ceremony’s steps.');
  const cur = currentStep(s);
  const due = cur ? quorumStepsDue(s, cur).map((x) => x.id) : [];
  const signOff = step.kind === 'sign-off' && cur?.id === step.id;
  if (a.purpose === 'approve' && !due.includes(a.step) && !signOff) {
    fail('APPROVAL_WRONG_STEP', `Step “${step.title}” is not waiting for approvals now${cur ? ` (the ceremony is at “${cur.title}”)` : ''}.`, 'Approve the step the ceremony is waiting for.');
  }
  if (a.fingerprint !== s.plan.fingerprint) {
    fail('APPROVAL_FINGERPRINT', 'The approval names another fingerprint: the ceremony’s parameters are not the ones this person approved.', 'Read the current fingerprint aloud again and approve again if it matches.');
  }
  const p = participant(s, a.person);
  if (!p) fail('PERSON_NOT_FOUND', 'The approver is not a participant of this ceremony.', 'Only the people named in the ceremony can approve.');
  if (!p.roles.includes(a.role)) fail('ROLE_MISSING', `${p.name} does not take part as ${ROLE_TITLES[a.role].toLowerCase()}, so cannot approve this step.`, `Ask a ${ROLE_TITLES[a.role].toLowerCase()} named in the ceremony.`);
  if (a.purpose === 'approve') {
    const wanted = step.kind === 'sign-off' ? 'witness' : step.quorum?.role;
    if (wanted && a.role !== wanted) fail('ROLE_MISSING', `This step needs approvals from ${ROLE_TITLES[wanted].toLowerCase()}s.`, `Ask a ${ROLE_TITLES[wanted].toLowerCase()} to approve.`);
    // Enrolment: a change to who may approve is approved by those who may approve now; newcomers
    // join the quorum only once it is in force (unless nobody could approve before).
    const added = ((s.plan.params.add ?? []) as Array<{ person: string }>).map((x) => x.person);
    const incumbents = s.plan.participants.filter((x) => x.roles.includes('custodian') && !added.includes(x.person));
    if (s.plan.definition.type === 'enrolment' && added.includes(a.person) && incumbents.length > 0) {
      fail('ROLE_MISSING', `${p.name} is being enrolled in this ceremony, so cannot approve their own enrolment.`, 'Ask a custodian who was enrolled before this ceremony.');
    }
    if (approvalsFor(s, a.step).some((x) => x.person === a.person)) {
      fail('APPROVAL_DUPLICATE', `${p.name} has already approved this step; the same person counts once.`, 'Ask another custodian to approve.');
    }
  }
  const c = s.challenge;
  if (!c || c.nonce !== a.nonce || c.counter !== a.counter || c.step !== a.step) {
    if (s.nonces.has(a.nonce)) fail('APPROVAL_REPLAYED', 'This approval was made for an earlier challenge: it cannot be used again.', 'Approve again now; a fresh challenge is issued for each round.');
    fail('APPROVAL_INVALID', 'The approval does not answer a challenge this ceremony issued.', 'Approve again through Custos.');
  }
  if (new Date(c.expiresAt) <= ctx.now()) fail('APPROVAL_STALE', `The challenge expired (approvals must be made within ${CHALLENGE_MINUTES} minutes of it).`, 'Approve again: a new challenge is issued.');
  const cred = credentialOf(ctx, s, a.person);
  const message = approvalMessage({ purpose: a.purpose, run: s.plan.run, fingerprint: a.fingerprint, step: a.step, counter: a.counter, nonce: a.nonce, person: a.person, credential: cred.fingerprint });
  if (!verifyCredential(cred, message, a.signature)) fail('APPROVAL_INVALID', `The signature does not verify with ${p.name}'s enrolled credential.`, 'Approve again with the person’s own card or passphrase.');
  return cred;
}

export interface CeremonyDepsLite {
  hsm: import('../../hsm/client').HsmClient;
}

/** A person approves a step (or signs off): the engine builds the message, the card signs it, main checks it and journals it. */
export async function approve(ctx: EngineContext & CeremonyDepsLite, r: LoadedRun, x: { step: string; person: string; proof: Proof }): Promise<LoadedRun> {
  requireRunning(r);
  requireNotInterrupted(ctx, r);
  const step = r.state.steps.find((s) => s.id === x.step);
  const role: Role = step?.kind === 'sign-off' ? 'witness' : (step?.quorum?.role ?? 'custodian');
  // Check everything that does not need the signature before the card is asked for its PIN.
  const p = participant(r.state, x.person);
  if (!p) fail('PERSON_NOT_FOUND', 'The approver is not a participant of this ceremony.', 'Only the people named in the ceremony can approve.');
  const { loaded, counter, nonce } = await challengeFor(ctx, r, x.step);
  const cred = credentialOf(ctx, loaded.state, x.person);
  const base = { step: x.step, person: x.person, role, counter, nonce, fingerprint: loaded.state.plan.fingerprint, purpose: 'approve' as const };
  checkApprovalShape(ctx, loaded.state, base);
  const message = approvalMessage({ purpose: 'approve', run: loaded.state.plan.run, fingerprint: base.fingerprint, step: x.step, counter, nonce, person: x.person, credential: cred.fingerprint });
  const signature = await prove(ctx, cred, x.proof, message);
  return recordApproval(ctx, loaded, { ...base, signature });
}

/** Every approval check except the signature (run before the card is touched). */
function checkApprovalShape(ctx: EngineContext, s: RunState, a: { step: string; person: string; role: Role; counter: number; nonce: string; fingerprint: string; purpose: ApprovalPurpose }): void {
  try {
    checkApproval(ctx, s, { ...a, signature: '' });
  } catch (e) {
    if (e instanceof CustosError && e.appError.code === 'APPROVAL_INVALID' && /signature/.test(e.appError.message)) return;
    throw e;
  }
}

/** Journals an approval whose signature was made elsewhere (the CLI's `ceremony approve --signature`) or just now. */
export async function recordApproval(ctx: EngineContext, r: LoadedRun, a: { step: string; person: string; role: Role; counter: number; nonce: string; fingerprint: string; signature: string }): Promise<LoadedRun> {
  requireRunning(r);
  const cred = checkApproval(ctx, r.state, { ...a, purpose: 'approve' });
  return append(ctx, r, [
    {
      actor: actorOf(r.state, a.person, a.role),
      event: { type: 'approval.recorded', step: a.step, person: a.person, role: a.role, credential: cred.fingerprint, counter: a.counter, nonce: a.nonce, fingerprint: a.fingerprint, signature: a.signature },
    },
  ]);
}

/** Roll call: a person proves presence with their card or passphrase. */
export async function present(ctx: EngineContext & CeremonyDepsLite, r: LoadedRun, x: { person: string; proof: Proof }): Promise<LoadedRun> {
  requireRunning(r);
  requireNotInterrupted(ctx, r);
  const step = currentStep(r.state);
  if (!step || step.kind !== 'roll-call') fail('CEREMONY_STEP_BLOCKED', 'The ceremony is not at its roll call.', 'Presence is proved at the roll call only.');
  const p = participant(r.state, x.person);
  if (!p) fail('PERSON_NOT_FOUND', 'That person is not a participant of this ceremony.', 'Choose one of the people named in the ceremony.');
  if (r.state.present[p.person]) return r;
  const { loaded, counter, nonce } = await challengeFor(ctx, r, step.id);
  const cred = credentialOf(ctx, loaded.state, p.person);
  const message = approvalMessage({ purpose: 'presence', run: loaded.state.plan.run, fingerprint: loaded.state.plan.fingerprint, step: step.id, counter, nonce, person: p.person, credential: cred.fingerprint });
  const signature = await prove(ctx, cred, x.proof, message);
  if (!verifyCredential(cred, message, signature)) fail('CARD_WRONG', `The proof does not match ${p.name}'s enrolled credential.`, 'Use the person’s own card or passphrase.');
  return append(ctx, loaded, [{ actor: { person: p.person, name: p.name, role: p.roles[0]! }, event: { type: 'presence.proved', step: step.id, person: p.person, credential: cred.fingerprint, counter, nonce, signature } }]);
}

/**
 * A holder of an old share attests, signing with their own card (or passphrase), that they
 * destroyed it (a re-share's attest-destroyed step). Signed like an approval, with purpose
 * "attest", so the bundle's verifier checks it with the others.
 */
export async function attest(ctx: EngineContext & CeremonyDepsLite, r: LoadedRun, x: { person: string; proof: Proof }): Promise<LoadedRun> {
  requireRunning(r);
  requireNotInterrupted(ctx, r);
  const step = requireRunnable(r);
  if (step.kind !== 'attest-destroyed') fail('CEREMONY_STEP_BLOCKED', 'The ceremony is not at the attestation that old shares are destroyed.', 'Attest when the ceremony reaches that step.');
  const p = participant(r.state, x.person);
  if (!p) fail('PERSON_NOT_FOUND', 'That person is not a participant of this ceremony.', 'Choose one of the people named in the ceremony.');
  const old = (r.state.plan.params.oldHolders as Array<{ person: string; index: number }> | undefined) ?? [];
  const mine = old.find((h) => h.person === p.person);
  if (!mine) fail('PERSON_NOT_FOUND', `${p.name} held no share of the old set, so has nothing to attest.`, 'Only holders of the old shares attest.');
  if (r.state.step[step.id]!.holders.includes(p.person)) return r;
  const { loaded, counter, nonce } = await challengeFor(ctx, r, step.id);
  const cred = credentialOf(ctx, loaded.state, p.person);
  const message = approvalMessage({ purpose: 'attest', run: loaded.state.plan.run, fingerprint: loaded.state.plan.fingerprint, step: step.id, counter, nonce, person: p.person, credential: cred.fingerprint });
  const signature = await prove(ctx, cred, x.proof, message);
  if (!verifyCredential(cred, message, signature)) fail('CARD_WRONG', `The proof does not match ${p.name}'s enrolled credential.`, 'Use the person’s own card or passphrase.');
  return append(ctx, loaded, [
    {
      actor: { person: p.person, name: p.name, role: 'custodian' },
      event: { type: 'step.progress', step: step.id, holder: p.person, outcome: { holder: p.person, name: p.name, index: mine.index, destroyed: true, credential: cred.fingerprint, counter, nonce, signature, at: ctx.now().toISOString() } },
    },
  ]);
}

// ---- Administration: fingerprint confirmation, ticks, exceptions, abort ------------------------

export async function confirmFingerprint(ctx: EngineContext, r: LoadedRun, x: { by: string; fingerprint: string }): Promise<LoadedRun> {
  requireRunning(r);
  requireNotInterrupted(ctx, r);
  const step = currentStep(r.state);
  if (!step || step.kind !== 'read-fingerprint') fail('CEREMONY_STEP_BLOCKED', 'The ceremony is not at the fingerprint step.', 'Confirm the fingerprint when the ceremony reaches that step.');
  const actor = actorOf(r.state, x.by, 'administrator');
  if (x.fingerprint !== r.state.plan.fingerprint) {
    fail('APPROVAL_FINGERPRINT', 'The fingerprint confirmed is not the ceremony’s current fingerprint.', 'Read the fingerprint on the screen aloud again; if the words differ from the printed script, stop and raise an exception.');
  }
  return append(ctx, r, [{ actor, event: { type: 'fingerprint.confirmed', step: step.id, fingerprint: x.fingerprint, persons: r.state.plan.participants.map((p) => p.person) } }]);
}

export async function tick(ctx: EngineContext, r: LoadedRun, x: { by: string; step: string }): Promise<LoadedRun> {
  requireRunning(r);
  const step = r.state.steps.find((s) => s.id === x.step);
  if (!step) fail('CEREMONY_STEP_BLOCKED', `This ceremony has no step "${x.step}".`, 'Tick a step of this ceremony.');
  const st = r.state.step[step.id]!;
  if (st.status !== 'done' && st.status !== 'skipped') fail('CEREMONY_STEP_BLOCKED', `Step “${step.title}” is not done yet, so the witness cannot tick it.`, 'Tick a step after it is done.');
  if (st.ticked) return r;
  const actor = actorOf(r.state, x.by, 'witness');
  return append(ctx, r, [{ actor, event: { type: 'witness.ticked', step: step.id, person: actor.person! } }]);
}

export async function raiseException(ctx: EngineContext, r: LoadedRun, x: { by: string; role: Role; step: string | null; expected: string; happened: string }): Promise<LoadedRun> {
  requireRunning(r);
  const actor = actorOf(r.state, x.by, x.role);
  const id = randomUUID();
  return append(ctx, r, [{ actor, event: { type: 'exception.raised', id, step: x.step, expected: x.expected, happened: x.happened } }]);
}

export async function decideException(ctx: EngineContext, r: LoadedRun, x: { by: string; id: string; decision: string }): Promise<LoadedRun> {
  requireRunning(r);
  const e = r.state.exceptions.find((y) => y.id === x.id || y.id.startsWith(x.id));
  if (!e) fail('INVALID_INPUT', 'There is no exception with that id in this ceremony.', 'Use the id shown in the exception list.');
  if (e.decision) fail('INVALID_INPUT', 'This exception was decided already.', 'Raise a new exception if something else happened.');
  const actor = actorOf(r.state, x.by, 'administrator');
  return append(ctx, r, [{ actor, event: { type: 'exception.decided', id: e.id, decision: x.decision } }]);
}

export async function acknowledgeException(ctx: EngineContext, r: LoadedRun, x: { by: string; id: string }): Promise<LoadedRun> {
  requireRunning(r);
  const e = r.state.exceptions.find((y) => y.id === x.id || y.id.startsWith(x.id));
  if (!e) fail('INVALID_INPUT', 'There is no exception with that id in this ceremony.', 'Use the id shown in the exception list.');
  if (!e.decision) fail('EXCEPTION_OPEN', 'The administrator has not decided this exception yet.', 'The administrator records the decision first; then the witness acknowledges it.');
  if (e.acknowledged) return r;
  const actor = actorOf(r.state, x.by, 'witness');
  return append(ctx, r, [{ actor, event: { type: 'exception.acknowledged', id: e.id } }]);
}

export async function abort(ctx: EngineContext, r: LoadedRun, x: { by: string; reason: string }): Promise<LoadedRun> {
  requireRunning(r);
  const actor = actorOf(r.state, x.by, 'administrator');
  ctx.secrets.wipe(r.state.plan.run);
  return append(ctx, r, [{ actor, event: { type: 'run.aborted', reason: x.reason } }], { status: 'aborted' });
}

/** The step may run now: current, not blocked by a missing tick, approval or open exception. */
export function requireRunnable(r: LoadedRun, stepId?: string): ResolvedStep {
  requireRunning(r);
  const step = currentStep(r.state);
  if (!step) fail('CEREMONY_FINISHED', 'Every step of this ceremony is done.', 'Nothing more to do.');
  if (stepId && step.id !== stepId) fail('CEREMONY_STEP_BLOCKED', `The ceremony is at step “${step.title}”, not “${stepId}”.`, 'Do the current step first.');
  const needs = prerequisites(r.state);
  if (needs.length) {
    const quorum = needs.find((n) => /approval/.test(n));
    fail(quorum ? 'QUORUM_NOT_MET' : (step.kind === 'sign-off' || step.kind === 'destroy') && openExceptions(r.state).length ? 'EXCEPTION_OPEN' : 'CEREMONY_STEP_BLOCKED', `Step “${step.title}” cannot run yet: ${needs.join(' ')}`, 'Do what is listed first.');
  }
  return step;
}

export { inFlightStep, type JournalEntry };
