import { useEffect, useRef } from 'react';
import { ErrorNotice } from './components/ErrorNotice';
import { ArchiveScreen } from './screens/archive/ArchiveScreen';
import { AuditScreen } from './screens/audit/AuditScreen';
import { CeremoniesScreen } from './screens/ceremonies/CeremoniesScreen';
import { KeysScreen } from './screens/keys/KeysScreen';
import { SharesScreen } from './screens/shares/SharesScreen';
import { TokensScreen } from './screens/tokens/TokensScreen';
import { useApp, type Screen } from './stores/app';
import { useCeremony } from './stores/ceremony';
import { currentSlot, useTokens } from './stores/tokens';

const POLL_MS = 3000;

export function App() {
  const { info, error, load, screen, go, loginRequested } = useApp();
  const { listing, selected, refresh } = useTokens();
  const record = useCeremony((s) => s.record);
  const main = useRef<HTMLElement>(null);
  const shownScreen = useRef<Screen>(screen);

  useEffect(() => {
    void load();
  }, [load]);

  // Whether this workstation has its record decides where a newcomer is led: the set-up ceremony.
  useEffect(() => {
    if (info) void useCeremony.getState().load();
  }, [info]);

  // Tokens come and go (cards pulled, USB HSMs unplugged), and so do logins: keep the list current
  // whichever screen is shown.
  useEffect(() => {
    if (!info) return;
    void refresh();
    const t = setInterval(() => void refresh(), POLL_MS);
    return () => clearInterval(t);
  }, [info, refresh]);

  // Moving to another screen moves focus to its heading, so keyboard and screen-reader users start
  // at the top of it (unless the move was to log in: then the PIN field has taken focus).
  useEffect(() => {
    if (shownScreen.current === screen) return;
    shownScreen.current = screen;
    if (!loginRequested) main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [screen, loginRequested]);

  const slot = currentSlot(listing, selected);
  const sections: Array<{ id: Screen; text: string; enabled: boolean; why?: string }> = [
    { id: 'tokens', text: 'Tokens', enabled: true },
    { id: 'ceremonies', text: 'Ceremonies', enabled: true },
    { id: 'keys', text: 'Keys', enabled: slot !== null, why: 'Available once a token is present.' },
    { id: 'shares', text: 'Shares', enabled: true },
    { id: 'archive', text: 'Archive', enabled: true },
    { id: 'audit', text: 'Audit log', enabled: true },
  ];

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
      <div className="layout">
        <nav className="sidenav" aria-label="Sections">
          <ul>
            {sections.map((s) => (
              <li key={s.id}>
                <button
                  type="button"
                  className={screen === s.id ? 'nav-current' : ''}
                  aria-current={screen === s.id ? 'page' : undefined}
                  disabled={!info || !s.enabled}
                  onClick={() => go(s.id)}
                >
                  {s.text}
                </button>
                {s.id === 'keys' && slot ? <span className="nav-note">on “{slot.token.label}”</span> : null}
                {!s.enabled && s.why ? <span className="nav-note">{s.why}</span> : null}
                {s.id === 'ceremonies' && record && !record.exists ? <span className="nav-note nav-note-lead">Start here: set up this workstation</span> : null}
                {s.id === 'ceremonies' && record?.exists && !record.people.some((p) => p.status === 'active') ? (
                  <span className="nav-note nav-note-lead">Start here: enrol the people</span>
                ) : null}
              </li>
            ))}
          </ul>
        </nav>
        <main ref={main}>
          {error ? <ErrorNotice error={error} title="Custos could not start" /> : null}
          {info && record && !record.exists && screen !== 'ceremonies' ? (
            <div className="notice notice-lead" role="status" data-testid="setup-lead">
              <p>
                <strong>This workstation is not set up yet.</strong> The workstation set-up ceremony creates its record: the people, their cards and the quorum
                policy.
              </p>
              <button type="button" className="primary" onClick={() => go('ceremonies')}>
                Go to the set-up
              </button>
            </div>
          ) : null}
          {info && screen === 'tokens' ? <TokensScreen /> : null}
          {info && screen === 'ceremonies' ? <CeremoniesScreen /> : null}
          {info && screen === 'keys' ? <KeysScreen /> : null}
          {info && screen === 'shares' ? <SharesScreen /> : null}
          {info && screen === 'archive' ? <ArchiveScreen /> : null}
          {info && screen === 'audit' ? <AuditScreen /> : null}
        </main>
      </div>
    </div>
  );
}
