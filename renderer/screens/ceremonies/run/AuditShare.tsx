import { useState } from 'react';
import { namesList } from '../words';
import { Failure, OneButton, type PanelProps } from './Panels';
import { SealedShareInput, ShareWay } from './SealedShareInput';
import { ShareInput } from './ShareInput';
import { restoreView } from './params';

// A share audit in the window: each holder in turn types their share alone (the word grid), main
// checks it on its own against the backup's record and answers; nothing is combined or kept. A
// share that does not pass may be typed again; once every holder has passed or tried, the
// administrator may close the audit, and each share that did not pass becomes an exception.

/** The Backup Key is 256 bits, so each of its SLIP-39 shares is 33 words. */
const BACKUP_KEY_SHARE_WORDS = 33;

export function AuditSharePanel({ view, actor, step, workstationUri }: PanelProps) {
  const input = view.current!.input;
  const r = restoreView(view);
  const [round, setRound] = useState(0);
  const [ways, setWays] = useState<Record<string, 'typed' | 'sealed'>>({});
  if (input.kind !== 'audit-share' || !r) return <Failure step={step} title="The shares could not be checked" />;
  const checked = input.holders.filter((h) => h.done);
  const failed = input.holders.filter((h) => h.failed);
  const untried = input.holders.filter((h) => !h.done && !h.failed);
  const admin = view.participants.find((p) => p.roles.includes('administrator'));

  const send = async (share: string) => {
    if (step.busy || !actor) return;
    await step.act({ kind: 'audit-share', holder: actor.person, share }, actor.person);
    setRound((n) => n + 1);
  };
  const way = actor ? (ways[actor.person] ?? 'typed') : 'typed';
  const sendSealed = async (envelope: string, card: { module: string; token: string; pin: string }) => {
    if (step.busy || !actor) return false;
    const res = await step.act({ kind: 'unseal-share', holder: actor.person, envelope, card }, actor.person);
    return !!res?.ok;
  };

  return (
    <div className="input-panel">
      <p className="share-count" data-testid="share-count">
        <strong>
          {checked.length} of {input.holders.length} shares checked
        </strong>
        {checked.length ? ` (${namesList(checked.map((h) => h.name))})` : ''}.
      </p>
      <ol className="holder-turns" aria-label="Holders">
        {input.holders.map((h) => (
          <li key={h.person} className={h.done ? 'turn-done' : h.person === actor?.person ? 'turn-now' : ''}>
            {h.name} (share {h.index}) — {h.done ? '✓ good' : h.failed ? '✗ did not pass — may try again' : h.person === actor?.person ? 'typing now' : 'waiting'}
          </li>
        ))}
      </ol>
      {way === 'typed' ? <Failure step={step} title={actor ? `${actor.name}’s share did not pass` : 'The share did not pass'} /> : null}
      {actor && r.scheme !== 'xor' ? <ShareWay way={way} onWay={(w) => setWays({ ...ways, [actor.person]: w })} name={actor.name} /> : null}
      {actor && way === 'sealed' ? <SealedShareInput key={`${actor.person}:${round}`} holder={actor} workstationUri={workstationUri} busy={step.busy} verb="Check" failure={<Failure step={step} title={`${actor.name}’s share did not pass`} />} onSend={sendSealed} /> : null}
      {actor && way === 'typed' ? <ShareInput holder={actor} scheme={r.scheme} words={BACKUP_KEY_SHARE_WORDS} verb="Check" busyText="Checking the share against the backup’s record…" busy={step.busy} round={round} onSend={send} /> : null}
      <p className="hint">The share is checked on its own — that it reads, is of this backup’s set, and is {actor ? `${actor.name}’s` : 'the holder’s'} own — and is not kept. No other share is needed.</p>
      {failed.length && !untried.length ? (
        <OneButton
          step={step}
          testId="do-step"
          text={`Close the audit: ${namesList(failed.map((h) => h.name))} did not pass`}
          busyText="Closing the audit…"
          failure="The audit was not closed"
          onClick={() => void step.act({ kind: 'run' }, admin?.person ?? null)}
        >
          <p className="notice notice-warn">Each share that did not pass is recorded as an exception, for the administrator to decide (a re-share or a new backup) before the sign-off.</p>
        </OneButton>
      ) : null}
    </div>
  );
}
