// What the screens and the CLI show of a run: derived from the run's state by pure functions, so the
// app and `custos ceremony status` say the same thing. Main sends this view; it never holds a secret.
import { fingerprintGroups, fingerprintWords } from './canonical';
import { runTitle, STEP_KIND_INFO, type CeremonyType, type StepKind } from './definition';
import { approvalsFor, currentStep, inFlightStep, openExceptions, participantsWith, prerequisites, quorumStepsDue, type ExceptionView, type RunState } from './run';
import { ROLE_TITLES, type CredentialKind, type Role } from './roles';

/** What the current step asks of the people in the room. */
export type StepInput =
  | { kind: 'presence'; persons: string[] }
  | { kind: 'confirm-fingerprint' }
  | { kind: 'login' }
  | { kind: 'run' }
  | { kind: 'enrol'; persons: string[] }
  | { kind: 'approve'; step: string; role: Role; threshold: number; persons: string[] }
  /** `sealed`: each share is sealed to its holder's card (`card`: the enrolled card's serial and label), never shown. */
  | { kind: 'hand-over'; holders: Array<{ person: string; name: string; done: boolean; card?: { serial: string; label: string } }>; sealed?: boolean }
  | { kind: 'verify-share'; holders: Array<{ person: string; name: string; done: boolean; card?: { serial: string; label: string } }>; sealed?: boolean }
  | { kind: 'enter-share'; holders: Array<{ person: string; name: string; done: boolean }>; needed: number }
  | { kind: 'unwrap'; destination: string | null }
  /** Re-share: the old holders here attest, each with their card, that their old share is destroyed; then the step runs. */
  /** Share audit: each holder checks their share alone; `failed` holders tried and did not pass (they may try again, or the audit is closed with an exception). */
  /** Forming a key: each holder types their component alone; `done` ones matched their printed check value. */
  | { kind: 'enter-component'; holders: Array<{ person: string; name: string; index: number; checkValue: string; done: boolean; envelope?: string }> }
  /** Creating components: one holder at a time takes their printed sheet; then each checks it and gives the envelope's serial. */
  | { kind: 'component-sheet'; holders: Array<{ person: string; name: string; index: number; done: boolean }> }
  | { kind: 'seal-component'; holders: Array<{ person: string; name: string; index: number; done: boolean; failed: boolean }> }
  | { kind: 'audit-share'; holders: Array<{ person: string; name: string; index: number; done: boolean; failed: boolean }> }
  | { kind: 'attest'; holders: Array<{ person: string; name: string; index: number; done: boolean }>; absent: Array<{ name: string; index: number }> }
  | { kind: 'tick'; step: string }
  | { kind: 'sign-off'; persons: string[] }
  | { kind: 'none' };

export interface RunView {
  run: string;
  type: CeremonyType;
  title: string;
  definition: { id: string; revision: number; hash: string };
  practice: boolean;
  record: string;
  status: 'running' | 'interrupted' | 'aborted' | 'completed';
  startedAt: string;
  endedAt: string | null;
  fingerprint: { hex: string; groups: string; words: string[]; confirmed: boolean };
  /** Every resolved parameter the fingerprint covers (no secret is ever a parameter). */
  params: Record<string, unknown>;
  participants: Array<{ person: string; name: string; roles: Role[]; roleTitles: string[]; credential: { kind: CredentialKind; fingerprint: string } | null; present: boolean }>;
  steps: Array<{
    index: number;
    id: string;
    kind: StepKind;
    title: string;
    actor: Role;
    status: string;
    quorum: { role: Role; threshold: number; have: number } | null;
    witness: boolean;
    ticked: string | null;
    outcome: Record<string, unknown> | null;
    lastError: { code: string; message: string } | null;
  }>;
  current: {
    index: number;
    id: string;
    kind: StepKind;
    title: string;
    say: string;
    /** Who acts now: names with their role, for the banner. */
    actors: Array<{ person: string; name: string; role: Role }>;
    needs: string[];
    input: StepInput;
  } | null;
  exceptions: ExceptionView[];
  openExceptions: number;
  approvals: Array<{ step: string; person: string; name: string; at: string }>;
  interrupted: { step: string; title: string } | null;
  bundle: { hash: string; name: string } | null;
  abortReason: string | null;
}

/** The input the current step needs next (prerequisites first, then the step's own work). */
export function stepInput(s: RunState, secretsHere: boolean): StepInput {
  const step = currentStep(s);
  if (!step || s.status !== 'running') return { kind: 'none' };
  const prev = s.steps[step.index - 1];
  if (prev && prev.witness && s.step[prev.id]!.status === 'done' && !s.step[prev.id]!.ticked) return { kind: 'tick', step: prev.id };
  const holders = () => {
    // A re-share's old holders enter shares; its new holders receive them.
    const key = step.kind === 'enter-shares' && s.plan.params.from ? 'from' : 'holders';
    const ids = (s.plan.params[key] as Array<{ person: string; name: string }> | undefined) ?? [];
    const done = s.step[step.id]!.holders;
    return ids.map((h) => ({ person: h.person, name: h.name, done: done.includes(h.person) }));
  };
  const sealedHolders = () => {
    if (s.plan.params.scheme !== 'sealed') return { holders: holders() };
    const cards = new Map(((s.plan.params.holders as Array<{ person: string; card?: { serial: string; label: string } }> | undefined) ?? []).map((h) => [h.person, h.card]));
    return { holders: holders().map((h) => ({ ...h, ...(cards.get(h.person) ? { card: cards.get(h.person)! } : {}) })), sealed: true };
  };
  switch (step.kind) {
    case 'roll-call': {
      const missing = s.plan.participants.filter((p) => p.credential && !s.present[p.person]).map((p) => p.person);
      return missing.length ? { kind: 'presence', persons: missing } : { kind: 'run' };
    }
    case 'read-fingerprint':
      return s.fingerprintConfirmed ? { kind: 'run' } : { kind: 'confirm-fingerprint' };
    case 'login':
      return { kind: 'login' };
    case 'enrol': {
      // A person enrolled in this run has a credential only once the step completes (the plan is
      // amended then); until then the step's progress says who has enrolled.
      const done = s.step[step.id]!.holders;
      const pending = s.plan.participants.filter((p) => !p.credential && !done.includes(p.person)).map((p) => p.person);
      return pending.length ? { kind: 'enrol', persons: pending } : { kind: 'run' };
    }
    case 'hand-over':
      return secretsHere ? { kind: 'hand-over', ...sealedHolders() } : { kind: 'none' };
    case 'verify-shares':
      return secretsHere ? { kind: 'verify-share', ...sealedHolders() } : { kind: 'none' };
    case 'enter-shares': {
      const b = s.plan.params.backup as { scheme: string; threshold: number } | undefined;
      const hs = holders();
      const due = quorumStepsDue(s, step).find((q) => approvalsFor(s, q.id).length < q.quorum!.threshold);
      if (due) break;
      return { kind: 'enter-share', holders: hs, needed: b?.scheme === 'xor' ? hs.length : (b?.threshold ?? hs.length) };
    }
    case 'unwrap-targets': {
      if (approvalsFor(s, step.id).length < (step.quorum?.threshold ?? 0)) break;
      const d = s.plan.params.destination as { token: { label: string } } | null | undefined;
      return secretsHere ? { kind: 'unwrap', destination: d?.token.label ?? null } : { kind: 'none' };
    }
    case 'enter-components': {
      const due = quorumStepsDue(s, step).find((q) => approvalsFor(s, q.id).length < q.quorum!.threshold);
      if (due) break;
      const hs = (s.plan.params.holders as Array<{ person: string; name: string; index: number; checkValue: string; envelope?: string }> | undefined) ?? [];
      const doneBy = s.step[step.id]!.holders;
      return secretsHere || doneBy.length === 0
        ? { kind: 'enter-component', holders: hs.map((h) => ({ person: h.person, name: h.name, index: h.index, checkValue: h.checkValue, done: doneBy.includes(h.person), ...(h.envelope ? { envelope: h.envelope } : {}) })) }
        : { kind: 'none' };
    }
    case 'print-components':
    case 'seal-components': {
      if (!secretsHere) return { kind: 'none' };
      const hs = (s.plan.params.holders as Array<{ person: string; name: string; index: number }> | undefined) ?? [];
      const st = s.step[step.id]!;
      const done = (h: { person: string }) => st.holders.includes(h.person);
      return step.kind === 'print-components'
        ? { kind: 'component-sheet', holders: hs.map((h) => ({ person: h.person, name: h.name, index: h.index, done: done(h) })) }
        : { kind: 'seal-component', holders: hs.map((h) => ({ person: h.person, name: h.name, index: h.index, done: done(h), failed: !done(h) && st.progress.some((x) => x.holder === h.person && x.checked === false) })) };
    }
    case 'audit-shares': {
      const hs = (s.plan.params.holders as Array<{ person: string; name: string; index: number }> | undefined) ?? [];
      const st = s.step[step.id]!;
      return {
        kind: 'audit-share',
        holders: hs.map((h) => ({ person: h.person, name: h.name, index: h.index, done: st.holders.includes(h.person), failed: !st.holders.includes(h.person) && st.progress.some((x) => x.holder === h.person && x.checked === false) })),
      };
    }
    case 'attest-destroyed': {
      const old = (s.plan.params.oldHolders as Array<{ person: string; name: string; index: number }> | undefined) ?? [];
      const done = s.step[step.id]!.holders;
      const here = old.filter((h) => s.plan.participants.some((p) => p.person === h.person && p.credential));
      return {
        kind: 'attest',
        holders: here.map((h) => ({ person: h.person, name: h.name, index: h.index, done: done.includes(h.person) })),
        absent: old.filter((h) => !here.includes(h)).map((h) => ({ name: h.name, index: h.index })),
      };
    }
    case 'sign-off': {
      const witnesses = participantsWith(s, 'witness');
      const signed = approvalsFor(s, step.id).map((a) => a.person);
      const missing = witnesses.filter((w) => !signed.includes(w.person)).map((w) => w.person);
      return missing.length ? { kind: 'sign-off', persons: missing } : { kind: 'run' };
    }
    default:
      break;
  }
  for (const q of quorumStepsDue(s, step)) {
    const have = approvalsFor(s, q.id);
    if (have.length < q.quorum!.threshold) {
      const eligible = participantsWith(s, q.quorum!.role)
        .filter((p) => !have.some((a) => a.person === p.person))
        .map((p) => p.person);
      return { kind: 'approve', step: q.id, role: q.quorum!.role, threshold: q.quorum!.threshold, persons: eligible };
    }
  }
  return { kind: 'run' };
}

/**
 * The secret section (Backup Key, shares) has begun and not yet ended: some secret step is done or
 * in flight, and the last one is not done. Only then do the secrets have to be in this process.
 */
export function secretSectionOpen(s: RunState): boolean {
  const secret = s.steps.filter((st) => st.secret);
  const last = secret[secret.length - 1];
  if (!last || s.step[last.id]!.status === 'done') return false;
  // A share already entered (its holder in the step's progress) lives only in the process that took it.
  return secret.some((st) => s.step[st.id]!.status === 'done' || s.step[st.id]!.status === 'in-flight' || s.step[st.id]!.holders.length > 0);
}

export function runView(s: RunState, x: { record: string; secretsHere: boolean }): RunView {
  const plan = s.plan;
  const step = currentStep(s);
  const flight = inFlightStep(s);
  // A step in flight that this process is not running, or a secret section whose secrets this
  // process does not hold: the process that was doing it died. The run waits for `resume`.
  const secretLost = !x.secretsHere && secretSectionOpen(s) && s.status === 'running';
  const interrupted = s.status === 'running' && (flight || secretLost) ? (flight ?? step) : null;
  const nameOf = (id: string) => plan.participants.find((p) => p.person === id)?.name ?? id;
  const input = interrupted ? ({ kind: 'none' } as StepInput) : stepInput(s, x.secretsHere);
  const actorsFor = (role: Role) => participantsWith(s, role).map((p) => ({ person: p.person, name: p.name, role }));
  const actors = !step
    ? []
    : input.kind === 'tick'
      ? actorsFor('witness')
      : input.kind === 'approve'
        ? input.persons.map((person) => ({ person, name: nameOf(person), role: input.role }))
        : input.kind === 'presence' || input.kind === 'enrol'
          ? input.persons.map((person) => ({ person, name: nameOf(person), role: plan.participants.find((p) => p.person === person)?.roles[0] ?? step.actor }))
          : input.kind === 'sign-off'
            ? input.persons.map((person) => ({ person, name: nameOf(person), role: 'witness' as Role }))
            : input.kind === 'hand-over' || input.kind === 'verify-share' || input.kind === 'component-sheet'
              ? input.holders.filter((h) => !h.done).slice(0, 1).map((h) => ({ person: h.person, name: h.name, role: 'custodian' as Role }))
              : input.kind === 'enter-share' || input.kind === 'attest' || input.kind === 'audit-share' || input.kind === 'enter-component' || input.kind === 'seal-component'
                ? input.holders.filter((h) => !h.done).map((h) => ({ person: h.person, name: h.name, role: 'custodian' as Role }))
                : actorsFor(step.actor);
  return {
    run: plan.run,
    type: plan.definition.type,
    title: runTitle(plan.definition, plan.params),
    definition: { id: plan.definition.id, revision: plan.definition.revision, hash: plan.definition.hash },
    practice: plan.practice,
    record: x.record,
    status: interrupted ? 'interrupted' : s.status,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    fingerprint: { hex: plan.fingerprint, groups: fingerprintGroups(plan.fingerprint), words: fingerprintWords(plan.fingerprint), confirmed: s.fingerprintConfirmed },
    params: plan.params,
    participants: plan.participants.map((p) => ({ person: p.person, name: p.name, roles: p.roles, roleTitles: p.roles.map((r) => ROLE_TITLES[r]), credential: p.credential, present: !!s.present[p.person] })),
    steps: s.steps.map((st) => {
      const state = s.step[st.id]!;
      return {
        index: st.index,
        id: st.id,
        kind: st.kind,
        title: st.title,
        actor: st.actor,
        status: state.status,
        quorum: st.quorum ? { ...st.quorum, have: approvalsFor(s, st.id).length } : null,
        witness: st.witness,
        ticked: state.ticked ? nameOf(state.ticked) : null,
        outcome: state.outcome,
        lastError: state.lastError,
      };
    }),
    current:
      step && s.status === 'running'
        ? { index: step.index, id: step.id, kind: step.kind, title: step.title, say: sealedSay(s, step) ?? step.say, actors, needs: prerequisites(s), input }
        : null,
    exceptions: s.exceptions,
    openExceptions: openExceptions(s).length,
    approvals: s.approvals.map((a) => ({ step: a.step, person: a.person, name: nameOf(a.person), at: a.at })),
    interrupted: interrupted ? { step: interrupted.id, title: interrupted.title } : null,
    bundle: s.bundle,
    abortReason: s.abortReason,
  };
}

/** A sealed backup's hand-over and verification round say what happens there (a definition's own words are kept). */
function sealedSay(s: RunState, step: { kind: StepKind; say: string }): string | null {
  if (s.plan.params.scheme !== 'sealed' || step.say !== STEP_KIND_INFO[step.kind]?.say) return null;
  if (step.kind === 'hand-over') return 'One holder at a time: the named holder inserts their own card and types its PIN; their share is sealed to it without being shown, and they save the envelope to their own media.';
  if (step.kind === 'verify-shares') return 'Each holder loads the envelope they saved and opens it in their card: it must open to the share made for them.';
  return null;
}
