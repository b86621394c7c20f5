import { ErrorNotice } from '../../components/ErrorNotice';
import { StateBadge } from '../archive/HsmNotice';
import { when } from '../archive/words';
import { useCeremony } from '../../stores/ceremony';
import { DrillDashboard } from './DrillDashboard';
import { RotationDashboard } from './RotationDashboard';
import { RUN_STATUS } from './words';

/** Definitions this screen has a plan form for; the others are planned with the CLI for now. */
export const PLANNABLE = ['enrolment', 'key-generation', 'backup', 'restore-drill', 'restore', 'retrieval', 'reshare', 'share-audit', 'rotation', 'component-form', 'kek-rotation', 'component-creation', 'workstation-key-rotation'];

/** The record's ceremonies (planned, running, interrupted, finished), and starting a new one. */
export function RunList() {
  const { record, runs, interrupted, listError, definitions, show, openRun } = useCeremony();
  const defs = (definitions ?? []).filter((d) => d.type !== 'workstation-setup');
  const open = (runs ?? []).filter((r) => r.status === 'running');
  const done = (runs ?? []).filter((r) => r.status !== 'running');
  const enrolled = record?.people.filter((p) => p.status === 'active').length ?? 0;
  const enrolment = defs.find((d) => d.type === 'enrolment');

  const table = (rows: typeof open, caption: string, testId: string) => (
    <div className="table-wrap">
      <table className="table runs" data-testid={testId}>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Ceremony</th>
            <th scope="col">Status</th>
            <th scope="col">Started</th>
            <th scope="col">Ended</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const status = interrupted[r.run] ? 'interrupted' : r.status === 'completed' ? 'completed' : r.status;
            const words = RUN_STATUS[status];
            return (
              <tr key={r.run}>
                <td>
                  <button type="button" className="link run-link" onClick={() => void openRun(r.run)}>
                    {r.title}
                  </button>
                  {r.practice ? <span className="badge badge-practice">PRACTICE</span> : null}
                  <span className="run-fp">
                    fingerprint <span className="mono">{r.fingerprint.slice(0, 16).toUpperCase()}…</span>
                  </span>
                </td>
                <td>
                  <StateBadge name={words.name} tone={words.tone} />
                </td>
                <td className="nowrap">{when(r.startedAt)}</td>
                <td className="nowrap">{when(r.endedAt)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );

  return (
    <>
      <p className="about-token" data-testid="record-about">
        <strong>“{record?.name}”</strong>
        <span className="muted">
          · {enrolled} {enrolled === 1 ? 'person' : 'people'} enrolled · key generation needs {record?.policy.approvals['key-generation']} custodian
          approvals
        </span>
        {record?.practice ? <span className="badge badge-practice">PRACTICE record</span> : null}
      </p>
      {listError ? <ErrorNotice error={listError} title="The ceremonies could not be listed" /> : null}
      {record && enrolled === 0 && enrolment ? (
        <div className="notice notice-lead" role="status" data-testid="enrol-lead">
          <p>
            <strong>Nobody is enrolled in this record yet.</strong> Every ceremony needs its people and their cards: the enrolment ceremony adds them.
          </p>
          <button type="button" className="primary" onClick={() => show({ kind: 'plan', definition: enrolment.id })}>
            Plan the enrolment…
          </button>
        </div>
      ) : null}
      <RotationDashboard />
      <DrillDashboard />
      <div className="split split-runs">
        <section className="panel" aria-labelledby="runs-h">
          <h2 id="runs-h">Ceremonies in progress</h2>
          {runs === null ? <p role="status">Reading the ceremonies…</p> : open.length === 0 ? <p className="muted">None. Start one on the right.</p> : table(open, 'Ceremonies in progress', 'runs-open')}
          <h2 className="runs-done-h">Finished and aborted</h2>
          {runs !== null && done.length === 0 ? <p className="muted">None yet.</p> : table(done, 'Finished and aborted ceremonies', 'runs-done')}
        </section>
        <section className="panel" aria-labelledby="start-h">
          <h2 id="start-h">Start a ceremony</h2>
          <ul className="plain start-list">
            {defs.map((d) => {
              const can = PLANNABLE.includes(d.type);
              return (
                <li key={d.id} className="start-item">
                  <button type="button" className={can ? 'primary' : ''} disabled={!can} onClick={() => show({ kind: 'plan', definition: d.id })}>
                    {d.title}…
                  </button>
                  <p className="hint">{d.summary}</p>
                  {!can ? (
                    <p className="hint">
                      Planned with the command line for now: <code>custos ceremony plan {d.id}</code>
                    </p>
                  ) : null}
                </li>
              );
            })}
          </ul>
        </section>
      </div>
    </>
  );
}
