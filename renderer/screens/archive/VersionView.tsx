import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useCeremony } from '../../stores/ceremony';
import type { LifecycleAction } from '../../../shared/archive/lifecycle';
import type { AuditEntryView, VersionDetail } from '../../../shared/archive/types';
import { ErrorNotice } from '../../components/ErrorNotice';
import { useAction } from '../../hooks/useAction';
import { groupHex } from '../../keyWords';
import { useArchive, type HsmReadiness } from '../../stores/archive';
import { HsmNotice, StateBadge } from './HsmNotice';
import { RetrieveLead } from './RetrieveLead';
import { DestroyLead } from './DestroyLead';
import { RotateLead } from './RotateLead';
import { ACTION_BUTTON, ACTION_CONFIRM, actionWords, algorithmName, confirmSentence, detailText, IRREVERSIBLE, PURPOSE_WORDS, STATE_WORDS, when } from './words';
import { checkValueText } from '../../../shared/check-value';

const CHECK_METHOD_WORDS: Record<string, string> = {
  'aes-cmac': 'AES-CMAC, X9.24-1:2017',
  'tdes-ecb': 'Triple DES, encrypting zeros',
  'hmac-sha256-zeros': 'HMAC-SHA256 of 32 zero bytes',
};

/** One archived version: what it is, its dates, its history and trail, and the lifecycle steps allowed now. */
export function VersionView({ hsm }: { hsm: HsmReadiness }) {
  const { detail, detailError, keyTrail, lastStep, close, versionId } = useArchive();
  const heading = useRef<HTMLHeadingElement>(null);
  const shownId = detail?.summary.versionId ?? null;
  // Focus the heading once per version opened (not after a lifecycle step re-reads it).
  useEffect(() => {
    if (shownId) heading.current?.focus();
  }, [shownId]);

  const back = (
    <button
      type="button"
      className="link back"
      onClick={() => {
        close();
        // Back where the user left: the results' heading (the search form stayed mounted behind).
        requestAnimationFrame(() => document.querySelector<HTMLElement>('[data-testid="archive-results"] h2')?.focus());
      }}
    >
      ← Back to the results
    </button>
  );
  if (detailError) {
    return (
      <section className="panel">
        {back}
        <ErrorNotice error={detailError} title="The version could not be read" />
      </section>
    );
  }
  if (!detail) {
    return (
      <section className="panel" aria-busy="true">
        {back}
        <p role="status">Reading version {versionId ? 'details' : ''}…</p>
      </section>
    );
  }
  const s = detail.summary;
  const sw = STATE_WORDS[s.state];
  return (
    <div className="version-view">
      <section className="panel" aria-labelledby="version-h" data-testid="version-detail">
        {back}
        <h2 id="version-h" ref={heading} tabIndex={-1} className="version-title">
          “{s.label}”, version {s.version}
          <span className="muted count"> of {detail.versions.length}</span>
        </h2>
        <div className={`state-box state-box-${sw.tone}`} data-testid="version-state">
          <StateBadge name={sw.name} tone={sw.tone} />
          <p>{sw.meaning}</p>
        </div>
        {lastStep ? (
          <p className="status-ok" role="status" data-testid="step-done">
            Done: version {lastStep.version} of “{lastStep.label}” is now {STATE_WORDS[lastStep.state].name.toLowerCase()}.
          </p>
        ) : null}
        <Identity detail={detail} />
        <RotateLead v={s} />
        <RetrieveLead v={s} />
        <DestroyLead v={s} />
        <Facts detail={detail} />
        <Steps detail={detail} hsm={hsm} />
      </section>
      <VersionsOfKey detail={detail} />
      <History detail={detail} />
      <Trail entries={keyTrail} label={s.label} />
    </div>
  );
}

function Identity({ detail }: { detail: VersionDetail }) {
  const s = detail.summary;
  if (!s.checkValue && !s.fingerprint) return null;
  return (
    <div className="identity" data-testid="version-identity">
      {s.checkValue ? (
        <div className="identity-row">
          <span className="label">Check value ({CHECK_METHOD_WORDS[detail.checkMethod ?? ''] ?? detail.checkMethod ?? 'method not recorded'})</span>
          <span className="mono readout">{checkValueText(s.checkValue)}</span>
        </div>
      ) : null}
      {detail.checkLegacy ? (
        <div className="identity-row">
          <span className="label">Secondary check value</span>
          <span className="mono readout readout-small">{checkValueText(detail.checkLegacy)}</span>
        </div>
      ) : null}
      {s.fingerprint ? (
        <div className="identity-row">
          <span className="label">Fingerprint (SHA-256 of the public key)</span>
          <span className="mono wrap">{groupHex(s.fingerprint, 4)}</span>
        </div>
      ) : null}
      <p className="hint">Compare with the check value in the ceremony record or on the token the key came from.</p>
    </div>
  );
}

function Facts({ detail }: { detail: VersionDetail }) {
  const s = detail.summary;
  const k = detail.key;
  const rows: Array<[string, React.ReactNode]> = [
    ['Algorithm', `${algorithmName(s.algorithm)} · ${detail.kind === 'secret' ? 'secret key' : 'private key'}`],
    [
      'Purpose',
      <>
        {PURPOSE_WORDS[s.purpose]}
        <span className="cka">
          Cryptoperiod {k.policy.originatorUsageMonths} months protecting, then {k.policy.recipientExtraMonths} more months decrypting (
          {k.policy.id})
        </span>
      </>,
    ],
    ['Archived', when(s.createdAt)],
    ['Activated', when(s.activationDate, 'Not yet')],
    [
      'Rotation due',
      s.rotationDue && s.state === 'active' && s.rotationDue < new Date().toISOString() ? (
        <>
          {when(s.rotationDue)} <span className="overdue">— overdue: rotate this key</span>
        </>
      ) : (
        when(s.rotationDue, 'Not set (set on activation)')
      ),
    ],
    ['Stops protecting new data', when(detail.protectStopDate, 'Not set')],
    ['Stops decrypting old data', when(detail.processStopDate, 'Not set')],
    ['Deactivated', when(s.deactivationDate, 'No')],
  ];
  if (detail.compromiseDate) rows.push(['Compromised', when(detail.compromiseDate)]);
  if (detail.destroyedDate) rows.push(['Destroyed', when(detail.destroyedDate)]);
  rows.push([
    'Wrapped material present',
    s.hasMaterial ? (
      <>
        <strong>Yes</strong> — {detail.wrappedBytes} bytes wrapped with AES key wrap (RFC 5649) under the Archive KEK
        {detail.kekCheck ? <> (check value <span className="mono">{checkValueText(detail.kekCheck)}</span>)</> : null}. The material itself is
        never shown.
      </>
    ) : (
      <>
        <strong>No</strong> — shredded when the version was destroyed; only this record remains.
      </>
    ),
  ]);
  if (s.tags.length) rows.push(['Tags', s.tags.join(', ')]);
  if (k.custodians.length) rows.push(['Custodians', k.custodians.join(', ')]);
  if (k.description) rows.push(['Description', k.description]);
  if (detail.sourceUri) rows.push(['Came from', <code className="wrap select-all" key="src">{detail.sourceUri}</code>]);
  rows.push(['Version id', <span className="mono wrap" key="id">{s.versionId}</span>]);
  return (
    <dl className="props attrs" data-testid="version-facts">
      {rows.map(([t, d]) => (
        <div key={t} className="tech-row">
          <dt>{t}</dt>
          <dd>{d}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Lifecycle steps: only those the lifecycle allows from this state, each behind a plain-language confirmation. */
function Steps({ detail, hsm }: { detail: VersionDetail; hsm: HsmReadiness }) {
  const [open, setOpen] = useState<LifecycleAction | null>(null);
  const [reason, setReason] = useState('');
  const { busy, error, run, reset } = useAction();
  const sentenceRef = useRef<HTMLParagraphElement>(null);
  const ids = useId();
  const s = detail.summary;
  const recordExists = useCeremony((x) => x.record?.exists === true);
  useEffect(() => {
    setOpen(null);
    setReason('');
  }, [s.versionId, s.state]);
  useEffect(() => {
    if (open) sentenceRef.current?.focus();
  }, [open]);

  // On a workstation record, shredding needs the custodians' quorum: the destruction ceremony does it
  // (main refuses the plain step too, should the record not be known here yet).
  const actions = recordExists ? detail.allowedActions.filter((a) => a !== 'destroy') : detail.allowedActions;
  const ceremonyOnly = recordExists && detail.allowedActions.includes('destroy');
  if (actions.length === 0) {
    return <p className="muted steps-none">This is a final state: no lifecycle step is possible.</p>;
  }
  const ready = hsm.state === 'ready';
  const otherActive = detail.versions.find((v) => v.state === 'active' && v.versionId !== s.versionId)?.version ?? null;
  const sentence = open ? confirmSentence(open, s, otherActive) : '';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!open) return;
    await run(() => useArchive.getState().transition(hsm.state === 'ready' ? hsm.ref : null, open, reason));
  };

  return (
    <div className="key-actions">
      <h3 id={`${ids}-h`}>Lifecycle</h3>
      <HsmNotice hsm={hsm} toDo="change the state of archived keys" testId="steps-login-needed" />
      <div className="toolbar" role="group" aria-labelledby={`${ids}-h`}>
        {actions.map((a) => (
          <button
            key={a}
            type="button"
            className={`${IRREVERSIBLE.includes(a) ? 'danger-outline' : ''} ${open === a ? 'pressed' : ''}`}
            aria-expanded={open === a}
            disabled={!ready || busy}
            onClick={() => {
              reset();
              setOpen(open === a ? null : a);
            }}
          >
            {ACTION_BUTTON[a]}
          </button>
        ))}
      </div>
      {ceremonyOnly ? <p className="hint">Destroying this version (shredding its material) needs the custodians’ quorum: use “Destroy in a ceremony…”.</p> : null}
      {open ? (
        <form className={`subpanel ${IRREVERSIBLE.includes(open) ? 'subpanel-danger' : ''}`} aria-label="Confirm the lifecycle step" onSubmit={submit}>
          <p className="confirm-sentence" tabIndex={-1} ref={sentenceRef} data-testid="step-sentence">
            {sentence}
          </p>
          <div className="field">
            <label htmlFor={`${ids}-reason`}>Reason (optional, recorded in the audit log)</label>
            <input id={`${ids}-reason`} value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
          </div>
          <div className="toolbar">
            <button type="submit" className={IRREVERSIBLE.includes(open) ? 'danger' : 'primary'} disabled={busy}>
              {busy ? 'Working…' : `${ACTION_CONFIRM[open]} version ${s.version}`}
            </button>
            <button type="button" disabled={busy} onClick={() => setOpen(null)}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
      {error ? <ErrorNotice error={error} title="The state was not changed" /> : null}
    </div>
  );
}

function VersionsOfKey({ detail }: { detail: VersionDetail }) {
  const open = useArchive((s) => s.open);
  if (detail.versions.length < 2) return null;
  return (
    <section className="panel" aria-labelledby="versions-h">
      <h2 id="versions-h">All versions of “{detail.key.label}”</h2>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">State</th>
            <th scope="col">Active from</th>
            <th scope="col">Deactivated</th>
          </tr>
        </thead>
        <tbody>
          {detail.versions.map((v) => (
            <tr key={v.versionId} aria-current={v.versionId === detail.summary.versionId ? 'true' : undefined}>
              <td>
                {v.versionId === detail.summary.versionId ? (
                  <strong>Version {v.version} (shown)</strong>
                ) : (
                  <button type="button" className="link" onClick={() => void open(v.versionId)}>
                    Version {v.version}
                  </button>
                )}
              </td>
              <td>
                <StateBadge name={STATE_WORDS[v.state].name} tone={STATE_WORDS[v.state].tone} />
              </td>
              <td>{when(v.activationDate)}</td>
              <td>{when(v.deactivationDate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function History({ detail }: { detail: VersionDetail }) {
  return (
    <section className="panel" aria-labelledby="history-h">
      <h2 id="history-h">State history</h2>
      {detail.history.length === 0 ? (
        <p className="muted">No state change is recorded.</p>
      ) : (
        <table className="table" data-testid="state-history">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Change</th>
              <th scope="col">By</th>
              <th scope="col">Reason</th>
              <th scope="col">Audit entry</th>
            </tr>
          </thead>
          <tbody>
            {detail.history.map((h, i) => (
              <tr key={`${h.seq}-${i}`}>
                <td className="nowrap">{when(h.at)}</td>
                <td>
                  {h.from ? STATE_WORDS[h.from].name : 'Archived'} → {STATE_WORDS[h.to].name}
                </td>
                <td>{h.actor}</td>
                <td>{h.reason ?? '—'}</td>
                <td>#{h.seq}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Trail({ entries, label }: { entries: AuditEntryView[] | null; label: string }) {
  return (
    <section className="panel" aria-labelledby="trail-h">
      <h2 id="trail-h">Audit trail of “{label}”</h2>
      {entries === null ? <p role="status">Reading the audit log…</p> : null}
      {entries?.length === 0 ? <p className="muted">No audit entries about this key.</p> : null}
      {entries && entries.length > 0 ? <AuditTable entries={entries} caption={`Newest first; ${entries.length} entries.`} /> : null}
    </section>
  );
}

/** Audit entries as a table: number, time, who, what, about what, details. */
export function AuditTable({ entries, caption }: { entries: AuditEntryView[]; caption?: string }) {
  return (
    <table className="table audit-table" data-testid="audit-table">
      {caption ? <caption className="muted">{caption}</caption> : null}
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Time</th>
          <th scope="col">Who</th>
          <th scope="col">What</th>
          <th scope="col">About</th>
          <th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.seq}>
            <td className="nowrap">{e.seq}</td>
            <td className="nowrap">{when(e.at)}</td>
            <td>{e.actor}</td>
            <td>
              {actionWords(e.action)}
              <span className="cka">{e.action}</span>
            </td>
            <td>{aboutWords(e)}</td>
            <td className="details-cell">{detailText(e.details)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function aboutWords(e: AuditEntryView): string {
  const d = (e.details ?? {}) as Record<string, unknown>;
  const label = typeof d.label === 'string' ? d.label : null;
  const version = typeof d.version === 'number' ? d.version : null;
  if (label && version !== null) return `“${label}” version ${version}`;
  if (label) return `“${label}”`;
  if (e.action === 'archive.init' || e.objectType === 'workstation') return 'The archive';
  if (e.objectType) return `${e.objectType} ${e.objectId ? e.objectId.slice(0, 8) : ''}`.trim();
  return '—';
}
