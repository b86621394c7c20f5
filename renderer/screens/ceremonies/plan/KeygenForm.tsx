import { useId, useState, type FormEvent } from 'react';
import { PURPOSES, type Purpose } from '../../../../shared/archive/policy';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { KEY_TYPES, USAGE_WORDS, type KeyTypeName, type KeyUsageName } from '../../../../shared/keys';
import { Field } from '../../../components/Field';
import { useAction } from '../../../hooks/useAction';
import { useCeremony } from '../../../stores/ceremony';
import { PURPOSE_WORDS } from '../../archive/words';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { PlanSubmit } from './PlanSubmit';

/** Key generation: what key, for what, who is responsible, and who takes part. */
export function KeygenForm({ def }: { def: DefinitionView }) {
  const record = useCeremony((s) => s.record);
  const ws = useWorkstation();
  const ids = useId();
  const [keyType, setKeyType] = useState<KeyTypeName>('aes-256');
  const [label, setLabel] = useState('');
  const [usages, setUsages] = useState<KeyUsageName[]>(['encrypt']);
  const [extractable, setExtractable] = useState(true);
  const [purpose, setPurpose] = useState<Purpose>('data-encryption');
  const [tags, setTags] = useState('');
  const [responsible, setResponsible] = useState<string[]>([]);
  const [csrSubject, setCsrSubject] = useState('');
  const [cast, setCast] = useCast();
  const { busy, error, run } = useAction();

  const info = KEY_TYPES.find((k) => k.type === keyType)!;
  const custodians = record?.people.filter((p) => p.status === 'active' && p.roles.includes('custodian')) ?? [];
  const chooseType = (t: KeyTypeName) => {
    const next = KEY_TYPES.find((k) => k.type === t)!;
    setKeyType(t);
    // Usages the new type cannot have are dropped (main would refuse them, naming them).
    const kept = usages.filter((u) => next.usages.includes(u));
    setUsages(kept.length ? kept : [next.usages[0]!]);
  };
  const toggle = <T,>(list: T[], v: T) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (ws.state !== 'ready' && ws.state !== 'login') return;
    const ref = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    await run(() =>
      useCeremony.getState().plan({
        ...ref,
        definition: def.id,
        params: {
          keyType,
          label: label.trim(),
          usages,
          extractable,
          purpose,
          tags: tags
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean),
          custodians: responsible,
          ...(info.family === 'asymmetric' && csrSubject.trim() ? { csrSubject: csrSubject.trim() } : {}),
        },
        participants: participantsOf(cast),
      }),
    );
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the key generation">
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      <div className="add-fields">
        <div className="field">
          <label htmlFor={`${ids}-type`}>Key type</label>
          <select id={`${ids}-type`} value={keyType} onChange={(e) => chooseType(e.target.value as KeyTypeName)} aria-describedby={`${ids}-type-note`}>
            {KEY_TYPES.map((k) => (
              <option key={k.type} value={k.type}>
                {k.title}
              </option>
            ))}
          </select>
          <p id={`${ids}-type-note`} className="hint">
            {info.note}
          </p>
        </div>
        <Field label="Key label" hint="How the key is named in the HSM and the archive." value={label} maxLength={128} onChange={(e) => setLabel(e.target.value)} />
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
        <Field label="Tags" hint="Comma-separated, e.g. payments, eu." value={tags} onChange={(e) => setTags(e.target.value)} />
      </div>
      <fieldset className="roles">
        <legend>Usages (those a key of type {info.title} can have)</legend>
        {info.usages.map((u) => (
          <label key={u}>
            <input type="checkbox" checked={usages.includes(u)} onChange={() => setUsages(toggle(usages, u))} /> {USAGE_WORDS[u]}
          </label>
        ))}
      </fieldset>
      <label className="check">
        <input type="checkbox" checked={extractable} onChange={(e) => setExtractable(e.target.checked)} />
        Extractable under wrap only (it can then be archived and backed up; otherwise it never leaves the HSM)
      </label>
      <fieldset className="roles">
        <legend>Custodians responsible for the key</legend>
        {custodians.length === 0 ? <span className="hint">No custodian is enrolled.</span> : null}
        {custodians.map((c) => (
          <label key={c.id}>
            <input type="checkbox" checked={responsible.includes(c.id)} onChange={() => setResponsible(toggle(responsible, c.id))} aria-label={`${c.name} is responsible`} /> {c.name}
          </label>
        ))}
      </fieldset>
      {info.family === 'asymmetric' ? (
        <Field label="Certificate request subject (optional)" hint="For example CN=Root CA 2026,O=Example,C=GB. A PKCS#10 request is made in the HSM when given." value={csrSubject} onChange={(e) => setCsrSubject(e.target.value)} />
      ) : null}
      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={ws.state === 'absent' || ws.state === 'unknown'} why={ws.state === 'absent' ? `Connect token “${ws.label}” first.` : null} text="Plan the key generation" />
    </form>
  );
}
