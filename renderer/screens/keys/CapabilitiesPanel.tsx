import { useEffect, useId, useState } from 'react';
import { ErrorNotice } from '../../components/ErrorNotice';
import { keySizeWords, mechanismFlagWords, typeInfo, wrapProbeWords } from '../../keyWords';
import { useKeys } from '../../stores/keys';

const SIGN_WORDS: Record<string, string> = {
  'ecdsa-sha256': 'ECDSA with SHA-256',
  'ecdsa-sha384': 'ECDSA with SHA-384',
  'rsa-pkcs1-sha256': 'RSA PKCS#1 v1.5 with SHA-256',
  'rsa-pkcs1-sha384': 'RSA PKCS#1 v1.5 with SHA-384',
  'rsa-pss-sha256': 'RSA-PSS with SHA-256',
  'rsa-pss-sha384': 'RSA-PSS with SHA-384',
  ed25519: 'Ed25519',
  'hmac-sha256': 'HMAC-SHA-256',
  'hmac-sha384': 'HMAC-SHA-384',
  'hmac-sha512': 'HMAC-SHA-512',
  'aes-cmac': 'AES-CMAC',
};

const WRAP_WORDS: Record<string, string> = {
  'aes-kw': 'AES key wrap (RFC 3394)',
  'aes-kwp': 'AES key wrap with padding (RFC 5649)',
  'rsa-oaep-sha1': 'RSA-OAEP with SHA-1',
  'rsa-oaep-sha256': 'RSA-OAEP with SHA-256',
  'rsa-aes-kwp-sha1': 'RSA-OAEP (SHA-1) + AES-KWP',
  'rsa-aes-kwp-sha256': 'RSA-OAEP (SHA-256) + AES-KWP',
};

/** What the token can do: a summary in words, the wrap probe's verdict, and every mechanism behind a toggle. */
export function CapabilitiesPanel() {
  const { caps, capsError, capsLoading, loadCaps } = useKeys();
  const [open, setOpen] = useState(false);
  const [showAll, setShowAll] = useState(false);
  const [filter, setFilter] = useState('');
  const bodyId = useId();
  const tableId = useId();

  useEffect(() => {
    if (open && !caps && !capsError) void loadCaps();
  }, [open, caps, capsError, loadCaps]);

  const q = filter.trim().toUpperCase();
  const mechs = (caps?.mechanisms ?? []).filter((m) => !q || m.name.toUpperCase().includes(q) || mechanismFlagWords(m.flags).toUpperCase().includes(q));

  return (
    <section className="panel" aria-labelledby="caps-h">
      <div className="panel-head">
        <h2 id="caps-h">What this token can do</h2>
        <button type="button" aria-expanded={open} aria-controls={bodyId} onClick={() => setOpen(!open)}>
          {open ? 'Hide' : 'Show'}
        </button>
      </div>
      {open ? (
        <div id={bodyId}>
          {capsLoading && !caps ? <p role="status">Asking the token, and testing its key wrap against the RFC test vectors…</p> : null}
          {capsError ? (
            <>
              <ErrorNotice error={capsError} title="The token’s abilities could not be read" />
              <button type="button" onClick={() => void loadCaps()}>
                Ask again
              </button>
            </>
          ) : null}
          {caps ? (
            <>
              <dl className="props">
                <dt>Keys it can generate</dt>
                <dd>{caps.keyTypes.length ? caps.keyTypes.map((t) => typeInfo(t)?.title ?? t).join(', ') : 'None that Custos uses'}</dd>
                <dt>Signatures and MACs</dt>
                <dd>{caps.sign.length ? caps.sign.map((s) => SIGN_WORDS[s] ?? s).join(', ') : 'None that Custos uses'}</dd>
                <dt>Key wrapping</dt>
                <dd>{caps.wrap.length ? caps.wrap.map((w) => WRAP_WORDS[w] ?? w).join(', ') : 'None that Custos trusts'}</dd>
                <dt>Native RSA + AES wrap</dt>
                <dd>
                  {caps.rsaAesNative ? 'Offered (CKM_RSA_AES_KEY_WRAP)' : 'Not offered'}; Custos composes it from RSA-OAEP and AES-KWP inside the
                  token either way
                </dd>
              </dl>
              <h3>Key wrap test</h3>
              <p className="hint">Mechanism names are not trusted: Custos checks each wrap mechanism against the RFC test vectors before using it.</p>
              <ul className="verdicts" data-testid="wrap-probe">
                {wrapProbeWords(caps.wrapProbe).map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
              {caps.wrapProbe.notes.length ? (
                <>
                  <p className="label">What the test found</p>
                  <ul className="verdicts">
                    {caps.wrapProbe.notes.map((n) => (
                      <li key={n}>{n.charAt(0).toUpperCase() + n.slice(1)}.</li>
                    ))}
                  </ul>
                </>
              ) : null}
              <div className="panel-head">
                <h3>Mechanisms ({caps.mechanisms.length})</h3>
                <button type="button" aria-expanded={showAll} aria-controls={tableId} onClick={() => setShowAll(!showAll)}>
                  {showAll ? 'Hide the mechanisms' : 'Show all mechanisms'}
                </button>
              </div>
              {showAll ? (
                <div id={tableId}>
                  <div className="filter">
                    <label htmlFor={`${tableId}-f`}>Filter</label>
                    <input id={`${tableId}-f`} value={filter} onChange={(e) => setFilter(e.target.value)} spellCheck={false} placeholder="e.g. AES or wrap" />
                  </div>
                  <table className="table">
                    <caption className="hint">
                      Key sizes as the token reports them: bytes for AES, DES and generic secrets; bits for RSA and EC.
                    </caption>
                    <thead>
                      <tr>
                        <th scope="col">Mechanism</th>
                        <th scope="col">Key sizes</th>
                        <th scope="col">Can</th>
                      </tr>
                    </thead>
                    <tbody>
                      {mechs.map((m) => (
                        <tr key={m.type}>
                          <td className="mono">{m.name}</td>
                          <td>{keySizeWords(m)}</td>
                          <td>{mechanismFlagWords(m.flags)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                  {mechs.length === 0 ? <p>No mechanism matches “{filter}”.</p> : null}
                </div>
              ) : null}
            </>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
