// A ceremony run is its journal: a hash-chained list of events in the workstation record (docs/
// FORMAT.md "Ceremony journal"). Everything about a run — which step is current, which approvals
// count, which exceptions are open — is folded from the journal by the pure functions here, in the
// main process (which enforces them) and in the renderer (which shows them) alike. A run started in
// the app can therefore be resumed in the CLI and the other way round: both read the same journal.
//
// The journal never holds a secret: no share word, PIN, passphrase or key byte. Events carry
// names, ids, fingerprints, check values, signatures and the outcome of each step.
import type { CredentialKind, Role } from './roles';
import type { CeremonyType, ResolvedStep } from './definition';

export const JOURNAL_FORMAT = 'custos.ceremony-journal';
export const JOURNAL_VERSION = 1;
export const FINGERPRINT_FORMAT = 'custos.ceremony-fingerprint';
/** How long a challenge (nonce) for approvals or presence proofs stays valid. */
export const CHALLENGE_MINUTES = 15;

export interface Participant {
  person: string;
  name: string;
  /** Roles this person holds in this run (a subset of their roles in the register). */
  roles: Role[];
  /** The credential as enrolled; null until enrolled (set-up and enrolment ceremonies). */
  credential: { kind: CredentialKind; fingerprint: string } | null;
}

export interface TokenIdentityView {
  uri: string;
  label: string;
  serial: string;
  model: string;
  manufacturer: string;
}

/** Every resolved parameter of a run; the fingerprint is SHA-256 over its canonical JSON (without `fingerprint`). */
export interface RunPlan {
  run: string;
  definition: { id: string; revision: number; type: CeremonyType; title: string; hash: string };
  app: string;
  practice: boolean;
  workstation: { archiveId: string | null; name: string; token: TokenIdentityView };
  /** The type's parameters with people resolved to register ids, and keys to labels and ids. */
  params: Record<string, unknown>;
  participants: Participant[];
  /** Hash of the previous evidence bundle for the same key (or record), null for the first. */
  previousBundle: string | null;
  /** Raised at each amendment: a changed parameter makes a new fingerprint. */
  amendment: number;
  fingerprint: string;
}

export interface Actor {
  /** Register id, or null for the engine itself. */
  person: string | null;
  name: string;
  role: Role | 'system';
}

export const SYSTEM: Actor = Object.freeze({ person: null, name: 'Custos', role: 'system' }) as Actor;

export type JournalEvent =
  | { type: 'run.planned'; plan: RunPlan }
  /** Parameters changed (or credentials enrolled): a new fingerprint; every earlier approval is void. */
  | { type: 'run.amended'; plan: RunPlan; reason: string }
  | { type: 'challenge.issued'; step: string; counter: number; nonce: string; expiresAt: string }
  | { type: 'presence.proved'; step: string; person: string; credential: string; counter: number; nonce: string; signature: string }
  | { type: 'fingerprint.confirmed'; step: string; fingerprint: string; persons: string[] }
  | { type: 'approval.recorded'; step: string; person: string; role: Role; credential: string; counter: number; nonce: string; fingerprint: string; signature: string }
  | { type: 'step.started'; step: string; intent: Record<string, unknown> }
  | { type: 'step.progress'; step: string; holder?: string; outcome: Record<string, unknown> }
  | { type: 'step.completed'; step: string; outcome: Record<string, unknown> }
  | { type: 'step.skipped'; step: string; reason: string }
  | { type: 'step.failed'; step: string; error: { code: string; message: string } }
  | { type: 'witness.ticked'; step: string; person: string }
  | { type: 'exception.raised'; id: string; step: string | null; expected: string; happened: string }
  | { type: 'exception.decided'; id: string; decision: string }
  | { type: 'exception.acknowledged'; id: string }
  /** The secret part of a run (Backup Key, shares) was lost with the process that held it. */
  | { type: 'shares.voided'; step: string; reason: string }
  | { type: 'run.resumed'; step: string | null; how: string }
  | { type: 'run.aborted'; reason: string }
  | { type: 'run.completed'; bundle: { hash: string; name: string } };

export interface JournalEntry {
  seq: number;
  at: string;
  actor: Actor;
  event: JournalEvent;
  /** SHA-256 of the previous entry's canonical JSON (64 zeros for the first). */
  prev: string;
}

export type StepStatus = 'pending' | 'active' | 'in-flight' | 'done' | 'skipped';

export interface StepState {
  status: StepStatus;
  outcome: Record<string, unknown> | null;
  /** Per-holder progress of hand-over / verify-shares steps. */
  holders: string[];
  progress: Array<Record<string, unknown>>;
  ticked: string | null;
  lastError: { code: string; message: string } | null;
}

export interface ApprovalView {
  step: string;
  person: string;
  role: Role;
  credential: string;
  counter: number;
  nonce: string;
  at: string;
  signature: string;
}

export interface ExceptionView {
  id: string;
  step: string | null;
  expected: string;
  happened: string;
  raisedBy: Actor;
  at: string;
  decision: { text: string; by: Actor; at: string } | null;
  acknowledged: { by: Actor; at: string } | null;
}

export type RunStatus = 'running' | 'aborted' | 'completed';

export interface RunState {
  plan: RunPlan;
  steps: ResolvedStep[];
  status: RunStatus;
  /** Index of the current step (steps.length once every step is done). */
  current: number;
  step: Record<string, StepState>;
  /** Persons who proved presence, under the current fingerprint. */
  present: Record<string, { at: string; credential: string }>;
  fingerprintConfirmed: boolean;
  challenge: { step: string; counter: number; nonce: string; expiresAt: string } | null;
  counter: number;
  nonces: Set<string>;
  /** Approvals under the current fingerprint. */
  approvals: ApprovalView[];
  exceptions: ExceptionView[];
  voidedShareSets: number;
  startedAt: string;
  endedAt: string | null;
  bundle: { hash: string; name: string } | null;
  abortReason: string | null;
  lastSeq: number;
}

function blankStep(): StepState {
  return { status: 'pending', outcome: null, holders: [], progress: [], ticked: null, lastError: null };
}

/**
 * Folds a journal into the run's state. `steps` are the definition's resolved steps (the definition
 * is stored with the run, by hash). Entries are trusted: the record's MACs and the audit chain
 * vouch for them; the engine checked each event before it appended it.
 */
export function foldJournal(entries: readonly JournalEntry[], steps: ResolvedStep[]): RunState {
  const first = entries[0];
  if (!first || first.event.type !== 'run.planned') throw new Error('a journal starts with run.planned');
  const s: RunState = {
    plan: first.event.plan,
    steps,
    status: 'running',
    current: 0,
    step: Object.fromEntries(steps.map((x) => [x.id, blankStep()])),
    present: {},
    fingerprintConfirmed: false,
    challenge: null,
    counter: 0,
    nonces: new Set(),
    approvals: [],
    exceptions: [],
    voidedShareSets: 0,
    startedAt: first.at,
    endedAt: null,
    bundle: null,
    abortReason: null,
    lastSeq: 0,
  };
  for (const e of entries) apply(s, e);
  s.current = currentIndex(s);
  for (const x of steps) {
    const st = s.step[x.id]!;
    if (st.status === 'pending' && x.index === s.current && s.status === 'running') st.status = 'active';
  }
  return s;
}

function apply(s: RunState, e: JournalEntry): void {
  const ev = e.event;
  s.lastSeq = e.seq;
  switch (ev.type) {
    case 'run.planned':
      s.plan = ev.plan;
      break;
    case 'run.amended':
      s.plan = ev.plan;
      s.approvals = [];
      s.present = {};
      s.fingerprintConfirmed = false;
      s.challenge = null;
      break;
    case 'challenge.issued':
      s.challenge = { step: ev.step, counter: ev.counter, nonce: ev.nonce, expiresAt: ev.expiresAt };
      s.counter = ev.counter;
      s.nonces.add(ev.nonce);
      break;
    case 'presence.proved':
      s.present[ev.person] = { at: e.at, credential: ev.credential };
      break;
    case 'fingerprint.confirmed':
      if (ev.fingerprint === s.plan.fingerprint) s.fingerprintConfirmed = true;
      break;
    case 'approval.recorded':
      if (ev.fingerprint === s.plan.fingerprint) {
        s.approvals.push({ step: ev.step, person: ev.person, role: ev.role, credential: ev.credential, counter: ev.counter, nonce: ev.nonce, at: e.at, signature: ev.signature });
      }
      break;
    case 'step.started': {
      const st = s.step[ev.step];
      if (st) {
        st.status = 'in-flight';
        st.lastError = null;
      }
      break;
    }
    case 'step.progress': {
      const st = s.step[ev.step];
      if (st) {
        st.progress.push(ev.outcome);
        if (ev.holder && !st.holders.includes(ev.holder)) st.holders.push(ev.holder);
      }
      break;
    }
    case 'step.completed': {
      const st = s.step[ev.step];
      if (st) {
        st.status = 'done';
        st.outcome = ev.outcome;
      }
      break;
    }
    case 'step.skipped': {
      const st = s.step[ev.step];
      if (st) {
        st.status = 'skipped';
        st.outcome = { skipped: ev.reason };
      }
      break;
    }
    case 'step.failed': {
      const st = s.step[ev.step];
      if (st) {
        st.status = 'pending';
        st.lastError = ev.error;
      }
      break;
    }
    case 'witness.ticked': {
      const st = s.step[ev.step];
      if (st) st.ticked = ev.person;
      break;
    }
    case 'exception.raised':
      s.exceptions.push({ id: ev.id, step: ev.step, expected: ev.expected, happened: ev.happened, raisedBy: e.actor, at: e.at, decision: null, acknowledged: null });
      break;
    case 'exception.decided': {
      const x = s.exceptions.find((y) => y.id === ev.id);
      if (x) x.decision = { text: ev.decision, by: e.actor, at: e.at };
      break;
    }
    case 'exception.acknowledged': {
      const x = s.exceptions.find((y) => y.id === ev.id);
      if (x) x.acknowledged = { by: e.actor, at: e.at };
      break;
    }
    case 'shares.voided': {
      // The secret section starts again: every secret step goes back to pending.
      s.voidedShareSets++;
      for (const x of s.steps) {
        if (!x.secret) continue;
        const st = s.step[x.id]!;
        if (st.status === 'done' || st.status === 'in-flight' || st.status === 'pending') Object.assign(st, blankStep());
      }
      break;
    }
    case 'run.resumed':
      break;
    case 'run.aborted':
      s.status = 'aborted';
      s.abortReason = ev.reason;
      s.endedAt = e.at;
      break;
    case 'run.completed':
      s.status = 'completed';
      s.bundle = ev.bundle;
      s.endedAt = e.at;
      break;
  }
}

function currentIndex(s: RunState): number {
  const i = s.steps.findIndex((x) => {
    const st = s.step[x.id]!.status;
    return st !== 'done' && st !== 'skipped';
  });
  return i < 0 ? s.steps.length : i;
}

export function currentStep(s: RunState): ResolvedStep | null {
  return s.steps[s.current] ?? null;
}

/** A step that was started but never completed: the process died in the middle of it. */
export function inFlightStep(s: RunState): ResolvedStep | null {
  return s.steps.find((x) => s.step[x.id]!.status === 'in-flight') ?? null;
}

export function participantsWith(s: RunState, role: Role): Participant[] {
  return s.plan.participants.filter((p) => p.roles.includes(role));
}

export function participant(s: RunState, person: string): Participant | undefined {
  return s.plan.participants.find((p) => p.person === person);
}

/** Valid approvals recorded for a step under the current fingerprint, one per person. */
export function approvalsFor(s: RunState, stepId: string): ApprovalView[] {
  const seen = new Set<string>();
  return s.approvals.filter((a) => a.step === stepId && !seen.has(a.person) && seen.add(a.person));
}

/**
 * The quorum steps whose approvals must be in before `step` may run: its own, and — at the start of
 * a secret section (the Backup Key and its shares live only in memory) — those of every later step
 * in that section. So no share is made for a backup that the quorum has not approved yet, and the
 * commit needs no one to come back once the shares are verified.
 */
export function quorumStepsDue(s: RunState, step: ResolvedStep): ResolvedStep[] {
  const due = step.quorum ? [step] : [];
  if (step.secret && s.steps.slice(0, step.index).every((x) => !x.secret || s.step[x.id]!.status === 'skipped')) {
    for (const later of s.steps.slice(step.index + 1)) {
      if (!later.secret) break;
      if (later.quorum) due.push(later);
    }
  }
  return due;
}

export function openExceptions(s: RunState): ExceptionView[] {
  return s.exceptions.filter((x) => !x.decision || !x.acknowledged);
}

/**
 * What stands between the current step and running it, in words; empty when it may run. These are
 * the step table's prerequisites: the engine refuses to run a step while any is unmet, and the
 * screens show them as the list of what is still needed.
 */
export function prerequisites(s: RunState, now: Date = new Date()): string[] {
  void now;
  if (s.status !== 'running') return [s.status === 'completed' ? 'The ceremony is complete.' : 'The ceremony was aborted.'];
  const step = currentStep(s);
  if (!step) return [];
  const needs: string[] = [];
  const prev = s.steps[step.index - 1];
  if (prev && prev.witness && s.step[prev.id]!.status === 'done' && !s.step[prev.id]!.ticked) {
    needs.push(`The witness ticks step ${prev.index + 1} (“${prev.title}”).`);
  }
  if (step.kind === 'roll-call') {
    for (const p of s.plan.participants) if (p.credential && !s.present[p.person]) needs.push(`${p.name} proves presence with their ${p.credential.kind}.`);
  }
  if (step.kind === 'read-fingerprint' && !s.fingerprintConfirmed) needs.push('Every participant confirms the fingerprint words aloud.');
  for (const q of quorumStepsDue(s, step)) {
    const have = approvalsFor(s, q.id).length;
    const n = q.quorum!.threshold - have;
    if (n > 0) needs.push(`${n} more ${q.quorum!.role} approval${n === 1 ? '' : 's'} for “${q.title}” (${have} of ${q.quorum!.threshold}).`);
  }
  // Destruction: the last copy of a key, or one of the workstation's own keys, goes only once the
  // exception the check step raised is decided and acknowledged (issue #10 part 5).
  if (step.kind === 'sign-off' || step.kind === 'destroy') {
    const open = openExceptions(s);
    if (open.length) needs.push(`${open.length} exception${open.length === 1 ? '' : 's'} must be decided by the administrator and acknowledged by the witness.`);
  }
  return needs;
}
