import { useShares, type SharesTask } from '../../stores/shares';
import { CheckShare } from './CheckShare';
import { RestoreDrill } from './RestoreDrill';

// Split knowledge as custodians live it: checking one's own share against the ceremony record,
// and restore drills. No token is needed: everything here is SLIP-39 and the record.

const TASKS: Array<{ id: SharesTask; text: string; note: string }> = [
  { id: 'check', text: 'Check my share', note: 'One custodian, alone, with the record' },
  { id: 'drill', text: 'Restore drill', note: 'A quorum proves the shares still work' },
];

export function SharesScreen() {
  const { task, setTask, drill } = useShares();
  return (
    <div className="screen">
      <div className="screen-head">
        <h1 tabIndex={-1}>Shares</h1>
        <p className="muted screen-sub">SLIP-39 shares of a backup, checked against the share-set record written at the ceremony.</p>
      </div>
      <div className="toolbar screen-tools task-switch" role="group" aria-label="Task">
        {TASKS.map((t) => (
          <button key={t.id} type="button" className={`task ${task === t.id ? 'pressed' : ''}`} aria-pressed={task === t.id} onClick={() => setTask(t.id)}>
            <span className="task-title">{t.text}</span>
            <span className="task-note">{t.note}</span>
          </button>
        ))}
        {drill && task !== 'drill' ? (
          <span className="badge badge-warn" role="status">
            A restore drill is open ({drill.entered.length} {drill.entered.length === 1 ? 'share' : 'shares'} in memory)
          </span>
        ) : null}
      </div>
      {task === 'check' ? <CheckShare /> : <RestoreDrill />}
    </div>
  );
}
