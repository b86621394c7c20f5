import { useId, useRef, useState, type FormEvent, type Ref } from 'react';
import type { DrillResult, DrillState } from '../../../../shared/contract';
import { ActorBanner } from '../../../components/ActorBanner';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { StepHeading } from '../../../components/Steps';
import { useAction } from '../../../hooks/useAction';
import { useShares, whoLine } from '../../../stores/shares';
import { EnteredList } from './EnteredList';
import { checkValueText } from '../../../../shared/check-value';

// The drill's end: the passphrase, the recombination in main, and the one thing it answers with,
// the recovered secret's check value beside the recorded one. Never the secret itself.

const PASSPHRASE_WORDS =
  'SLIP-39 cannot detect a wrong passphrase: a wrong one silently recovers a different secret, without any error. ' +
  'Only the check value comparison tells them apart.';

function CheckValues({ result }: { result: DrillResult }) {
  return (
    <dl className="checkvalues">
      <div className="identity-row">
        <dt className="label">Recovered secret’s check value ({result.checkValue.method})</dt>
        <dd className="mono readout" data-testid="recovered-check">
          {checkValueText(result.checkValue.value)}
        </dd>
      </div>
      <div className="identity-row">
        <dt className="label">Check value in the record</dt>
        <dd className="mono readout">{result.recorded ? checkValueText(result.recorded.value) : 'none recorded'}</dd>
      </div>
    </dl>
  );
}

export function FinishStep({ drill, headingRef }: { drill: DrillState; headingRef: Ref<HTMLHeadingElement> }) {
  const { drillResult, finishDrill, cancelDrill } = useShares();
  const [passphrase, setPassphrase] = useState('');
  const { busy, error, run } = useAction();
  const id = useId();
  const pass = useRef<HTMLInputElement>(null);
  const mismatch = drillResult && drillResult.matches === false ? drillResult : null;

  const finish = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    const given = passphrase;
    setPassphrase(''); // the passphrase leaves the page with this request
    const r = await run(() => finishDrill(given));
    if (r?.ok && r.value.matches === false) pass.current?.focus();
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

export function DoneStep({ result, headingRef }: { result: DrillResult; headingRef: Ref<HTMLHeadingElement> }) {
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
