import type { FormEvent, Ref } from 'react';
import type { ShareSetView } from '../../../../shared/contract';
import { choose, planProblem, samePos, shareAt, type SharePos } from '../../../../shared/shares/plan';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { StepHeading } from '../../../components/Steps';
import { useAction } from '../../../hooks/useAction';
import { holderName, useShares } from '../../../stores/shares';
import { RecordSummary } from '../RecordPanel';

// The drill's first step once the record is read: who takes part, in which order. The plan must be
// exactly a quorum (shared/shares/plan.ts says why not, in words) before the drill can start.

export function PlanStep({ record, headingRef }: { record: ShareSetView; headingRef: Ref<HTMLHeadingElement> }) {
  const { plan, setPlan, startDrill, forgetRecord, drillEnded } = useShares();
  const { busy, error, run } = useAction();
  const problem = planProblem(record, plan);
  const chosen = (s: SharePos) => plan.some((p) => samePos(p, s));
  const toggle = (s: SharePos, on: boolean) => setPlan(choose(record, plan, s, on));

  const start = async (e: FormEvent) => {
    e.preventDefault();
    if (problem || busy) return;
    await run(startDrill);
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
          {plan.map((p) => holderName(shareAt(record.shares, p)!)).join(', then ')} will enter their shares, one at a time. Each share is checked against the
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
