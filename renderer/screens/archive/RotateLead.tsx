import type { VersionSummary } from '../../../shared/archive/types';
import { useApp } from '../../stores/app';
import { DEFINITION, useCeremony } from '../../stores/ceremony';
import { day } from './words';

/** True when an active version is past the end of its originator-usage period (SP 800-57 Pt 1 §5.3). */
export function rotationOverdue(v: Pick<VersionSummary, 'state' | 'rotationDue'>, now = new Date().toISOString()): boolean {
  return v.state === 'active' && v.rotationDue !== null && v.rotationDue < now;
}

/** Opens the rotation's plan on the Ceremonies screen with this key filled in. */
export function planRotation(v: Pick<VersionSummary, 'label'>): void {
  useCeremony.getState().show({ kind: 'plan', definition: DEFINITION.rotation, prefill: { key: v.label } });
  useApp.getState().go('ceremonies');
}

/**
 * "Rotate…": a new version of a key is made only through the rotation ceremony (generated in the
 * HSM under the custodians' approval, its check value read aloud, a witness). Offered on the active
 * version, whether or not it is due; urged when it is overdue.
 */
export function RotateLead({ v }: { v: Pick<VersionSummary, 'label' | 'version' | 'state' | 'rotationDue'> }) {
  if (v.state !== 'active') return null;
  const overdue = rotationOverdue(v);
  return (
    <div className={`retrieve-lead toolbar ${overdue ? 'lead-overdue' : ''}`} data-testid="rotate-lead">
      <button type="button" className={overdue ? 'primary' : ''} onClick={() => planRotation(v)}>
        Rotate…
      </button>
      <p className="hint">
        {overdue ? (
          <strong className="overdue">Rotation was due {day(v.rotationDue)}: this version has protected data for longer than its cryptoperiod. </strong>
        ) : v.rotationDue ? (
          <>Rotation is due {day(v.rotationDue)}. </>
        ) : null}
        The rotation ceremony generates version {v.version + 1} inside the HSM with the same algorithm and usages, makes it the active version, and deactivates version {v.version}:
        it keeps decrypting and verifying old data, but no longer encrypts, signs or wraps.
      </p>
    </div>
  );
}
