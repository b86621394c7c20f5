import type { DrillState } from '../../../../shared/contract';
import { whoLine } from '../../../stores/shares';

/** The shares main has accepted so far: who, and the fingerprint to compare with the record. */
export function EnteredList({ drill }: { drill: DrillState }) {
  if (drill.entered.length === 0) return null;
  return (
    <ul className="entered plain" aria-label="Shares entered">
      {drill.entered.map((s, i) => (
        <li key={`${s.groupIndex}/${s.memberIndex}`}>
          <span className="status-ok" aria-hidden="true">
            ✓
          </span>{' '}
          Share {i + 1}: {whoLine(s)} — accepted <span className="muted">(fingerprint <span className="mono">{s.fingerprint}</span>)</span>
        </li>
      ))}
    </ul>
  );
}
