import { useEffect, useId, useState } from 'react';
import type { LoadableKind, SavePlace } from '../../shared/files';
import type { AppError } from '../../shared/result';
import { api, call } from '../api';
import { ErrorNotice } from './ErrorNotice';

// "Load from a file…": main opens the file the person picks (Electron's open dialog; in the preview
// shell, one of the files in its save folder, listed here), reads it bounded, checks it with the
// record's schema and hands back its text. Only public records can be loaded this way.

/** `only`: loading a file is the only way here (no field to type into above), so the label does not begin with "Or". */
export function OpenFile({ kind, what, only = false, onLoaded }: { kind: LoadableKind; what: string; only?: boolean; onLoaded(text: string, name: string): void }) {
  const [where, setWhere] = useState<SavePlace | null>(null);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const id = useId();
  const look = () => void call(api['files.where']({})).then((r) => r.ok && setWhere(r.value));
  useEffect(look, []);

  const open = async () => {
    setBusy(true);
    setError(null);
    const r = await call(api['files.open']({ kind, ...(name ? { name } : {}) }));
    setBusy(false);
    if (!r.ok) setError(r.error);
    else if (r.value.opened) onLoaded(r.value.text, r.value.name);
  };

  if (!where) return null;
  const folder = where.mode === 'folder';
  return (
    <div className="file-pick" data-testid={`open-${kind}`}>
      {folder ? (
        <div className="field">
          <label htmlFor={`${id}-f`}>
            {only ? 'Load' : 'Or load'} the {what} from {where.folder ?? 'the save folder'}
          </label>
          <select id={`${id}-f`} value={name} onChange={(e) => setName(e.target.value)} onFocus={look} disabled={!where.folder}>
            <option value="">{where.folder ? (where.names.length ? 'Choose a file…' : 'No files in the folder') : 'No save folder was chosen'}</option>
            {where.names.filter((n) => n.endsWith('.json')).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <button type="button" onClick={() => void open()} disabled={busy || (folder && !name)}>
        {busy ? 'Reading…' : folder ? 'Load this file' : `Load the ${what} from a file…`}
      </button>
      {folder && !where.folder ? <p className="hint">Start the preview shell with --save-dir FOLDER (or CUSTOS_SAVE_DIR) to load files from removable media.</p> : null}
      {error ? <ErrorNotice error={error} title={`The ${what} could not be loaded`} /> : null}
    </div>
  );
}
