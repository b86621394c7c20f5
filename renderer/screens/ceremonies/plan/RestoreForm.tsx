import { useId, useState, type FormEvent } from 'react';
import type { DefinitionView, RecordView } from '../../../../shared/ceremony/contract';
import { useAction } from '../../../hooks/useAction';
import { useCeremony, type PlanPrefill } from '../../../stores/ceremony';
import { presentSlots, slotKey, useTokens } from '../../../stores/tokens';
import { day } from '../../archive/words';
import { backupName, namesList, schemeWords, targetTitle } from '../words';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { PlanSubmit } from './PlanSubmit';

type Backup = RecordView['backups'][number];

/**
 * A restore drill or a restore: which completed backup, which of its keys, which holders come to the
 * keyboard (in order, at least the threshold), and — a restore only — into which token. Main checks
 * it all again (the backup finished, each holder holds a share of it, enough are named).
 */
export function RestoreForm({ def, prefill }: { def: DefinitionView; prefill?: PlanPrefill }) {
  const drill = def.type === 'restore-drill';
  const record = useCeremony((s) => s.record);
  const listing = useTokens((s) => s.listing);
  const ws = useWorkstation();
  const ids = useId();
  const backups = record?.backups ?? [];
  const [chosenRun, setChosenRun] = useState<string | null>(prefill?.backup ?? (backups.length === 1 ? backups[0]!.run : null));
  const [targets, setTargets] = useState<string[] | null>(null);
  const [holders, setHolders] = useState<string[]>([]);
  const [destKey, setDestKey] = useState<string>('');
  const [cast, setCast] = useCast();
  const { busy, error, run } = useAction();

  const backup = backups.find((b) => b.run === chosenRun) ?? null;
  const chosenTargets = targets ?? backup?.targets ?? [];
  const needed = backup ? (backup.scheme === 'xor' ? backup.holders.length : backup.threshold) : 0;
  const people = record?.people ?? [];
  const personOf = (name: string) => people.find((p) => p.name === name && p.status === 'active') ?? null;
  // The backup handed share i to its i-th holder (BackupForm: "shares are handed over in this order").
  const shareOf = (name: string) => (backup ? backup.holders.indexOf(name) + 1 : 0);

  // Another token to restore into: present and initialised, not the workstation token, and not a
  // person's own card (the register knows their serials).
  const cardSerials = new Set(people.map((p) => p.credential?.card?.serial).filter((x): x is string => !!x));
  const wsUri = ws.state === 'ready' || ws.state === 'login' ? ws.slot.token!.uri : null;
  const destinations = presentSlots(listing).filter((s) => s.token?.flags.initialized && s.token.uri !== wsUri && !cardSerials.has(s.token.serial));
  const dest = destinations.find((s) => slotKey(s) === destKey) ?? null;

  const choose = (b: Backup) => {
    setChosenRun(b.run);
    setTargets(null);
    setHolders([]);
  };
  const toggleTarget = (t: string) => setTargets(chosenTargets.includes(t) ? chosenTargets.filter((x) => x !== t) : [...chosenTargets, t]);
  const move = (i: number, by: number) =>
    setHolders((hs) => {
      const next = [...hs];
      const [h] = next.splice(i, 1);
      next.splice(i + by, 0, h!);
      return next;
    });

  const why = !backup
    ? 'Choose the backup first.'
    : chosenTargets.length === 0
      ? 'Choose at least one key.'
      : holders.length < needed
        ? `Name ${needed - holders.length} more holder${needed - holders.length === 1 ? '' : 's'}: this backup needs ${needed} shares.`
        : ws.state === 'absent'
          ? `Connect token “${ws.label}” first.`
          : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!backup || why) return;
    if (ws.state !== 'ready' && ws.state !== 'login') return;
    const session = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    // Each holder takes part as a custodian (main refuses a holder who does not).
    const withHolders = { ...cast };
    for (const name of holders) {
      const p = personOf(name);
      if (p && !(withHolders[p.id] ?? []).includes('custodian')) withHolders[p.id] = [...(withHolders[p.id] ?? []), 'custodian'];
    }
    setCast(withHolders);
    await run(() =>
      useCeremony.getState().plan({
        ...session,
        definition: def.id,
        params: {
          backup: backup.run,
          holders,
          ...(chosenTargets.length !== backup.targets.length ? { targets: chosenTargets } : {}),
          ...(!drill && dest?.token ? { destination: { module: dest.module, token: dest.token.uri } } : {}),
        },
        participants: participantsOf(withHolders),
      }),
    );
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label={drill ? 'Plan the restore drill' : 'Plan the restore'}>
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      {drill ? (
        <p className="plan-sentence">
          A drill proves that the holders’ shares still rebuild the Backup Key and unwrap every key it protects. The keys are unwrapped into a session of the HSM only and
          destroyed at once: <strong>nothing is kept</strong>.
        </p>
      ) : (
        <p className="plan-sentence">
          A restore puts the backed-up keys back into an HSM as lasting objects, after the quorum’s approval. To prove the shares work without importing anything, run a
          restore drill instead.
        </p>
      )}
      <fieldset className="choices" data-testid="backup-choices">
        <legend>Which backup</legend>
        {backups.length === 0 ? <p>This workstation has no completed backup yet: run a split-knowledge backup first.</p> : null}
        {backups.map((b) => {
          const on = b.run === chosenRun;
          return (
            <label key={b.run} className={`choice ${on ? 'choice-on' : ''}`}>
              <input type="radio" name={`${ids}-backup`} checked={on} onChange={() => choose(b)} />
              <span>
                <span className="choice-title">
                  {backupName(b)} — {b.targets.map(targetTitle).join(', ')}
                </span>
                <span className="choice-note">
                  {schemeWords(b.scheme, b.threshold, b.holders.length)}; held by {namesList(b.holders)}.
                </span>
                <span className="choice-note">
                  {b.lastDrill ? `Last drill ${day(b.lastDrill)}` : 'Never drilled'} ·{' '}
                  {b.overdue ? <strong className="overdue">drill overdue since {day(b.drillDue)}</strong> : `next drill due ${day(b.drillDue)}`}
                </span>
              </span>
            </label>
          );
        })}
      </fieldset>

      {backup ? (
        <>
          <fieldset className="roles">
            <legend>Keys to {drill ? 'drill' : 'restore'} (all of the backup’s keys unless you untick some)</legend>
            {backup.targets.map((t) => (
              <label key={t}>
                <input type="checkbox" checked={chosenTargets.includes(t)} onChange={() => toggleTarget(t)} /> {targetTitle(t)}
              </label>
            ))}
          </fieldset>
          <fieldset className="people-set">
            <legend>Holders who enter their share, in the order they come to the keyboard</legend>
            <p className="hint" id={`${ids}-holders-hint`}>
              This backup needs {needed} share{needed === 1 ? '' : 's'} ({schemeWords(backup.scheme, backup.threshold, backup.holders.length)}). {holders.length} of{' '}
              {needed} named{holders.length >= needed ? ': enough.' : '.'}
            </p>
            <ol className="holders" data-testid="restore-holders" aria-describedby={`${ids}-holders-hint`}>
              {holders.map((h, i) => (
                <li key={h} className="holder-row">
                  <span className="holder-name">
                    {i + 1}. <strong>{h}</strong> <span className="muted">(holds share {shareOf(h)})</span>
                  </span>
                  <button type="button" onClick={() => move(i, -1)} disabled={i === 0} aria-label={`Move ${h} up`}>
                    ↑
                  </button>
                  <button type="button" onClick={() => move(i, 1)} disabled={i === holders.length - 1} aria-label={`Move ${h} down`}>
                    ↓
                  </button>
                  <button type="button" className="danger-outline" onClick={() => setHolders(holders.filter((x) => x !== h))} aria-label={`Remove ${h} from the holders`}>
                    Remove
                  </button>
                </li>
              ))}
            </ol>
            <div className="toolbar">
              {backup.holders
                .filter((h) => !holders.includes(h))
                .map((h) =>
                  personOf(h) ? (
                    <button key={h} type="button" onClick={() => setHolders([...holders, h])}>
                      Add {h} (share {shareOf(h)})
                    </button>
                  ) : (
                    <span key={h} className="hint">
                      {h} is no longer enrolled.
                    </span>
                  ),
                )}
            </div>
          </fieldset>
        </>
      ) : null}

      {!drill ? (
        <fieldset className="choices" data-testid="destinations">
          <legend>Restore into</legend>
          <label className={`choice ${dest ? '' : 'choice-on'}`}>
            <input type="radio" name={`${ids}-dest`} checked={!dest} onChange={() => setDestKey('')} />
            <span>
              <span className="choice-title">The workstation token{ws.state !== 'unknown' ? ` “${ws.label}”` : ''}</span>
              <span className="choice-note">The check step refuses a key the token still holds.</span>
            </span>
          </label>
          {destinations.map((s) => {
            const t = s.token!;
            const on = dest !== null && slotKey(dest) === slotKey(s);
            return (
              <label key={slotKey(s)} className={`choice ${on ? 'choice-on' : ''}`}>
                <input type="radio" name={`${ids}-dest`} checked={on} onChange={() => setDestKey(slotKey(s))} />
                <span>
                  <span className="choice-title">
                    {t.label} {t.loggedIn === 'user' ? <span className="badge badge-ok">logged in</span> : null}
                  </span>
                  <span className="choice-note">
                    {t.manufacturer} · {t.model} · serial {t.serial}
                    {t.loggedIn !== 'user' ? ' · its user PIN is asked for at the unwrap' : ''}
                  </span>
                </span>
              </label>
            );
          })}
          <p className="hint">A new or replacement HSM appears here once its module is added on the Tokens screen. People’s own cards are not offered.</p>
        </fieldset>
      ) : null}

      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={!!why || ws.state === 'unknown'} why={why} text={drill ? 'Plan the restore drill' : 'Plan the restore'} />
    </form>
  );
}
