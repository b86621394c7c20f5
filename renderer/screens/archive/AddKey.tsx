import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { PURPOSES, type Purpose } from '../../../shared/archive/policy';
import type { AddedVersion } from '../../../shared/contract';
import type { KeyEntry, TokenCapabilities, TokenRef } from '../../../shared/keys';
import type { AppError } from '../../../shared/result';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Field } from '../../components/Field';
import { useAction } from '../../hooks/useAction';
import { keyTypeWords, kindWords } from '../../keyWords';
import { api, call } from '../../api';
import { useArchive, type HsmReadiness } from '../../stores/archive';
import { HsmNotice } from './HsmNotice';
import { PURPOSE_WORDS, STATE_WORDS } from './words';
import { checkValueText } from '../../../shared/check-value';

const OWN_KEY = /^custos-(archive-kek|archive-mac|audit)\//;

/** Why a key on the token cannot be archived, in words; null when it can. */
export function notArchivable(k: KeyEntry, caps: TokenCapabilities | null): string | null {
  if (OWN_KEY.test(k.label)) return 'This is one of the archive’s own keys; back it up with a split-knowledge backup instead.';
  if (k.kind === 'public') return 'A public key only: there is nothing secret to archive.';
  if (k.extractable === false) return 'It never leaves the token (not extractable), so it cannot be archived.';
  if (k.extractable === null) return 'The token does not say whether this key may leave it.';
  if (k.keyType === 'other' || k.keyType === null) return 'The archive does not support this key type.';
  if ((k.kind === 'pair' || k.kind === 'private') && caps && caps.wrapProbe.aesKwp?.wrap !== 'any') {
    return 'Private keys are archived only on tokens whose AES key wrap with padding follows RFC 5649 for every length; this token’s does not, so the archived copy could not be read elsewhere.';
  }
  return null;
}

function defaultPurpose(k: KeyEntry): Purpose {
  const u = k.usage;
  if (u.wrap || u.unwrap) return 'key-wrapping';
  if (u.derive) return 'master-key';
  if ((u.sign || u.verify) && k.kind === 'secret') return 'authentication';
  if (u.sign || u.verify) return 'signature';
  return 'data-encryption';
}

/** "Archive a key from the token": choose an extractable key, describe it, confirm. */
export function AddKey({ hsm }: { hsm: HsmReadiness }) {
  const ref = hsm.state === 'ready' ? hsm.ref : null;
  return (
    <section className="panel" aria-labelledby="add-h">
      <h2 id="add-h">Archive a key from the token</h2>
      <p className="panel-intro muted">
        The key is wrapped under the Archive KEK inside the HSM and stored wrapped; its check value or fingerprint is recorded. The key stays
        on the token as well.
      </p>
      <HsmNotice hsm={hsm} toDo="archive keys" testId="add-login-needed" />
      {ref && hsm.state === 'ready' ? <AddForm key={`${ref.module}|${ref.token}`} tokenRef={ref} tokenLabel={hsm.label} /> : null}
    </section>
  );
}

function AddForm({ tokenRef, tokenLabel }: { tokenRef: TokenRef; tokenLabel: string }) {
  const ids = useId();
  const [keys, setKeys] = useState<KeyEntry[] | null>(null);
  const [caps, setCaps] = useState<TokenCapabilities | null>(null);
  const [listError, setListError] = useState<AppError | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const [label, setLabel] = useState('');
  const [purpose, setPurpose] = useState<Purpose>('data-encryption');
  const [tags, setTags] = useState('');
  const [description, setDescription] = useState('');
  const [activate, setActivate] = useState(true);
  const [since, setSince] = useState('');
  const [confirming, setConfirming] = useState(false);
  const { busy, error, run } = useAction();
  const [done, setDone] = useState<AddedVersion | null>(null);
  /** What the archive already holds under the label: the next version number and the active one. */
  const [existing, setExisting] = useState<{ next: number; active: number | null } | null>(null);
  const sentenceRef = useRef<HTMLParagraphElement>(null);
  const doneRef = useRef<HTMLParagraphElement>(null);

  const { module, token } = tokenRef;
  useEffect(() => {
    let live = true;
    void (async () => {
      const ref = { module, token };
      const [k, c] = await Promise.all([call(api['keys.list'](ref)), call(api['keys.capabilities'](ref))]);
      if (!live) return;
      if (k.ok) setKeys(k.value);
      else setListError(k.error);
      if (c.ok) setCaps(c.value);
    })();
    return () => {
      live = false;
    };
  }, [module, token]);
  useEffect(() => {
    if (confirming) sentenceRef.current?.focus();
  }, [confirming]);
  useEffect(() => {
    if (done) doneRef.current?.focus();
  }, [done]);

  const key = keys?.find((k) => k.uri === chosen) ?? null;
  const choose = (k: KeyEntry) => {
    setChosen(k.uri);
    setLabel(k.label);
    setPurpose(defaultPurpose(k));
    setConfirming(false);
    setDone(null);
  };
  const today = new Date().toISOString().slice(0, 10);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!key) return;
    if (!confirming) {
      // What the archive already holds under this label decides what the sentence says.
      const found = await run(() => api['archive.search']({ label: label.trim(), limit: 200 }));
      if (!found?.ok) return;
      const versions = found.value.items;
      setExisting(
        versions.length ? { next: Math.max(...versions.map((v) => v.version)) + 1, active: versions.find((v) => v.state === 'active')?.version ?? null } : null,
      );
      setConfirming(true);
      return;
    }
    const r = await run(() =>
      useArchive.getState().add({
        ...tokenRef,
        key: { label: key.label, idHex: key.idHex.toLowerCase(), kind: key.kind === 'secret' ? 'secret' : 'private' },
        label: label.trim(),
        purpose,
        tags: tags
          .split(',')
          .map((t) => t.trim().toLowerCase())
          .filter(Boolean),
        ...(description.trim() ? { description: description.trim() } : {}),
        activate,
        ...(activate && since ? { activationDate: `${since}T00:00:00.000Z` } : {}),
      }),
    );
    if (!r) return;
    setConfirming(false);
    if (!r.ok) return;
    setDone(r.value);
    setChosen(null);
  };

  if (listError) return <ErrorNotice error={listError} title="The keys on the token could not be read" />;
  if (!keys) return <p role="status">Reading the keys on “{tokenLabel}”…</p>;

  const sentence = key ? addSentence({ key, tokenLabel, label: label.trim(), purpose, activate, since, existing }) : '';

  return (
    <>
      {done ? (
        <div className="notice notice-ok" data-testid="added">
          <p className="status-ok" role="status" tabIndex={-1} ref={doneRef}>
            Archived “{done.label}”, version {done.version} ({STATE_WORDS[done.state].name}).
            {done.checkValue ? ` Check value ${checkValueText(done.checkValue)}.` : ''}
          </p>
          <button
            type="button"
            onClick={() => {
              const st = useArchive.getState();
              st.setTask('search');
              void st.open(done.versionId);
            }}
          >
            Open the archived version
          </button>
        </div>
      ) : null}
      <form className="wizard-step" aria-label="Archive a key" onSubmit={submit}>
        <fieldset className="choices">
          <legend>Which key on “{tokenLabel}”?</legend>
          {keys.length === 0 ? <p>There are no keys on this token.</p> : null}
          {keys.map((k) => {
            const why = notArchivable(k, caps);
            const on = k.uri === chosen;
            return (
              <label key={k.uri} className={`choice ${on ? 'choice-on' : ''} ${why ? 'choice-disabled' : ''}`}>
                <input type="radio" name={`${ids}-key`} checked={on} disabled={why !== null || busy} onChange={() => choose(k)} />
                <span>
                  <span className="choice-title">{k.label || '(no label)'}</span>
                  <span className="choice-note">
                    {keyTypeWords(k)} · {kindWords(k.kind)}
                  </span>
                  {why ? <span className="choice-note choice-why">{why}</span> : null}
                </span>
              </label>
            );
          })}
        </fieldset>
        {key ? (
          <div className="add-fields">
            <Field label="Label in the archive" hint="New label: a new key. An archived key’s label: a new version of it." value={label} maxLength={128} required onChange={(e) => setLabel(e.target.value)} disabled={busy} />
            <div className="field">
              <label htmlFor={`${ids}-purpose`}>Purpose</label>
              <select id={`${ids}-purpose`} value={purpose} disabled={busy} aria-describedby={`${ids}-purpose-hint`} onChange={(e) => setPurpose(e.target.value as Purpose)}>
                {PURPOSES.map((p) => (
                  <option key={p} value={p}>
                    {PURPOSE_WORDS[p]}
                  </option>
                ))}
              </select>
              <p id={`${ids}-purpose-hint`} className="hint">
                Sets the cryptoperiod (NIST SP 800-57 Table 1) and the old-data question.
              </p>
            </div>
            <Field label="Tags" hint="Separated by commas, e.g. payments, eu" value={tags} maxLength={400} onChange={(e) => setTags(e.target.value)} disabled={busy} />
            <Field label="Description (optional)" value={description} maxLength={500} onChange={(e) => setDescription(e.target.value)} disabled={busy} />
            <label className="check">
              <input type="checkbox" checked={activate} disabled={busy} onChange={(e) => setActivate(e.target.checked)} /> Make this version the active one
            </label>
            {activate ? (
              <Field
                label="In use since (optional, UTC)"
                hint="If the key already protected data before today, give the day it started, so the old-data question finds it."
                type="date"
                max={today}
                value={since}
                onChange={(e) => setSince(e.target.value)}
                disabled={busy}
              />
            ) : null}
          </div>
        ) : null}
        {key && confirming ? (
          <div className="subpanel">
            <h3>Check, then confirm</h3>
            <p className="confirm-sentence" tabIndex={-1} ref={sentenceRef} data-testid="add-sentence">
              {sentence}
            </p>
          </div>
        ) : null}
        {key ? (
          <div className="toolbar">
            <button type="submit" className="primary" disabled={busy || label.trim() === ''}>
              {busy ? (confirming ? 'Archiving…' : 'Reading the archive…') : confirming ? 'Archive the key' : 'Archive…'}
            </button>
            {confirming ? (
              <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
                Cancel
              </button>
            ) : null}
          </div>
        ) : null}
        {error ? <ErrorNotice error={error} title="The key was not archived" /> : null}
      </form>
    </>
  );
}

function addSentence(a: {
  key: KeyEntry;
  tokenLabel: string;
  label: string;
  purpose: Purpose;
  activate: boolean;
  since: string;
  existing: { next: number; active: number | null } | null;
}): string {
  const as = a.label === a.key.label ? '' : ` under the label “${a.label}”`;
  const what = a.existing ? `as version ${a.existing.next} of the archived key` : 'as a new archived key';
  const first = `Archive the key “${a.key.label}” (${keyTypeWords(a.key)}) from token “${a.tokenLabel}”${as} ${what}, for ${PURPOSE_WORDS[a.purpose].toLowerCase()}.`;
  if (!a.activate) return `${first} It is archived as not yet active.`;
  const active = a.existing?.active;
  return `${first} It becomes the active version${a.since ? `, in use since ${a.since}` : ''}${active ? `; version ${active}, active now, will be deactivated` : ''}.`;
}
