import type { ReactNode } from 'react';

// Who acts now (DESIGN.md, "How the UI should feel": a clear banner with the person's name), for
// every ceremony screen: the room must never wonder whose turn it is.

/** "Bob Chen — share 2 of 3 — enter your share now", and what the others do meanwhile. */
export function ActorBanner({ who, what, note }: { who: string; what: string; note?: ReactNode }) {
  return (
    <div className="actor-banner" role="status" aria-live="polite" data-testid="actor-banner">
      <p className="actor-now">
        <span className="actor-who">{who}</span> — {what}
      </p>
      {note ? <p className="actor-note">{note}</p> : null}
    </div>
  );
}
