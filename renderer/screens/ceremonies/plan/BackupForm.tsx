import { useEffect, useId, useState, type FormEvent } from 'react';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import type { KeyEntry } from '../../../../shared/keys';
import { api, call } from '../../../api';
import { useAction } from '../../../hooks/useAction';
import { useCeremony } from '../../../stores/ceremony';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { PlanSubmit } from './PlanSubmit';

const ARCHIVE_TARGETS = [
  { id: 'archive-kek', title: 'Archive KEK', note: 'Wraps every archived key: without it, no archived key can be restored.' },
  { id: 'archive-mac', title: 'Archive MAC key', note: 'Authenticates the archive’s rows.' },
];

/** A split-knowledge backup: what is backed up, how it is split, and who holds the shares, in order. */
export function BackupForm({ def }: { def: DefinitionView }) {
  const record = useCeremony((s) => s.record);
  const ws = useWorkstation();
  const ids = useId();
  const [targets, setTargets] = useState<string[]>(['archive-kek', 'archive-mac']);
  const [scheme, setScheme] = useState<'slip39' | 'sealed' | 'xor'>('slip39');
  const [threshold, setThreshold] = useState('2');
  const [holders, setHolders] = useState<string[]>([]);
  const [cast, setCast] = useCast();
  const [keys, setKeys] = useState<KeyEntry[] | null>(null);
  const { busy, error, run } = useAction();

  // Keys generated extractable under wrap may be backed up too; the token lists them (logged in).
  const module = ws.state === 'ready' ? ws.ref.module : null;
  const token = ws.state === 'ready' ? ws.ref.token : null;
  useEffect(() => {
    if (!module || !token) return;
    let live = true;
    void call(api['keys.list']({ module, token })).then((r) => {
      // The archive's own keys are offered above by name; "custos-" labels are Custos's working keys.
      if (live && r.ok) setKeys(r.value.filter((k) => k.extractable === true && (k.kind === 'secret' || k.kind === 'pair' || k.kind === 'private') && !k.label.startsWith('custos-')));
    });
    return () => {
      live = false;
    };
  }, [module, token]);

  const custodians = record?.people.filter((p) => p.status === 'active' && p.roles.includes('custodian')) ?? [];
  const nameOf = (id: string) => custodians.find((c) => c.id === id)?.name ?? id;
  const toggleTarget = (t: string) => setTargets((ts) => (ts.includes(t) ? ts.filter((x) => x !== t) : [...ts, t]));
  const move = (i: number, by: number) =>
    setHolders((hs) => {
      const next = [...hs];
      const [h] = next.splice(i, 1);
      next.splice(i + by, 0, h!);
      return next;
    });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (ws.state !== 'ready' && ws.state !== 'login') return;
    const session = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    // Each holder takes part as a custodian (main refuses a holder who does not).
    const withHolders = { ...cast };
    for (const h of holders) if (!(withHolders[h] ?? []).includes('custodian')) withHolders[h] = [...(withHolders[h] ?? []), 'custodian'];
    setCast(withHolders);
    await run(() =>
      useCeremony.getState().plan({
        ...session,
        definition: def.id,
        params: { targets, scheme, threshold: Number(threshold), holders },
        participants: participantsOf(withHolders),
      }),
    );
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the backup">
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      <fieldset className="choices">
        <legend>What is backed up (wrapped under a new Backup Key)</legend>
        {ARCHIVE_TARGETS.map((t) => (
          <label key={t.id} className={`choice ${targets.includes(t.id) ? 'choice-on' : ''}`}>
            <input type="checkbox" checked={targets.includes(t.id)} onChange={() => toggleTarget(t.id)} />
            <span>
              <span className="choice-title">{t.title}</span>
              <span className="choice-note">{t.note}</span>
            </span>
          </label>
        ))}
        {(keys ?? []).map((k) => (
          <label key={k.idHex + k.label} className={`choice ${targets.includes(k.label) ? 'choice-on' : ''}`}>
            <input type="checkbox" checked={targets.includes(k.label)} onChange={() => toggleTarget(k.label)} />
            <span>
              <span className="choice-title">{k.label}</span>
              <span className="choice-note">A key generated extractable under wrap.</span>
            </span>
          </label>
        ))}
        {keys === null ? <p className="hint">Keys generated extractable under wrap are listed here once the workstation token is logged in.</p> : null}
      </fieldset>
      <fieldset className="roles">
        <legend>How the Backup Key is split</legend>
        <label>
          <input type="radio" name={`${ids}-scheme`} checked={scheme === 'slip39'} onChange={() => setScheme('slip39')} /> SLIP-39 shares (words; any threshold of them
          restores)
        </label>
        <label>
          <input type="radio" name={`${ids}-scheme`} checked={scheme === 'sealed'} onChange={() => setScheme('sealed')} /> Sealed to each holder’s card (SLIP-39 shares never
          shown or written down: each is sealed to a key on the card its holder enrolled with, and saved as a file only that card opens)
        </label>
        <label>
          <input type="radio" name={`${ids}-scheme`} checked={scheme === 'xor'} onChange={() => setScheme('xor')} /> XOR components (hex; every component is
          needed)
        </label>
      </fieldset>
      <div className="add-fields">
        <div className="field">
          <label htmlFor={`${ids}-t`}>Shares needed to restore (threshold)</label>
          <input id={`${ids}-t`} type="number" min={1} max={16} value={threshold} onChange={(e) => setThreshold(e.target.value)} aria-describedby={`${ids}-t-hint`} />
          <p id={`${ids}-t-hint`} className="hint">
            At least {record?.policy.minimumShareThreshold ?? 2} by this workstation’s policy; keep the number of holders below twice the threshold.
          </p>
        </div>
      </div>
      <fieldset className="people-set">
        <legend>Share holders, in order (one share each; shares are handed over in this order)</legend>
        <ol className="holders" data-testid="holders">
          {holders.map((h, i) => (
            <li key={h} className="holder-row">
              <span className="holder-name">
                Share {i + 1}: <strong>{nameOf(h)}</strong>
              </span>
              <button type="button" onClick={() => move(i, -1)} disabled={i === 0} aria-label={`Move ${nameOf(h)} up`}>
                ↑
              </button>
              <button type="button" onClick={() => move(i, 1)} disabled={i === holders.length - 1} aria-label={`Move ${nameOf(h)} down`}>
                ↓
              </button>
              <button type="button" className="danger-outline" onClick={() => setHolders(holders.filter((x) => x !== h))} aria-label={`Remove ${nameOf(h)} from the holders`}>
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
                Add {c.name} as holder
              </button>
            ))}
        </div>
      </fieldset>
      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={ws.state === 'absent' || ws.state === 'unknown'} why={ws.state === 'absent' ? `Connect token “${ws.label}” first.` : null} text="Plan the backup" />
    </form>
  );
}
