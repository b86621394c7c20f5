import { useEffect, useRef, type ReactNode } from 'react';
import type { DefinitionView } from '../../../../shared/ceremony/contract';
import { useCeremony, type PlanPrefill } from '../../../stores/ceremony';
import { BackupForm } from './BackupForm';
import { DestructionForm } from './DestructionForm';
import { ComponentForm } from './ComponentForm';
import { ComponentCreateForm } from './ComponentCreateForm';
import { EnrolmentForm } from './EnrolmentForm';
import { KekRotationForm } from './KekRotationForm';
import { KeygenForm } from './KeygenForm';
import { ReshareForm } from './ReshareForm';
import { RestoreForm } from './RestoreForm';
import { RetrievalForm } from './RetrievalForm';
import { ShareAuditForm } from './ShareAuditForm';
import { RotationForm } from './RotationForm';
import { SetupForm } from './SetupForm';
import { WorkstationKeyForm } from './WorkstationKeyForm';

// Planning: the definition's steps, then the form for its type. Every value goes to main as it is
// typed; main checks the definition, the parameters and the people (roles, policy, credentials)
// before it touches the HSM, and says in words what to correct. Nothing is checked only here.

export function PlanForm({ definitionId, prefill }: { definitionId: string; prefill?: PlanPrefill }) {
  const definitions = useCeremony((s) => s.definitions);
  const show = useCeremony((s) => s.show);
  const heading = useRef<HTMLHeadingElement>(null);
  const def = definitions?.find((d) => d.id === definitionId) ?? null;

  useEffect(() => {
    heading.current?.focus();
  }, [definitionId, prefill]);

  if (!def) return <p role="status">Reading the ceremony definitions…</p>;
  const form: ReactNode =
    def.type === 'workstation-setup' ? (
      <SetupForm def={def} />
    ) : def.type === 'enrolment' ? (
      <EnrolmentForm def={def} />
    ) : def.type === 'key-generation' ? (
      <KeygenForm def={def} />
    ) : def.type === 'backup' ? (
      <BackupForm def={def} />
    ) : def.type === 'restore' || def.type === 'restore-drill' ? (
      // A new lead from another screen (another backup, another version) starts the form afresh.
      <RestoreForm key={`${def.id}:${prefill?.backup ?? ''}`} def={def} prefill={prefill} />
    ) : def.type === 'reshare' ? (
      <ReshareForm key={prefill?.backup ?? ''} def={def} prefill={prefill} />
    ) : def.type === 'component-form' ? (
      <ComponentForm def={def} />
    ) : def.type === 'component-creation' ? (
      <ComponentCreateForm def={def} />
    ) : def.type === 'share-audit' ? (
      <ShareAuditForm key={prefill?.backup ?? ''} def={def} prefill={prefill} />
    ) : def.type === 'retrieval' ? (
      <RetrievalForm key={prefill?.version ?? ''} def={def} prefill={prefill} />
    ) : def.type === 'destruction' ? (
      <DestructionForm key={`${prefill?.destroyKey ?? ''}:${prefill?.destroyVersion ?? ''}`} def={def} prefill={prefill} />
    ) : def.type === 'rotation' ? (
      <RotationForm key={prefill?.key ?? ''} def={def} prefill={prefill} />
    ) : def.type === 'kek-rotation' ? (
      <KekRotationForm def={def} />
    ) : def.type === 'workstation-key-rotation' ? (
      <WorkstationKeyForm def={def} />
    ) : null;
  return (
    <section className="panel plan" aria-labelledby="plan-h">
      <button type="button" className="link back" onClick={() => show({ kind: 'list' })}>
        ← All ceremonies
      </button>
      <h2 id="plan-h" ref={heading} tabIndex={-1}>
        Plan: {def.title}
      </h2>
      <p className="hint panel-intro">{def.summary}</p>
      <DefinitionSteps def={def} />
      {form ?? <p>This ceremony is planned with the command line for now.</p>}
    </section>
  );
}

/** The script's steps, so the room knows what is coming before anything is planned. */
function DefinitionSteps({ def }: { def: DefinitionView }) {
  return (
    <details className="def-steps">
      <summary>
        The {def.steps.length} steps of this ceremony ({def.id}, revision {def.revision})
      </summary>
      <ol>
        {def.steps.map((s) => (
          <li key={s.id}>{s.title}</li>
        ))}
      </ol>
    </details>
  );
}
