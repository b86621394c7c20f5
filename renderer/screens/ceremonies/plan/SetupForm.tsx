import { useId, useState, type FormEvent } from 'react';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { CREDENTIAL_STRENGTH, ROLE_DUTIES, ROLES, type Role } from '../../../../shared/ceremony/roles';
import { Field } from '../../../components/Field';
import { useAction } from '../../../hooks/useAction';
import { useApp } from '../../../stores/app';
import { useCeremony } from '../../../stores/ceremony';
import { presentSlots, slotKey, useTokens } from '../../../stores/tokens';
import { policyLines, roleTitle } from '../words';
import { PlanSubmit } from './PlanSubmit';

interface PersonRow {
  key: number;
  name: string;
  roles: Role[];
  credential: 'card' | 'passphrase';
}

const START: Array<Role> = ['administrator', 'operator', 'custodian', 'custodian', 'custodian', 'witness'];

/** The workstation set-up: the record's name, the workstation token, practice or not, the people. */
export function SetupForm({ def }: { def: DefinitionView }) {
  const listing = useTokens((s) => s.listing);
  // Before a record exists, main answers with the policy a new workstation starts with.
  const proposed = useCeremony((s) => s.record?.policy ?? null);
  const definitions = useCeremony((s) => s.definitions);
  const titleOf = (type: string) => definitions?.find((d) => d.type === type)?.title ?? type;
  const go = useApp((s) => s.go);
  const slots = presentSlots(listing);
  const [recordName, setRecordName] = useState('');
  const [tokenKey, setTokenKey] = useState<string | null>(null);
  const [practice, setPractice] = useState<boolean | null>(null);
  const [people, setPeople] = useState<PersonRow[]>(() => START.map((r, i) => ({ key: i, name: '', roles: [r], credential: 'card' })));
  const { busy, error, run } = useAction();
  const ids = useId();

  // The token: the one chosen, else the first logged in as user, else the first present.
  const chosen = slots.find((s) => slotKey(s) === tokenKey) ?? slots.find((s) => s.token?.loggedIn === 'user') ?? slots[0] ?? null;
  const isPractice = practice ?? chosen?.token?.demo ?? false;

  const update = (key: number, change: Partial<PersonRow>) => setPeople((ps) => ps.map((p) => (p.key === key ? { ...p, ...change } : p)));
  const toggleRole = (p: PersonRow, r: Role) => update(p.key, { roles: p.roles.includes(r) ? p.roles.filter((x) => x !== r) : [...p.roles, r] });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!chosen?.token) return;
    const token = { module: chosen.module, token: chosen.token.uri };
    // A row left without a name is an unused row, not a person.
    const named = people.filter((p) => p.name.trim() !== '');
    const r = await run(() =>
      useCeremony.getState().plan({
        ...token,
        definition: def.id,
        params: { recordName: recordName.trim(), token: chosen.token!.uri, practice: isPractice, people: named.map((p) => ({ name: p.name.trim(), roles: p.roles, credential: p.credential })) },
        participants: [],
      }),
    );
    if (r?.ok) useCeremony.getState().rememberSetup(token, Object.fromEntries(named.map((p) => [p.name.trim(), p.credential])));
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the workstation set-up">
      <div className="add-fields">
        <Field label="Record name" hint="Shown on every report, e.g. “Payments HSM, London”." value={recordName} maxLength={120} onChange={(e) => setRecordName(e.target.value)} />
      </div>

      <fieldset className="choices">
        <legend>Workstation token (the HSM that will hold the archive’s keys)</legend>
        {slots.length === 0 ? <p>No token is present. Attach the HSM (or create the demo token on the Tokens screen).</p> : null}
        {slots.map((s) => {
          const t = s.token!;
          const on = chosen !== null && slotKey(chosen) === slotKey(s);
          return (
            <label key={slotKey(s)} className={`choice ${on ? 'choice-on' : ''}`}>
              <input type="radio" name={`${ids}-token`} checked={on} onChange={() => setTokenKey(slotKey(s))} />
              <span>
                <span className="choice-title">
                  {t.label} {t.demo ? <span className="badge badge-demo">demo — not for production</span> : null}{' '}
                  {t.loggedIn === 'user' ? <span className="badge badge-ok">logged in</span> : <span className="badge badge-info">not logged in</span>}
                </span>
                <span className="choice-note">
                  {t.manufacturer} · {t.model} · serial {t.serial}
                </span>
              </span>
            </label>
          );
        })}
      </fieldset>
      {chosen?.token && chosen.token.loggedIn !== 'user' ? (
        <div className="notice notice-warn" role="status" data-testid="setup-login-needed">
          <p>
            The set-up makes the archive’s keys in <strong>“{chosen.token.label}”</strong>: log in to it as user first.
          </p>
          <button
            type="button"
            className="primary"
            onClick={() => {
              useTokens.getState().select(slotKey(chosen));
              go('tokens', { login: true });
            }}
          >
            Log in to “{chosen.token.label}”
          </button>
        </div>
      ) : null}

      <label className="check">
        <input type="checkbox" checked={isPractice} onChange={(e) => setPractice(e.target.checked)} />
        Practice record (a rehearsal: one approval is enough, and its bundles and shares are marked PRACTICE and refused by a production record)
      </label>
      {proposed ? (
        <div className="policy-words" data-testid="policy-words">
          <span className="label">The quorum policy the custodians will approve at the end of the set-up:</span>
          <ul className="hint">
            {policyLines(proposed, isPractice, titleOf).map((l) => (
              <li key={l}>{l}</li>
            ))}
          </ul>
        </div>
      ) : null}

      <fieldset className="people-set">
        <legend>The people (each proves who they are with their own card, or a passphrase)</legend>
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
                  <option value="card">Own card (recommended)</option>
                  <option value="passphrase">Passphrase (weaker)</option>
                </select>
              </div>
              <button type="button" className="danger-outline" onClick={() => setPeople((ps) => ps.filter((x) => x.key !== p.key))} aria-label={`Remove person ${i + 1}${p.name ? ` (${p.name})` : ''}`}>
                Remove
              </button>
            </li>
          ))}
        </ol>
        <button type="button" onClick={() => setPeople((ps) => [...ps, { key: Math.max(0, ...ps.map((x) => x.key)) + 1, name: '', roles: ['custodian'], credential: 'card' }])}>
          Add a person
        </button>
      </fieldset>

      <PlanSubmit busy={busy} error={error} disabled={!chosen} why={!chosen ? 'Choose the workstation token first.' : null} text="Plan the set-up" />
    </form>
  );
}
