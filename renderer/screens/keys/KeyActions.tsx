import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { KeyDetail } from '../../../shared/keys';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Field } from '../../components/Field';
import { TextBlock } from '../../components/TextBlock';
import { useAction } from '../../hooks/useAction';
import { keySelector, useKeys } from '../../stores/keys';
import { isWorkstationKey } from '../../../shared/workstation-keys';
import { planDestruction } from '../archive/DestroyLead';

type Action = 'export' | 'csr' | 'destroy';

/** What can be done with the inspected key; one action open at a time. */
export function KeyActions({ detail, tokenLabel, canChange }: { detail: KeyDetail; tokenLabel: string; canChange: boolean }) {
  const [open, setOpen] = useState<Action | null>(null);
  const panelId = useId();
  useEffect(() => setOpen(null), [detail.uri]);
  const ref = useKeys((s) => s.ref);
  // What "Save to file…" names: main exports or signs again from the token itself.
  const target = ref ? { module: ref.module, token: ref.token, key: keySelector(detail) } : null;

  const hasPublic = detail.kind === 'pair' || detail.kind === 'public';
  const hasPrivate = detail.kind === 'pair' || detail.kind === 'private';
  const actions: Array<{ id: Action; text: string; shown: boolean }> = [
    { id: 'export', text: 'Export public key', shown: hasPublic },
    { id: 'csr', text: 'Create CSR', shown: hasPrivate },
    // The workstation's own keys go only through the destruction ceremony (main refuses the plain
    // destroy with KEY_PROTECTED); every other key may go either way — see docs/ARCHITECTURE.md "Destruction".
    { id: 'destroy', text: 'Destroy…', shown: canChange && !isWorkstationKey(detail.label) },
  ];
  const ceremonyLead = (
    <button type="button" className="danger-outline" data-testid="destroy-ceremony" onClick={() => planDestruction({ destroyKey: detail.label })}>
      Destroy in a ceremony…
    </button>
  );

  return (
    <div className="key-actions">
      <div className="toolbar" role="group" aria-label="What to do with this key">
        {actions
          .filter((a) => a.shown)
          .map((a) => (
            <button
              key={a.id}
              type="button"
              className={`${a.id === 'destroy' ? 'danger-outline' : ''} ${open === a.id ? 'pressed' : ''}`}
              aria-expanded={open === a.id}
              aria-controls={panelId}
              onClick={() => setOpen(open === a.id ? null : a.id)}
            >
              {a.text}
            </button>
          ))}
        {canChange ? ceremonyLead : null}
      </div>
      {canChange && isWorkstationKey(detail.label) ? (
        <p className="hint" data-testid="protected-hint">
          This is one of the workstation’s own keys: it can be destroyed only in the destruction ceremony, under the custodians’ approvals and a witness.
        </p>
      ) : null}
      <div id={panelId}>
        {open === 'export' ? <ExportPublic key={detail.uri} target={target} /> : null}
        {open === 'csr' ? <CreateCsr key={detail.uri} label={detail.label} target={target} /> : null}
        {open === 'destroy' ? <DestroyKey key={detail.uri} detail={detail} tokenLabel={tokenLabel} onCancel={() => setOpen(null)} /> : null}
      </div>
    </div>
  );
}

type Target = { module: string; token: string; key: string } | null;

function ExportPublic({ target }: { target: Target }) {
  const [format, setFormat] = useState<'pem' | 'jwk'>('pem');
  const [text, setText] = useState<{ format: 'pem' | 'jwk'; text: string } | null>(null);
  const { busy, error, run } = useAction();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await run(() => useKeys.getState().exportPublic(format));
    if (r?.ok) setText({ format, text: r.value.text });
  };

  return (
    <form className="subpanel" onSubmit={submit} aria-label="Export the public key">
      <h3>Export the public key</h3>
      <p className="hint">The public key is not secret: give it to whoever must check this key’s signatures or encrypt to it.</p>
      <fieldset className="roles">
        <legend>Format</legend>
        <label>
          <input type="radio" name="pubformat" checked={format === 'pem'} onChange={() => setFormat('pem')} /> PEM (SubjectPublicKeyInfo)
        </label>
        <label>
          <input type="radio" name="pubformat" checked={format === 'jwk'} onChange={() => setFormat('jwk')} /> JWK (JSON Web Key)
        </label>
      </fieldset>
      <div>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Reading…' : 'Show public key'}
        </button>
      </div>
      {error ? <ErrorNotice error={error} title="The public key could not be exported" /> : null}
      {text ? (
        <TextBlock
          label={text.format === 'pem' ? 'Public key (PEM)' : 'Public key (JWK)'}
          text={text.text}
          {...(target ? { save: { artefact: { kind: 'public-key' as const, ...target, format: text.format }, what: 'public key' } } : {})}
        />
      ) : null}
    </form>
  );
}

function CreateCsr({ label, target }: { label: string; target: Target }) {
  const [subject, setSubject] = useState(`CN=${label}`);
  const [pem, setPem] = useState<string | null>(null);
  const [signed, setSigned] = useState('');
  const { busy, error, run } = useAction();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setPem(null);
    const r = await run(() => useKeys.getState().csr(subject.trim()));
    if (r?.ok) {
      setPem(r.value.pem);
      setSigned(subject.trim());
    }
  };

  return (
    <form className="subpanel" onSubmit={submit} aria-label="Create a certificate signing request">
      <h3>Create a certificate signing request (CSR)</h3>
      <p className="hint">
        The token signs the request with this key; the private key does not leave the token. Send the request to your certificate
        authority.
      </p>
      <Field
        label="Subject"
        hint="Attributes separated by commas, e.g. CN=Root CA 2026,O=Example,C=GB"
        value={subject}
        onChange={(e) => setSubject(e.target.value)}
        spellCheck={false}
        className="mono"
        required
        minLength={3}
        maxLength={1024}
      />
      <div>
        <button type="submit" className="primary" disabled={busy || subject.trim().length < 3}>
          {busy ? 'Signing in the token…' : 'Sign and create the CSR'}
        </button>
      </div>
      {error ? <ErrorNotice error={error} title="The CSR was not created" /> : null}
      {pem ? (
        <>
          <TextBlock
            label="Certificate signing request (PKCS#10, PEM)"
            text={pem}
            {...(target ? { save: { artefact: { kind: 'csr' as const, ...target, subject: signed }, what: 'certificate signing request' } } : {})}
          />
          <p className="hint">Saving has the token sign the request again, for the same key and subject; either copy is valid for your certificate authority.</p>
        </>
      ) : null}
    </form>
  );
}

function DestroyKey({ detail, tokenLabel, onCancel }: { detail: KeyDetail; tokenLabel: string; onCancel(): void }) {
  const [typed, setTyped] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const { busy, error, run, reset } = useAction();
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    input.current?.focus();
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    reset();
    // Checked here for a quick answer; main checks it again and is the one that counts.
    if (typed !== detail.label) {
      setMismatch(true);
      input.current?.focus();
      return;
    }
    setMismatch(false);
    // On success the key is gone and so is this form: the hook then changes nothing.
    await run(() => useKeys.getState().destroy(typed));
  };

  const what = detail.kind === 'pair' ? 'key pair (both the private and the public key)' : detail.kind === 'secret' ? 'secret key' : 'key';
  return (
    <form className="subpanel subpanel-danger" onSubmit={submit} aria-label="Destroy the key">
      <h3>Destroy “{detail.label}”</h3>
      <p>
        This removes the {what} “{detail.label}” from token “{tokenLabel}” for ever. <strong>It cannot be undone.</strong>
      </p>
      <p>
        {detail.kind === 'secret'
          ? 'Whatever was encrypted or wrapped under it can no longer be opened, and its MACs can no longer be checked.'
          : detail.kind === 'public'
            ? 'Signatures made with its private key can no longer be checked with this token.'
            : 'Nothing can be signed with it any more, and whatever was encrypted to it can no longer be opened.'}{' '}
        {detail.kind === 'public'
          ? null
          : detail.extractable === false
            ? 'It was never allowed to leave the token, so no backup of it can exist.'
            : 'Only a wrapped backup made earlier, if there is one, can bring it back.'}
      </p>
      <Field
        ref={input}
        label="Type the key’s label to confirm"
        hint={`Type exactly: ${detail.label}`}
        value={typed}
        onChange={(e) => {
          setTyped(e.target.value);
          setMismatch(false);
        }}
        autoComplete="off"
        spellCheck={false}
        aria-invalid={mismatch}
      />
      {mismatch ? (
        <p className="field-error" role="alert">
          That is not the key’s label, so nothing was destroyed. Type “{detail.label}” exactly: capitals and spaces count.
        </p>
      ) : null}
      <div className="toolbar">
        <button type="submit" className="danger" disabled={busy}>
          {busy ? 'Destroying…' : 'Destroy this key for ever'}
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>
          Keep the key
        </button>
      </div>
      {error ? <ErrorNotice error={error} title="The key was not destroyed" /> : null}
    </form>
  );
}
