import { useEffect, useRef, useState } from 'react';
import type { RevealView } from '../../../../shared/ceremony/contract';
import type { PanelProps } from './Panels';
import { Failure } from './Panels';

// One holder at a time (Oxide's keystore, DESIGN.md): the screen shows only the named holder's
// share, and only after everyone else has been asked to look away. The share comes back in the
// answer to "reveal" and lives in this component's state alone: "I have written it down" (or
// "Hide") clears it before anything else happens, and so does leaving the step or the screen.

export function HandOverPanel({ view, step }: PanelProps) {
  const input = view.current!.input;
  const holders = input.kind === 'hand-over' ? input.holders : [];
  const next = holders.find((h) => !h.done) ?? null;
  const [shown, setShown] = useState<RevealView | null>(null);
  const shareHeading = useRef<HTMLHeadingElement>(null);
  // A share shown belongs to one holder's turn; any other turn never sees it.
  const share = shown && next && shown.holder === next.person ? shown : null;

  useEffect(() => {
    if (share) shareHeading.current?.focus();
  }, [share]);
  // Another holder's turn (moved on elsewhere): the share shown before is dropped, not just hidden.
  useEffect(() => {
    if (shown && shown.holder !== next?.person) setShown(null);
  }, [shown, next?.person]);

  if (!next) return <Failure step={step} title="The hand-over did not go on" />;

  // The holder is named in the action; the engine closes the step in the administrator's name
  // after the last holder, so nobody is named as acting (`by` null: the one administrator).
  const reveal = async () => {
    const r = await step.act({ kind: 'reveal', holder: next.person }, null);
    if (r?.ok && r.value.reveal) setShown(r.value.reveal);
  };
  const writtenDown = async () => {
    setShown(null);
    await step.act({ kind: 'handed-over', holder: next.person }, null);
  };

  const index = holders.indexOf(next) + 1;
  const words = share ? share.share.split(/\s+/) : [];
  return (
    <div className="input-panel">
      <ol className="holder-turns" aria-label="Holders">
        {holders.map((h, i) => (
          <li key={h.person} className={h.done ? 'turn-done' : h.person === next.person ? 'turn-now' : ''}>
            Share {i + 1}: {h.name} — {h.done ? '✓ written down' : h.person === next.person ? 'now' : 'waiting'}
          </li>
        ))}
      </ol>
      {!share ? (
        <>
          <div className="look-away" role="status" data-testid="look-away">
            <p className="look-away-head">Everyone except {next.name}: look away from the screen now.</p>
            <p>
              {next.name} alone looks at the screen and writes share {index} of {holders.length} on their share sheet, word by word.
            </p>
          </div>
          <div className="toolbar">
            <button type="button" className="primary big" onClick={() => void reveal()} disabled={step.busy}>
              {step.busy ? 'Fetching the share…' : `Show ${next.name}’s share`}
            </button>
          </div>
        </>
      ) : (
        <div className="share-shown" data-testid="share-shown">
          <h4 ref={shareHeading} tabIndex={-1} className="share-title">
            {share.name}’s share — share {share.index} of {share.of}
          </h4>
          {share.scheme === 'xor' ? (
            <p className="mono share-hex" data-testid="share-words">
              {share.share}
            </p>
          ) : (
            <ol className="share-words mono" data-testid="share-words" aria-label={`${share.name}’s share, ${words.length} words`}>
              {words.map((w, i) => (
                <li key={i}>
                  <span className="share-n">{i + 1}</span>
                  <span className="share-word">{w}</span>
                </li>
              ))}
            </ol>
          )}
          {share.fingerprint ? (
            <p className="hint">
              Share fingerprint (written in the record; compare it when you check your share later): <span className="mono">{share.fingerprint}</span>
            </p>
          ) : null}
          {share.checkValue ? (
            <p className="hint">
              Component check value: <span className="mono">{share.checkValue}</span>
            </p>
          ) : null}
          <p>Check each word against your sheet. The verification round will ask you to type it back.</p>
          <div className="toolbar">
            <button type="button" className="primary big" onClick={() => void writtenDown()} disabled={step.busy}>
              I have written it down
            </button>
            <button type="button" onClick={() => setShown(null)} disabled={step.busy}>
              Hide the share
            </button>
          </div>
        </div>
      )}
      <Failure step={step} title="The hand-over did not go on" />
    </div>
  );
}
