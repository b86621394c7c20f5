import { useId, useState } from 'react';
import type { AppError } from '../../shared/result';

/** An error in words: what went wrong, what to do, and the technical detail behind a toggle. */
export function ErrorNotice({ error, title }: { error: AppError; title?: string }) {
  const [open, setOpen] = useState(false);
  const detailsId = useId();
  const details = error.details ? Object.entries(error.details) : [];
  return (
    <div className="notice notice-error" role="alert" data-code={error.code}>
      {title ? <strong className="notice-title">{title}</strong> : null}
      <p className="notice-message">{error.message}</p>
      <p className="notice-action">
        <span className="label">What to do:</span> {error.action}
      </p>
      {details.length > 0 || error.code ? (
        <>
          <button type="button" className="link" aria-expanded={open} aria-controls={detailsId} onClick={() => setOpen(!open)}>
            {open ? 'Hide technical detail' : 'Show technical detail'}
          </button>
          {open ? (
            <dl id={detailsId} className="tech">
              <dt>code</dt>
              <dd>{error.code}</dd>
              {details.map(([k, v]) => (
                <div key={k} className="tech-row">
                  <dt>{k}</dt>
                  <dd>{String(v)}</dd>
                </div>
              ))}
            </dl>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
