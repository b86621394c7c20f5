import { useId } from 'react';
import { CREDENTIAL_STRENGTH, ROLE_DUTIES, ROLES, type Role } from '../../../../shared/ceremony/roles';
import { Field } from '../../../components/Field';
import { roleTitle } from '../words';

// People to enrol (set-up, enrolment): a name, the roles they will hold, and how they prove who
// they are. Main checks every value (names told apart, roles the ceremony needs, the policy on
// passphrases); this only collects them.

export interface PersonRow {
  key: number;
  name: string;
  roles: Role[];
  credential: 'card' | 'passphrase';
}

/** A workstation's usual cast: an administrator, an operator, three custodians and a witness. */
export const FULL_CAST: Role[] = ['administrator', 'operator', 'custodian', 'custodian', 'custodian', 'witness'];

export const rowsFor = (roles: Role[]): PersonRow[] => roles.map((r, i) => ({ key: i, name: '', roles: [r], credential: 'card' }));

/** The rows that name someone (a row left without a name is an unused row, not a person). */
export const namedRows = (rows: PersonRow[]) => rows.filter((p) => p.name.trim() !== '');

export function PeopleEditor({ people, onChange, legend }: { people: PersonRow[]; onChange(next: PersonRow[]): void; legend: string }) {
  const ids = useId();
  const update = (key: number, change: Partial<PersonRow>) => onChange(people.map((p) => (p.key === key ? { ...p, ...change } : p)));
  const toggleRole = (p: PersonRow, r: Role) => update(p.key, { roles: p.roles.includes(r) ? p.roles.filter((x) => x !== r) : [...p.roles, r] });
  return (
    <fieldset className="people-set">
      <legend>{legend}</legend>
      <ol className="people">
        {people.map((p, i) => (
          <li key={p.key} className="person-row">
            <Field label={`Person ${i + 1}: name`} value={p.name} maxLength={64} autoComplete="off" onChange={(e) => update(p.key, { name: e.target.value })} />
            <fieldset className="roles">
              <legend>Roles of person {i + 1}</legend>
              {ROLES.filter((r) => r !== 'auditor').map((r) => (
                <label key={r} title={ROLE_DUTIES[r]}>
                  <input type="checkbox" checked={p.roles.includes(r)} onChange={() => toggleRole(p, r)} /> {roleTitle(r)}
                </label>
              ))}
            </fieldset>
            <div className="field">
              <label htmlFor={`${ids}-cred-${p.key}`}>Credential of person {i + 1}</label>
              <select id={`${ids}-cred-${p.key}`} value={p.credential} onChange={(e) => update(p.key, { credential: e.target.value as 'card' | 'passphrase' })} title={CREDENTIAL_STRENGTH[p.credential]}>
                <option value="card">Own card</option>
                <option value="passphrase">Passphrase (weaker)</option>
              </select>
            </div>
            <button type="button" className="danger-outline" onClick={() => onChange(people.filter((x) => x.key !== p.key))} aria-label={`Remove person ${i + 1}${p.name ? ` (${p.name})` : ''}`}>
              Remove
            </button>
          </li>
        ))}
      </ol>
      <button type="button" onClick={() => onChange([...people, { key: Math.max(0, ...people.map((x) => x.key)) + 1, name: '', roles: ['custodian'], credential: 'card' }])}>
        Add a person
      </button>
    </fieldset>
  );
}
