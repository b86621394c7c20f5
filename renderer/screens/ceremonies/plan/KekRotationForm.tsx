import { useEffect, useState, type FormEvent } from 'react';
import type { ArchiveStatus } from '../../../../shared/contract';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { api, call } from '../../../api';
import { useAction } from '../../../hooks/useAction';
import { useCeremony } from '../../../stores/ceremony';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { PlanSubmit } from './PlanSubmit';

/**
 * An Archive KEK rotation has no choices: the form shows what it will touch — the current KEK's
 * check value and the number of archived versions with material — and the planner confirms both.
 * They go into the plan as parameters, so the fingerprint the custodians approve names them, and
 * main refuses them if they are not the archive's.
 */
export function KekRotationForm({ def }: { def: DefinitionView }) {
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
  const rotating = info?.keys.kek.incoming ?? null;
  const why = !info
    ? 'Reading the archive…'
    : rotating
      ? 'A rotation is already under way: resume its ceremony from the list.'
      : !confirmed
        ? 'Confirm the check value and the number of versions.'
        : ws.state === 'absent'
          ? `Connect token “${ws.label}” first.`
          : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (why || !info) return;
    if (ws.state !== 'ready' && ws.state !== 'login') return;
    const session = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    await run(() =>
      useCeremony.getState().plan({
        ...session,
        definition: def.id,
        params: { kekCheck: info.keys.kek.check, versions: info.counts.withMaterial },
        participants: participantsOf(cast),
      }),
    );
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the Archive KEK rotation">
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      {info ? (
        <dl className="props facts" data-testid="kek-rotation-numbers">
          <div className="tech-row">
            <dt>Archive KEK being replaced (check value)</dt>
            <dd className="mono readout">{info.keys.kek.check}</dd>
          </div>
          <div className="tech-row">
            <dt>Archived versions to re-wrap</dt>
            <dd className="mono readout">{info.counts.withMaterial.toLocaleString('en')}</dd>
          </div>
        </dl>
      ) : (
        <p role="status">Reading the archive…</p>
      )}
      {rotating ? <p className="notice notice-error">A KEK rotation is under way (new KEK {rotating}). Resume its ceremony instead of planning another.</p> : null}
      <p className="hint">
        Every version is re-wrapped inside the HSM and checked; the old KEK is retired only when all are done, and stays in the HSM. It can be cancelled and resumed;
        the archive stays readable throughout. Both numbers are part of the ceremony fingerprint.
      </p>
      <label className="confirm">
        <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} disabled={!info || !!rotating} /> The administrator read the check value and the
        number of versions aloud, and they are the ones expected.
      </label>
      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={!!why || ws.state === 'unknown'} why={why} text="Plan the rotation" />
    </form>
  );
}
