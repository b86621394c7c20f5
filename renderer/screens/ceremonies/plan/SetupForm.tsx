import { useId, useState, type FormEvent } from 'react';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { Field } from '../../../components/Field';
import { useAction } from '../../../hooks/useAction';
import { useApp } from '../../../stores/app';
import { useCeremony } from '../../../stores/ceremony';
import { presentSlots, slotKey, useTokens } from '../../../stores/tokens';
import { policyLines } from '../words';
import { FULL_CAST, namedRows, PeopleEditor, rowsFor, type PersonRow } from './PeopleEditor';
import { PlanSubmit } from './PlanSubmit';


/** The workstation set-up: the record's name, the workstation token, practice or not, the people. */
export function SetupForm({ def }: { def: DefinitionView }) {
  const listing = useTokens((s) => s.listing);
  // Before a record exists, main answers with the policy a new workstation starts with.
  const proposed = useCeremony((s) => s.record?.policy ?? null);
  const definitions = useCeremony((s) => s.definitions);
  const titleOf = (type: string) => definitions?.find((d) => d.type === type)?.title ?? type;
  const go = useApp((s) => s.go);
  // An uninitialised token (SoftHSM's free slot, a blank card) can hold nothing yet.
  const slots = presentSlots(listing).filter((s) => s.token?.flags.initialized);
  const [recordName, setRecordName] = useState('');
  const [tokenKey, setTokenKey] = useState<string | null>(null);
  const [practice, setPractice] = useState<boolean | null>(null);
  const [people, setPeople] = useState<PersonRow[]>(() => rowsFor(FULL_CAST));
  const { busy, error, run } = useAction();
  const ids = useId();

  // The token: the one chosen, else the first logged in as user, else the first present.
  const chosen = slots.find((s) => slotKey(s) === tokenKey) ?? slots.find((s) => s.token?.loggedIn === 'user') ?? slots[0] ?? null;
  const isPractice = practice ?? chosen?.token?.demo ?? false;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!chosen?.token) return;
    const token = { module: chosen.module, token: chosen.token.uri };
    const named = namedRows(people);
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

      <PeopleEditor people={people} onChange={setPeople} legend="The people (each proves who they are with their own card, or a passphrase)" />

      <PlanSubmit busy={busy} error={error} disabled={!chosen} why={!chosen ? 'Choose the workstation token first.' : null} text="Plan the set-up" />
    </form>
  );
}
