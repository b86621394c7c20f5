import type { RunView } from '../../../../shared/ceremony/view';
import { namesList } from '../words';
import { Failure, OneButton, type PanelProps } from './Panels';
import { ProofForm, type ProofInput } from './Proof';

// A re-share's last step before the sign-off: each holder of an old share who is in the room
// destroys their sheet in front of the witness and signs, with their own card, that it is gone.
// Nobody can be made to attest, so the administrator may go on with whoever did; the record then
// names whose old share was not vouched for — it still rebuilds the Backup Key with others of its
// set until the Backup Key is rotated.

const kindOf = (view: RunView, person: string) => view.participants.find((p) => p.person === person)?.credential?.kind ?? 'card';

export function AttestPanel({ view, actor, step, workstationUri }: PanelProps) {
  const cur = view.current!;
  const input = cur.input;
  if (input.kind !== 'attest') return null;
  const pending = input.holders.filter((h) => !h.done);
  const attested = input.holders.filter((h) => h.done);
  const admin = view.participants.find((p) => p.roles.includes('administrator'));
  const attest = async (proof: ProofInput) => {
    if (!actor) return false;
    return (await step.act({ kind: 'attest', person: actor.person, proof }, actor.person))?.ok === true;
  };
  const unvouched = [...pending.map((h) => `${h.name} (share ${h.index})`), ...input.absent.map((h) => `${h.name} (share ${h.index}, not here)`)];
  return (
    <div className="input-panel" data-testid="attest-panel">
      <ul className="holder-list">
        {input.holders.map((h) => (
          <li key={h.person}>
            Old share {h.index}: {h.name} — {h.done ? 'attested destroyed' : 'not yet attested'}
          </li>
        ))}
        {input.absent.map((h) => (
          <li key={`absent-${h.index}`}>
            Old share {h.index}: {h.name} — not taking part, cannot attest here
          </li>
        ))}
      </ul>
      {actor && pending.some((h) => h.person === actor.person) ? (
        <>
          <p>
            {actor.name}: destroy your old share sheet now, in front of the witness. Then sign with your card that it is destroyed. Sign only if it is.
          </p>
          <ProofForm key={actor.person} person={actor.person} name={actor.name} kind={kindOf(view, actor.person)} workstationUri={workstationUri} submitText={`${actor.name}: my old share is destroyed — sign`} busy={step.busy} onProof={attest} />
          <Failure step={step} title={`${actor.name}’s attestation was not recorded`} />
        </>
      ) : null}
      <OneButton
        step={step}
        testId="do-step"
        text={unvouched.length ? `Go on without: ${namesList(unvouched)}` : 'Every old holder attested: record it and go on'}
        busyText="Recording the attestations…"
        failure="The attestations were not recorded"
        onClick={() => void step.act({ kind: 'run' }, admin?.person ?? null)}
      >
        {unvouched.length ? (
          <p className="notice notice-warn">
            {attested.length ? `${namesList(attested.map((h) => h.name))} attested. ` : ''}
            If you go on now, the record names {namesList(unvouched)} as not attested: {unvouched.length === 1 ? 'that old share' : 'those old shares'}{' '}
            {view.params.rotateBackupKey === true
              ? 'can still rebuild, with others of the old set, the old Backup Key — which Custos no longer uses, but which opens a copy of an old wrapped blob in a bundle exported earlier.'
              : 'can still rebuild the Backup Key with others of the old set, until the Backup Key is rotated (a re-share that rotates it).'}
          </p>
        ) : null}
      </OneButton>
    </div>
  );
}
