import type { TokenRef } from '../../../../shared/keys';
import { useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { RunView } from '../../../../shared/ceremony/view';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { useCeremony } from '../../../stores/ceremony';
import { runWords, type Actor, type StepAct } from './act';
import { namesList } from '../words';
import { ProofForm, type ProofInput } from './Proof';

// The input panels of the current step, one per kind of input the engine asks for. Each sends one
// action for the person acting now and shows main's answer; main decides whether it counts.

export interface PanelProps {
  view: RunView;
  actor: Actor | null;
  step: StepAct;
  workstationUri: string | null;
  wsLoggedIn: boolean;
  session?: TokenRef | null;
}

const kindOf = (view: RunView, person: string) => view.participants.find((p) => p.person === person)?.credential?.kind ?? 'card';

export function Failure({ step, title }: { step: StepAct; title: string }) {
  return step.error ? <ErrorNotice error={step.error} title={title} /> : null;
}

/** Roll call: the person proves presence with their card (or passphrase). */
export function PresencePanel({ view, actor, step, workstationUri }: PanelProps) {
  if (!actor) return null;
  const prove = async (proof: ProofInput) => {
    return (await step.act({ kind: 'present', person: actor.person, proof }, actor.person))?.ok === true;
  };
  return (
    <div className="input-panel">
      <ProofForm key={actor.person} person={actor.person} name={actor.name} kind={kindOf(view, actor.person)} workstationUri={workstationUri} submitText={`Prove ${actor.name} is present`} busy={step.busy} onProof={prove} />
      <Failure step={step} title={`${actor.name}’s presence was not recorded`} />
    </div>
  );
}

/** Enrolment: the card makes the person's key pair (or the person chooses a passphrase). */
export function EnrolPanel({ actor, step, workstationUri }: PanelProps) {
  const planned = useCeremony((s) => s.setupCredentials);
  const [choice, setChoice] = useState<Record<string, 'card' | 'passphrase'>>({});
  const ids = useId();
  if (!actor) return null;
  const kind = choice[actor.person] ?? planned[actor.name] ?? 'card';
  const enrol = async (proof: ProofInput) => {
    return (await step.act({ kind: 'enrol', person: actor.person, proof }, actor.person))?.ok === true;
  };
  return (
    <div className="input-panel">
      <fieldset className="roles roles-inline">
        <legend>{actor.name} enrols with</legend>
        <label>
          <input type="radio" name={`${ids}-kind`} checked={kind === 'card'} onChange={() => setChoice({ ...choice, [actor.person]: 'card' })} /> Their own card
        </label>
        <label>
          <input type="radio" name={`${ids}-kind`} checked={kind === 'passphrase'} onChange={() => setChoice({ ...choice, [actor.person]: 'passphrase' })} /> A passphrase
          (weaker: anyone with a copy of the record can try to guess it)
        </label>
      </fieldset>
      <ProofForm key={`${actor.person}:${kind}`} person={actor.person} name={actor.name} kind={kind} enrol workstationUri={workstationUri} submitText={`Enrol ${actor.name}`} busy={step.busy} onProof={enrol} />
      <Failure step={step} title={`${actor.name} was not enrolled`} />
    </div>
  );
}

/** A quorum approval, or the witness's sign-off: the card signs the fingerprint for this step. */
export function ApprovePanel({ view, actor, step, workstationUri }: PanelProps) {
  const cur = view.current!;
  if (!actor) return null;
  const target = cur.input.kind === 'approve' ? cur.input.step : cur.id;
  const title = view.steps.find((s) => s.id === target)?.title ?? target;
  const approved = view.approvals.filter((a) => a.step === target);
  const approve = async (proof: ProofInput) => {
    return (await step.act({ kind: 'approve', step: target, person: actor.person, proof }, actor.person))?.ok === true;
  };
  const signOff = cur.input.kind === 'sign-off';
  return (
    <div className="input-panel">
      {approved.length > 0 ? (
        <p className="approved" data-testid="approved">
          ✓ Approved so far: {approved.map((a) => a.name).join(', ')}
        </p>
      ) : null}
      <ProofForm
        key={actor.person}
        person={actor.person}
        name={actor.name}
        kind={kindOf(view, actor.person)}
        workstationUri={workstationUri}
        submitText={signOff ? `Sign off as ${actor.name}` : `Approve “${title}” as ${actor.name}`}
        busy={step.busy}
        onProof={approve}
      />
      <Failure step={step} title={signOff ? 'The sign-off was not recorded' : 'The approval was not recorded'} />
    </div>
  );
}

/** A plain button for the acting person (the witness's tick, the fingerprint, "do the step now"). */
export function OneButton({ step, text, busyText, failure, onClick, children, testId }: { step: StepAct; text: string; busyText: string; failure: string; onClick(): void; children?: ReactNode; testId?: string }) {
  return (
    <div className="input-panel">
      {children}
      <div className="toolbar">
        <button type="button" className="primary big" onClick={onClick} disabled={step.busy} data-testid={testId}>
          {step.busy ? busyText : text}
        </button>
      </div>
      <Failure step={step} title={failure} />
    </div>
  );
}

export function TickPanel({ view, actor, step }: PanelProps) {
  const cur = view.current!;
  if (!actor || cur.input.kind !== 'tick') return null;
  const target = cur.input.step;
  const done = view.steps.find((s) => s.id === target);
  return (
    <OneButton
      step={step}
      text={`${actor.name}: tick step ${(done?.index ?? 0) + 1} as done as read`}
      busyText="Recording the tick…"
      failure="The tick was not recorded"
      onClick={() => void step.act({ kind: 'tick', step: target }, actor.person)}
    >
      <p>If anything differed from the script, raise an exception below instead of ticking.</p>
    </OneButton>
  );
}

export function ConfirmFingerprintPanel({ view, actor, step }: PanelProps) {
  if (!actor) return null;
  return (
    <OneButton
      step={step}
      text="Everyone has read the words and confirmed them"
      busyText="Recording…"
      failure="The fingerprint was not confirmed"
      onClick={() => void step.act({ kind: 'confirm-fingerprint', fingerprint: view.fingerprint.hex }, actor.person)}
    >
      <p>If any participant’s words differ, do not confirm: stop and raise an exception.</p>
    </OneButton>
  );
}

/** "Do step N now", by the person acting. */
export function RunPanel({ view, actor, step }: PanelProps) {
  const cur = view.current!;
  if (!actor) return null;
  const signOff = cur.kind === 'sign-off';
  return (
    <OneButton
      step={step}
      testId="do-step"
      text={signOff ? 'Finish the ceremony and write the evidence bundle' : runWords(cur.kind, cur.index + 1, view.params.key).button}
      busyText={`Step ${cur.index + 1} is running…`}
      failure={`Step ${cur.index + 1} did not run`}
      onClick={() => void step.act({ kind: 'run' }, actor.person)}
    />
  );
}

/** A PIN typed for one action (the operator's user PIN, the SO PIN): cleared as soon as it is sent. */
export function PinForm({ label, text, busyText, step, onPin, children }: { label: string; text: string; busyText: string; step: StepAct; onPin(pin: string): Promise<void>; children?: ReactNode }) {
  const [pin, setPin] = useState('');
  const ref = useRef<HTMLInputElement>(null);
  const ids = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (step.busy) return;
    const entered = pin;
    setPin('');
    await onPin(entered);
    ref.current?.focus();
  };
  return (
    <form className="proof-form" onSubmit={submit} aria-label={text} autoComplete="off">
      {children}
      <div className="field">
        <label htmlFor={`${ids}-pin`}>{label}</label>
        <input id={`${ids}-pin`} ref={ref} type="password" className="mono" value={pin} onChange={(e) => setPin(e.target.value)} disabled={step.busy} autoComplete="off" spellCheck={false} />
      </div>
      <div className="toolbar">
        <button type="submit" className="primary" disabled={step.busy}>
          {step.busy ? busyText : text}
        </button>
      </div>
    </form>
  );
}

export function LoginPanel({ actor, step, wsLoggedIn }: PanelProps) {
  if (!actor) return null;
  if (wsLoggedIn) {
    return (
      <OneButton step={step} text="The workstation HSM is logged in: continue" busyText="Recording…" failure="The login step was not recorded" onClick={() => void step.act({ kind: 'login', pin: null }, actor.person)}>
        <p className="status-ok">The workstation token is logged in as user in this app.</p>
      </OneButton>
    );
  }
  return (
    <div className="input-panel">
      <PinForm label="Workstation HSM user PIN" text={`Log in as ${actor.name}`} busyText="Logging in…" step={step} onPin={async (pin) => void (await step.act({ kind: 'login', pin }, actor.person))} />
      <Failure step={step} title="The workstation HSM was not logged in" />
    </div>
  );
}

/** The commit: named exactly, then the SO PIN (the SO makes the Backup Key a trusted key). */
export function CommitPanel({ view, actor, step }: PanelProps) {
  if (!actor) return null;
  const check = view.steps.find((s) => s.kind === 'check')?.outcome as { targets?: Array<{ name: string; label: string }>; trustedWrap?: boolean } | null;
  const targets = (check?.targets ?? []).map((t) => (t.name === 'archive-kek' ? 'the Archive KEK' : t.name === 'archive-mac' ? 'the archive MAC key' : `“${t.label}”`));
  return (
    <div className="input-panel">
      <p className="confirm-sentence" data-testid="commit-sentence">
        Import the Backup Key into the HSM as a trusted key, wrap {targets.length ? namesList(targets) : 'the targets'} under it, and destroy it. The wrapped
        copies go into the evidence; the shares handed over are then the only way to restore.
      </p>
      <PinForm label="Workstation HSM SO PIN" text="Commit the backup" busyText="Committing…" step={step} onPin={async (soPin) => void (await step.act({ kind: 'commit', soPin }, actor.person))} />
      {check?.trustedWrap === false ? (
        <button type="button" className="link" onClick={() => void step.act({ kind: 'commit', soPin: null }, actor.person)} disabled={step.busy}>
          This token has no SO: commit without a trusted Backup Key (recorded as an exception)
        </button>
      ) : null}
      <Failure step={step} title="The backup was not committed" />
    </div>
  );
}
