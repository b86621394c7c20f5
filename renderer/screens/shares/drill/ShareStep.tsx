import { useId, useState, type FormEvent } from 'react';
import type { DrillState, ShareSetView, ShareView } from '../../../../shared/contract';
import { shareAt, standIns, takeTurn, type SharePos } from '../../../../shared/shares/plan';
import { ActorBanner } from '../../../components/ActorBanner';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { StepHeading } from '../../../components/Steps';
import { useAction } from '../../../hooks/useAction';
import { holderName, useShares, whoLine } from '../../../stores/shares';
import { WordGrid } from '../WordGrid';
import { EnteredList } from './EnteredList';

// One custodian's turn: the others look away, the share is typed, and it leaves the page for main
// at once. Someone else of the same group may take the turn; the drill can be ended at any time.

export function ShareStep({ record, drill }: { record: ShareSetView; drill: DrillState }) {
  const { plan, setPlan, addShare } = useShares();
  const { busy, error, run, reset } = useAction();
  const [gridKey, setGridKey] = useState(0);
  const [swapping, setSwapping] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const n = drill.entered.length;
  const expected = plan[n] ? (shareAt(record.shares, plan[n]) ?? null) : null;

  const add = async (mnemonic: string) => {
    // The words leave the page now: the grid is remounted empty before main even answers.
    setGridKey((k) => k + 1);
    await run(() => addShare(mnemonic));
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
            reset();
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
