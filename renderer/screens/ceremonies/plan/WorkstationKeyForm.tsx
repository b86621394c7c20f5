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
 * A workstation key rotation has one choice, the key: the audit key (the default) or the MAC key.
 * The form shows the key it replaces — the audit key's fingerprint, or the MAC key's check value,
 * as the archive stores it — and the planner confirms it was read aloud. It goes into the plan, so
 * the fingerprint the custodians approve names it, and main refuses it if it is not the archive's key.
 */
export function WorkstationKeyForm({ def }: { def: DefinitionView }) {
  const ws = useWorkstation();
  const [status, setStatus] = useState<ArchiveStatus | null>(null);
  const [confirmed, setConfirmed] = useState(false);
  const [key, setKey] = useState<'audit' | 'mac'>('audit');
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
  const why = !info ? 'Reading the archive…' : !confirmed ? (key === 'mac' ? 'Confirm the MAC key’s check value.' : 'Confirm the audit key’s fingerprint.') : ws.state === 'absent' ? `Connect token “${ws.label}” first.` : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (why || !info) return;
    if (ws.state !== 'ready' && ws.state !== 'login') return;
    const session = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    await run(() =>
      useCeremony.getState().plan({
        ...session,
        definition: def.id,
        params: key === 'mac' ? { key: 'mac', current: info.keys.mac.check } : { key: 'audit', current: info.keys.audit.fingerprint },
        participants: participantsOf(cast),
      }),
    );
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label={key === 'mac' ? 'Plan the MAC key rotation' : 'Plan the audit key rotation'}>
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      <fieldset className="choices">
        <legend>Key to rotate</legend>
        {(['audit', 'mac'] as const).map((k) => (
          <label key={k}>
            <input type="radio" name="workstation-key" value={k} checked={key === k} onChange={() => (setKey(k), setConfirmed(false))} /> {k === 'audit' ? 'The audit key (signs the log)' : 'The MAC key (authenticates every row)'}
          </label>
        ))}
      </fieldset>
      {info && key === 'mac' ? (
        <>
          <dl className="props facts" data-testid="mac-key-rotation-key">
            <div className="tech-row">
              <dt>MAC key being replaced ({info.keys.mac.label})</dt>
              <dd className="mono readout">{hexGroups(info.keys.mac.check)}</dd>
            </div>
          </dl>
          <p className="hint">
            A new MAC key is made inside the HSM. Every row of the archive is checked under the old key and MACed again under the new one, in batches, with progress shown; it can be
            stopped and resumed, and every row stays verifiable throughout. Then the handover is recorded and the old key retired (kept in the HSM, no row under it any more).
          </p>
        </>
      ) : info ? (
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
      {key === 'audit' ? <p className="hint">
        A new key pair is made inside the HSM. The old key signs the handover, which names the new key and carries its signature; from then on the new key signs. The old public key
        stays in the record so that everything it signed still verifies; the old private key is kept but can no longer sign. Other workstations that trust this one need the new public
        key afterwards.
      </p> : null}
      <label className="confirm">
        <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} disabled={!info} /> The administrator read the {key === 'mac' ? 'MAC key’s check value' : 'audit key’s fingerprint'} aloud, and it is the one
        expected.
      </label>
      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={!!why || ws.state === 'unknown'} why={why} text="Plan the rotation" />
    </form>
  );
}
