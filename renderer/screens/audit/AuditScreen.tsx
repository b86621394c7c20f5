import { useEffect, useRef } from 'react';
import { ErrorNotice } from '../../components/ErrorNotice';
import { SaveButton } from '../../components/SaveButton';
import { useAction } from '../../hooks/useAction';
import { useApp } from '../../stores/app';
import { useArchive } from '../../stores/archive';
import { AuditTable } from '../archive/VersionView';
import { when } from '../archive/words';

// The archive's audit log: browse it (newest first), verify it, export it for an auditor. None of
// this needs the HSM: the checkpoints verify with the audit public key stored in the archive.

export function AuditScreen() {
  const { status, statusError, load } = useArchive();
  const go = useApp((s) => s.go);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <div className="screen">
      <div className="screen-head">
        <h1 tabIndex={-1}>Audit log</h1>
        <p className="muted screen-sub">
          Every change to the archive, hash-chained and signed at each step by the audit key in the HSM. Reading, verifying and exporting
          need no HSM.
        </p>
      </div>
      {statusError ? <ErrorNotice error={statusError} title="The archive could not be read" /> : null}
      {!status && !statusError ? <p role="status">Reading the archive…</p> : null}
      {status && !status.exists ? (
        <section className="panel">
          <p>There is no key archive in this data folder yet, so there is no audit log.</p>
          <button type="button" onClick={() => go('archive')}>
            Go to Archive
          </button>
        </section>
      ) : null}
      {status?.exists ? (
        <>
          <div className="split split-even">
            <VerifyPanel />
            <ExportPanel />
          </div>
          <Entries />
        </>
      ) : null}
    </div>
  );
}

function VerifyPanel() {
  const verdict = useArchive((s) => s.verdict);
  const { busy, error, run: start } = useAction();
  const out = useRef<HTMLDivElement>(null);
  const run = async () => {
    const r = await start(() => useArchive.getState().verify());
    if (r?.ok) out.current?.focus();
  };
  return (
    <section className="panel" aria-labelledby="verify-h">
      <h2 id="verify-h">Verify the audit log</h2>
      <p className="panel-intro muted">Recomputes the hash chain over every entry and checks every checkpoint signature with the audit public key.</p>
      <button type="button" className="primary" disabled={busy} onClick={() => void run()}>
        {busy ? 'Verifying…' : 'Verify the audit log'}
      </button>
      {error ? <ErrorNotice error={error} title="The audit log could not be verified" /> : null}
      {verdict && !busy ? (
        <div ref={out} tabIndex={-1} className={`verdict ${verdict.ok ? 'verdict-ok' : 'verdict-bad'}`} role="status" data-testid="audit-verdict">
          {verdict.ok ? (
            <>
              <p className="verdict-head">Intact</p>
              <p>
                All {verdict.entries} {verdict.entries === 1 ? 'entry' : 'entries'} and {verdict.checkpoints} signed{' '}
                {verdict.checkpoints === 1 ? 'checkpoint' : 'checkpoints'} verify.
                {verdict.lastCheckpoint ? ` The last checkpoint covers entry #${verdict.lastCheckpoint.seq} (${when(verdict.lastCheckpoint.at)}).` : ''}
              </p>
            </>
          ) : (
            <>
              <p className="verdict-head">Not intact — do not trust this log</p>
              <p>
                {verdict.firstBadEntry !== null ? `The first bad entry is #${verdict.firstBadEntry}. ` : ''}
                {verdict.problems.length + verdict.moreProblems} {verdict.problems.length + verdict.moreProblems === 1 ? 'problem was' : 'problems were'} found:
              </p>
              <ul className="verdicts">
                {verdict.problems.slice(0, 10).map((p, i) => (
                  <li key={i}>
                    {p.seq !== undefined ? `Entry #${p.seq}: ` : ''}
                    {p.message}
                  </li>
                ))}
              </ul>
              <p>Keep the file as evidence and compare it with an earlier export.</p>
            </>
          )}
          <p className="muted hint">Checked in {verdict.tookMs} ms.</p>
        </div>
      ) : null}
    </section>
  );
}

function ExportPanel() {
  const exported = useArchive((s) => s.exported);
  const { busy, error, run: start } = useAction();
  const out = useRef<HTMLDivElement>(null);
  const run = async () => {
    const r = await start(() => useArchive.getState().exportAudit());
    if (r?.ok) out.current?.focus();
  };
  return (
    <section className="panel" aria-labelledby="export-h">
      <h2 id="export-h">Export for offline verification</h2>
      <p className="panel-intro muted">
        Writes the log, its checkpoint signatures and the audit public key into a new folder in the data folder, for an auditor to check
        with standard tools (OpenSSL). To hand it over, save a fresh export straight to removable media.
      </p>
      <div className="toolbar">
        <button type="button" disabled={busy} onClick={() => void run()}>
          {busy ? 'Exporting…' : 'Export the audit log'}
        </button>
      </div>
      {/* To removable media: main writes a fresh export straight into the folder chosen. */}
      <SaveButton artefact={{ kind: 'audit-export' }} label="Save an export to a folder…" what="audit export" />
      {error ? <ErrorNotice error={error} title="The audit log was not exported" /> : null}
      {exported && !busy ? (
        <div ref={out} tabIndex={-1} className="export-result" role="status" data-testid="audit-export">
          <p className="status-ok">
            Exported {exported.entries} entries and {exported.checkpoints} checkpoints.
          </p>
          <p>
            <span className="label">Folder:</span> <code className="wrap select-all" data-testid="export-dir">{exported.dir}</code>
          </p>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {exported.files.map((f) => (
                <tr key={f.name}>
                  <td className="mono">{f.name}</td>
                  <td className="nowrap">{f.bytes.toLocaleString('en')} bytes</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function Entries() {
  const { audit, auditError, auditLoading, loadAudit } = useArchive();
  useEffect(() => {
    void loadAudit();
  }, [loadAudit]);
  const before = audit?.before ?? [];
  const last = audit?.entries[audit.entries.length - 1];
  return (
    <section className="panel" aria-labelledby="entries-h" aria-busy={auditLoading}>
      <div className="panel-head">
        <h2 id="entries-h">Entries, newest first</h2>
        <div className="toolbar" role="group" aria-label="Pages">
          <button type="button" disabled={auditLoading} onClick={() => void loadAudit()}>
            Newest
          </button>
          <button type="button" disabled={auditLoading || before.length === 0} onClick={() => void loadAudit(before[before.length - 2], true)}>
            ← Newer entries
          </button>
          <button type="button" disabled={auditLoading || !audit?.hasMore || !last} onClick={() => last && void loadAudit(last.seq)}>
            Older entries →
          </button>
        </div>
      </div>
      {auditError ? <ErrorNotice error={auditError} title="The audit log could not be read" /> : null}
      {!audit && !auditError ? <p role="status">Reading the audit log…</p> : null}
      {audit && audit.entries.length === 0 ? <p>The log has no entries.</p> : null}
      {audit && audit.entries.length > 0 ? (
        <AuditTable entries={audit.entries} caption={`Entries #${audit.entries[0]!.seq} to #${last!.seq}.`} />
      ) : null}
    </section>
  );
}
