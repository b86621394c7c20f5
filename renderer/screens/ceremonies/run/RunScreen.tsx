import { useEffect, useRef } from 'react';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { StepList } from '../../../components/Steps';
import { useCeremony } from '../../../stores/ceremony';
import { StateBadge } from '../../archive/HsmNotice';
import { when } from '../../archive/words';
import { useWorkstation, WorkstationNotice } from '../plan/Participants';
import { RUN_STATUS, STEP_STATUS } from '../words';
import { CurrentStep } from './CurrentStep';
import { Exceptions } from './Exceptions';
import { Fingerprint } from './Fingerprint';
import { AbortPanel, Finished, Interrupted } from './Outcome';
import { People } from './People';
import { RunSubject } from './Subject';

/** A run keeps up with steps done elsewhere (the CLI, another window) by reading it again now and then. */
const REFRESH_MS = 4000;

export function RunScreen({ run }: { run: string }) {
  const view = useCeremony((s) => s.view);
  const viewError = useCeremony((s) => s.viewError);
  const show = useCeremony((s) => s.show);
  const refreshView = useCeremony((s) => s.refreshView);
  const ws = useWorkstation();
  const title = useRef<HTMLHeadingElement>(null);
  const stepHeading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    void refreshView();
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') void refreshView(true);
    }, REFRESH_MS);
    return () => clearInterval(t);
  }, [run, refreshView]);

  // Opening a run starts at its title.
  const loaded = view?.run === run;
  useEffect(() => {
    if (loaded) title.current?.focus();
  }, [loaded, run]);

  const back = (
    <button type="button" className="link back" onClick={() => show({ kind: 'list' })}>
      ← All ceremonies
    </button>
  );
  if (!view || view.run !== run) {
    return (
      <div className="screen">
        {back}
        <h1 tabIndex={-1}>Ceremony</h1>
        {viewError ? <ErrorNotice error={viewError} title="The ceremony could not be read" /> : <p role="status">Reading the ceremony…</p>}
      </div>
    );
  }

  const status = RUN_STATUS[view.status];
  const current = view.current ? view.current.index : view.status === 'completed' ? view.steps.length : Math.max(0, view.steps.findIndex((s) => s.status !== 'done' && s.status !== 'skipped'));
  const session = ws.state === 'ready' ? ws.ref : ws.state === 'login' ? { module: ws.slot.module, token: ws.slot.token!.uri } : null;
  const workstationUri = ws.state === 'ready' || ws.state === 'login' ? ws.slot.token!.uri : null;
  const open = view.status === 'running' || view.status === 'interrupted';
  const input = view.status === 'running' ? view.current?.input.kind : undefined;
  const shownLarge = view.current?.kind === 'read-fingerprint' || input === 'approve' || input === 'sign-off';

  return (
    <div className={`screen ceremony-run ${view.practice ? 'is-practice' : ''}`}>
      {view.status === 'running' && view.current ? (
        <a
          className="skip-link"
          href="#current-step"
          onClick={(e) => {
            e.preventDefault();
            stepHeading.current?.focus();
          }}
        >
          Skip to the current step
        </a>
      ) : null}
      {back}
      <div className="screen-head run-head">
        <h1 ref={title} tabIndex={-1}>
          {view.title}
          {view.practice ? <span className="badge badge-practice">PRACTICE</span> : null}
        </h1>
        <p className="about-token" data-testid="run-about">
          <StateBadge name={status.name} tone={status.tone} />
          <span className="muted">
            Record “{view.record}” · started {when(view.startedAt)}
            {view.endedAt ? ` · ended ${when(view.endedAt)}` : ''}
          </span>
        </p>
        {view.practice ? (
          <p className="practice-note" data-testid="practice-note">
            PRACTICE run: a rehearsal. Its keys, shares and evidence are marked as practice and are refused by a production record.
          </p>
        ) : null}
        <RunSubject view={view} />
      </div>
      {viewError ? <ErrorNotice error={viewError} title="The ceremony could not be read again" /> : null}
      <StepList steps={view.steps.map((s) => ({ id: s.id, title: s.status === 'skipped' ? `${s.title} (skipped)` : s.title }))} current={current} label="Steps of this ceremony" />
      {open ? <WorkstationNotice ws={ws} toDo="act in this ceremony" /> : null}
      <div className="run-grid">
        <div className="run-main" id="current-step">
          {view.status === 'running' && view.current ? (
            <CurrentStep key={view.run} view={view} session={session} workstationUri={workstationUri} wsLoggedIn={ws.state === 'ready'} headingRef={stepHeading} />
          ) : null}
          {view.status === 'interrupted' ? <Interrupted view={view} session={session} /> : null}
          {view.status === 'completed' || view.status === 'aborted' ? <Finished view={view} /> : null}
          <Exceptions view={view} session={session} />
        </div>
        <aside className="run-side" aria-label="About this ceremony">
          {/* One copy of the words at a time: while the step shows them large, this one steps aside. */}
          {!shownLarge ? (
            <section className="panel">
              <Fingerprint fp={view.fingerprint} />
            </section>
          ) : null}
          <People view={view} />
          <section className="panel" aria-labelledby="done-h">
            <h2 id="done-h">Steps</h2>
            <ol className="step-states" data-testid="step-states">
              {view.steps.map((s) => (
                <li key={s.id} className={`step-state step-state-${s.status}`}>
                  <span className="step-state-title">
                    {s.index + 1}. {s.title}
                  </span>
                  <span className="step-state-status">
                    {STEP_STATUS[s.status] ?? s.status}
                    {s.quorum ? ` · ${s.quorum.have} of ${s.quorum.threshold} approvals` : ''}
                    {s.ticked ? ` · ticked by ${s.ticked}` : s.witness && s.status === 'done' && view.status === 'running' && s.index < view.steps.length - 1 ? ' · not ticked yet' : ''}
                  </span>
                </li>
              ))}
            </ol>
          </section>
          {open ? <AbortPanel view={view} session={session} /> : null}
        </aside>
      </div>
    </div>
  );
}
