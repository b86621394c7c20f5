import { useId, useState, type FormEvent } from 'react';
import { SaveButton } from '../../../components/SaveButton';
import { namesList } from '../words';
import { Failure, type PanelProps } from './Panels';

// Creating a key as XOR components, in the window. The sheet: main makes the PDF of the holder
// whose turn it is and writes it where the save goes (the save dialog, or the preview shell's save
// folder); the page never holds it. The check: the holder types the component check value from
// their sheet and the envelope's serial; main compares, and names a swapped sheet.

export function ComponentSheetPanel({ actor, step, view, session }: PanelProps) {
  const input = view.current!.input;
  if (input.kind !== 'component-sheet' || !actor || !session) return <Failure step={step} title="The sheet could not be made" />;
  const me = input.holders.find((h) => h.person === actor.person);
  const done = input.holders.filter((h) => h.done);
  return (
    <div className="input-panel">
      <p className="share-count" data-testid="share-count">
        <strong>
          {done.length} of {input.holders.length} sheets handed over
        </strong>
        {done.length ? ` (${namesList(done.map((h) => h.name))})` : ''}.
      </p>
      <ol className="holder-turns" aria-label="Component holders">
        {input.holders.map((h) => (
          <li key={h.person} className={h.done ? 'turn-done' : h.person === actor.person ? 'turn-now' : ''}>
            Component {h.index}: {h.name} — {h.done ? '✓ has their sheet' : h.person === actor.person ? 'now' : 'waiting'}
          </li>
        ))}
      </ol>
      <p>
        {actor.name}: save your sheet (component {me?.index} of {input.holders.length}), print it, and take it from the printer yourself. Nobody else looks at it. The saved file
        holds your component: delete it once the sheet is printed.
      </p>
      <SaveButton artefact={{ kind: 'component-sheet', module: session.module, token: session.token, run: view.run, holder: actor.person }} label={`Save ${actor.name}’s sheet (PDF)…`} what={`${actor.name}’s component sheet`} />
      <Failure step={step} title="Not recorded" />
      <div className="toolbar">
        <button type="button" className="primary" disabled={step.busy} onClick={() => void step.act({ kind: 'component-printed', holder: actor.person }, actor.person)}>
          {actor.name} has the printed sheet
        </button>
      </div>
    </div>
  );
}

export function SealComponentPanel({ actor, step, view }: PanelProps) {
  const input = view.current!.input;
  const [kcv, setKcv] = useState('');
  const [serial, setSerial] = useState('');
  const ids = useId();
  if (input.kind !== 'seal-component' || !actor) return <Failure step={step} title="The sheets could not be checked" />;
  const me = input.holders.find((h) => h.person === actor.person);
  const sealed = input.holders.filter((h) => h.done);
  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (step.busy) return;
    const r = await step.act({ kind: 'seal-component', holder: actor.person, checkValue: kcv, envelope: serial }, actor.person);
    if (r?.ok) {
      setKcv('');
      setSerial('');
    }
  };
  return (
    <div className="input-panel">
      <p className="share-count" data-testid="share-count">
        <strong>
          {sealed.length} of {input.holders.length} sheets checked and sealed
        </strong>
        {sealed.length ? ` (${namesList(sealed.map((h) => h.name))})` : ''}.
      </p>
      <ol className="holder-turns" aria-label="Component holders">
        {input.holders.map((h) => (
          <li key={h.person} className={h.done ? 'turn-done' : h.person === actor.person ? 'turn-now' : ''}>
            Component {h.index}: {h.name} — {h.done ? '✓ checked and sealed' : h.failed ? 'the check value did not match: try again' : h.person === actor.person ? 'now' : 'waiting'}
          </li>
        ))}
      </ol>
      <Failure step={step} title={`${actor.name}’s sheet was not accepted`} />
      <form className="proof-form" onSubmit={send} aria-label={`Check and seal ${actor.name}’s sheet`} autoComplete="off">
        <div className="field">
          <label htmlFor={`${ids}-kcv`}>Component check value printed on {actor.name}’s sheet (component {me?.index})</label>
          <input id={`${ids}-kcv`} className="mono" value={kcv} onChange={(e) => setKcv(e.target.value)} disabled={step.busy} autoComplete="off" spellCheck={false} />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-serial`}>Serial number of the tamper-evident envelope it is sealed in</label>
          <input id={`${ids}-serial`} value={serial} onChange={(e) => setSerial(e.target.value)} disabled={step.busy} autoComplete="off" spellCheck={false} />
        </div>
        <div className="toolbar">
          <button type="submit" className="primary" disabled={step.busy || kcv.trim() === '' || serial.trim() === ''}>
            {step.busy ? 'Checking…' : `Record ${actor.name}’s sealed envelope`}
          </button>
        </div>
      </form>
      <p className="hint">Seal the sheet in the envelope in front of the witness, write the serial in the box on the sheet first, and sign across the seal.</p>
    </div>
  );
}
