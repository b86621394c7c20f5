import { ErrorNotice } from '../../components/ErrorNotice';
import { exportBadge, keyTypeWords, kindWords, usageNames, usagePhrase } from '../../keyWords';
import { useKeys } from '../../stores/keys';

/** The keys on the token; choosing one opens it for inspection. */
export function KeyList() {
  const { keys, listError, listing, selected, select, reload } = useKeys();
  return (
    <section className="panel" aria-labelledby="keys-h" aria-busy={listing}>
      <div className="panel-head">
        <h2 id="keys-h">Keys on this token{keys ? <span className="muted count"> ({keys.length})</span> : null}</h2>
        <button type="button" onClick={() => void reload()} disabled={listing}>
          {listing ? 'Reading…' : 'Read again'}
        </button>
      </div>
      {listError ? <ErrorNotice error={listError} title="The keys could not be read" /> : null}
      {keys === null && !listError ? <p role="status">Reading the keys…</p> : null}
      {keys?.length === 0 ? <p>There are no keys on this token that you can see yet.</p> : null}
      {keys && keys.length > 0 ? (
        <ul className="token-list" role="listbox" aria-label="Keys">
          {keys.map((k) => {
            const isCurrent = k.uri === selected;
            const badge = exportBadge(k);
            const uses = usageNames(k).map((n) => usagePhrase(n, false)); // short: the MAC remark is for the detail
            return (
              <li key={k.uri} role="option" aria-selected={isCurrent}>
                <button
                  type="button"
                  className={`token ${isCurrent ? 'token-current' : ''}`}
                  onClick={() => void select(k.uri)}
                >
                  <span className="token-label">
                    {k.label || '(no label)'}
                    <span className={`badge badge-${badge.tone}`}>{badge.text}</span>
                    {k.onToken ? null : <span className="badge badge-warn">session only</span>}
                  </span>
                  <span className="muted">
                    {keyTypeWords(k)} · {kindWords(k.kind)} · {k.onToken ? 'on the token' : 'this session only'}
                  </span>
                  <span className="key-uses">{uses.length ? uses.join(' · ') : 'No uses allowed'}</span>
                </button>
              </li>
            );
          })}
        </ul>
      ) : null}
    </section>
  );
}
