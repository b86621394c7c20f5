import { useEffect, useId, useState, type FormEvent } from 'react';
import type { VersionSummary } from '../../../../shared/archive/types';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { KEY_TYPES, USAGE_WORDS, type KeyUsageName } from '../../../../shared/keys';
import { api, call } from '../../../api';
import { Field } from '../../../components/Field';
import { useAction } from '../../../hooks/useAction';
import { useCeremony, type PlanPrefill } from '../../../stores/ceremony';
import { StateBadge } from '../../archive/HsmNotice';
import { algorithmName, identityOf, STATE_WORDS } from '../../archive/words';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { PlanSubmit } from './PlanSubmit';

const USAGES: KeyUsageName[] = ['encrypt', 'sign', 'wrap', 'derive'];
/** The archive's version ids (the contract's archiveId). */
const VERSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

type Found = { state: 'none' } | { state: 'looking' } | { state: 'found'; v: VersionSummary } | { state: 'missing' };

/** "LABEL@N", an id, or a label alone (its newest version), as the archive finds it (archive/queries.ts). */
async function lookUp(text: string): Promise<Found> {
  const m = /^(.*)@(\d+)$/.exec(text);
  const label = m ? m[1]! : text;
  if (!m && VERSION_ID.test(text)) {
    const byId = await call(api['archive.version']({ versionId: text }));
    if (byId.ok) return { state: 'found', v: byId.value.summary };
  }
  if (!label || label.length > 128 || label.endsWith('*')) return { state: 'missing' };
  const r = await call(api['archive.search']({ label, sort: 'label', limit: 200 }));
  if (!r.ok) return { state: 'missing' };
  const mine = r.value.items.filter((v) => v.label === label);
  const v = m ? mine.find((x) => x.version === Number(m[2])) : mine.sort((a, b) => b.version - a.version)[0];
  return v ? { state: 'found', v } : { state: 'missing' };
}

/**
 * An archive retrieval: which version, why, into what. The purpose is a parameter like the others,
 * so it is in the ceremony fingerprint the custodians read aloud and approve: the approvals are for
 * this version and this purpose only.
 */
export function RetrievalForm({ def, prefill }: { def: DefinitionView; prefill?: PlanPrefill }) {
  const ws = useWorkstation();
  const ids = useId();
  const [version, setVersion] = useState(prefill?.version ?? '');
  const [purpose, setPurpose] = useState('');
  const [into, setInto] = useState<'session' | 'token' | 'export'>('session');
  const [target, setTarget] = useState<'kek' | 'publicKey'>('kek');
  const [kek, setKek] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [profile, setProfile] = useState('');
  const [allowWeaker, setAllowWeaker] = useState(false);
  const [maxUses, setMaxUses] = useState('');
  const [label, setLabel] = useState('');
  const [usages, setUsages] = useState<KeyUsageName[]>(['encrypt']);
  const [validDays, setValidDays] = useState('');
  const [found, setFound] = useState<Found>({ state: 'none' });
  const [cast, setCast] = useCast();
  const { busy, error, run } = useAction();

  // What the archive holds under the name typed: shown before planning, so the room sees the version.
  const wanted = version.trim();
  useEffect(() => {
    if (!wanted) {
      setFound({ state: 'none' });
      return;
    }
    let live = true;
    setFound({ state: 'looking' });
    const t = setTimeout(() => {
      void lookUp(wanted).then((f) => {
        if (live) setFound(f);
      });
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [wanted]);

  const v = found.state === 'found' ? found.v : null;
  // The usages a key of the version's type can have (all four until the version is found).
  const offered = KEY_TYPES.find((k) => k.type === v?.algorithm)?.usages ?? USAGES;
  const defaultLabel = v ? `${v.label} v${v.version} (retrieved)` : 'LABEL vN (retrieved)';
  const toggle = (u: KeyUsageName) => setUsages(usages.includes(u) ? usages.filter((x) => x !== u) : [...usages, u]);
  const chosen = usages.filter((u) => offered.includes(u));
  const exporting = into === 'export';
  const noTarget = exporting && (target === 'kek' ? !kek.trim() : !publicKey.includes('PUBLIC KEY') && !publicKey.trim().startsWith('{'));
  const why = !wanted
    ? 'Name the version first.'
    : purpose.trim().length < 10
      ? 'State the purpose in a sentence.'
      : noTarget
        ? target === 'kek'
          ? 'Name the KEK on the token to wrap under.'
          : 'Paste the receiver’s RSA public key (PEM).'
        : !exporting && chosen.length === 0
          ? 'Choose at least one usage.'
          : ws.state === 'absent'
            ? `Connect token “${ws.label}” first.`
            : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (why) return;
    if (ws.state !== 'ready' && ws.state !== 'login') return;
    const session = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    const days = Number(validDays);
    await run(() =>
      useCeremony.getState().plan({
        ...session,
        definition: def.id,
        params: {
          version: wanted,
          purpose: purpose.trim(),
          into,
          ...(exporting
            ? {
                wrap:
                  target === 'kek'
                    ? { kek: kek.trim(), ...(allowWeaker ? { allowWeaker: true } : {}) }
                    : { publicKey: publicKey.trim(), ...(profile.trim() ? { profile: profile.trim() } : {}), ...(allowWeaker ? { allowWeaker: true } : {}) },
              }
            : {
                usages: chosen,
                ...(label.trim() ? { label: label.trim() } : {}),
                ...(validDays.trim() && Number.isFinite(days) ? { validDays: days } : {}),
                ...(maxUses.trim() && Number.isFinite(Number(maxUses)) ? { maxUses: Number(maxUses) } : {}),
              }),
        },
        participants: participantsOf(cast),
      }),
    );
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the archive retrieval">
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      <div className="add-fields">
        <Field
          label="Archived version"
          hint="LABEL@N (for example Payments DEK 2026@1) or the version id; the Archive screen finds it by label, tag or the date the data was written."
          value={version}
          maxLength={200}
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => setVersion(e.target.value)}
        />
      </div>
      <div className="found" role="status" data-testid="retrieval-version">
        {found.state === 'looking' ? <p className="hint">Looking in the archive…</p> : null}
        {found.state === 'missing' ? <p className="field-error">The archive has no version “{wanted}”. Search the Archive screen and use the LABEL@N it shows.</p> : null}
        {v ? (
          <div className="identity">
            <p className="identity-row">
              <span className="label">
                Version {v.version} of “{v.label}” · {algorithmName(v.algorithm)} <StateBadge name={STATE_WORDS[v.state].name} tone={STATE_WORDS[v.state].tone} />
              </span>
              <span>
                {v.checkValue ? 'Check value' : 'Public-key fingerprint'} <span className="mono readout-small">{identityOf(v)}</span>
              </span>
            </p>
            {v.hasMaterial ? (
              <p className="hint">Its wrapped material is in the archive. The check value above is compared with the retrieved key’s.</p>
            ) : (
              <p className="field-error">This version was destroyed: its material is shredded, so it cannot be retrieved.</p>
            )}
          </div>
        ) : null}
      </div>
      <div className="field">
        <label htmlFor={`${ids}-purpose`}>Purpose: what data it opens, and for whom</label>
        <textarea id={`${ids}-purpose`} rows={2} maxLength={500} value={purpose} onChange={(e) => setPurpose(e.target.value)} aria-describedby={`${ids}-purpose-hint`} />
        <p id={`${ids}-purpose-hint`} className="hint">
          <strong>The purpose is part of the ceremony fingerprint.</strong> The custodians approve this version for this purpose only, and it is printed in the evidence.
          For example: “Decrypt the 2026 payment batches for the auditors (ticket 4711).”
        </p>
      </div>
      <fieldset className="choices">
        <legend>Where the retrieved key goes</legend>
        <label className={`choice ${into === 'session' ? 'choice-on' : ''}`}>
          <input type="radio" name={`${ids}-into`} checked={into === 'session'} onChange={() => setInto('session')} />
          <span>
            <span className="choice-title">A session object on the workstation token</span>
            <span className="choice-note">Gone when the app logs out of the token or closes. Nothing is stored.</span>
          </span>
        </label>
        <label className={`choice ${into === 'token' ? 'choice-on' : ''}`}>
          <input type="radio" name={`${ids}-into`} checked={into === 'token'} onChange={() => setInto('token')} />
          <span>
            <span className="choice-title">A token object on the workstation token</span>
            <span className="choice-note">Stays on the token, never extractable, until someone destroys it.</span>
          </span>
        </label>
        <label className={`choice ${into === 'export' ? 'choice-on' : ''}`}>
          <input type="radio" name={`${ids}-into`} checked={into === 'export'} onChange={() => setInto('export')} />
          <span>
            <span className="choice-title">Export it wrapped for another system</span>
            <span className="choice-note">Unwrapped only to be wrapped to the receiver, then destroyed: nothing stays on the token. You save the wrapped key to a file.</span>
          </span>
        </label>
      </fieldset>
      {exporting ? (
        <fieldset className="choices" data-testid="export-target">
          <legend>Who receives it (part of the fingerprint: the approvals are for this receiver only)</legend>
          <label className={`choice ${target === 'kek' ? 'choice-on' : ''}`}>
            <input type="radio" name={`${ids}-target`} checked={target === 'kek'} onChange={() => setTarget('kek')} />
            <span>
              <span className="choice-title">A KEK on the workstation token (AES-KWP, RFC 5649)</span>
              <span className="choice-note">A key-encryption key the receiving HSM shares, for example one formed from components. Its check value is shown at the fingerprint.</span>
            </span>
          </label>
          <label className={`choice ${target === 'publicKey' ? 'choice-on' : ''}`}>
            <input type="radio" name={`${ids}-target`} checked={target === 'publicKey'} onChange={() => setTarget('publicKey')} />
            <span>
              <span className="choice-title">The receiver’s RSA public key (RSA-OAEP + AES-KWP)</span>
              <span className="choice-note">As a cloud KMS gives it for importing a key (bring your own key). Its fingerprint is shown at the fingerprint.</span>
            </span>
          </label>
          {target === 'kek' ? (
            <Field label="KEK label (or PKCS#11 URI)" value={kek} maxLength={256} autoComplete="off" spellCheck={false} onChange={(e) => setKek(e.target.value)} />
          ) : (
            <>
              <div className="field">
                <label htmlFor={`${ids}-pem`}>Receiver’s public key (PEM)</label>
                <textarea id={`${ids}-pem`} className="mono" rows={4} maxLength={16_384} spellCheck={false} value={publicKey} onChange={(e) => setPublicKey(e.target.value)} />
              </div>
              <Field
                label="Import method (optional)"
                hint="The service’s name for it, for example “AWS KMS RSA_AES_KEY_WRAP_SHA_256” or “Google Cloud KMS RSA_OAEP_3072_SHA256_AES_256”. Default: OAEP with SHA-256."
                value={profile}
                maxLength={100}
                autoComplete="off"
                onChange={(e) => setProfile(e.target.value)}
              />
            </>
          )}
          <label>
            <input type="checkbox" checked={allowWeaker} onChange={() => setAllowWeaker(!allowWeaker)} /> The receiver accepts no stronger key: export even if its key gives less security than this one (recorded)
          </label>
        </fieldset>
      ) : null}
      {exporting ? null : (
      <>
      <fieldset className="roles">
        <legend>What the retrieved key may do</legend>
        {USAGES.filter((u) => offered.includes(u)).map((u) => (
          <label key={u}>
            <input type="checkbox" checked={usages.includes(u)} onChange={() => toggle(u)} /> {USAGE_WORDS[u]}
          </label>
        ))}
      </fieldset>
      <div className="add-fields">
        <Field label="Label on the token (optional)" hint={`Default: “${defaultLabel}”.`} value={label} maxLength={128} autoComplete="off" onChange={(e) => setLabel(e.target.value)} />
        <Field
          label="Valid for (days, optional)"
          hint="Set on the object as its end date. The token keeps the date but does not enforce it; Custos refuses the key after it."
          type="number"
          min={1}
          max={3650}
          value={validDays}
          onChange={(e) => setValidDays(e.target.value)}
        />
        <Field
          label="At most this many uses (optional)"
          hint="Counted by Custos’s own operations, beside the key on the token; no token enforces a use count."
          type="number"
          min={1}
          max={1000000}
          value={maxUses}
          onChange={(e) => setMaxUses(e.target.value)}
        />
      </div>
      </>
      )}
      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={!!why || ws.state === 'unknown'} why={why} text="Plan the retrieval" />
    </form>
  );
}
