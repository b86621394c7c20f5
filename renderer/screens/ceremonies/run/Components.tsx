import { useId, useState, type FormEvent } from 'react';
import { namesList } from '../words';
import { Failure, type PanelProps } from './Panels';
import { checkValueText } from '../../../../shared/check-value';

// Forming a key from XOR components, in the window: each holder in turn opens their envelope and
// types their component alone; main checks it at once against the check value printed with it and
// names a component typed by the wrong holder. The digits live only in this field's state and are
// cleared as soon as they are sent.

export function EnterComponentPanel({ actor, step, view }: PanelProps) {
  const input = view.current!.input;
  const [hex, setHex] = useState('');
  const ids = useId();
  if (input.kind !== 'enter-component' || !actor) return <Failure step={step} title="The components could not be entered" />;
  const me = input.holders.find((h) => h.person === actor.person);
  const entered = input.holders.filter((h) => h.done);
  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (step.busy) return;
    const typed = hex;
    setHex('');
    await step.act({ kind: 'enter-component', holder: actor.person, component: typed }, actor.person);
  };
  return (
    <div className="input-panel">
      <p className="share-count" data-testid="share-count">
        <strong>
          {entered.length} of {input.holders.length} components entered
        </strong>
        {entered.length ? ` (${namesList(entered.map((h) => h.name))})` : ''}; every component is needed.
      </p>
      <ol className="holder-turns" aria-label="Component holders">
        {input.holders.map((h) => (
          <li key={h.person} className={h.done ? 'turn-done' : h.person === actor.person ? 'turn-now' : ''}>
            Component {h.index}: {h.name} — {h.done ? '✓ matches its check value' : h.person === actor.person ? 'typing now' : 'waiting'} (printed check value{' '}
            <span className="mono">{checkValueText(h.checkValue)}</span>){h.envelope ? <> — envelope <span className="mono">{h.envelope}</span>: compare it with the envelope and check the seal before it is opened</> : null}
          </li>
        ))}
      </ol>
      <Failure step={step} title={`${actor.name}’s component was not accepted: nothing was kept`} />
      <form className="proof-form" onSubmit={send} aria-label={`Component of ${actor.name}`} autoComplete="off">
        <div className="field">
          <label htmlFor={`${ids}-hex`}>
            {actor.name}’s component {me?.index} (hexadecimal digits, spaces allowed)
          </label>
          <input id={`${ids}-hex`} className="mono word-input" value={hex} onChange={(e) => setHex(e.target.value)} disabled={step.busy} autoComplete="off" spellCheck={false} />
        </div>
        <div className="toolbar">
          <button type="submit" className="primary" disabled={step.busy || hex.trim() === ''}>
            {step.busy ? 'Checking…' : `Enter ${actor.name}’s component`}
          </button>
        </div>
      </form>
      <p className="hint">
        The component is checked on its own against its printed check value ({me ? checkValueText(me.checkValue) : ''}) and kept in this computer’s memory only, until the key is formed inside the HSM.
      </p>
    </div>
  );
}
