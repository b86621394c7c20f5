import { Destroyed } from './Destruction';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { RunView } from '../../../../shared/ceremony/view';
import type { TokenRef } from '../../../../shared/keys';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { Field } from '../../../components/Field';
import { SaveButton } from '../../../components/SaveButton';
import { useAction } from '../../../hooks/useAction';
import { useCeremony } from '../../../stores/ceremony';
import { outcomeFacts } from '../words';
import { useStepAct } from './act';
import { Failure } from './Panels';
import { UnwrapResults } from './Restore';
import { Retrieved } from './Subject';

/** A finished (or aborted) run: what it made, its evidence bundle, and checking that bundle. */
export function Finished({ view }: { view: RunView }) {
  const bundlePath = useCeremony((s) => (s.bundlePath?.run === view.run ? s.bundlePath : null));
  const verdict = useCeremony((s) => (s.verdict?.run === view.run ? s.verdict.value : null));
  const { busy, error, run } = useAction();
  const heading = useRef<HTMLHeadingElement>(null);
  const verdictRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, [view.status]);
  useEffect(() => {
    if (verdict) verdictRef.current?.focus();
  }, [verdict]);

  // What the ceremony made, each under the step that made it (a check value means nothing without its key).
  // (The checks say nothing made; the unwrap and the retrieval have their own panels below.)
  const made = view.steps
    .filter((s) => s.kind !== 'check' && s.kind !== 'unwrap-targets' && s.kind !== 'retrieve' && s.kind !== 'destroy')
    .flatMap((s) =>
    outcomeFacts(s.outcome)
      .filter((f) => f.readout || f.block || f.label === 'Archived as' || f.label === 'Shares' || f.label === 'Key label' || f.label === 'Replaced version' || f.label === 'Old version on the token' || f.label === 'Sealed envelopes')
      .map((f) => ({ ...f, label: `${s.title} — ${f.label.charAt(0).toLowerCase()}${f.label.slice(1)}` })),
  );
  if (view.status === 'aborted') {
    return (
      <section className="panel" aria-labelledby="fin-h">
        <h2 id="fin-h" ref={heading} tabIndex={-1}>
          This ceremony was aborted
        </h2>
        <p>Reason: {view.abortReason ?? '—'}</p>
        <p className="hint">Its journal stays in the record. Nothing more can be done in it; plan a new ceremony if more is needed.</p>
      </section>
    );
  }
  return (
    <section className="panel finished" aria-labelledby="fin-h" data-testid="finished">
      <h2 id="fin-h" ref={heading} tabIndex={-1}>
        ✓ The ceremony is finished
      </h2>
      <UnwrapResults view={view} />
      <Retrieved view={view} />
      <Destroyed view={view} />
      {made.length ? (
        <dl className="props facts">
          {made.map((f, i) => (
            <div key={`${f.label}-${i}`} className="tech-row">
              <dt>{f.label}</dt>
              <dd className={f.readout ? 'mono readout' : f.block ? 'mono codeblock' : ''}>{f.value}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      {view.bundle ? (
        <div className="bundle" data-testid="bundle">
          <p>
            <span className="label">Evidence bundle:</span> <span className="mono wrap">{bundlePath?.path ?? view.bundle.name}</span>
          </p>
          <p>
            <span className="label">Its SHA-256:</span> <span className="mono wrap">{view.bundle.hash}</span>
          </p>
          <p className="hint">The bundle’s manifest is signed by the workstation’s audit key; anyone can check it with OpenSSL and sha256sum (docs/FORMAT.md).</p>
          <div className="toolbar">
            <button type="button" className="primary" onClick={() => void run(() => useCeremony.getState().verifyBundle(view.run))} disabled={busy}>
              {busy ? 'Checking the evidence…' : 'Verify the evidence'}
            </button>
          </div>
          {/* Main copies the bundle out only if it verifies; the record alone is the PDF inside it. */}
          <SaveButton artefact={{ kind: 'bundle', run: view.run }} label="Save the bundle to a folder…" what="evidence bundle" />
          <SaveButton artefact={{ kind: 'bundle-pdf', run: view.run }} label="Save the record (PDF)…" what="ceremony record" />
          {view.steps.some((s) => s.kind === 'split' && (s.outcome as { shareSetRecord?: unknown } | null)?.shareSetRecord) ? (
            // Public (holders and fingerprints only): each custodian checks their share against it later.
            <SaveButton artefact={{ kind: 'share-set-record', run: view.run }} label="Save the share-set record…" what="share-set record" />
          ) : null}
        </div>
      ) : null}
      {error ? <ErrorNotice error={error} title="The evidence could not be checked" /> : null}
      {verdict ? (
        <div ref={verdictRef} tabIndex={-1} className={`verdict ${verdict.ok ? 'verdict-ok' : 'verdict-bad'}`} data-testid="bundle-verdict">
          <p className="verdict-head">{verdict.ok ? '✓ The evidence bundle verifies' : '✗ The evidence bundle does NOT verify'}</p>
          <p>{verdict.pinned ? 'Checked against this workstation’s audit key (pinned in the record).' : 'Checked against the key inside the bundle only: the audit key is not pinned.'}</p>
          <ul className="verdicts">
            {verdict.checks.map((c) => (
              <li key={c.check}>
                {c.ok ? '✓' : '✗'} {c.check}
                {c.detail ? <span className="hint"> — {c.detail}</span> : null}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}

/** A run cut off by a crash: resume (adopt or redo the step, remake lost shares) or abort. */
export function Interrupted({ view, session }: { view: RunView; session: TokenRef | null }) {
  const step = useStepAct(view.run, session);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, []);
  const admin = view.participants.find((p) => p.roles.includes('administrator'));
  return (
    <section className="panel panel-warn" aria-labelledby="int-h" data-testid="interrupted">
      <h2 id="int-h" ref={heading} tabIndex={-1}>
        The ceremony was interrupted at “{view.interrupted?.title}”
      </h2>
      <p>
        The app or the computer stopped while this step was running. Resuming checks what the HSM holds: a step that finished there is adopted, one that did not runs again,
        and shares that were only in memory are voided and made again. Nothing is done twice.
      </p>
      <div className="toolbar">
        <button type="button" className="primary big" onClick={() => void step.act({ kind: 'resume' }, admin?.person ?? null)} disabled={step.busy || !session}>
          {step.busy ? 'Resuming…' : 'Resume the ceremony'}
        </button>
      </div>
      <p className="hint">Or abort it below: its journal stays in the record.</p>
      <Failure step={step} title="The ceremony was not resumed" />
    </section>
  );
}

/** Stopping a ceremony: a reason, and a sentence naming exactly what happens. */
export function AbortPanel({ view, session }: { view: RunView; session: TokenRef | null }) {
  const step = useStepAct(view.run, session);
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  const sentence = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (confirming) sentence.current?.focus();
  }, [confirming]);
  const admin = view.participants.find((p) => p.roles.includes('administrator'));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!confirming) {
      setConfirming(true);
      return;
    }
    await step.act({ kind: 'abort', reason: reason.trim() }, admin?.person ?? null);
  };
  return (
    <section className="panel" aria-labelledby="abort-h">
      <details open={view.status === 'interrupted' || undefined}>
        <summary>
          <h2 id="abort-h" className="inline-h">
            Abort this ceremony
          </h2>
        </summary>
        <form className="form" onSubmit={submit} aria-label="Abort the ceremony">
          <Field label="Reason (recorded in the journal)" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
          {confirming ? (
            <p ref={sentence} tabIndex={-1} className="confirm-sentence">
              Abort “{view.title}” now{admin ? `, as ${admin.name}` : ''}. Its steps so far stay in the record; nothing more can be done in it
              {view.type === 'backup' ? ', and any share handed over is void' : ''}.
            </p>
          ) : null}
          <div className="toolbar">
            <button type="submit" className={confirming ? 'danger' : 'danger-outline'} disabled={step.busy || !session}>
              {confirming ? 'Abort the ceremony' : 'Abort…'}
            </button>
            {confirming ? (
              <button type="button" onClick={() => setConfirming(false)}>
                Keep it running
              </button>
            ) : null}
          </div>
          <Failure step={step} title="The ceremony was not aborted" />
        </form>
      </details>
    </section>
  );
}
