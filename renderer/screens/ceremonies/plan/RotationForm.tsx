import { useEffect, useState, type FormEvent } from 'react';
import type { VersionSummary } from '../../../../shared/archive/types';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { api, call } from '../../../api';
import { Field } from '../../../components/Field';
import { useAction } from '../../../hooks/useAction';
import { useCeremony, type PlanPrefill } from '../../../stores/ceremony';
import { StateBadge } from '../../archive/HsmNotice';
import { rotationOverdue } from '../../archive/RotateLead';
import { algorithmName, day, identityOf, PURPOSE_WORDS } from '../../archive/words';
import { Participants, participantsOf, useCast, useWorkstation, WorkstationNotice } from './Participants';
import { PlanSubmit } from './PlanSubmit';

type Found = { state: 'none' } | { state: 'looking' } | { state: 'found'; versions: VersionSummary[] } | { state: 'missing' };

/** Every version of the key with this label (the archive's exact-label search). */
async function lookUp(label: string): Promise<Found> {
  if (label.length > 128 || label.endsWith('*')) return { state: 'missing' };
  const r = await call(api['archive.search']({ label, sort: 'label', limit: 200 }));
  if (!r.ok) return { state: 'missing' };
  const mine = r.value.items.filter((v) => v.label === label).sort((a, b) => b.version - a.version);
  return mine.length ? { state: 'found', versions: mine } : { state: 'missing' };
}

/**
 * A rotation: only the key is chosen. What the new version is — algorithm, usages, number — main
 * plans from the archive (plan-rotation.ts), so nobody retypes it and the fingerprint covers it;
 * this form shows the version being replaced, so the room sees what it approves.
 */
export function RotationForm({ def, prefill }: { def: DefinitionView; prefill?: PlanPrefill }) {
  const ws = useWorkstation();
  const [key, setKey] = useState(prefill?.key ?? '');
  const [found, setFound] = useState<Found>({ state: 'none' });
  const [cast, setCast] = useCast();
  const { busy, error, run } = useAction();
  const wanted = key.trim();

  useEffect(() => {
    if (!wanted) {
      setFound({ state: 'none' });
      return;
    }
    let live = true;
    setFound({ state: 'looking' });
    const t = setTimeout(() => {
      void lookUp(wanted).then((f) => {
        if (live) setFound(f);
      });
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [wanted]);

  const versions = found.state === 'found' ? found.versions : [];
  const active = versions.find((v) => v.state === 'active') ?? null;
  const why = !wanted ? 'Name the key first.' : found.state === 'found' && !active ? 'This key has no active version to rotate.' : ws.state === 'absent' ? `Connect token “${ws.label}” first.` : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (why) return;
    if (ws.state !== 'ready' && ws.state !== 'login') return;
    const session = ws.state === 'ready' ? ws.ref : { module: ws.slot.module, token: ws.slot.token!.uri };
    await run(() => useCeremony.getState().plan({ ...session, definition: def.id, params: { key: wanted }, participants: participantsOf(cast) }));
  };

  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan the rotation">
      <WorkstationNotice ws={ws} toDo="plan and run a ceremony" />
      <div className="add-fields">
        <Field label="Key to rotate" hint="Its label in the archive (for example Payments DEK)." value={key} maxLength={128} autoComplete="off" spellCheck={false} onChange={(e) => setKey(e.target.value)} />
      </div>
      <div className="found" role="status" data-testid="rotation-key">
        {found.state === 'looking' ? <p className="hint">Looking in the archive…</p> : null}
        {found.state === 'missing' ? <p className="field-error">The archive has no key “{wanted}”. Search the Archive screen for its label.</p> : null}
        {found.state === 'found' && !active ? (
          <p className="field-error">
            “{wanted}” has no active version (its versions are {[...new Set(versions.map((v) => v.state))].join(', ')}). Only a key in use is rotated; a compromised key is replaced with a new key.
          </p>
        ) : null}
        {active ? (
          <div className="identity">
            <p className="identity-row">
              <span className="label">
                Replacing version {active.version} · {algorithmName(active.algorithm)} · {PURPOSE_WORDS[active.purpose]}
              </span>
              <span>
                {active.checkValue ? 'Check value' : 'Public-key fingerprint'} <span className="mono readout-small">{identityOf(active)}</span>
              </span>
            </p>
            <p className="hint">
              {rotationOverdue(active) ? (
                <>
                  <StateBadge name="Overdue" tone="warn" /> <span className="overdue">Rotation was due {day(active.rotationDue)}.</span>{' '}
                </>
              ) : active.rotationDue ? (
                <>Rotation is due {day(active.rotationDue)}. </>
              ) : null}
              Version {versions[0]!.version + 1} will be generated in the HSM with the same algorithm and usages, and become active;
              version {active.version} is deactivated and keeps decrypting and verifying old data. The fingerprint covers both versions.
            </p>
          </div>
        ) : null}
      </div>
      <Participants cast={cast} onChange={setCast} />
      <PlanSubmit busy={busy} error={error} disabled={!!why || ws.state === 'unknown'} why={why} text="Plan the rotation" />
    </form>
  );
}
