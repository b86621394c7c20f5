import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { OperatorPolicy, SlotEntry } from '../../../shared/contract';
import { describePinLimits, pinLengthProblem } from '../../../shared/pin-length';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Field } from '../../components/Field';
import { useAction } from '../../hooks/useAction';
import { useApp } from '../../stores/app';
import { useTokens } from '../../stores/tokens';

export function LoginForm({ slot }: { slot: SlotEntry & { token: NonNullable<SlotEntry['token']> } }) {
  const token = slot.token;
  const [pin, setPin] = useState('');
  const [role, setRole] = useState<'user' | 'so'>('user');
  // Set when "Log in" was pressed with a PIN of a length the token refuses: from then on the field
  // says what is wrong as the PIN is corrected.
  const [lengthShown, setLengthShown] = useState(false);
  const { busy, error, run, reset } = useAction();
  const pinRef = useRef<HTMLInputElement>(null);
  const loginRequested = useApp((s) => s.loginRequested);
  // Who logs in: a person from the workstation's register (operators and administrators). The
  // main process records them with every audited action on this token until logout, and refuses
  // the login without one where the record is a production record.
  const [operators, setOperators] = useState<OperatorPolicy | null>(null);
  const [person, setPerson] = useState('');
  const [actingAs, setActingAs] = useState<string | null>(null);
  const personId = useId();

  useEffect(() => {
    let live = true;
    void api['session.operators']({}).then((r) => {
      if (live && r.ok) setOperators(r.value);
    });
    return () => {
      live = false;
    };
  }, [token.uri]);

  // Leaving the token (or its step) drops any PIN still typed and the last error.
  useEffect(() => {
    setPin('');
    setLengthShown(false);
    reset();
  }, [token.uri, reset]);

  // The token's own limits (CK_TOKEN_INFO ulMinPinLen/ulMaxPinLen): on a real card a PIN of the
  // wrong length still costs one of its few tries, so such a PIN is never sent (main checks again).
  const lengthProblem = pin.length > 0 ? pinLengthProblem(pin, token) : null;

  // Sent here by "Go to log in" from another screen: start in the PIN field.
  useEffect(() => {
    if (!loginRequested) return;
    useApp.getState().loginHandled();
    pinRef.current?.focus();
  }, [loginRequested]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    if (lengthProblem) {
      setLengthShown(true);
      pinRef.current?.focus();
      return;
    }
    const entered = pin;
    setPin('');
    const r = await run(() => api['session.login']({ module: slot.module, token: token.uri, pin: entered, role, ...(person ? { person } : {}) }));
    if (!r) return;
    if (!r.ok) {
      pinRef.current?.focus();
      // A failed login may have changed the token's PIN flags (tries left, locked): read them again.
      void useTokens.getState().refresh();
      return;
    }
    setActingAs(operators?.people.find((p) => p.person === person)?.name ?? null);
    useTokens.getState().apply(r.value);
  };

  const logout = async () => {
    const r = await run(() => api['session.logout']({ module: slot.module, token: token.uri }));
    if (r?.ok) useTokens.getState().apply(r.value);
  };

  if (token.loggedIn) {
    return (
      <div className="login">
        <p className="status-ok" role="status">
          Logged in as {token.loggedIn === 'so' ? 'security officer' : 'user'}
          {actingAs ? `; ${actingAs} is recorded as acting` : ''}.
        </p>
        <button type="button" onClick={() => void logout()} disabled={busy}>
          Log out
        </button>
        {error ? <ErrorNotice error={error} /> : null}
      </div>
    );
  }

  const locked = role === 'user' ? token.flags.userPinLocked : token.flags.soPinLocked;
  return (
    <form className="form login" onSubmit={submit} aria-label={`Log in to ${token.label}`}>
      <fieldset className="roles">
        <legend>Log in as</legend>
        <label>
          <input type="radio" name="role" value="user" checked={role === 'user'} onChange={() => setRole('user')} /> User (crypto officer)
        </label>
        <label>
          <input type="radio" name="role" value="so" checked={role === 'so'} onChange={() => setRole('so')} /> Security officer
        </label>
      </fieldset>
      {operators && operators.people.length > 0 ? (
        <div className="field">
          <label htmlFor={personId}>Who is logging in{operators.required ? '' : ' (optional)'}</label>
          <select id={personId} value={person} onChange={(e) => setPerson(e.target.value)} required={operators.required} aria-describedby={`${personId}-hint`}>
            <option value="">{operators.required ? 'Choose your name' : 'Nobody named'}</option>
            {operators.people.map((p) => (
              <option key={p.person} value={p.person}>
                {p.name} ({p.roles.join(', ')})
              </option>
            ))}
          </select>
          <p id={`${personId}-hint`} className="hint">
            The audit log records this person with everything done on this token until logout.
          </p>
        </div>
      ) : null}
      {token.flags.protectedAuthenticationPath ? (
        <p className="hint">This token has its own PIN pad: type the PIN here (PIN-pad entry is not supported yet).</p>
      ) : null}
      <Field
        ref={pinRef}
        label={role === 'so' ? 'SO PIN' : 'PIN'}
        type="password"
        autoComplete="off"
        value={pin}
        onChange={(e) => setPin(e.target.value)}
        required
        disabled={locked}
        aria-invalid={lengthShown && lengthProblem !== null}
        hint={describePinLimits(token) ?? undefined}
      />
      {lengthShown && lengthProblem ? (
        <p className="field-error" role="alert">
          {lengthProblem} No attempt was used.
        </p>
      ) : null}
      <button type="submit" className="primary" disabled={busy || locked || pin.length === 0 || (operators?.required === true && !person)}>
        {busy ? 'Logging in…' : 'Log in'}
      </button>
      {locked ? <p className="field-error">This PIN is locked. The security officer must unlock it.</p> : null}
      {error ? <ErrorNotice error={error} title="Login failed" /> : null}
    </form>
  );
}
