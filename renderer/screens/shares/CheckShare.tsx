import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ShareVerdict } from '../../../shared/contract';
import { samePos } from '../../../shared/shares/plan';
import { CHECK_STEPS, checkStep } from '../../../shared/shares/steps';
import { nextStep, previousStep, stepIndex } from '../../../shared/steps';
import { ActorBanner } from '../../components/ActorBanner';
import { ErrorNotice } from '../../components/ErrorNotice';
import { StepHeading, StepList } from '../../components/Steps';
import { useAction } from '../../hooks/useAction';
import { holderName, useShares, whoLine } from '../../stores/shares';
import { RecordLoader, RecordSummary } from './RecordPanel';
import { WordGrid } from './WordGrid';

// "Check my share": one custodian, alone, with the record. The share is typed word by word, checked
// word by word in the page, and sent to main once, complete; main says which share it is and who
// holds it, or exactly why not. The words are gone as soon as this step is left.

type Failure = Extract<ShareVerdict, { ok: false }>;

export function CheckShare() {
  const { record, checkStage, checkFor, checkVerdict, setCheckFor, setCheckStage, verifyShare, forgetRecord } = useShares();
  const [failure, setFailure] = useState<Failure | null>(null);
  const { busy, error, run, reset } = useAction();
  const [gridKey, setGridKey] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  const failureRef = useRef<HTMLDivElement>(null);
  const stage = checkStep(checkStage, { record, verdict: checkVerdict });
  const current = stepIndex(CHECK_STEPS, stage);

  // Each step announces itself by taking the focus on its heading (the word grid takes it itself).
  useEffect(() => {
    setFailure(null);
    reset();
    if (stage !== 'share') heading.current?.focus();
  }, [stage, reset]);

  // The verdict appears under the words: bring it into view (it is also announced, as an alert).
  useEffect(() => {
    if (failure || error) failureRef.current?.scrollIntoView({ block: 'nearest' });
  }, [failure, error]);

  const chosen = record && checkFor ? (record.shares.find((s) => samePos(s, checkFor)) ?? null) : null;

  const submitShare = async (mnemonic: string) => {
    if (busy) return;
    setFailure(null);
    const r = await run(() => verifyShare(mnemonic));
    if (!r?.ok) return;
    // A share that does not match keeps its words on screen, to be compared with the paper.
    if (!r.value.ok) setFailure(r.value);
  };

  const view = { record, verdict: checkVerdict };
  const next = (e: FormEvent) => {
    e.preventDefault();
    const to = nextStep(CHECK_STEPS, stage, view);
    if (to.ok && to.step) setCheckStage(to.step);
  };

  return (
    <section className="panel wizard" aria-labelledby="check-h">
      <h2 id="check-h">Check my share</h2>
      <p className="hint panel-intro">
        A custodian checks their own share against the record of the ceremony, without anyone else’s share and without recovering anything.
      </p>
      <StepList steps={CHECK_STEPS} current={current} label="Steps" />

      {stage === 'record' && !record ? <RecordLoader heading={<StepHeading ref={heading}>Load the share-set record</StepHeading>} /> : null}

      {stage === 'record' && record ? (
        <form className="wizard-step" onSubmit={next} aria-label="Whose share is checked">
          <StepHeading ref={heading}>Whose share is being checked?</StepHeading>
          <RecordSummary record={record} onChange={() => void forgetRecord()} />
          <fieldset className="choices">
            <legend>Holder</legend>
            {record.shares.map((s) => {
              const on = checkFor !== null && samePos(s, checkFor);
              return (
                <label key={`${s.groupIndex}/${s.memberIndex}`} className={`choice ${on ? 'choice-on' : ''}`}>
                  <input type="radio" name="checkfor" checked={on} onChange={() => setCheckFor({ groupIndex: s.groupIndex, memberIndex: s.memberIndex })} />
                  <span>
                    <span className="choice-title">{holderName(s)}</span>
                    <span className="choice-note">
                      {s.position} · fingerprint <span className="mono">{s.fingerprint}</span>
                    </span>
                  </span>
                </label>
              );
            })}
            <label className={`choice ${checkFor === null ? 'choice-on' : ''}`}>
              <input type="radio" name="checkfor" checked={checkFor === null} onChange={() => setCheckFor(null)} />
              <span>
                <span className="choice-title">Not sure — tell me whose share it is</span>
                <span className="choice-note">The check then says which share it is, and who holds it according to the record.</span>
              </span>
            </label>
          </fieldset>
          <div className="toolbar">
            <button type="submit" className="primary">
              Next: enter the share
            </button>
          </div>
        </form>
      ) : null}

      {stage === 'share' && record ? (
        <div className="wizard-step">
          <StepHeading ref={heading}>Enter the share, word by word</StepHeading>
          <ActorBanner
            who={chosen ? holderName(chosen) : 'The custodian'}
            what={chosen ? `${chosen.position} — type your share now` : 'type your share now'}
            note="Everyone else: please look away from the screen while the share is typed. It is checked here and then wiped; it is not stored."
          />
          <WordGrid
            key={gridKey}
            count={record.words}
            label={chosen ? `Share of ${holderName(chosen)}` : 'The share'}
            submitText="Check this share"
            busyText="Checking…"
            busy={busy}
            autoFocus
            onSubmit={(m) => void submitShare(m)}
            extra={
              <>
                <button type="button" onClick={() => setCheckStage(previousStep(CHECK_STEPS, stage, view) ?? 'record')} disabled={busy}>
                  Back
                </button>
                <button
                  type="button"
                  onClick={() => {
                    setGridKey((k) => k + 1);
                    setFailure(null);
                  }}
                  disabled={busy}
                >
                  Clear all words
                </button>
              </>
            }
          />
          <div ref={failureRef}>
            {failure ? (
              <div data-testid="share-failure">
                <ErrorNotice error={failure.error} title="This share does not match the record" />
              </div>
            ) : null}
            {error ? <ErrorNotice error={error} title="The share could not be checked" /> : null}
          </div>
        </div>
      ) : null}

      {stage === 'result' && record && checkVerdict ? (
        <div className="wizard-step">
          <StepHeading ref={heading}>The share matches the record</StepHeading>
          <div className="verdict verdict-ok" data-testid="share-verdict">
            <p className="verdict-head">✓ {whoLine(checkVerdict.share)}</p>
            <p>{checkVerdict.message}</p>
            <div className="identity-row">
              <span className="label">Share fingerprint (compare it with the record)</span>
              <span className="mono readout">{checkVerdict.share.fingerprint}</span>
            </div>
          </div>
          <p className="hint">The words that were typed have been cleared from the screen. Put the written share away.</p>
          <div className="toolbar">
            <button
              type="button"
              className="primary"
              onClick={() => {
                setCheckFor(null);
                setCheckStage('record');
              }}
            >
              Check another share
            </button>
          </div>
        </div>
      ) : null}
    </section>
  );
}
