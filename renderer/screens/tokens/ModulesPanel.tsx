import { useState, type FormEvent } from 'react';
import type { ModuleEntry } from '../../../shared/contract';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Field } from '../../components/Field';
import { useAction } from '../../hooks/useAction';
import { useTokens } from '../../stores/tokens';

export function ModulesPanel({ modules }: { modules: ModuleEntry[] }) {
  const [path, setPath] = useState('');
  const { busy, error, run } = useAction();

  const add = async (p: string) => {
    const r = await run(() => api['modules.add']({ path: p }));
    if (!r?.ok) return;
    setPath('');
    await useTokens.getState().refresh();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void add(path.trim());
  };

  return (
    <section className="panel" aria-labelledby="modules-h">
      <h2 id="modules-h">PKCS#11 modules</h2>
      <ul className="modules">
        {modules.map((m) => (
          <li key={m.path} className={`module module-${m.status}`}>
            <div>
              <strong>{m.name}</strong> <span className="muted">{m.path}</span>
            </div>
            <div className="module-status">
              {m.status === 'loaded' && m.library ? (
                <span>
                  Loaded — {m.library.manufacturer} {m.library.description} {m.library.version}
                </span>
              ) : null}
              {m.status === 'not-loaded' ? (
                <>
                  <span className="muted">Found in p11-kit's module list</span>{' '}
                  <button type="button" onClick={() => void add(m.path)} disabled={busy}>
                    Use this module
                  </button>
                </>
              ) : null}
              {m.status === 'error' && m.error ? <ErrorNotice error={m.error} /> : null}
            </div>
          </li>
        ))}
      </ul>
      <form onSubmit={submit} className="form form-inline" aria-label="Add a PKCS#11 module">
        <Field
          label="Module path"
          hint="The vendor's PKCS#11 library, e.g. /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          spellCheck={false}
          required
        />
        <button type="submit" disabled={busy || !path.trim()}>
          Add module
        </button>
      </form>
      {error ? <ErrorNotice error={error} title="The module was not added" /> : null}
    </section>
  );
}
