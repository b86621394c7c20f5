import { useId, useState, type FormEvent } from 'react';
import { WordGrid } from '../../shares/WordGrid';
import type { PanelProps } from './Panels';
import { Failure } from './Panels';

// The verification round: each holder types their share back from what they wrote. Words are
// checked one by one in the page as they are typed (the word grid of the Shares screen); the whole
// share goes to main once, which says whether it is this holder's share — or whose it is. The
// words are cleared when main has answered, whatever the answer, and when the step is left.

export function VerifySharePanel({ view, actor, step }: PanelProps) {
  const input = view.current!.input;
  const holders = input.kind === 'verify-share' ? input.holders : [];
  const [round, setRound] = useState(0);
  const [hex, setHex] = useState('');
  const ids = useId();
  if (!actor) return <Failure step={step} title="The verification round did not go on" />;
  const split = view.steps.find((s) => s.kind === 'split')?.outcome as { scheme?: string; shareSetRecord?: { set?: { words?: number } } } | null;
  const scheme = split?.scheme ?? 'slip39';
  const count = split?.shareSetRecord?.set?.words ?? 33;

  const send = async (share: string) => {
    if (step.busy) return;
    // As in the hand-over: the holder is named in the action, the step closes in the administrator's name.
    await step.act({ kind: 'verify-share', holder: actor.person, share }, null);
    setRound((n) => n + 1);
  };
  const sendHex = async (e: FormEvent) => {
    e.preventDefault();
    const entered = hex;
    setHex('');
    await send(entered);
  };

  return (
    <div className="input-panel">
      <ol className="holder-turns" aria-label="Holders">
        {holders.map((h, i) => (
          <li key={h.person} className={h.done ? 'turn-done' : h.person === actor.person ? 'turn-now' : ''}>
            Share {i + 1}: {h.name} — {h.done ? '✓ verified' : h.person === actor.person ? 'typing now' : 'waiting'}
          </li>
        ))}
      </ol>
      {/* Above the words, so that it is in view when the words have been cleared for typing again. */}
      <Failure step={step} title={`${actor.name}’s share was not accepted`} />
      {scheme === 'xor' ? (
        <form className="proof-form" onSubmit={sendHex} aria-label={`Component of ${actor.name}`} autoComplete="off">
          <div className="field">
            <label htmlFor={`${ids}-hex`}>{actor.name}’s component (64 hexadecimal digits, spaces allowed)</label>
            <input id={`${ids}-hex`} className="mono word-input" value={hex} onChange={(e) => setHex(e.target.value)} disabled={step.busy} autoComplete="off" spellCheck={false} />
          </div>
          <div className="toolbar">
            <button type="submit" className="primary" disabled={step.busy}>
              {step.busy ? 'Checking…' : `Check ${actor.name}’s component`}
            </button>
          </div>
        </form>
      ) : (
        <WordGrid
          key={`${actor.person}:${round}`}
          count={count}
          label={`Share of ${actor.name}`}
          submitText={`Check ${actor.name}’s share`}
          busyText="Checking…"
          busy={step.busy}
          onSubmit={(m) => void send(m)}
          autoFocus={round > 0}
        />
      )}
    </div>
  );
}
