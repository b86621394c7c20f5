import { useId, useState, type FormEvent } from 'react';
import type { Role } from '../../../../shared/ceremony/roles';
import type { RunView } from '../../../../shared/ceremony/view';
import type { TokenRef } from '../../../../shared/keys';
import { Field } from '../../../components/Field';
import { when } from '../../archive/words';
import { personWithRole } from '../words';
import { useStepAct } from './act';
import { Failure } from './Panels';

// Exception sheets (expected / happened / decided), as well-run ceremonies keep them on paper: any
// participant raises one, the administrator decides it, the witness acknowledges the decision. An
// exception still open blocks the sign-off (main enforces it; this only shows it).

export function Exceptions({ view, session }: { view: RunView; session: TokenRef | null }) {
  const open = view.status === 'running' || view.status === 'interrupted';
  const [raising, setRaising] = useState(false);
  if (!open && view.exceptions.length === 0) return null;
  return (
    <section className="panel exceptions" aria-labelledby="exc-h" data-testid="exceptions">
      <div className="panel-head">
        <h2 id="exc-h">
          Exceptions{' '}
          <span className="count">
            ({view.exceptions.length}
            {view.openExceptions ? `, ${view.openExceptions} open` : ''})
          </span>
        </h2>
        {open && !raising ? (
          <button type="button" onClick={() => setRaising(true)}>
            Raise an exception…
          </button>
        ) : null}
      </div>
      {view.exceptions.length === 0 && !raising ? <p className="muted">None. If anything differs from the script, raise one: it is recorded and must be decided before the sign-off.</p> : null}
      <ol className="plain exception-list">
        {view.exceptions.map((x, i) => (
          <ExceptionItem key={x.id} n={i + 1} view={view} x={x} session={open ? session : null} />
        ))}
      </ol>
      {raising ? <RaiseForm view={view} session={session} onDone={() => setRaising(false)} /> : null}
    </section>
  );
}

function ExceptionItem({ n, view, x, session }: { n: number; view: RunView; x: RunView['exceptions'][number]; session: TokenRef | null }) {
  const step = useStepAct(view.run, session);
  const [decision, setDecision] = useState('');
  const admins = view.participants.filter((p) => p.roles.includes('administrator'));
  const witnesses = view.participants.filter((p) => p.roles.includes('witness'));
  const stepTitle = x.step ? view.steps.find((s) => s.id === x.step)?.title : null;
  const decide = async (e: FormEvent) => {
    e.preventDefault();
    const r = await step.act({ kind: 'decide', id: x.id, decision: decision.trim() }, admins[0]?.person ?? null);
    if (r?.ok) setDecision('');
  };
  return (
    <li className={`exception ${x.decision && x.acknowledged ? 'exception-closed' : 'exception-open'}`}>
      <p className="exception-head">
        Exception {n}
        {stepTitle ? ` at “${stepTitle}”` : ''} — raised by {x.raisedBy.name} at {when(x.at)} ·{' '}
        <strong>{x.decision && x.acknowledged ? 'closed' : x.decision ? 'decided, waiting for the witness' : 'open: the administrator decides'}</strong>
      </p>
      <dl className="props">
        <dt>Expected</dt>
        <dd>{x.expected}</dd>
        <dt>Happened</dt>
        <dd>{x.happened}</dd>
        {x.decision ? (
          <>
            <dt>Decided</dt>
            <dd>
              {x.decision.text} <span className="hint">({x.decision.by.name})</span>
            </dd>
          </>
        ) : null}
        {x.acknowledged ? (
          <>
            <dt>Acknowledged</dt>
            <dd>{x.acknowledged.by.name}</dd>
          </>
        ) : null}
      </dl>
      {session && !x.decision ? (
        <form className="form form-inline" onSubmit={decide} aria-label={`Decide exception ${n}`}>
          <Field label={`Decision by ${admins.map((a) => a.name).join(' or ') || 'the administrator'}`} value={decision} maxLength={1000} onChange={(e) => setDecision(e.target.value)} />
          <button type="submit" disabled={step.busy}>
            Record the decision
          </button>
        </form>
      ) : null}
      {session && x.decision && !x.acknowledged ? (
        <button type="button" onClick={() => void step.act({ kind: 'acknowledge', id: x.id }, witnesses[0]?.person ?? null)} disabled={step.busy}>
          {witnesses[0]?.name ?? 'The witness'}: acknowledge the decision
        </button>
      ) : null}
      <Failure step={step} title="The exception was not updated" />
    </li>
  );
}

function RaiseForm({ view, session, onDone }: { view: RunView; session: TokenRef | null; onDone(): void }) {
  const ids = useId();
  const step = useStepAct(view.run, session);
  // Anyone taking part may raise one, in one of their roles; the witness first, who records them.
  const options = view.participants.flatMap((p) => p.roles.map((role) => ({ key: `${p.person}|${role}`, person: p.person, name: p.name, role: role as Role })));
  const first = options.find((o) => o.role === 'witness') ?? options[0];
  const [who, setWho] = useState(first?.key ?? '');
  const [at, setAt] = useState<string>(view.current?.id ?? '');
  const [expected, setExpected] = useState('');
  const [happened, setHappened] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const o = options.find((x) => x.key === who);
    if (!o) return;
    const r = await step.act({ kind: 'exception', role: o.role, step: at || null, expected: expected.trim(), happened: happened.trim() }, o.person);
    if (r?.ok) onDone();
  };
  return (
    <form className="form raise-form" onSubmit={submit} aria-label="Raise an exception">
      <div className="field">
        <label htmlFor={`${ids}-who`}>Raised by</label>
        <select id={`${ids}-who`} value={who} onChange={(e) => setWho(e.target.value)}>
          {options.map((o) => (
            <option key={o.key} value={o.key}>
              {personWithRole(o)}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${ids}-step`}>At step</label>
        <select id={`${ids}-step`} value={at} onChange={(e) => setAt(e.target.value)}>
          <option value="">The ceremony as a whole</option>
          {view.steps.map((s) => (
            <option key={s.id} value={s.id}>
              {s.index + 1}. {s.title}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${ids}-exp`}>What was expected</label>
        <textarea id={`${ids}-exp`} rows={2} maxLength={1000} value={expected} onChange={(e) => setExpected(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${ids}-hap`}>What happened</label>
        <textarea id={`${ids}-hap`} rows={2} maxLength={1000} value={happened} onChange={(e) => setHappened(e.target.value)} />
      </div>
      <div className="toolbar">
        <button type="submit" className="primary" disabled={step.busy}>
          Record the exception
        </button>
        <button type="button" onClick={onDone} disabled={step.busy}>
          Cancel
        </button>
      </div>
      <Failure step={step} title="The exception was not recorded" />
    </form>
  );
}
