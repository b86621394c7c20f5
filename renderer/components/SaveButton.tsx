import { useEffect, useState } from 'react';
import type { Artefact, SaveOutcome, SavePlace } from '../../shared/files';
import type { AppError } from '../../shared/result';
import { api, call } from '../api';
import { ErrorNotice } from './ErrorNotice';

// "Save to file…": asks main to save an artefact it names. The page never holds the bytes that are
// written nor picks a path: main makes them and asks where (Electron's save dialog, or the preview
// shell's save folder). A name that exists is offered for replacing, never replaced silently.

let place: Promise<SavePlace | null> | null = null;
/** Where saves go, asked once per window (the folder list is read again by the loader when needed). */
export const savePlace = (): Promise<SavePlace | null> => (place ??= call(api['files.where']({})).then((r) => (r.ok ? r.value : null)));

export function SaveButton({ artefact, label = 'Save to file…', what, onSaved }: { artefact: Artefact; label?: string; what: string; onSaved?: () => void }) {
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<Extract<SaveOutcome, { saved: true }> | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [where, setWhere] = useState<SavePlace | null>(null);
  const key = JSON.stringify(artefact);
  useEffect(() => {
    setSaved(null);
    setError(null);
  }, [key]);
  useEffect(() => void savePlace().then(setWhere), []);

  const save = async (replace = false) => {
    setBusy(true);
    setError(null);
    setSaved(null);
    const r = await call(api['files.save']({ artefact, ...(replace ? { replace } : {}) }));
    setBusy(false);
    if (!r.ok) setError(r.error);
    else if (r.value.saved) {
      setSaved(r.value);
      onSaved?.();
    }
  };

  const folder = where?.mode === 'folder' ? where.folder : null;
  return (
    <div className="save-to-file" data-testid={`save-${artefact.kind}`}>
      <button type="button" onClick={() => void save()} disabled={busy} title={folder ? `Saves into ${folder}` : undefined}>
        {busy ? 'Saving…' : label}
      </button>
      {folder ? <span className="hint"> into {folder}</span> : null}
      {where?.mode === 'folder' && !where.folder ? <span className="hint"> No save folder was chosen: start the preview shell with --save-dir FOLDER.</span> : null}
      <div aria-live="polite" className="save-status">
        {saved ? (
          <p className="save-ok" data-testid="saved">
            Saved {what} to <span className="mono wrap">{saved.path}</span>
            {saved.folder ? ` (a folder of ${saved.files.length} files)` : ''}
            {saved.mode === '600' ? ' — readable by you only.' : '.'} Check the media before you take it away.
          </p>
        ) : null}
      </div>
      {error ? (
        <>
          <ErrorNotice error={error} title={`The ${what} was not saved`} />
          {error.code === 'FILE_EXISTS' && artefact.kind !== 'bundle' && artefact.kind !== 'audit-export' ? (
            <button type="button" className="danger-outline" onClick={() => void save(true)} disabled={busy}>
              Replace the existing file
            </button>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
