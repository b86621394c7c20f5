import { useState, type FormEvent } from 'react';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { useAction } from '../../../hooks/useAction';
import { useCeremony } from '../../../stores/ceremony';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { FULL_CAST, namedRows, PeopleEditor, rowsFor, type PersonRow } from './PeopleEditor';
import { PlanSubmit } from './PlanSubmit';

/**
 * Enrolment: people added (each enrols with their own card in the ceremony), people retired. The
 * custodians already enrolled approve the change; on a record nobody is enrolled in yet (the demo
 * token's practice record), the newcomers are the whole cast.
 */
export function EnrolmentForm({ def }: { def: DefinitionView }) {
  const record = useCeremony((s) => s.record);
  const ws = useWorkstation();
  const active = record?.people.filter((p) => p.status === 'active') ?? [];
  const [people, setPeople] = useState<PersonRow[]>(() => rowsFor(active.length === 0 ? FULL_CAST : ['custodian']));
  const [retire, setRetire] = useState<string[]>([]);
  const [cast, setCast] = useCast();
  const { busy, error, run } = useAction();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (ws.state !== 'ready' && ws.state !== 'login') return;
    const session = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    const named = namedRows(people);
    const r = await run(() =>
      useCeremony.getState().plan({
        ...session,
        definition: def.id,
        params: { add: named.map((p) => ({ name: p.name.trim(), roles: p.roles, credential: p.credential })), retire },
        participants: participantsOf(cast),
      }),
    );
    if (r?.ok) useCeremony.getState().rememberSetup(session, Object.fromEntries(named.map((p) => [p.name.trim(), p.credential])));
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the enrolment">
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      {active.length === 0 ? (
        <p className="plan-sentence">
          Nobody is enrolled in “{record?.name}” yet: the people named below take part in this ceremony, each enrols with their own card, and the
          custodians among them approve.
        </p>
      ) : null}
      <PeopleEditor people={people} onChange={setPeople} legend="People to add (each enrols with their own card, or a passphrase, during the ceremony)" />
      {active.length > 0 ? (
        <fieldset className="roles">
          <legend>People to retire (their credentials can approve nothing afterwards)</legend>
          {active.map((p) => (
            <label key={p.id}>
              <input type="checkbox" checked={retire.includes(p.id)} onChange={() => setRetire(retire.includes(p.id) ? retire.filter((x) => x !== p.id) : [...retire, p.id])} aria-label={`Retire ${p.name}`} /> {p.name}
            </label>
          ))}
        </fieldset>
      ) : null}
      {active.length > 0 ? <Participants cast={cast} onChange={setCast} /> : null}
      <PlanSubmit busy={busy} error={error} disabled={ws.state === 'absent' || ws.state === 'unknown'} why={ws.state === 'absent' ? `Connect token “${ws.label}” first.` : null} text="Plan the enrolment" />
    </form>
  );
}
