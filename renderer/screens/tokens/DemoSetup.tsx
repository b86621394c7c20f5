import { useState, type FormEvent } from 'react';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Field } from '../../components/Field';
import { useAction } from '../../hooks/useAction';
import { useApp } from '../../stores/app';
import { useTokens } from '../../stores/tokens';

/** Offers the SoftHSM2 demo token when no HSM is configured (the embedded default). */
export function DemoSetup() {
  const info = useApp((s) => s.info);
  const [soPin, setSoPin] = useState('');
  const [userPin, setUserPin] = useState('');
  const [confirm, setConfirm] = useState('');
  const { busy, error, run } = useAction();
  if (!info) return null;
  const demo = info.demo;

  if (!demo.available) {
    return (
      <section className="panel" aria-labelledby="demo-h">
        <h2 id="demo-h">Demo token</h2>
        <p>The demo token is not available here: {demo.reason}</p>
      </section>
    );
  }

  const mismatch = confirm.length > 0 && confirm !== userPin;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (mismatch || busy) return;
    const r = await run(() => api['tokens.createDemo']({ soPin, userPin }));
    // PINs leave the form as soon as the request is answered, whatever the outcome.
    setSoPin('');
    setUserPin('');
    setConfirm('');
    if (!r?.ok) return;
    await useApp.getState().load();
    await useTokens.getState().refresh();
  };

  return (
    <section className="panel" aria-labelledby="demo-h">
      <h2 id="demo-h">Start with the demo token</h2>
      <p>
        No HSM or smartcard is configured yet. Custos can create a <strong>demo token</strong> (SoftHSM2) in its data
        folder so that you can walk through every step. <strong>Demo — not for production:</strong> its keys are files on
        this computer's disk.
      </p>
      <form onSubmit={submit} className="form" aria-label="Create the demo token">
        <Field
          label="Security officer (SO) PIN"
          hint="Needed to reset the user PIN. At least 4 characters."
          type="password"
          autoComplete="off"
          value={soPin}
          minLength={4}
          required
          onChange={(e) => setSoPin(e.target.value)}
        />
        <Field
          label="User PIN"
          hint="Used to log in. At least 4 characters."
          type="password"
          autoComplete="off"
          value={userPin}
          minLength={4}
          required
          onChange={(e) => setUserPin(e.target.value)}
        />
        <Field
          label="User PIN again"
          type="password"
          autoComplete="off"
          value={confirm}
          required
          aria-invalid={mismatch}
          onChange={(e) => setConfirm(e.target.value)}
        />
        {mismatch ? <p className="field-error">The two user PINs differ.</p> : null}
        <button type="submit" className="primary" disabled={busy || mismatch}>
          {busy ? 'Creating…' : 'Create demo token'}
        </button>
      </form>
      {error ? <ErrorNotice error={error} title="The demo token was not created" /> : null}
    </section>
  );
}
