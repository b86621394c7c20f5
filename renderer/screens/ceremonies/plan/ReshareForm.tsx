import { useId, useState, type FormEvent } from 'react';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { useAction } from '../../../hooks/useAction';
import { useCeremony, type PlanPrefill } from '../../../stores/ceremony';
import { backupName, namesList, schemeWords, targetTitle } from '../words';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { PlanSubmit } from './PlanSubmit';

/**
 * A re-share: which backup's share set is replaced, which old holders enter their shares (at least
 * the old threshold), and the new set — scheme, threshold, holders in order. Main checks it all
 * again (each old holder holds a share of that set, the policy's minimum threshold, roles).
 */
export function ReshareForm({ def, prefill }: { def: DefinitionView; prefill?: PlanPrefill }) {
  const record = useCeremony((s) => s.record);
  const ws = useWorkstation();
  const ids = useId();
  const backups = record?.backups ?? [];
  const [chosenRun, setChosenRun] = useState<string | null>(prefill?.backup ?? (backups.length === 1 ? backups[0]!.run : null));
  const [from, setFrom] = useState<string[]>([]);
  const [scheme, setScheme] = useState<'slip39' | 'xor'>('slip39');
  const [threshold, setThreshold] = useState(String(record?.policy.minimumShareThreshold ?? 2));
  const [holders, setHolders] = useState<string[]>([]);
  const [rotate, setRotate] = useState(false);
  const [cast, setCast] = useCast();
  const { busy, error, run } = useAction();

  const backup = backups.find((b) => b.run === chosenRun) ?? null;
  const needed = backup ? (backup.scheme === 'xor' ? backup.holders.length : backup.threshold) : 0;
  const people = record?.people ?? [];
  const custodians = people.filter((p) => p.status === 'active' && p.roles.includes('custodian'));
  const personOf = (name: string) => people.find((p) => p.name === name && p.status === 'active') ?? null;
  const nameOf = (id: string) => custodians.find((c) => c.id === id)?.name ?? id;
  const shareOf = (name: string) => (backup ? backup.holders.indexOf(name) + 1 : 0);
  const t = Number(threshold);

  const why = !backup
    ? 'Choose the backup first.'
    : from.length < needed
      ? `Name ${needed - from.length} more old holder${needed - from.length === 1 ? '' : 's'}: the old set needs ${needed} shares to rebuild the Backup Key.`
      : holders.length < 2
        ? 'Name at least two new holders.'
        : scheme === 'slip39' && (!Number.isInteger(t) || t < 1 || t > holders.length)
          ? `The threshold must be between 1 and the number of new holders (${holders.length}).`
          : ws.state === 'absent'
            ? `Connect token “${ws.label}” first.`
            : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!backup || why) return;
    if (ws.state !== 'ready' && ws.state !== 'login') return;
    const session = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    // Old and new holders take part as custodians (main refuses a holder who does not).
    const withHolders = { ...cast };
    const ids = [...from.map((n) => personOf(n)?.id).filter((x): x is string => !!x), ...holders];
    for (const id of ids) if (!(withHolders[id] ?? []).includes('custodian')) withHolders[id] = [...(withHolders[id] ?? []), 'custodian'];
    setCast(withHolders);
    await run(() =>
      useCeremony.getState().plan({
        ...session,
        definition: def.id,
        params: { backup: backup.run, from, scheme, threshold: scheme === 'xor' ? holders.length : t, holders, rotateBackupKey: rotate },
        participants: participantsOf(withHolders),
      }),
    );
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the re-share">
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      <p className="plan-sentence">
        A re-share gives a backup new holders or a new threshold.{' '}
        {rotate ? (
          <>
            <strong>The Backup Key is rotated</strong>: the new holders receive shares of a new Backup Key, the keys are re-wrapped under it in the HSM (each check value compared first), and
            Custos refuses the old backup from then on. The old wrapped blobs are not shredded yet: they stay in this workstation’s archive file and in the bundles the check step lists,
            so every old holder destroys their sheet and attests it at the end.
          </>
        ) : (
          <>
            The keys wrapped under its Backup Key do not change, and nothing is written to the HSM. <strong>The old shares stay valid</strong>: enough of them still rebuild the same
            Backup Key. Each old holder in the room destroys their sheet and attests it at the end; to make old shares useless, rotate the Backup Key (below).
          </>
        )}
      </p>
      <label className="check-line">
        <input type="checkbox" checked={rotate} onChange={(e) => setRotate(e.target.checked)} data-testid="reshare-rotate" /> Rotate the Backup Key (a new one for the new set; the
        keys re-wrapped under it; the old shares and the old backup restore nothing in Custos any more)
      </label>
      <fieldset className="choices" data-testid="backup-choices">
        <legend>Which backup’s shares</legend>
        {backups.length === 0 ? <p>This workstation has no completed backup yet: run a split-knowledge backup first.</p> : null}
        {backups.map((b) => (
          <label key={b.run} className={`choice ${b.run === chosenRun ? 'choice-on' : ''}`}>
            <input
              type="radio"
              name={`${ids}-backup`}
              checked={b.run === chosenRun}
              onChange={() => {
                setChosenRun(b.run);
                setFrom([]);
              }}
            />
            <span>
              <span className="choice-title">
                {backupName(b)} — {b.targets.map(targetTitle).join(', ')}
              </span>
              <span className="choice-note">
                {schemeWords(b.scheme, b.threshold, b.holders.length)}; held by {namesList(b.holders)}.{b.resharedBy.length ? ' Re-shared since (these shares are still valid).' : ''}
              </span>
            </span>
          </label>
        ))}
      </fieldset>
      {backup ? (
        <fieldset className="people-set">
          <legend>Old holders who enter their share, in the order they come to the keyboard</legend>
          <p className="hint">
            The old set needs {needed} share{needed === 1 ? '' : 's'}. {from.length} of {needed} named.
          </p>
          <ol className="holders" data-testid="reshare-from">
            {from.map((h, i) => (
              <li key={h} className="holder-row">
                <span className="holder-name">
                  {i + 1}. <strong>{h}</strong> <span className="muted">(holds old share {shareOf(h)})</span>
                </span>
                <button type="button" className="danger-outline" onClick={() => setFrom(from.filter((x) => x !== h))} aria-label={`Remove ${h} from the old holders`}>
                  Remove
                </button>
              </li>
            ))}
          </ol>
          <div className="toolbar">
            {backup.holders
              .filter((h) => !from.includes(h))
              .map((h) =>
                personOf(h) ? (
                  <button key={h} type="button" onClick={() => setFrom([...from, h])}>
                    Add {h} (old share {shareOf(h)})
                  </button>
                ) : (
                  <span key={h} className="hint">
                    {h} is no longer enrolled.
                  </span>
                ),
              )}
          </div>
        </fieldset>
      ) : null}
      <fieldset className="roles">
        <legend>How the new shares are made</legend>
        <label>
          <input type="radio" name={`${ids}-scheme`} checked={scheme === 'slip39'} onChange={() => setScheme('slip39')} /> SLIP-39 shares (words; any threshold of them
          restores)
        </label>
        <label>
          <input type="radio" name={`${ids}-scheme`} checked={scheme === 'xor'} onChange={() => setScheme('xor')} /> XOR components (hex; every component is needed)
        </label>
      </fieldset>
      {scheme === 'slip39' ? (
        <div className="add-fields">
          <div className="field">
            <label htmlFor={`${ids}-t`}>New shares needed to restore (threshold)</label>
            <input id={`${ids}-t`} type="number" min={1} max={16} value={threshold} onChange={(e) => setThreshold(e.target.value)} />
            <p className="hint">At least {record?.policy.minimumShareThreshold ?? 2} by this workstation’s policy.</p>
          </div>
        </div>
      ) : null}
      <fieldset className="people-set">
        <legend>New holders, in order (one new share each, handed over in this order)</legend>
        <ol className="holders" data-testid="reshare-holders">
          {holders.map((h, i) => (
            <li key={h} className="holder-row">
              <span className="holder-name">
                New share {i + 1}: <strong>{nameOf(h)}</strong>
              </span>
              <button type="button" className="danger-outline" onClick={() => setHolders(holders.filter((x) => x !== h))} aria-label={`Remove ${nameOf(h)} from the new holders`}>
                Remove
              </button>
            </li>
          ))}
        </ol>
        <div className="toolbar">
          {custodians
            .filter((c) => !holders.includes(c.id))
            .map((c) => (
              <button key={c.id} type="button" onClick={() => setHolders([...holders, c.id])}>
                Add {c.name} as new holder
              </button>
            ))}
        </div>
      </fieldset>
      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={!!why || ws.state === 'unknown'} why={why} text="Plan the re-share" />
    </form>
  );
}
