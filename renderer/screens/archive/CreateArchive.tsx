import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Field } from '../../components/Field';
import { useAction } from '../../hooks/useAction';
import { useApp } from '../../stores/app';
import { useArchive } from '../../stores/archive';
import { currentSlot, useTokens } from '../../stores/tokens';

/** No archive yet: what it is, and creating it (with its three keys) on the chosen token. */
export function CreateArchive({ path }: { path: string }) {
  const { listing, selected } = useTokens();
  const go = useApp((s) => s.go);
  const slot = currentSlot(listing, selected);
  const [name, setName] = useState('Key archive');
  const [confirming, setConfirming] = useState(false);
  const { busy, error, run, reset } = useAction();
  const sentence = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (confirming) sentence.current?.focus();
  }, [confirming]);

  const ready = slot !== null && slot.token.loggedIn === 'user';
  const tokenLabel = slot?.token.label ?? '';

  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (!slot) return;
    const r = await run(() => useArchive.getState().init({ module: slot.module, token: slot.token.uri }, name.trim()));
    if (r && !r.ok) setConfirming(false);
  };

  return (
    <section className="panel" aria-labelledby="create-h">
      <h2 id="create-h">There is no key archive yet</h2>
      <div className="prose">
        <p>
          The archive keeps copies of keys that must outlive the HSM they were made in — so that data encrypted years ago can still
          be decrypted. Each archived key is wrapped (encrypted) under the <strong>Archive KEK</strong> inside the HSM, sealed with the{' '}
          <strong>Archive MAC key</strong>, and every change is written to an audit log signed by the <strong>audit signing key</strong>.
          The archive never holds a key in plaintext.
        </p>
        <p>
          Searching the archive needs no HSM. Archiving keys and changing their state need the token that holds these three keys, logged
          in.
        </p>
        <p className="muted">
          The archive will be the file <code className="wrap">{path}</code>.
        </p>
      </div>

      {!slot ? (
        <div className="notice notice-warn" role="status">
          <p>No token is present. The archive’s keys are made in a token: choose one first.</p>
          <button type="button" onClick={() => go('tokens')}>
            Go to Tokens
          </button>
        </div>
      ) : !ready ? (
        <div className="notice notice-warn" role="status" data-testid="archive-login-needed">
          <p>
            To create the archive on token <strong>“{tokenLabel}”</strong>, log in to it as user.
          </p>
          <button type="button" className="primary" onClick={() => go('tokens', { login: true })}>
            Go to log in
          </button>
        </div>
      ) : null}

      {!confirming ? (
        <form
          className="form"
          aria-label="Create the archive"
          onSubmit={(e) => {
            e.preventDefault();
            reset();
            setConfirming(true);
          }}
        >
          <Field label="Archive name" hint="Usually this workstation’s name; it appears in exports and the audit log." value={name} maxLength={100} onChange={(e) => setName(e.target.value)} />
          <div>
            <button type="submit" className="primary" disabled={!ready || name.trim() === ''}>
              Create the archive…
            </button>
          </div>
        </form>
      ) : (
        <form className="subpanel" aria-label="Confirm creating the archive" onSubmit={create}>
          <h3>Check, then confirm</h3>
          <p className="confirm-sentence" tabIndex={-1} ref={sentence} data-testid="create-sentence">
            Create the archive “{name.trim()}” with its keys on token “{tokenLabel}”.
          </p>
          <p>Three keys will be generated inside the token:</p>
          <ul>
            <li>
              <strong>Archive KEK</strong> (AES-256) — wraps every archived key. It can leave the token only wrapped, for its backup.
            </li>
            <li>
              <strong>Archive MAC key</strong> (HMAC-SHA256) — seals every archive record against changes.
            </li>
            <li>
              <strong>Audit signing key</strong> (EC P-256) — signs the audit log. It never leaves the token.
            </li>
          </ul>
          <p className="hint">
            Back up the Archive KEK and MAC key with a split-knowledge backup before relying on the archive: without them, nothing in it
            can be read back.
          </p>
          <div className="toolbar">
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Creating the archive…' : 'Create the archive'}
            </button>
            <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {busy ? (
        <p role="status" className="status-busy">
          Generating the keys in “{tokenLabel}”…
        </p>
      ) : null}
      {error ? <ErrorNotice error={error} title="The archive was not created" /> : null}
    </section>
  );
}
