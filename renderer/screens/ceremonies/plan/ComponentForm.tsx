import { useId, useState, type FormEvent } from 'react';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { useAction } from '../../../hooks/useAction';
import { useCeremony } from '../../../stores/ceremony';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { PlanSubmit } from './PlanSubmit';

const USAGES = [
  { id: 'encrypt', title: 'Encrypt and decrypt' },
  { id: 'wrap', title: 'Wrap and unwrap keys' },
  { id: 'sign', title: 'MAC (AES-CMAC)' },
] as const;

/** Forming a key from XOR components: the key, and each component's holder with the check value printed for it. */
export function ComponentForm({ def }: { def: DefinitionView }) {
  const record = useCeremony((s) => s.record);
  const ws = useWorkstation();
  const ids = useId();
  const [label, setLabel] = useState('');
  const [algorithm, setAlgorithm] = useState<'AES' | 'TDES'>('AES');
  const [usages, setUsages] = useState<string[]>(['wrap']);
  const [extractable, setExtractable] = useState(false);
  const [rows, setRows] = useState<Array<{ person: string; kcv: string; envelope: string }>>([]);
  const [keyKcv, setKeyKcv] = useState('');
  const [cast, setCast] = useCast();
  const { busy, error, run } = useAction();
  const custodians = record?.people.filter((p) => p.status === 'active' && p.roles.includes('custodian')) ?? [];
  const nameOf = (id: string) => custodians.find((c) => c.id === id)?.name ?? id;

  const why =
    label.trim() === ''
      ? 'Give the key a label.'
      : rows.length < 2
        ? 'Name at least two component holders.'
        : rows.some((r) => r.kcv.trim() === '')
          ? 'Type the check value printed with each component.'
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
    for (const r of rows) if (!(withHolders[r.person] ?? []).includes('custodian')) withHolders[r.person] = [...(withHolders[r.person] ?? []), 'custodian'];
    setCast(withHolders);
    await run(() =>
      useCeremony.getState().plan({
        ...session,
        definition: def.id,
        params: {
          label: label.trim(),
          algorithm,
          usages,
          extractable,
          holders: rows.map((r) => r.person),
          componentCheckValues: rows.map((r) => r.kcv.trim()),
          ...(keyKcv.trim() ? { keyCheckValue: keyKcv.trim() } : {}),
          // The envelopes' serials, when every one is given (from the record of the ceremony that sealed them).
          ...(rows.every((r) => r.envelope.trim()) ? { envelopes: rows.map((r) => r.envelope.trim()) } : {}),
        },
        participants: participantsOf(withHolders),
      }),
    );
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the forming of a key from components">
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      <p className="plan-sentence">
        The key arrives as XOR components, each in its own sealed envelope with its check value. Each holder types their component alone; it is checked against the check
        value at once. With the quorum’s approval the key is formed inside the HSM, and its check value is read aloud and compared with the expected one.
      </p>
      <div className="add-fields">
        <div className="field">
          <label htmlFor={`${ids}-label`}>Label of the key to form</label>
          <input id={`${ids}-label`} value={label} onChange={(e) => setLabel(e.target.value)} />
        </div>
      </div>
      <fieldset className="roles">
        <legend>Algorithm</legend>
        <label>
          <input type="radio" name={`${ids}-alg`} checked={algorithm === 'AES'} onChange={() => setAlgorithm('AES')} /> AES (128, 192 or 256 bits, from the components’
          length)
        </label>
        <label>
          <input
            type="radio"
            name={`${ids}-alg`}
            checked={algorithm === 'TDES'}
            onChange={() => {
              setAlgorithm('TDES');
              setUsages(usages.filter((u) => u !== 'sign'));
            }}
          />{' '}
          TDES (double or triple length)
        </label>
      </fieldset>
      <fieldset className="roles">
        <legend>What the key may do</legend>
        {USAGES.filter((u) => algorithm === 'AES' || u.id !== 'sign').map((u) => (
          <label key={u.id}>
            <input type="checkbox" checked={usages.includes(u.id)} onChange={() => setUsages(usages.includes(u.id) ? usages.filter((x) => x !== u.id) : [...usages, u.id])} /> {u.title}
          </label>
        ))}
        <label>
          <input type="checkbox" checked={extractable} onChange={() => setExtractable(!extractable)} /> Extractable under wrap (so it can be archived or backed up)
        </label>
      </fieldset>
      <fieldset className="people-set">
        <legend>Component holders, in component order, with the check value printed for each</legend>
        <ol className="holders" data-testid="component-holders">
          {rows.map((r, i) => (
            <li key={r.person} className="holder-row">
              <span className="holder-name">
                Component {i + 1}: <strong>{nameOf(r.person)}</strong>
              </span>
              <label className="sr-only" htmlFor={`${ids}-kcv-${i}`}>
                Check value of component {i + 1}
              </label>
              <input id={`${ids}-kcv-${i}`} className="mono" placeholder="e.g. 08D7B4" value={r.kcv} onChange={(e) => setRows(rows.map((x, k) => (k === i ? { ...x, kcv: e.target.value } : x)))} />
              <label className="sr-only" htmlFor={`${ids}-env-${i}`}>
                Envelope serial of component {i + 1} (optional)
              </label>
              <input id={`${ids}-env-${i}`} placeholder="envelope serial (optional)" value={r.envelope} onChange={(e) => setRows(rows.map((x, k) => (k === i ? { ...x, envelope: e.target.value } : x)))} />
              <button type="button" className="danger-outline" onClick={() => setRows(rows.filter((_, k) => k !== i))} aria-label={`Remove ${nameOf(r.person)}`}>
                Remove
              </button>
            </li>
          ))}
        </ol>
        <div className="toolbar">
          {custodians
            .filter((c) => !rows.some((r) => r.person === c.id))
            .map((c) => (
              <button key={c.id} type="button" onClick={() => setRows([...rows, { person: c.id, kcv: '', envelope: '' }])}>
                Add {c.name} as component holder
              </button>
            ))}
        </div>
      </fieldset>
      <div className="add-fields">
        <div className="field">
          <label htmlFor={`${ids}-kkcv`}>Check value of the whole key (optional, as the sender gave it)</label>
          <input id={`${ids}-kkcv`} className="mono" value={keyKcv} onChange={(e) => setKeyKcv(e.target.value)} />
        </div>
      </div>
      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={!!why || ws.state === 'unknown'} why={why} text="Plan the forming of the key" />
    </form>
  );
}
