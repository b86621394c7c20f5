import { useEffect } from 'react';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { useCeremony } from '../../stores/ceremony';
import { PlanForm } from './plan/PlanForm';
import { RunList } from './RunList';
import { RunScreen } from './run/RunScreen';
import { SetupLanding } from './SetupLanding';

// Ceremonies: before the workstation has a record, the set-up ceremony (and nothing else); then the
// list of ceremonies, planning one from a built-in definition, and running it step by step. The
// engine in main decides everything; this screen shows its RunView and sends intents.

export function CeremoniesScreen() {
  const record = useCeremony((s) => s.record);
  const recordError = useCeremony((s) => s.recordError);
  const pane = useCeremony((s) => s.pane);
  const load = useCeremony((s) => s.load);

  useEffect(() => {
    void load();
  }, [load]);

  // Main says when a run changed (here, or by another front end of this app) and how long work goes.
  useEffect(() => api.onEvent((event) => useCeremony.getState().handleEvent(event)), []);

  if (pane.kind === 'run') return <RunScreen run={pane.run} />;
  return (
    <div className="screen">
      <div className="screen-head">
        <h1 tabIndex={-1}>Ceremonies</h1>
        <p className="muted screen-sub">
          Key ceremonies run step by step from a script, under a witness’s eyes: who acts, what they do, and a signed record of what happened.
        </p>
      </div>
      {recordError ? <ErrorNotice error={recordError} title="The workstation record could not be read" /> : null}
      {!record ? (
        recordError ? null : <p role="status">Reading the workstation record…</p>
      ) : pane.kind === 'plan' ? (
        <PlanForm definitionId={pane.definition} prefill={pane.prefill} />
      ) : !record.exists ? (
        <SetupLanding />
      ) : (
        <RunList />
      )}
    </div>
  );
}
