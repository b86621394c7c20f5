import { useState } from 'react';
import type { RunView } from '../../../../shared/ceremony/view';
import { presentSlots, useTokens } from '../../../stores/tokens';
import { hexGroups, namesList, targetInSentence, targetTitle } from '../words';
import { Failure, OneButton, PinForm, type PanelProps } from './Panels';
import { SealedShareInput, ShareWay } from './SealedShareInput';
import { ShareInput } from './ShareInput';
import { destinationNeedsPin, outcomeOf, restoreView } from './params';

// A restore's and a drill's secret part, in the window: each holder in turn types their share (the
// word grid of the verification round), main checks it at once against the backup's record and
// names a wrong one; then the operator unwraps the keys and the room sees each check value compared.
// Share words live only in the word grid's state: it is remounted (cleared) whenever main answers,
// and goes with this panel when the turn changes. Nothing typed here reaches a store.

/** The Backup Key is 256 bits, so each of its SLIP-39 shares is 33 words (SLIP-39 §"Format of the share mnemonic"). */
const BACKUP_KEY_SHARE_WORDS = 33;

export function EnterSharePanel({ view, actor, step, workstationUri }: PanelProps) {
  const input = view.current!.input;
  const r = restoreView(view);
  const [round, setRound] = useState(0);
  const [ways, setWays] = useState<Record<string, 'typed' | 'sealed'>>({});
  if (input.kind !== 'enter-share' || !actor || !r) return <Failure step={step} title="The shares could not be entered" />;
  const entered = input.holders.filter((h) => h.done);
  const indexOf = (person: string) => r.holders.find((h) => h.person === person)?.index;

  const send = async (share: string) => {
    if (step.busy) return;
    await step.act({ kind: 'enter-share', holder: actor.person, share }, actor.person);
    // Whatever main answered, the words typed are gone from the page.
    setRound((n) => n + 1);
  };
  const way = ways[actor.person] ?? 'typed';
  const sendSealed = async (envelope: string, card: { module: string; token: string; pin: string }) => {
    if (step.busy) return false;
    const res = await step.act({ kind: 'unseal-share', holder: actor.person, envelope, card }, actor.person);
    return !!res?.ok;
  };

  return (
    <div className="input-panel">
      <p className="share-count" data-testid="share-count">
        <strong>
          {entered.length} of {input.needed} shares entered
        </strong>
        {entered.length ? ` (${namesList(entered.map((h) => h.name))})` : ''}; {input.needed - entered.length} more needed to rebuild the Backup Key.
      </p>
      <ol className="holder-turns" aria-label="Holders">
        {input.holders.map((h) => (
          <li key={h.person} className={h.done ? 'turn-done' : h.person === actor.person ? 'turn-now' : ''}>
            {h.name} (share {indexOf(h.person) ?? '?'}) — {h.done ? '✓ entered and checked' : h.person === actor.person ? 'typing now' : 'waiting'}
          </li>
        ))}
      </ol>
      {/* Above the words, so that it is in view when the words have been cleared for typing again. */}
      {way === 'typed' ? <Failure step={step} title={`${actor.name}’s share was not accepted: nothing was counted`} /> : null}
      {r.scheme !== 'xor' ? <ShareWay way={way} onWay={(w) => setWays({ ...ways, [actor.person]: w })} name={actor.name} /> : null}
      {way === 'sealed' ? (
        <SealedShareInput
          key={`${actor.person}:${round}`}
          holder={actor}
          workstationUri={workstationUri}
          busy={step.busy}
          verb="Enter"
          failure={<Failure step={step} title={`${actor.name}’s share was not accepted: nothing was counted`} />}
          onSend={sendSealed}
        />
      ) : (
        <ShareInput holder={actor} scheme={r.scheme} words={BACKUP_KEY_SHARE_WORDS} verb="Enter" busyText="Checking the share against the backup’s record…" busy={step.busy} round={round} onSend={send} />
      )}
      <p className="hint">
        Each share is checked on its own as soon as it is entered: it must be of this backup, be {actor.name}’s own, and not have been entered already. The shares stay in
        this computer’s memory only, until the Backup Key is rebuilt.
      </p>
    </div>
  );
}

/** The keys to unwrap, named exactly, then the button (and the destination's PIN when it is another token, not logged in). */
export function UnwrapPanel({ view, actor, step, workstationUri }: PanelProps) {
  const input = view.current!.input;
  const listing = useTokens((s) => s.listing);
  const r = restoreView(view);
  if (input.kind !== 'unwrap' || !actor || !r) return <Failure step={step} title="The keys were not unwrapped" />;
  const rebuilt = outcomeOf(view, 'rebuild-backup-key');
  const keys = namesList(r.keys.map((k) => targetInSentence(k.target)));
  const approved = view.approvals.filter((a) => a.step === view.current!.id);
  const wsLabel = presentSlots(listing).find((s) => s.token?.uri === workstationUri)?.token?.label ?? 'the workstation token';
  const dest = input.destination;
  const needPin = destinationNeedsPin(input, listing);
  const into = dest ?? wsLabel;
  const sentence = r.drill
    ? `Put the rebuilt Backup Key into a session of “${into}” for a moment, unwrap ${keys} into that session only, compare each check value with the one recorded at the backup, then destroy them all. Nothing is kept.`
    : `Put the rebuilt Backup Key into “${into}” for a moment, unwrap ${keys} into it as lasting keys, compare each check value with the one recorded at the backup, then destroy the Backup Key. The keys stay on “${into}”.`;
  const unwrap = (destPin: string | null) => step.act({ kind: 'unwrap', destPin }, actor.person);
  return (
    <div className="input-panel">
      {rebuilt && typeof rebuilt.checkValue === 'string' ? (
        <p className="status-ok" data-testid="rebuilt">
          ✓ The Backup Key was rebuilt from the shares: its check value {hexGroups(rebuilt.checkValue, 5)} is the one recorded at the backup.
        </p>
      ) : null}
      {approved.length ? (
        <p className="approved" data-testid="approved">
          ✓ Approved by {namesList(approved.map((a) => a.name))}
        </p>
      ) : null}
      <ExpectedKeys view={view} />
      <p className="confirm-sentence" data-testid="unwrap-sentence">
        {sentence}
      </p>
      {needPin ? (
        <>
          <PinForm label={`User PIN of “${dest}”`} text={`Restore the keys into “${dest}”`} busyText="Unwrapping and comparing…" step={step} onPin={async (pin) => void (await unwrap(pin))} />
          <Failure step={step} title="The keys were not unwrapped" />
        </>
      ) : (
        <OneButton
          step={step}
          testId="do-step"
          text={r.drill ? 'Unwrap into a session and compare the check values' : `Restore the keys into “${into}”`}
          busyText="Unwrapping and comparing…"
          failure="The keys were not unwrapped"
          onClick={() => void unwrap(null)}
        />
      )}
    </div>
  );
}

/** What the unwrap will be measured against: each key's check value recorded at the backup. */
function ExpectedKeys({ view }: { view: RunView }) {
  const r = restoreView(view);
  if (!r) return null;
  return (
    <table className="table results-table" data-testid="expected-keys">
      <caption>Check values recorded at the backup, to compare</caption>
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">Check value recorded at the backup</th>
        </tr>
      </thead>
      <tbody>
        {r.keys.map((k) => (
          <tr key={k.target}>
            <th scope="row">{targetTitle(k.target)}</th>
            <td className="mono">{k.checkValue ? hexGroups(k.checkValue, 5) : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface UnwrapResult {
  target: string;
  label: string;
  expected: string | null;
  got: string | null;
  matches: boolean;
}

/** After the unwrap: each key's expected and actual check value, matched or not, and what was kept. */
export function UnwrapResults({ view }: { view: RunView }) {
  const out = outcomeOf(view, 'unwrap-targets');
  if (!out || !Array.isArray(out.results)) return null;
  const results = out.results as UnwrapResult[];
  const all = results.length > 0 && results.every((x) => x.matches);
  const into = typeof out.into === 'string' ? out.into : 'the token';
  return (
    <div className={`verdict ${all ? 'verdict-ok' : 'verdict-bad'}`} data-testid="unwrap-results">
      <p className="verdict-head">{all ? `✓ Every key matched (${results.length} of ${results.length})` : '✗ Not every key matched'}</p>
      <table className="table results-table">
        <caption className="sr-only">Each key’s check value, recorded at the backup and after the unwrap</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Recorded at the backup</th>
            <th scope="col">After the unwrap</th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {results.map((x) => (
            <tr key={x.target}>
              <th scope="row">{targetTitle(x.target)}</th>
              <td className="mono">{x.expected ? hexGroups(x.expected, 5) : '—'}</td>
              <td className="mono">{x.got ? hexGroups(x.got, 5) : '—'}</td>
              <td className={x.matches ? 'status-ok' : 'field-error'}>{x.matches ? '✓ matches' : '✗ differs'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {out.drill === true ? (
        <p className="kept" data-testid="nothing-kept">
          <strong>Nothing was kept.</strong> This was a drill: each key was unwrapped into a session of “{into}” only and destroyed at once, and so was the Backup Key. The token
          holds nothing new, and the shares are proved to work.
        </p>
      ) : (
        <p className="kept" data-testid="kept">
          <strong>The keys are now on “{into}”</strong>, as lasting keys. The Backup Key was destroyed; the shares stay valid.
        </p>
      )}
    </div>
  );
}
