import { DEFINITION, useCeremony } from '../../stores/ceremony';
import { StateBadge } from '../archive/HsmNotice';
import { day } from '../archive/words';
import { backupName, namesList, schemeWords, targetTitle } from './words';

/**
 * Every completed backup with its last drill and when the next one is due (issue #10: shares that
 * nobody has tried for years are how backups fail). An overdue drill says so in words as well as in
 * its colour, and leads straight to the drill's plan with the backup chosen.
 */
export function DrillDashboard() {
  const record = useCeremony((s) => s.record);
  const show = useCeremony((s) => s.show);
  const backups = record?.backups ?? [];
  if (!record?.exists || backups.length === 0) return null;
  const months = record.policy.drillIntervalMonths ?? 12;
  const overdue = backups.filter((b) => b.overdue).length;
  return (
    <section className="panel drills" aria-labelledby="drills-h" data-testid="drill-dashboard">
      <div className="panel-head">
        <h2 id="drills-h">Backups and their restore drills</h2>
        {overdue > 0 ? (
          <span className="drills-summary overdue">
            {overdue} of {backups.length} {backups.length === 1 ? 'backup is' : 'backups are'} overdue for a drill
          </span>
        ) : (
          <span className="drills-summary muted">Every drill is up to date</span>
        )}
      </div>
      <p className="hint panel-intro">
        A drill proves the holders’ shares still rebuild the Backup Key and unwrap every key, without keeping anything. This workstation’s policy asks for one at least every{' '}
        {months} months.
      </p>
      <div className="table-wrap">
        <table className="table drills-table">
          <caption className="sr-only">Backups, their last drill and when the next drill is due</caption>
          <thead>
            <tr>
              <th scope="col">Backup</th>
              <th scope="col">Shares</th>
              <th scope="col">Last drill</th>
              <th scope="col">Next drill</th>
              <th scope="col">
                <span className="sr-only">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {backups.map((b) => (
              <tr key={b.run} className={b.overdue ? 'row-overdue' : ''} data-testid="drill-row">
                <th scope="row" className="drill-backup">
                  {backupName(b)}
                  <span className="hint">{b.targets.map(targetTitle).join(', ')}</span>
                </th>
                <td>
                  {schemeWords(b.scheme, b.threshold, b.holders.length)}
                  <span className="hint">held by {namesList(b.holders)}</span>
                  <span className="hint">{b.lastAudit ? `shares last checked ${day(b.lastAudit)}` : 'shares never audited'}</span>
                  {b.resharedBy.length ? <span className="hint">re-shared since: these shares stay valid until the Backup Key is rotated</span> : null}
                </td>
                <td className="nowrap">{b.lastDrill ? day(b.lastDrill) : 'Never drilled'}</td>
                <td className="nowrap">
                  {b.overdue ? (
                    <>
                      <StateBadge name="Overdue" tone="warn" /> <span className="overdue">was due by {day(b.drillDue)}</span>
                    </>
                  ) : (
                    <>due by {day(b.drillDue)}</>
                  )}
                </td>
                <td>
                  <button
                    type="button"
                    className={`nowrap ${b.overdue ? 'primary' : ''}`}
                    aria-label={`Run a drill of the ${backupName(b)}…`}
                    onClick={() => show({ kind: 'plan', definition: DEFINITION.drill, prefill: { backup: b.run } })}
                  >
                    Run a drill…
                  </button>{' '}
                  <button type="button" className="nowrap" aria-label={`Audit the shares of the ${backupName(b)}…`} onClick={() => show({ kind: 'plan', definition: DEFINITION.audit, prefill: { backup: b.run } })}>
                    Audit shares…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
