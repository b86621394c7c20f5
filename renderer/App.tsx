import { useEffect } from 'react';
import { ErrorNotice } from './components/ErrorNotice';
import { TokensScreen } from './screens/TokensScreen';
import { useApp } from './stores/app';

export function App() {
  const { info, error, load } = useApp();
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">Custos</span>
        {info ? (
          <span className={`shell shell-${info.shell}`} data-testid="shell-marker" title={info.dataDir}>
            {info.shell === 'preview' ? 'Preview shell — system Chromium, not Electron' : 'Electron'}
          </span>
        ) : null}
        {info?.demo.exists ? <span className="badge badge-demo">Demo token — not for production</span> : null}
        <span className="version">v{info?.version}</span>
      </header>
      <main>
        {error ? <ErrorNotice error={error} title="Custos could not start" /> : null}
        {info ? <TokensScreen /> : null}
      </main>
    </div>
  );
}
