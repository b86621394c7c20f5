import { useId, useState, type FormEvent } from 'react';
import { PURPOSES, type Purpose } from '../../../../shared/archive/policy';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { COMPONENT_KEY_TYPES } from '../../../../shared/ceremony/params';
import { useAction } from '../../../hooks/useAction';
import { useCeremony } from '../../../stores/ceremony';
import { PURPOSE_WORDS } from '../../archive/words';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { PlanSubmit } from './PlanSubmit';

const ALGORITHMS: Record<(typeof COMPONENT_KEY_TYPES)[number], string> = {
  'aes-128': 'AES-128',
  'aes-192': 'AES-192',
  'aes-256': 'AES-256',
  'tdes-2key': 'TDES, two-key (double length)',
  'tdes-3key': 'TDES, three-key (triple length)',
};
const USAGES = [
  { id: 'encrypt', title: 'Encrypt and decrypt' },
  { id: 'wrap', title: 'Wrap and unwrap keys' },
  { id: 'sign', title: 'MAC (AES-CMAC)' },
] as const;

/** Creating a key as XOR components: the key, its purpose, and one holder per component. */
export function ComponentCreateForm({ def }: { def: DefinitionView }) {
  const record = useCeremony((s) => s.record);
  const ws = useWorkstation();
  const ids = useId();
  const [label, setLabel] = useState('');
  const [algorithm, setAlgorithm] = useState<(typeof COMPONENT_KEY_TYPES)[number]>('aes-256');
  const [usages, setUsages] = useState<string[]>(['wrap']);
  const [extractable, setExtractable] = useState(false);
  const [purpose, setPurpose] = useState<Purpose>('key-wrapping');
  const [holders, setHolders] = useState<string[]>([]);
  const [cast, setCast] = useCast();
  const { busy, error, run } = useAction();
  const custodians = record?.people.filter((p) => p.status === 'active' && p.roles.includes('custodian')) ?? [];
  const nameOf = (id: string) => custodians.find((c) => c.id === id)?.name ?? id;
  const tdes = algorithm.startsWith('tdes');

  const why =
    label.trim() === ''
      ? 'Give the key a label.'
      : holders.length < 2
        ? 'Name at least two component holders.'
        : usages.length === 0
          ? 'Choose what the key may do.'
          : ws.state === 'absent'
            ? `Connect token “${ws.label}” first.`
            : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (why || (ws.state !== 'ready' && ws.state !== 'login')) return;
    const session = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    const withHolders = { ...cast };
    for (const h of holders) if (!(withHolders[h] ?? []).includes('custodian')) withHolders[h] = [...(withHolders[h] ?? []), 'custodian'];
    setCast(withHolders);
    await run(() =>
      useCeremony.getState().plan({
        ...session,
        definition: def.id,
        params: { label: label.trim(), algorithm, usages, extractable, holders, purpose },
        participants: participantsOf(withHolders),
      }),
    );
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the creation of a key as components">
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      <p className="plan-sentence">
        With the quorum’s approval, the HSM’s random number generator makes one component per holder and the key they form is made inside the HSM. Each holder, alone, gets
        their component printed on its own sheet, types back its check value, seals it in a tamper-evident envelope and gives the envelope’s serial number for the record.
      </p>
      <div className="add-fields">
        <div className="field">
          <label htmlFor={`${ids}-label`}>Label of the new key</label>
          <input id={`${ids}-label`} value={label} onChange={(e) => setLabel(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-alg`}>Key type</label>
          <select
            id={`${ids}-alg`}
            value={algorithm}
            onChange={(e) => {
              const a = e.target.value as (typeof COMPONENT_KEY_TYPES)[number];
              setAlgorithm(a);
              if (a.startsWith('tdes')) setUsages(usages.filter((u) => u !== 'sign'));
            }}
          >
            {COMPONENT_KEY_TYPES.map((a) => (
              <option key={a} value={a}>
                {ALGORITHMS[a]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-purpose`}>Purpose</label>
          <select id={`${ids}-purpose`} value={purpose} onChange={(e) => setPurpose(e.target.value as Purpose)}>
            {PURPOSES.map((p) => (
              <option key={p} value={p}>
                {PURPOSE_WORDS[p]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <fieldset className="roles">
        <legend>What the key may do</legend>
        {USAGES.filter((u) => !tdes || u.id !== 'sign').map((u) => (
          <label key={u.id}>
            <input type="checkbox" checked={usages.includes(u.id)} onChange={() => setUsages(usages.includes(u.id) ? usages.filter((x) => x !== u.id) : [...usages, u.id])} /> {u.title}
          </label>
        ))}
        <label>
          <input type="checkbox" checked={extractable} onChange={() => setExtractable(!extractable)} /> Extractable under wrap (then it is archived, and can be backed up)
        </label>
      </fieldset>
      <fieldset className="people-set">
        <legend>Component holders, in component order (2 to 9)</legend>
        <ol className="holders" data-testid="component-holders">
          {holders.map((h, i) => (
            <li key={h} className="holder-row">
              <span className="holder-name">
                Component {i + 1}: <strong>{nameOf(h)}</strong>
              </span>
              <button type="button" className="danger-outline" onClick={() => setHolders(holders.filter((x) => x !== h))} aria-label={`Remove ${nameOf(h)}`}>
                Remove
              </button>
            </li>
          ))}
        </ol>
        <div className="toolbar">
          {holders.length < 9
            ? custodians
                .filter((c) => !holders.includes(c.id))
                .map((c) => (
                  <button key={c.id} type="button" onClick={() => setHolders([...holders, c.id])}>
                    Add {c.name} as component holder
                  </button>
                ))
            : null}
        </div>
      </fieldset>
      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={!!why || ws.state === 'unknown'} why={why} text="Plan the creation of the key" />
    </form>
  );
}
