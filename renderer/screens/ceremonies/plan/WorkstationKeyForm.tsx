import { useEffect, useState, type FormEvent } from 'react';
import type { ArchiveStatus } from '../../../../shared/contract';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { api, call } from '../../../api';
import { useAction } from '../../../hooks/useAction';
import { useCeremony } from '../../../stores/ceremony';
import { hexGroups } from '../words';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { PlanSubmit } from './PlanSubmit';

/**
 * An audit key rotation has no choices: the form shows the key it replaces — the audit key's
 * fingerprint as the archive stores it — and the planner confirms it was read aloud. It goes into
 * the plan, so the fingerprint the custodians approve names it, and main refuses it if it is not
 * the archive's key.
 */
export function WorkstationKeyForm({ def }: { def: DefinitionView }) {
  const ws = useWorkstation();
  const [status, setStatus] = useState<ArchiveStatus | null>(null);
  const [confirmed, setConfirmed] = useState(false);
  const [cast, setCast] = useCast();
  const { busy, error, run } = useAction();

  useEffect(() => {
    let live = true;
    void call(api['archive.status']({})).then((r) => {
      if (live && r.ok) setStatus(r.value);
    });
    return () => {
      live = false;
    };
  }, []);

  const info = status?.exists ? status.info : null;
  const why = !info ? 'Reading the archive…' : !confirmed ? 'Confirm the audit key’s fingerprint.' : ws.state === 'absent' ? `Connect token “${ws.label}” first.` : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (why || !info) return;
    if (ws.state !== 'ready' && ws.state !== 'login') return;
    const session = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    await run(() =>
      useCeremony.getState().plan({
        ...session,
        definition: def.id,
        params: { key: 'audit', current: info.keys.audit.fingerprint },
        participants: participantsOf(cast),
      }),
    );
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the audit key rotation">
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      {info ? (
        <dl className="props facts" data-testid="audit-key-rotation-key">
          <div className="tech-row">
            <dt>Audit key being replaced ({info.keys.audit.label})</dt>
            <dd className="mono readout">{hexGroups(info.keys.audit.fingerprint)}</dd>
          </div>
          {info.keys.audit.retired.length ? (
            <div className="tech-row">
              <dt>Audit keys retired before</dt>
              <dd>{info.keys.audit.retired.length}</dd>
            </div>
          ) : null}
        </dl>
      ) : (
        <p role="status">Reading the archive…</p>
      )}
      <p className="hint">
        A new key pair is made inside the HSM. The old key signs the handover, which names the new key and carries its signature; from then on the new key signs. The old public key
        stays in the record so that everything it signed still verifies; the old private key is kept but can no longer sign. Other workstations that trust this one need the new public
        key afterwards.
      </p>
      <label className="confirm">
        <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} disabled={!info} /> The administrator read the audit key’s fingerprint aloud, and it is the
        one expected.
      </label>
      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={!!why || ws.state === 'unknown'} why={why} text="Plan the rotation" />
    </form>
  );
}
