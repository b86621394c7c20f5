import { useEffect, useId, useRef, useState, type FormEvent, type Ref } from 'react';
import type { DrillResult, DrillState, ShareSetView, ShareView } from '../../../shared/contract';
import type { AppError } from '../../../shared/result';
import { ErrorNotice } from '../../components/ErrorNotice';
import { groupHex } from '../../keyWords';
import { choose, planProblem, samePos, standIns, takeTurn, type SharePos } from '../../../shared/shares/plan';
import { holderName, useShares, whoLine } from '../../stores/shares';
import { ActorBanner } from '../../components/ActorBanner';
import { StepHeading, StepList, type Step } from '../../components/Steps';
import { RecordLoader, RecordSummary } from './RecordPanel';
import { WordGrid } from './WordGrid';

// "Restore drill": a quorum proves that the shares still recover the secret, importing nothing.
// Main holds the drill: each custodian in turn types their share, which crosses to main once and
// is wiped from the page at once; main checks it against the record and says what is still
// missing. When enough are in, main recombines (with the passphrase, if any) and answers with the
// secret's check value only, compared with the one in the record.

type Stage = 'record' | 'share' | 'finish' | 'done';

const PASSPHRASE_WORDS =
  'SLIP-39 cannot detect a wrong passphrase: a wrong one silently recovers a different secret, without any error. ' +
  'Only the check value comparison tells them apart.';

const byPos = (r: ShareSetView, p: SharePos): ShareView => r.shares.find((s) => samePos(s, p))!;
const stepName = (s: ShareView) => s.holder ?? s.position;

export function RestoreDrill() {
  const { record, plan, drill, drillResult } = useShares();
  const heading = useRef<HTMLHeadingElement>(null);

  const stage: Stage = drill ? (drill.ready ? 'finish' : 'share') : drillResult && record ? 'done' : 'record';
  const entered = drill?.entered.length ?? 0;
  useEffect(() => {
    if (stage !== 'share') heading.current?.focus();
  }, [stage]);

  const steps: Step[] = [
    { id: 'record', title: 'Load record' },
    ...(record && plan.length > 0
      ? plan.map((p, i) => ({ id: `share-${i}`, title: `Share ${i + 1}: ${stepName(byPos(record, p))}` }))
      : [{ id: 'shares', title: 'Shares' }]),
    { id: 'result', title: 'Result' },
  ];
  const current = stage === 'record' ? 0 : stage === 'share' ? 1 + entered : stage === 'done' && drillResult?.matches !== false ? steps.length : steps.length - 1;

  return (
    <section className="panel wizard" aria-labelledby="drill-h">
      <h2 id="drill-h">Restore drill</h2>
      <p className="hint panel-intro">
        A quorum of custodians proves that their shares still recover the secret. Nothing is imported anywhere: the result is only the
        secret’s check value, compared with the one recorded at the ceremony.
      </p>
      <StepList steps={steps} current={current} label="Steps of the drill" />

      {stage === 'record' && !record ? <RecordLoader heading={<StepHeading ref={heading}>Load the share-set record</StepHeading>} /> : null}
      {stage === 'record' && record ? <PlanStep record={record} headingRef={heading} /> : null}
      {stage === 'share' && record && drill ? <ShareStep record={record} drill={drill} /> : null}
      {stage === 'finish' && drill ? <FinishStep drill={drill} headingRef={heading} /> : null}
      {stage === 'done' && drillResult ? <DoneStep result={drillResult} headingRef={heading} /> : null}
    </section>
  );
}

function PlanStep({ record, headingRef }: { record: ShareSetView; headingRef: Ref<HTMLHeadingElement> }) {
  const { plan, setPlan, startDrill, forgetRecord, drillEnded } = useShares();
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);
  const problem = planProblem(record, plan);
  const chosen = (s: SharePos) => plan.some((p) => samePos(p, s));
  const toggle = (s: SharePos, on: boolean) => setPlan(choose(record, plan, s, on));

  const start = async (e: FormEvent) => {
    e.preventDefault();
    if (problem || busy) return;
    setBusy(true);
    setError(null);
    const r = await startDrill();
    setBusy(false);
    if (!r.ok) setError(r.error);
  };

  return (
    <form className="wizard-step" onSubmit={start} aria-label="Who takes part">
      <StepHeading ref={headingRef}>Who takes part?</StepHeading>
      {drillEnded ? <ErrorNotice error={drillEnded} title="The drill has ended" /> : null}
      <RecordSummary record={record} onChange={() => void forgetRecord()} />
      <fieldset className="choices">
        <legend>Custodians entering their shares, in this order</legend>
        {record.shares.map((s) => (
          <label key={`${s.groupIndex}/${s.memberIndex}`} className={`choice ${chosen(s) ? 'choice-on' : ''}`}>
            <input type="checkbox" checked={chosen(s)} onChange={(e) => toggle(s, e.target.checked)} />
            <span>
              <span className="choice-title">{holderName(s)}</span>
              <span className="choice-note">
                {s.position} · fingerprint <span className="mono">{s.fingerprint}</span>
              </span>
            </span>
          </label>
        ))}
      </fieldset>
      {problem ? (
        <p className="field-error" role="alert">
          {problem}
        </p>
      ) : (
        <p className="plan-sentence" data-testid="drill-plan">
          {plan.map((p) => holderName(byPos(record, p))).join(', then ')} will enter their shares, one at a time. Each share is checked against the
          record as it is entered and held only in this computer’s memory; all of them are wiped when the drill ends.
        </p>
      )}
      {error ? <ErrorNotice error={error} title="The drill could not start" /> : null}
      <div className="toolbar">
        <button type="submit" className="primary" disabled={busy || problem !== null}>
          {busy ? 'Starting…' : 'Start the drill'}
        </button>
      </div>
    </form>
  );
}

function EnteredList({ drill }: { drill: DrillState }) {
  if (drill.entered.length === 0) return null;
  return (
    <ul className="entered plain" aria-label="Shares entered">
      {drill.entered.map((s, i) => (
        <li key={`${s.groupIndex}/${s.memberIndex}`}>
          <span className="status-ok" aria-hidden="true">
            ✓
          </span>{' '}
          Share {i + 1}: {whoLine(s)} — accepted <span className="muted">(fingerprint <span className="mono">{s.fingerprint}</span>)</span>
        </li>
      ))}
    </ul>
  );
}

function ShareStep({ record, drill }: { record: ShareSetView; drill: DrillState }) {
  const { plan, setPlan, addShare } = useShares();
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);
  const [gridKey, setGridKey] = useState(0);
  const [swapping, setSwapping] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const n = drill.entered.length;
  const expected = plan[n] ? byPos(record, plan[n]) : null;

  const add = async (mnemonic: string) => {
    // The words leave the page now: the grid is remounted empty before main even answers.
    setGridKey((k) => k + 1);
    setBusy(true);
    setError(null);
    const r = await addShare(mnemonic);
    setBusy(false);
    if (!r.ok) setError(r.error);
  };

  return (
    <div className="wizard-step">
      <StepHeading>
        Share {n + 1} of {plan.length}
        {expected ? `: ${holderName(expected)}` : ''}
      </StepHeading>
      {expected ? (
        <ActorBanner
          who={holderName(expected)}
          what={`${expected.position} — enter your share now`}
          note="Everyone else: please look away from the screen while the share is typed."
        />
      ) : null}
      <p className="drill-summary" role="status" data-testid="drill-summary">
        {drill.summary}
      </p>
      <EnteredList drill={drill} />
      {error ? <ErrorNotice error={error} title="The share was not added" /> : null}
      <WordGrid
        key={gridKey}
        count={record.words}
        label={expected ? `Share of ${holderName(expected)}` : 'The share'}
        submitText="Add this share to the drill"
        busyText="Checking the share…"
        busy={busy}
        autoFocus
        onSubmit={(m) => void add(m)}
        extra={
          <>
            <button type="button" aria-expanded={swapping} onClick={() => setSwapping(!swapping)} disabled={busy}>
              Someone else takes this turn…
            </button>
            <button type="button" className="danger-outline" aria-expanded={cancelling} onClick={() => setCancelling(!cancelling)} disabled={busy}>
              Cancel the drill…
            </button>
          </>
        }
      />
      {swapping && expected ? (
        <SwapTurn
          record={record}
          drill={drill}
          plan={plan}
          expected={expected}
          onSwap={(p) => {
            setPlan(p);
            setSwapping(false);
            setError(null);
          }}
        />
      ) : null}
      {cancelling ? <CancelDrill entered={n} onKeep={() => setCancelling(false)} /> : null}
    </div>
  );
}

/** Another custodian of the same group takes the current turn (the quorum stays a quorum). */
function SwapTurn({ record, drill, plan, expected, onSwap }: { record: ShareSetView; drill: DrillState; plan: SharePos[]; expected: ShareView; onSwap(plan: SharePos[]): void }) {
  const id = useId();
  const n = drill.entered.length;
  const options = standIns(record.shares, drill.entered, expected);
  const [pick, setPick] = useState(options[0] ? `${options[0].groupIndex}/${options[0].memberIndex}` : '');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const s = options.find((o) => `${o.groupIndex}/${o.memberIndex}` === pick);
    if (!s) return;
    onSwap(takeTurn(plan, n, s));
  };

  if (options.length === 0) {
    return (
      <p className="subpanel hint" role="status">
        No one else {record.groupCount > 1 ? `of group ${expected.groupIndex + 1} ` : ''}can take this turn. Cancel the drill and start it again
        with the custodians who are present.
      </p>
    );
  }
  return (
    <form className="subpanel" onSubmit={submit} aria-label="Someone else takes this turn">
      <div className="field">
        <label htmlFor={`${id}-who`}>Who enters their share instead of {holderName(expected)}?</label>
        <select id={`${id}-who`} value={pick} onChange={(e) => setPick(e.target.value)}>
          {options.map((o) => (
            <option key={`${o.groupIndex}/${o.memberIndex}`} value={`${o.groupIndex}/${o.memberIndex}`}>
              {whoLine(o)}
            </option>
          ))}
        </select>
      </div>
      <div>
        <button type="submit">Change the turn</button>
      </div>
    </form>
  );
}

function CancelDrill({ entered, onKeep }: { entered: number; onKeep(): void }) {
  const cancelDrill = useShares((s) => s.cancelDrill);
  return (
    <div className="subpanel subpanel-danger" role="group" aria-label="Cancel the drill">
      <p>
        {entered === 0
          ? 'End the drill now? Nothing has been entered yet.'
          : `End the drill now? The ${entered === 1 ? 'share' : `${entered} shares`} entered so far ${entered === 1 ? 'is' : 'are'} wiped from memory; a new drill needs every share entered again.`}
      </p>
      <div className="toolbar">
        <button type="button" className="danger" onClick={() => void cancelDrill()}>
          End the drill and wipe the shares
        </button>
        <button type="button" onClick={onKeep}>
          Keep going
        </button>
      </div>
    </div>
  );
}

function CheckValues({ result }: { result: DrillResult }) {
  return (
    <dl className="checkvalues">
      <div className="identity-row">
        <dt className="label">Recovered secret’s check value ({result.checkValue.method})</dt>
        <dd className="mono readout" data-testid="recovered-check">
          {groupHex(result.checkValue.value, 5)}
        </dd>
      </div>
      <div className="identity-row">
        <dt className="label">Check value in the record</dt>
        <dd className="mono readout">{result.recorded ? groupHex(result.recorded.value, 5) : 'none recorded'}</dd>
      </div>
    </dl>
  );
}

function FinishStep({ drill, headingRef }: { drill: DrillState; headingRef: Ref<HTMLHeadingElement> }) {
  const { drillResult, finishDrill, cancelDrill } = useShares();
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const pass = useRef<HTMLInputElement>(null);
  const mismatch = drillResult && drillResult.matches === false ? drillResult : null;

  const finish = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    const given = passphrase;
    setPassphrase(''); // the passphrase leaves the page with this request
    const r = await finishDrill(given);
    setBusy(false);
    if (!r.ok) return setError(r.error);
    if (r.value.matches === false) pass.current?.focus();
  };

  return (
    <div className="wizard-step">
      <StepHeading ref={headingRef}>Recombine and compare the check value</StepHeading>
      <ActorBanner
        who="Whoever knows the passphrase"
        what="type it now (or leave it empty)"
        note="Then the shares are recombined in this computer’s memory. The secret is never shown: only its check value, to read aloud."
      />
      <p className="drill-summary" role="status">
        {drill.summary}
      </p>
      <EnteredList drill={drill} />
      {mismatch ? (
        <div className="verdict verdict-bad" data-testid="drill-verdict" role="alert">
          <p className="verdict-head">✗ The check value does not match the record</p>
          <CheckValues result={mismatch} />
          <p>
            Every share matched the record, so the shares agree with each other. The passphrase is most likely wrong
            {mismatch.passphraseGiven ? '' : ' (none was given)'}: {PASSPHRASE_WORDS} Less likely, the shares come from another set than the
            one whose check value was recorded.
          </p>
          <p>
            <span className="label">What to do:</span> type the passphrase again (check capitals, spaces and the keyboard layout) and recombine; or
            end the drill. The shares stay in memory until then, for at most 30 minutes.
          </p>
        </div>
      ) : null}
      <form className="finish-form" onSubmit={finish} aria-label="Recombine">
        <div className="field">
          <label htmlFor={`${id}-pass`}>Passphrase (leave empty if none was set)</label>
          <input
            ref={pass}
            id={`${id}-pass`}
            type="password"
            value={passphrase}
            onChange={(e) => setPassphrase(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            maxLength={1024}
            aria-describedby={mismatch ? undefined : `${id}-pass-hint`}
          />
          {mismatch ? null : (
            <p id={`${id}-pass-hint`} className="hint">
              {PASSPHRASE_WORDS}
            </p>
          )}
        </div>
        {error ? <ErrorNotice error={error} title="The shares could not be recombined" /> : null}
        <div className="toolbar">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Recombining…' : mismatch ? 'Recombine again' : 'Recombine and compare'}
          </button>
          <button type="button" className="danger-outline" disabled={busy} onClick={() => void cancelDrill()}>
            End the drill and wipe the shares
          </button>
        </div>
      </form>
    </div>
  );
}

function DoneStep({ result, headingRef }: { result: DrillResult; headingRef: Ref<HTMLHeadingElement> }) {
  const resetDrill = useShares((s) => s.resetDrill);
  const ok = result.matches === true;
  return (
    <div className="wizard-step">
      <StepHeading ref={headingRef}>{ok ? 'The shares work' : 'The shares recombine; nothing to compare with'}</StepHeading>
      <div className={`verdict ${ok ? 'verdict-ok' : 'verdict-neutral'}`} data-testid="drill-verdict">
        <p className="verdict-head">
          {ok
            ? `✓ The recovered secret’s check value matches the record (set ${result.set}).`
            : `The record of set ${result.set} has no secret check value, so this drill cannot tell a right secret from a wrong one.`}
        </p>
        <CheckValues result={result} />
        {ok ? null : <p>Compare the check value above with one written down elsewhere (the ceremony minutes). {PASSPHRASE_WORDS}</p>}
      </div>
      <p>Recombined from {result.used.map((u) => whoLine(u)).join('; ')}.</p>
      <p className="hint">
        The secret was never shown and was wiped from memory at once. The drill has ended and every share entered was wiped. Nothing was imported.
      </p>
      <div className="toolbar">
        <button type="button" className="primary" onClick={resetDrill}>
          Run another drill
        </button>
      </div>
    </div>
  );
}
