import { useId, useState, type FormEvent } from 'react';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { useAction } from '../../../hooks/useAction';
import { useCeremony, type PlanPrefill } from '../../../stores/ceremony';
import { backupName, namesList, schemeWords, targetTitle } from '../words';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { PlanSubmit } from './PlanSubmit';

/** A share audit: which backup, and which of its holders check their share (any of them; nothing is rebuilt). */
export function ShareAuditForm({ def, prefill }: { def: DefinitionView; prefill?: PlanPrefill }) {
  const record = useCeremony((s) => s.record);
  const ws = useWorkstation();
  const ids = useId();
  const backups = record?.backups ?? [];
  const [chosenRun, setChosenRun] = useState<string | null>(prefill?.backup ?? (backups.length === 1 ? backups[0]!.run : null));
  const [holders, setHolders] = useState<string[]>([]);
  const [cast, setCast] = useCast();
  const { busy, error, run } = useAction();
  const backup = backups.find((b) => b.run === chosenRun) ?? null;
  const people = record?.people ?? [];
  const personOf = (name: string) => people.find((p) => p.name === name && p.status === 'active') ?? null;
  const shareOf = (name: string) => (backup ? backup.holders.indexOf(name) + 1 : 0);

  const why = !backup ? 'Choose the backup first.' : holders.length === 0 ? 'Name at least one holder to check their share.' : ws.state === 'absent' ? `Connect token “${ws.label}” first.` : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!backup || why) return;
    if (ws.state !== 'ready' && ws.state !== 'login') return;
    const session = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    const withHolders = { ...cast };
    for (const name of holders) {
      const p = personOf(name);
      if (p && !(withHolders[p.id] ?? []).includes('custodian')) withHolders[p.id] = [...(withHolders[p.id] ?? []), 'custodian'];
    }
    setCast(withHolders);
    await run(() => useCeremony.getState().plan({ ...session, definition: def.id, params: { backup: backup.run, holders }, participants: participantsOf(withHolders) }));
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the share audit">
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      <p className="plan-sentence">
        Each holder named below types their share alone. It is checked on its own against the backup’s record — that every word reads, that it is of this backup’s set, and
        that it is theirs — and is not kept. No share is combined with another, so one holder can check their sheet without anyone else’s.
      </p>
      <fieldset className="choices" data-testid="backup-choices">
        <legend>Which backup’s shares</legend>
        {backups.length === 0 ? <p>This workstation has no completed backup yet.</p> : null}
        {backups.map((b) => (
          <label key={b.run} className={`choice ${b.run === chosenRun ? 'choice-on' : ''}`}>
            <input
              type="radio"
              name={`${ids}-backup`}
              checked={b.run === chosenRun}
              onChange={() => {
                setChosenRun(b.run);
                setHolders([]);
              }}
            />
            <span>
              <span className="choice-title">
                {backupName(b)} — {b.targets.map(targetTitle).join(', ')}
              </span>
              <span className="choice-note">
                {schemeWords(b.scheme, b.threshold, b.holders.length)}; held by {namesList(b.holders)}.
              </span>
            </span>
          </label>
        ))}
      </fieldset>
      {backup ? (
        <fieldset className="roles">
          <legend>Holders who check their share, in the order they come to the keyboard</legend>
          {backup.holders.map((h) =>
            personOf(h) ? (
              <label key={h}>
                <input type="checkbox" checked={holders.includes(h)} onChange={() => setHolders(holders.includes(h) ? holders.filter((x) => x !== h) : [...holders, h])} /> {h} (share{' '}
                {shareOf(h)})
              </label>
            ) : (
              <span key={h} className="hint">
                {h} is no longer enrolled.
              </span>
            ),
          )}
        </fieldset>
      ) : null}
      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={!!why || ws.state === 'unknown'} why={why} text="Plan the share audit" />
    </form>
  );
}
