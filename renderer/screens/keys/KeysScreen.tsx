import { useEffect, useState } from 'react';
import { ErrorNotice } from '../../components/ErrorNotice';
import { keyTypeWords, kindWords } from '../../keyWords';
import { useApp } from '../../stores/app';
import { useKeys } from '../../stores/keys';
import { currentSlot, useTokens } from '../../stores/tokens';
import { CapabilitiesPanel } from './CapabilitiesPanel';
import { GenerateWizard } from './GenerateWizard';
import { KeyActions } from './KeyActions';
import { KeyAttributes, KeyIdentity } from './KeyDetails';
import { KeyList } from './KeyList';

/** Keys on the token chosen on the Tokens screen: list, inspect, generate, export, CSR, destroy. */
export function KeysScreen() {
  const { listing, selected } = useTokens();
  const go = useApp((s) => s.go);
  const slot = currentSlot(listing, selected);
  const [mode, setMode] = useState<'inspect' | 'generate'>('inspect');

  const module = slot?.module;
  const uri = slot?.token.uri;
  const loggedIn = slot?.token.loggedIn ?? null;
  // A new token, or a login or logout on it, changes which keys can be seen: read them again.
  useEffect(() => {
    if (!module || !uri) return;
    const keys = useKeys.getState();
    keys.open({ module, token: uri });
    void keys.reload();
  }, [module, uri, loggedIn]);
  useEffect(() => setMode('inspect'), [module, uri]);

  if (!slot) {
    return (
      <div className="screen">
        <h1 tabIndex={-1}>Keys</h1>
        <section className="panel">
          <p>No token is present. Choose a token first; the Keys screen then shows the keys on it.</p>
          <button type="button" onClick={() => go('tokens')}>
            Go to Tokens
          </button>
        </section>
      </div>
    );
  }

  const token = slot.token;
  const mustLogIn = token.flags.loginRequired && loggedIn !== 'user';
  return (
    <div className="screen">
      <div className="screen-head">
        <h1 tabIndex={-1}>Keys</h1>
        <p className="about-token" data-testid="keys-token">
          On token <strong>“{token.label}”</strong>
          <span className="muted">
            {' '}
            · {token.model} · serial {token.serial}
          </span>
          {token.demo ? <span className="badge badge-demo">demo — not for production</span> : null}
          {loggedIn ? <span className="badge badge-ok">logged in as {loggedIn === 'so' ? 'security officer' : 'user'}</span> : null}
          <button type="button" className="link" onClick={() => go('tokens')}>
            Choose another token
          </button>
        </p>
      </div>

      {mustLogIn ? (
        <div className="notice notice-warn" role="status" data-testid="login-needed">
          <p>
            {loggedIn === 'so' ? (
              <>
                You are logged in to “{token.label}” as <strong>security officer</strong>, who manages PINs, not keys.{' '}
              </>
            ) : (
              <>You are not logged in to “{token.label}”. </>
            )}
            Private and secret keys stay hidden until you log in as user; only public keys are listed, and no key can be generated.
          </p>
          <button type="button" className="primary" onClick={() => go('tokens', { login: true })}>
            Go to log in
          </button>
        </div>
      ) : null}

      <div className="toolbar screen-tools">
        <button
          type="button"
          className={mode === 'generate' ? 'pressed' : 'primary'}
          aria-pressed={mode === 'generate'}
          disabled={mustLogIn}
          onClick={() => {
            setMode('generate');
            void useKeys.getState().loadCaps();
          }}
        >
          Generate a key…
        </button>
        {mustLogIn ? <span className="hint">Log in as user to generate keys.</span> : null}
      </div>

      {mode === 'generate' ? (
        <GenerateWizard tokenLabel={token.label} onClose={() => setMode('inspect')} />
      ) : (
        <div className="split split-keys">
          <KeyList />
          <Inspector tokenLabel={token.label} canChange={!mustLogIn} />
        </div>
      )}
      <CapabilitiesPanel />
    </div>
  );
}

function Inspector({ tokenLabel, canChange }: { tokenLabel: string; canChange: boolean }) {
  const { keys, selected, detail, detailError, detailLoading, lastDestroyed } = useKeys();
  const entry = keys?.find((k) => k.uri === selected) ?? null;

  if (!entry) {
    return (
      <section className="panel" aria-labelledby="inspect-h">
        <h2 id="inspect-h">Inspect a key</h2>
        {lastDestroyed ? (
          <p className="status-ok" role="status">
            “{lastDestroyed.label}” was destroyed ({lastDestroyed.objects} {lastDestroyed.objects === 1 ? 'object' : 'objects'} removed from the token).
          </p>
        ) : null}
        <p className="muted">Choose a key in the list to see its attributes, its check value or fingerprint, and what can be done with it.</p>
      </section>
    );
  }
  return (
    <section className="panel" aria-labelledby="inspect-h" aria-busy={detailLoading}>
      <h2 id="inspect-h">{entry.label || '(no label)'}</h2>
      <p className="muted subtitle">
        {keyTypeWords(entry)} · {kindWords(entry.kind)}
      </p>
      {detailLoading ? <p role="status">Reading the key…</p> : null}
      {detailError ? <ErrorNotice error={detailError} title="The key could not be read" /> : null}
      {detail ? (
        <>
          <KeyIdentity detail={detail} />
          <KeyAttributes detail={detail} />
          <KeyActions detail={detail} tokenLabel={tokenLabel} canChange={canChange} />
        </>
      ) : null}
    </section>
  );
}
