import { useId, useState, type FormEvent } from 'react';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { useAction } from '../../../hooks/useAction';
import { useCeremony, type PlanPrefill } from '../../../stores/ceremony';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { PlanSubmit } from './PlanSubmit';

const lines = (s: string) => [...new Set(s.split('\n').map((x) => x.trim()).filter(Boolean))];

/**
 * A destruction under dual control: what goes (token keys by label or "id:HEX", archived versions by
 * LABEL@N) and why. Main resolves each (the archive now; the token at the check step, after the
 * login) and puts label, id, algorithm and check value with the reason into the fingerprint the
 * custodians approve. An active version is refused unless the ceremony is asked to deactivate it.
 */
export function DestructionForm({ def, prefill }: { def: DefinitionView; prefill?: PlanPrefill }) {
  const ws = useWorkstation();
  const ids = useId();
  const [keys, setKeys] = useState(prefill?.destroyKey ?? '');
  const [versions, setVersions] = useState(prefill?.destroyVersion ?? '');
  const [reason, setReason] = useState('');
  const [deactivate, setDeactivate] = useState(false);
  const [cast, setCast] = useCast();
  const { busy, error, run } = useAction();

  const k = lines(keys);
  const v = lines(versions);
  const why =
    k.length + v.length === 0 ? 'Name at least one key or version.' : reason.trim().length < 10 ? 'State the reason in a sentence.' : ws.state === 'absent' ? `Connect token “${ws.label}” first.` : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (why) return;
    if (ws.state !== 'ready' && ws.state !== 'login') return;
    const session = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    await run(() =>
      useCeremony.getState().plan({
        ...session,
        definition: def.id,
        params: { keys: k, versions: v, reason: reason.trim(), ...(deactivate ? { deactivateActive: true } : {}) },
        participants: participantsOf(cast),
      }),
    );
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the destruction">
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      <div className="field">
        <label htmlFor={`${ids}-keys`}>Keys on the workstation token (one per line)</label>
        <textarea id={`${ids}-keys`} rows={2} value={keys} spellCheck={false} onChange={(e) => setKeys(e.target.value)} aria-describedby={`${ids}-keys-hint`} />
        <p id={`${ids}-keys-hint`} className="hint">
          The label as the Keys screen shows it, or “id:” and the key’s id. A key pair goes together (private and public key).
        </p>
      </div>
      <div className="field">
        <label htmlFor={`${ids}-versions`}>Archived versions to shred (one per line)</label>
        <textarea id={`${ids}-versions`} rows={2} value={versions} spellCheck={false} onChange={(e) => setVersions(e.target.value)} aria-describedby={`${ids}-versions-hint`} />
        <p id={`${ids}-versions-hint`} className="hint">LABEL@N, for example “Payments DEK 2025@1”. The wrapped material is shredded; the version’s metadata stays, marked destroyed.</p>
      </div>
      <label className="check-line">
        <input type="checkbox" checked={deactivate} onChange={(e) => setDeactivate(e.target.checked)} /> Deactivate an active version first, as a recorded part of the destruction
      </label>
      <div className="field">
        <label htmlFor={`${ids}-reason`}>Reason</label>
        <textarea id={`${ids}-reason`} rows={2} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} aria-describedby={`${ids}-reason-hint`} />
        <p id={`${ids}-reason-hint`} className="hint">
          <strong>The reason is part of the ceremony fingerprint</strong> and is printed on the destruction certificate. For example: “End of the cryptoperiod; the 2025
          batches were re-encrypted under DEK 2026 (change 8812).”
        </p>
      </div>
      <p className="notice notice-warn">
        Destruction cannot be undone. The check step says what stops working and which keys are the last copy; each of those needs an exception decided by the
        administrator and acknowledged by the witness before anything is destroyed.
      </p>
      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={!!why || ws.state === 'unknown'} why={why} text="Plan the destruction" />
    </form>
  );
}
