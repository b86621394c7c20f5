import { ErrorNotice } from '../../components/ErrorNotice';
import { TokenFlags } from '../../components/TokenFlags';
import { useApp } from '../../stores/app';
import { currentSlot, presentSlots, slotKey, useTokens } from '../../stores/tokens';
import { DemoSetup } from './DemoSetup';
import { LoginForm } from './LoginForm';
import { ModulesPanel } from './ModulesPanel';

export function TokensScreen() {
  const { listing, error, selected, select } = useTokens();
  const go = useApp((s) => s.go);

  // The list is kept current by the App (it polls whichever screen is shown).
  const enabled = listing?.modules.filter((m) => m.enabled) ?? [];
  const slots = presentSlots(listing);
  const current = currentSlot(listing, selected);

  return (
    <div className="screen">
      <h1 tabIndex={-1}>Tokens</h1>
      {error ? <ErrorNotice error={error} title="The token list could not be read" /> : null}
      {listing && enabled.length === 0 ? <DemoSetup /> : null}
      {listing && enabled.length > 0 ? (
        <div className="split">
          <section className="panel" aria-labelledby="tokens-h">
            <h2 id="tokens-h">Tokens present</h2>
            {slots.length === 0 ? <p>No token is present. Insert a smartcard or attach the HSM; this list updates by itself.</p> : null}
            <ul className="token-list" role="listbox" aria-label="Tokens">
              {slots.map((s) => {
                const t = s.token!;
                const key = slotKey(s);
                const isCurrent = current !== null && slotKey(current) === key;
                return (
                  <li key={key} role="option" aria-selected={isCurrent}>
                    <button type="button" className={`token ${isCurrent ? 'token-current' : ''}`} onClick={() => select(key)}>
                      <span className="token-label">
                        {t.label || '(no label)'}
                        {t.demo ? <span className="badge badge-demo">demo — not for production</span> : null}
                        {t.loggedIn ? <span className="badge badge-ok">logged in</span> : null}
                      </span>
                      <span className="muted">
                        {t.manufacturer} · {t.model} · serial {t.serial}
                      </span>
                      <TokenFlags flags={t.flags} />
                    </button>
                  </li>
                );
              })}
            </ul>
          </section>
          {current?.token ? (
            <section className="panel" aria-labelledby="token-h">
              <h2 id="token-h">{current.token.label}</h2>
              <dl className="props">
                <dt>Manufacturer</dt>
                <dd>{current.token.manufacturer}</dd>
                <dt>Model</dt>
                <dd>{current.token.model}</dd>
                <dt>Serial</dt>
                <dd>{current.token.serial}</dd>
                <dt>Slot</dt>
                <dd>{current.slotDescription}</dd>
                <dt>Module</dt>
                <dd className="mono">{current.module}</dd>
                <dt>PKCS#11 URI</dt>
                <dd className="mono wrap">{current.token.uri}</dd>
              </dl>
              <LoginForm slot={current} />
              <div className="next-step">
                <button type="button" onClick={() => go('keys')}>
                  Keys on this token →
                </button>
              </div>
            </section>
          ) : null}
        </div>
      ) : null}
      {listing ? <ModulesPanel modules={listing.modules} /> : <p role="status">Looking for tokens…</p>}
    </div>
  );
}
