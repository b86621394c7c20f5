import { useId, type FormEvent, type ReactNode } from 'react';
import type { ShareSetView } from '../../../shared/contract';
import { ErrorNotice } from '../../components/ErrorNotice';
import { OpenFile } from '../../components/OpenFile';
import { useShares } from '../../stores/shares';
import { checkValueText } from '../../../shared/check-value';

// The share-set record (custos.shareset v1, written at the ceremony): pasted as text, or loaded
// from a file by main (the page has no file access). Main reads and checks it; the summary is what
// the room reads aloud.

export function RecordLoader({ heading }: { heading: ReactNode }) {
  const { recordText, recordError, recordLoading, setRecordText, loadRecord } = useShares();
  const id = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await loadRecord();
  };

  return (
    <form className="wizard-step" onSubmit={submit} aria-label="Load the share-set record">
      {heading}
      <div className="field">
        <label htmlFor={`${id}-rec`}>Share-set record (custos.shareset JSON)</label>
        <textarea
          id={`${id}-rec`}
          className="mono record-text"
          value={recordText}
          onChange={(e) => setRecordText(e.target.value)}
          rows={8}
          spellCheck={false}
          autoComplete="off"
          aria-describedby={`${id}-hint`}
          aria-invalid={recordError !== null || undefined}
          placeholder={'{\n  "format": "custos.shareset",\n  "version": 1,\n  …\n}'}
        />
        <p id={`${id}-hint`} className="hint">
          Open the record file written at the ceremony (for example <code>set7421-record.json</code>) in a text editor, copy all of it and paste
          it here, or load the file itself below. The record holds no share and no secret: only who holds which share, and fingerprints to recognise them.
        </p>
      </div>
      {recordError ? <ErrorNotice error={recordError} title="The record could not be read" /> : null}
      <div className="toolbar">
        <button type="submit" className="primary" disabled={recordLoading}>
          {recordLoading ? 'Reading…' : 'Read the record'}
        </button>
      </div>
      <OpenFile
        kind="share-set-record"
        what="share-set record"
        onLoaded={(text) => {
          setRecordText(text);
          void loadRecord();
        }}
      />
    </form>
  );
}

/** What the record says, as it is read aloud: set, ceremony, quorum, check value. */
export function RecordSummary({ record, onChange }: { record: ShareSetView; onChange?(): void }) {
  const date = record.createdAt.slice(0, 10);
  return (
    <div className="record-summary" data-testid="record-summary">
      <div className="record-title">
        <strong>
          Set {record.identifier}
          {record.label ? ` — ${record.label}` : ''}
        </strong>
        {onChange ? (
          <button type="button" className="link" onClick={onChange}>
            Use another record
          </button>
        ) : null}
      </div>
      <dl className="props record-props">
        <dt>Ceremony</dt>
        <dd>
          {record.ceremonyId ?? 'not named'}, {date}
        </dd>
        <dt>Needed</dt>
        <dd>{record.quorum}</dd>
        <dt>Each share</dt>
        <dd>
          {record.words} words ({record.secretBytes * 8}-bit secret)
        </dd>
        <dt>Secret check value</dt>
        <dd>
          {record.secretCheck ? (
            <span className="mono">{checkValueText(record.secretCheck.value)}</span>
          ) : (
            'none recorded (a drill can then not tell a right secret from a wrong one)'
          )}
        </dd>
      </dl>
    </div>
  );
}
