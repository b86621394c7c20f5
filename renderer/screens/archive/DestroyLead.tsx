import type { VersionSummary } from '../../../shared/archive/types';
import { useApp } from '../../stores/app';
import { DEFINITION, useCeremony, type PlanPrefill } from '../../stores/ceremony';

/** Opens the destruction ceremony's plan on the Ceremonies screen with this key or version filled in. */
export function planDestruction(prefill: Pick<PlanPrefill, 'destroyKey' | 'destroyVersion'>): void {
  useCeremony.getState().show({ kind: 'plan', definition: DEFINITION.destruction, prefill });
  useApp.getState().go('ceremonies');
}

/**
 * The version view's lead to shredding its material: only through the destruction ceremony (the
 * custodians' approvals, a witness, a certificate). Only a version whose material is still archived.
 */
export function DestroyLead({ v }: { v: Pick<VersionSummary, 'label' | 'version' | 'hasMaterial'> }) {
  if (!v.hasMaterial) return null;
  return (
    <div className="retrieve-lead toolbar" data-testid="destroy-lead">
      <button type="button" className="danger-outline" onClick={() => planDestruction({ destroyVersion: `${v.label}@${v.version}` })}>
        Destroy in a ceremony…
      </button>
      <p className="hint">Shred this version’s archived material with the destruction ceremony: a stated reason, the custodians’ approvals, a witness, and a certificate. Its metadata stays.</p>
    </div>
  );
}
