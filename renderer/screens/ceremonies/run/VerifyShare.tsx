import { useState } from 'react';
import type { PanelProps } from './Panels';
import { Failure } from './Panels';
import { ShareInput } from './ShareInput';

// The verification round: each holder types their share back from what they wrote. Words are
// checked one by one in the page as they are typed (the word grid of the Shares screen); the whole
// share goes to main once, which says whether it is this holder's share — or whose it is. The
// words are cleared when main has answered, whatever the answer, and when the step is left.

export function VerifySharePanel({ view, actor, step }: PanelProps) {
  const input = view.current!.input;
  const holders = input.kind === 'verify-share' ? input.holders : [];
  const [round, setRound] = useState(0);
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
      <ShareInput holder={actor} scheme={scheme} words={count} verb="Check" busyText="Checking…" busy={step.busy} round={round} onSend={send} />
    </div>
  );
}
