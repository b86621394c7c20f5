import type { RunView } from '../../../../shared/ceremony/view';

/**
 * The ceremony fingerprint as it is read aloud: numbered words, large and never truncated, and the
 * hex in groups for comparing with a printed script. Every value of the plan is bound into it.
 */
export function Fingerprint({ fp, large = false, title = 'Ceremony fingerprint' }: { fp: RunView['fingerprint']; large?: boolean; title?: string }) {
  return (
    <div className={`fingerprint ${large ? 'fingerprint-large' : ''}`} data-testid={large ? 'fingerprint-large' : 'fingerprint'}>
      <p className="label">
        {title}
        {fp.confirmed ? <span className="badge badge-ok">read aloud and confirmed</span> : null}
      </p>
      <ol className="fp-words mono" aria-label="Fingerprint words">
        {fp.words.map((w, i) => (
          <li key={i}>
            <span className="fp-n" aria-hidden="true">
              {i + 1}
            </span>
            <span className="fp-word">{w}</span>
          </li>
        ))}
      </ol>
      <p className="mono fp-hex" aria-label="Fingerprint in hexadecimal">
        {fp.groups}
      </p>
    </div>
  );
}
