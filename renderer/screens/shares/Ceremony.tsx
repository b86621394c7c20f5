import type { ReactNode, Ref } from 'react';

// The two things every ceremony screen shows (DESIGN.md, "How the UI should feel"): where the
// ceremony is (a step list) and who acts now (a banner with the person's name).

export interface Step {
  id: string;
  title: string;
}

export function StepList({ steps, current, label }: { steps: Step[]; current: number; label: string }) {
  return (
    <ol className="steps" aria-label={label}>
      {steps.map((s, i) => {
        const done = i < current;
        return (
          <li key={s.id} className={done ? 'step-done' : i === current ? 'step-current' : ''} aria-current={i === current ? 'step' : undefined}>
            <span className="step-n" aria-hidden="true">
              {done ? '✓' : i + 1}
            </span>
            {s.title}
            {done ? <span className="sr-only"> (done)</span> : null}
          </li>
        );
      })}
    </ol>
  );
}

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

export function StepHeading({ children, ref }: { children: ReactNode; ref?: Ref<HTMLHeadingElement> }) {
  return (
    <h3 ref={ref} tabIndex={-1} className="step-title">
      {children}
    </h3>
  );
}
