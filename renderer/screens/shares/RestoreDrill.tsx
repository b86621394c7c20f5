import { useEffect, useRef } from 'react';
import { drillProgress, drillStep } from '../../../shared/shares/steps';
import { StepHeading, StepList } from '../../components/Steps';
import { useShares } from '../../stores/shares';
import { PlanStep } from './drill/PlanStep';
import { DoneStep, FinishStep } from './drill/ResultSteps';
import { ShareStep } from './drill/ShareStep';
import { RecordLoader } from './RecordPanel';

// "Restore drill": a quorum proves that the shares still recover the secret, importing nothing.
// Main holds the drill: each custodian in turn types their share, which crosses to main once and
// is wiped from the page at once; main checks it against the record and says what is still
// missing. When enough are in, main recombines (with the passphrase, if any) and answers with the
// secret's check value only, compared with the one in the record. Which step shows is decided by
// the drill's step table (shared/shares/drill-steps.ts) from main's answers, not kept here.

export function RestoreDrill() {
  const { record, plan, drill, drillResult } = useShares();
  const heading = useRef<HTMLHeadingElement>(null);
  const view = { record, plan, drill, result: drillResult };
  const stage = drillStep(view);
  const { steps, current } = drillProgress(view);

  // Each step announces itself by taking the focus on its heading (the word grid takes it itself).
  useEffect(() => {
    if (stage !== 'share') heading.current?.focus();
  }, [stage]);

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
