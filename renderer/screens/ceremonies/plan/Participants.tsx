import { useState } from 'react';
import type { RecordView } from '../../../../shared/ceremony/contract';
import { ROLE_DUTIES, type Role } from '../../../../shared/ceremony/roles';
import { HsmNotice } from '../../archive/HsmNotice';
import { tokenReadiness, useCeremony, type WorkstationToken } from '../../../stores/ceremony';
import { useTokens } from '../../../stores/tokens';
import { roleTitle } from '../words';

export type Cast = Record<string, Role[]>;

const active = (record: RecordView | null) => record?.people.filter((p) => p.status === 'active') ?? [];

/** Everyone enrolled takes part with every role they hold, until someone is unticked. */
export function useCast(): [Cast, (next: Cast) => void] {
  const record = useCeremony((s) => s.record);
  const [cast, setCast] = useState<Cast | null>(null);
  const initial: Cast = Object.fromEntries(active(record).map((p) => [p.id, p.roles.filter((r) => r !== 'auditor')]));
  return [cast ?? initial, setCast];
}

/** The cast as the plan request names it (people without a role do not take part). */
export function participantsOf(cast: Cast): Array<{ person: string; roles: Role[] }> {
  return Object.entries(cast)
    .filter(([, roles]) => roles.length > 0)
    .map(([person, roles]) => ({ person, roles }));
}

/** Who takes part, and in which of their roles: chosen from the register. */
export function Participants({ cast, onChange }: { cast: Cast; onChange(next: Cast): void }) {
  const record = useCeremony((s) => s.record);
  const people = active(record);
  const toggle = (id: string, r: Role) => {
    const now = cast[id] ?? [];
    onChange({ ...cast, [id]: now.includes(r) ? now.filter((x) => x !== r) : [...now, r] });
  };
  return (
    <fieldset className="people-set" data-testid="participants">
      <legend>Who takes part (from the register), and in which role</legend>
      {people.length === 0 ? <p>Nobody is enrolled in this workstation’s register.</p> : null}
      <ul className="plain cast">
        {people.map((p) => (
          <li key={p.id} className="cast-row">
            <span className="cast-name">
              {p.name}
              <span className="choice-note">{p.credential ? (p.credential.kind === 'card' ? `card ${p.credential.card?.serial ?? ''}` : 'passphrase') : 'no credential'}</span>
            </span>
            <fieldset className="roles">
              <legend className="sr-only">Roles of {p.name} in this ceremony</legend>
              {p.roles
                .filter((r) => r !== 'auditor')
                .map((r) => (
                  <label key={r} title={ROLE_DUTIES[r]}>
                    <input type="checkbox" checked={(cast[p.id] ?? []).includes(r)} onChange={() => toggle(p.id, r)} aria-label={`${p.name} as ${roleTitle(r)}`} /> {roleTitle(r)}
                  </label>
                ))}
            </fieldset>
          </li>
        ))}
      </ul>
    </fieldset>
  );
}

/** The workstation token (named by the record), and the way to log in when it is not. */
export function useWorkstation(): WorkstationToken {
  const record = useCeremony((s) => s.record);
  const setupToken = useCeremony((s) => s.setupToken);
  const listing = useTokens((s) => s.listing);
  return tokenReadiness(record?.exists ? record.token : (setupToken?.token ?? null), listing);
}

export function WorkstationNotice({ ws, toDo }: { ws: WorkstationToken; toDo: string }) {
  if (ws.state === 'ready') return null;
  return <HsmNotice hsm={ws.state === 'login' ? { state: 'login', label: ws.label, slot: ws.slot } : ws} toDo={toDo} testId="workstation-login-needed" />;
}
