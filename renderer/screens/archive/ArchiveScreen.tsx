import { useEffect } from 'react';
import { ErrorNotice } from '../../components/ErrorNotice';
import { groupHex } from '../../keyWords';
import { archiveHsm, useArchive, type ArchiveTask } from '../../stores/archive';
import { useTokens } from '../../stores/tokens';
import { AddKey } from './AddKey';
import { CreateArchive } from './CreateArchive';
import { SearchView } from './SearchView';
import { VersionView } from './VersionView';
import { when } from './words';
import { checkValueText } from '../../../shared/check-value';

// The encrypted key archive: create it, search it (no HSM needed), look at a version, archive a
// key from the token and take lifecycle steps (both need the token holding the archive's keys).

const TASKS: Array<{ id: ArchiveTask; text: string; note: string }> = [
  { id: 'search', text: 'Search the archive', note: 'No HSM needed' },
  { id: 'add', text: 'Archive a key from the token', note: 'Needs the archive’s token, logged in' },
];

export function ArchiveScreen() {
  const { status, statusError, load, task, setTask, versionId } = useArchive();
  const listing = useTokens((s) => s.listing);
  useEffect(() => {
    void load();
  }, [load]);
  const hsm = archiveHsm(status, listing);

  if (!status) {
    return (
      <div className="screen">
        <h1 tabIndex={-1}>Archive</h1>
        {statusError ? <ErrorNotice error={statusError} title="The archive could not be read" /> : <p role="status">Reading the archive…</p>}
      </div>
    );
  }
  if (!status.exists) {
    return (
      <div className="screen">
        <h1 tabIndex={-1}>Archive</h1>
        {statusError ? <ErrorNotice error={statusError} title="The archive could not be read" /> : null}
        <CreateArchive path={status.path} />
      </div>
    );
  }
  const info = status.info;
  return (
    <div className="screen">
      <div className="screen-head">
        <h1 tabIndex={-1}>Archive</h1>
        <p className="about-token" data-testid="archive-about">
          <strong>“{info.name}”</strong>
          <span className="muted">
            · {info.counts.keys} {info.counts.keys === 1 ? 'key' : 'keys'}, {info.counts.versions} {info.counts.versions === 1 ? 'version' : 'versions'} · keys on token “
            {status.token?.label ?? 'not recorded'}”
          </span>
          {hsm.state === 'ready' ? <span className="badge badge-ok">token logged in</span> : <span className="badge badge-info">read-only: token not logged in</span>}
        </p>
      </div>
      {statusError ? <ErrorNotice error={statusError} title="The archive could not be read" /> : null}
      <div className="toolbar screen-tools task-switch" role="group" aria-label="Task">
        {TASKS.map((t) => (
          <button key={t.id} type="button" className={`task ${task === t.id ? 'pressed' : ''}`} aria-pressed={task === t.id} onClick={() => setTask(t.id)}>
            <span className="task-title">{t.text}</span>
            <span className="task-note">{t.note}</span>
          </button>
        ))}
      </div>
      {task === 'search' ? (
        <>
          <div hidden={versionId !== null}>
            <SearchView />
          </div>
          {versionId !== null ? <VersionView hsm={hsm} /> : null}
        </>
      ) : (
        <AddKey hsm={hsm} />
      )}
      <details className="panel about-archive">
        <summary>About this archive: its file and its keys</summary>
        <dl className="props attrs">
          <dt>File</dt>
          <dd className="mono wrap">{info.path}</dd>
          <dt>Created</dt>
          <dd>{when(info.createdAt)}</dd>
          <dt>Archive KEK</dt>
          <dd>
            <span className="mono">{info.keys.kek.label}</span> · check value <span className="mono">{checkValueText(info.keys.kek.check)}</span>
          </dd>
          <dt>Archive MAC key</dt>
          <dd>
            <span className="mono">{info.keys.mac.label}</span> · check value <span className="mono">{checkValueText(info.keys.mac.check)}</span>
          </dd>
          <dt>Audit signing key</dt>
          <dd>
            <span className="mono">{info.keys.audit.label}</span>
            <span className="cka">Fingerprint (SHA-256 of the public key): {groupHex(info.keys.audit.fingerprint, 4)}</span>
          </dd>
          {info.keys.audit.retired.length ? (
            <>
              <dt>Retired audit keys</dt>
              <dd data-testid="retired-audit-keys">
                {/* Kept so that the checkpoints and bundles they signed still verify. */}
                {info.keys.audit.retired.map((k) => (
                  <span key={k.fingerprint} className="cka">
                    <span className="mono">{k.label}</span> · {groupHex(k.fingerprint, 4)} · handed over at audit entry {k.handoverSeq}
                  </span>
                ))}
              </dd>
            </>
          ) : null}
          <dt>Audit log</dt>
          <dd>
            {info.counts.auditEntries} entries, {info.counts.checkpoints} signed checkpoints
          </dd>
        </dl>
      </details>
    </div>
  );
}
