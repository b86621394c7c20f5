import { useEffect, useId, useRef, useState, type RefObject } from 'react';
import type { RunView } from '../../../../shared/ceremony/view';
import type { TokenRef } from '../../../../shared/keys';
import { api, call } from '../../../api';
import { ActorBanner } from '../../../components/ActorBanner';
import { StepHeading } from '../../../components/Steps';
import { useCeremony } from '../../../stores/ceremony';
import { useTokens } from '../../../stores/tokens';
import { outcomeFacts, personWithRole } from '../words';
import { actingWords, candidatesOf, useStepAct } from './act';
import { Fingerprint } from './Fingerprint';
import { HandOverPanel } from './HandOver';
import { SealedHandOverPanel, SealedVerifyPanel } from './SealedHandOver';
import { AttestPanel } from './Attest';
import { AuditSharePanel } from './AuditShare';
import { EnterComponentPanel } from './Components';
import { ComponentSheetPanel, SealComponentPanel } from './ComponentSheets';
import { ApprovePanel, CommitPanel, ConfirmFingerprintPanel, EnrolPanel, LoginPanel, PresencePanel, RunPanel, TickPanel, type PanelProps } from './Panels';
import { destinationNeedsPin } from './params';
import { EnterSharePanel, UnwrapPanel, UnwrapResults } from './Restore';
import { PurposeBox, RetrievePanel, Retrieved } from './Subject';
import { DestroyPanel, Destroyed } from './Destruction';
import { VerifySharePanel } from './VerifyShare';

// The current step, large: its number and title, who acts now (the banner), what is read aloud,
// what the step needs, and the one input the engine asks for next. When the step, the input or the
// people still to act change, the focus moves to the step's heading, so keyboard and screen-reader
// users start there; and the panel below is a new one, so nothing typed for the last input is left.

export function CurrentStep({ view, session, workstationUri, wsLoggedIn, headingRef }: { view: RunView; session: TokenRef | null; workstationUri: string | null; wsLoggedIn: boolean; headingRef: RefObject<HTMLHeadingElement | null> }) {
  const cur = view.current!;
  const progress = useCeremony((s) => s.progress);
  const candidates = candidatesOf(view);
  const turnKey = `${cur.id}:${cur.input.kind}:${candidates.map((c) => c.person).join(',')}`;
  // Someone chosen to act out of turn stays chosen for this step's input only.
  const inputKey = `${cur.id}:${cur.input.kind}`;
  const [chosen, setChosen] = useState<{ input: string; person: string } | null>(null);
  const actor = candidates.find((c) => chosen?.input === inputKey && c.person === chosen.person) ?? candidates[0] ?? null;
  const step = useStepAct(view.run, session);
  const lastTurn = useRef(turnKey);
  const panel = useRef<HTMLElement>(null);
  const ids = useId();

  // A new turn (not every answer from main) brings the step to the top of the window, so the
  // person acting sees the banner and their input without scrolling, and moves the focus there.
  useEffect(() => {
    if (lastTurn.current === turnKey) return;
    lastTurn.current = turnKey;
    step.reset();
    panel.current?.scrollIntoView({ block: 'start' });
    headingRef.current?.focus({ preventScroll: true });
  }, [turnKey]);

  // The enrolment's banner follows the credential planned for the person (the panel can change it).
  const planned = useCeremony((s) => (actor ? s.setupCredentials[actor.name] : undefined));
  const listing = useTokens((s) => s.listing);
  const words = actingWords(view, actor, wsLoggedIn, planned ?? 'card', destinationNeedsPin(cur.input, listing));
  const props: PanelProps = { view, actor, step, workstationUri, wsLoggedIn, session };
  const input = cur.input;
  const facts = relevantFacts(view);

  return (
    <section ref={panel} className="panel current-step" aria-labelledby={`${ids}-h`} data-testid="current-step">
      <StepHeading ref={headingRef}>
        <span id={`${ids}-h`}>
          <span className="step-of">
            Step {cur.index + 1} of {view.steps.length}
            <span className="sr-only">:</span>
          </span>{' '}
          {cur.title}
        </span>
      </StepHeading>
      {words ? <ActorBanner who={words.who} what={words.what} note={words.note} /> : null}
      {candidates.length > 1 && input.kind !== 'hand-over' ? (
        <div className="field who-acts">
          <label htmlFor={`${ids}-who`}>Who acts now</label>
          <select id={`${ids}-who`} value={actor?.person ?? ''} onChange={(e) => setChosen({ input: inputKey, person: e.target.value })} disabled={step.busy}>
            {candidates.map((c) => (
              <option key={c.person} value={c.person}>
                {personWithRole(c)}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <p className="say" data-testid="say">
        <span className="label">Read aloud: </span>
        {cur.say}
      </p>
      {/* A retrieval's purpose is what the custodians approve: in view at every step, not only at the top. */}
      <PurposeBox view={view} compact />
      {cur.kind === 'read-fingerprint' || input.kind === 'approve' || input.kind === 'sign-off' ? (
        <Fingerprint fp={view.fingerprint} large title={input.kind === 'approve' || input.kind === 'sign-off' ? 'The card signs this ceremony fingerprint' : 'Ceremony fingerprint: read these words aloud'} />
      ) : null}
      {facts.length > 0 ? (
        <dl className="props facts" data-testid="step-facts">
          {facts.map((f) => (
            <div key={f.label} className="tech-row">
              <dt>{f.label}</dt>
              <dd className={f.readout ? 'mono readout' : f.block ? 'mono codeblock' : ''}>{f.value}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      {/* The unwrap's and the retrieval's results, for the witness's tick and the sign-off. */}
      <UnwrapResults view={view} />
      <Retrieved view={view} />
      <Destroyed view={view} />
      {progress && progress.step === cur.id ? (
        <div className="progress" role="status">
          <label htmlFor={`${ids}-progress`}>{progress.message}</label>
          <progress id={`${ids}-progress`} value={progress.done} max={Math.max(1, progress.total)} />
          {(cur.kind === 'rotate-kek' || cur.kind === 'rotate-workstation-key') && progress.done < progress.total ? (
            <p>
              <button type="button" className="secondary" onClick={() => void call(api['ceremony.cancel']({ run: view.run }))}>
                Stop after this batch
              </button>{' '}
              <span className="hint">{cur.kind === 'rotate-kek' ? 'Every version stays readable' : 'Every row stays verifiable'}; run the step again to continue where it stopped.</span>
            </p>
          ) : null}
        </div>
      ) : null}
      {view.steps[cur.index]?.lastError ? (
        <p className="notice notice-error" role="status">
          The last attempt at this step failed: {view.steps[cur.index]!.lastError!.message}
        </p>
      ) : null}
      {!session ? <p className="notice notice-warn">The workstation token is not available, so nothing can be done until it is logged in (see above).</p> : null}
      <InputPanel key={turnKey} {...props} />
      {cur.needs.length ? (
        <div className="needs" data-testid="needs">
          <span className="label">Still needed before step {cur.index + 1} can run</span>
          <ul>
            {cur.needs.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}

function InputPanel(props: PanelProps) {
  const cur = props.view.current!;
  switch (cur.input.kind) {
    case 'presence':
      return <PresencePanel {...props} />;
    case 'enrol':
      return <EnrolPanel {...props} />;
    case 'approve':
    case 'sign-off':
      return <ApprovePanel {...props} />;
    case 'tick':
      return <TickPanel {...props} />;
    case 'confirm-fingerprint':
      return <ConfirmFingerprintPanel {...props} />;
    case 'login':
      return <LoginPanel {...props} />;
    case 'hand-over':
      return cur.input.sealed ? <SealedHandOverPanel {...props} /> : <HandOverPanel {...props} />;
    case 'verify-share':
      return cur.input.sealed ? <SealedVerifyPanel {...props} /> : <VerifySharePanel {...props} />;
    case 'run':
      return cur.kind === 'commit-backup' ? <CommitPanel {...props} /> : cur.kind === 'retrieve' ? <RetrievePanel {...props} /> : cur.kind === 'destroy' ? <DestroyPanel {...props} /> : <RunPanel {...props} />;
    case 'enter-share':
      return <EnterSharePanel {...props} />;
    case 'unwrap':
      return <UnwrapPanel {...props} />;
    case 'attest':
      return <AttestPanel {...props} />;
    case 'audit-share':
      return <AuditSharePanel {...props} />;
    case 'enter-component':
      return <EnterComponentPanel {...props} />;
    case 'component-sheet':
      return <ComponentSheetPanel {...props} />;
    case 'seal-component':
      return <SealComponentPanel {...props} />;
    case 'none':
      return <p className="notice notice-warn">This step cannot go on in this window. Look at the ceremony’s status above.</p>;
  }
}

/** What the room must see for this step: the step being ticked, or the value read aloud now. */
function relevantFacts(view: RunView) {
  const cur = view.current!;
  if (cur.input.kind === 'tick') {
    const id = cur.input.step;
    const ticked = view.steps.find((s) => s.id === id);
    // Their own panels show these (UnwrapResults, Retrieved).
    if (ticked?.kind === 'unwrap-targets' || ticked?.kind === 'retrieve' || ticked?.kind === 'destroy' || (view.type === 'destruction' && ticked?.kind === 'check')) return [];
    return outcomeFacts(ticked?.outcome ?? null);
  }
  if (cur.kind === 'show-check-value') return outcomeFacts(view.steps.find((s) => s.kind === 'generate')?.outcome ?? null);
  return [];
}
