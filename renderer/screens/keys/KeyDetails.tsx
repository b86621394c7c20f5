import { EXTRACTABLE_WORDS, type KeyDetail } from '../../../shared/keys';
import { exportBadge, groupHex, keyTypeWords, kindWords, usageWords, yesNo } from '../../keyWords';
import { checkValueText } from '../../../shared/check-value';

/** What identifies a key when it is read aloud: its check value (secret keys) or its fingerprint. */
export function KeyIdentity({ detail }: { detail: KeyDetail }) {
  if (detail.checkValue) {
    const cv = detail.checkValue;
    return (
      <div className="identity" data-testid="check-value">
        {cv.cmac ? (
          <div className="identity-row">
            <span className="label">Check value (CMAC, X9.24-1:2017)</span>
            <span className="mono readout">{checkValueText(cv.cmac)}</span>
          </div>
        ) : null}
        {cv.legacy ? (
          <div className="identity-row">
            <span className="label">Legacy check value (ECB)</span>
            <span className="mono readout readout-small">{checkValueText(cv.legacy)}</span>
          </div>
        ) : null}
        {cv.note ? <p className="hint">{cv.note}</p> : null}
        {cv.cmac || cv.legacy ? (
          <p className="hint">Compare these with the check values in the ceremony record or the other system’s key list.</p>
        ) : null}
      </div>
    );
  }
  if (detail.fingerprint) {
    const fp = detail.fingerprint;
    return (
      <div className="identity" data-testid="fingerprint">
        <div className="identity-row">
          <span className="label">Fingerprint, short form (for reading aloud)</span>
          <span className="mono readout">{fp.short}</span>
        </div>
        <div className="identity-row">
          <span className="label">Fingerprint (SHA-256 of the public key)</span>
          <span className="mono wrap">{fp.sha256}</span>
        </div>
      </div>
    );
  }
  return null;
}

/** Every attribute Custos reads, in words, with the PKCS#11 attribute name for the technically minded. */
export function KeyAttributes({ detail }: { detail: KeyDetail }) {
  const badge = exportBadge(detail);
  const uses = usageWords(detail);
  const u = detail.usage;
  const flags = (['encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap', 'derive'] as const).filter((f) => u[f]);
  return (
    <dl className="props attrs">
      <dt>Kind</dt>
      <dd>{kindWords(detail.kind)}</dd>
      <dt>Type</dt>
      <dd>{keyTypeWords(detail)}</dd>
      <dt>Uses</dt>
      <dd>
        {uses.length ? (
          <ul className="plain">
            {uses.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        ) : (
          'None: the token allows no operation with this key.'
        )}
        <span className="cka">{flags.length ? flags.map((f) => `CKA_${f.toUpperCase()}`).join(' ') : 'no usage flag set'}</span>
      </dd>
      <dt>Can it leave the token?</dt>
      <dd>
        {detail.kind === 'public' ? (
          <span className={`badge badge-${badge.tone}`}>{badge.text}</span>
        ) : detail.extractable === null ? (
          'The token does not say.'
        ) : (
          <>
            <span className={`badge badge-${badge.tone}`}>{detail.extractable ? 'Yes, wrapped only' : 'No'}</span>{' '}
            {detail.extractable ? EXTRACTABLE_WORDS.yes : EXTRACTABLE_WORDS.no}
          </>
        )}
        <span className="cka">CKA_EXTRACTABLE {yesNo(detail.extractable, 'true', 'false')}</span>
      </dd>
      {detail.kind !== 'public' ? (
        <>
          <dt>Never readable in plaintext</dt>
          <dd>
            {yesNo(detail.sensitive)}
            <span className="cka">CKA_SENSITIVE</span>
          </dd>
          <dt>Has always been non-extractable</dt>
          <dd>
            {yesNo(detail.neverExtractable)}
            <span className="cka">CKA_NEVER_EXTRACTABLE</span>
          </dd>
        </>
      ) : null}
      <dt>Generated inside the token</dt>
      <dd>
        {yesNo(detail.local, 'Yes', 'No (imported or unwrapped)')}
        <span className="cka">CKA_LOCAL</span>
      </dd>
      <dt>Stored</dt>
      <dd>
        {detail.onToken ? 'On the token' : 'In this session only: it disappears when the session ends'}
        <span className="cka">CKA_TOKEN</span>
      </dd>
      <dt>ID</dt>
      <dd className="mono wrap">
        {detail.idHex ? groupHex(detail.idHex, 4) : '(none)'}
        <span className="cka">CKA_ID</span>
      </dd>
      <dt>PKCS#11 URI</dt>
      <dd>
        <code className="wrap select-all" tabIndex={0} data-testid="key-uri">
          {detail.uri}
        </code>
      </dd>
    </dl>
  );
}
