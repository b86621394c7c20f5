import type { VersionSummary } from '../../../shared/archive/types';
import { useApp } from '../../stores/app';
import { DEFINITION, useCeremony } from '../../stores/ceremony';

/** Opens the archive retrieval's plan on the Ceremonies screen with this version (LABEL@N) filled in. */
export function planRetrieval(v: Pick<VersionSummary, 'label' | 'version'>): void {
  useCeremony.getState().show({ kind: 'plan', definition: DEFINITION.retrieval, prefill: { version: `${v.label}@${v.version}` } });
  useApp.getState().go('ceremonies');
}

/**
 * "Retrieve…": an archived key comes back into the HSM only through the retrieval ceremony (a stated
 * purpose, the custodians' approvals, a witness). Only a version whose material is still archived.
 */
export function RetrieveButton({ v, primary = false }: { v: Pick<VersionSummary, 'label' | 'version' | 'hasMaterial'>; primary?: boolean }) {
  if (!v.hasMaterial) return null;
  return (
    <button type="button" className={primary ? 'primary' : ''} onClick={() => planRetrieval(v)}>
      Retrieve…
    </button>
  );
}

/** The version view's lead to a retrieval, with what it involves. */
export function RetrieveLead({ v }: { v: Pick<VersionSummary, 'label' | 'version' | 'hasMaterial'> }) {
  if (!v.hasMaterial) return null;
  return (
    <div className="retrieve-lead toolbar" data-testid="retrieve-lead">
      <RetrieveButton v={v} primary />
      <p className="hint">
        Bring this version back into the HSM to open old data, with the archive retrieval ceremony: you state the purpose, the custodians approve this version for it with
        their cards, a witness signs off.
      </p>
    </div>
  );
}
