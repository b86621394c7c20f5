import type { ReactNode, Ref } from 'react';

// Where a flow is (DESIGN.md, "How the UI should feel": a step list shows where the ceremony is),
// and the heading each step starts with. Every wizard and ceremony screen uses these two, so steps
// look and announce themselves the same everywhere.

export interface Step {
  id: string;
  title: string;
}

/** The steps in order: done ones ticked, the current one marked for assistive technology too. */
export function StepList({ steps, current, label }: { steps: readonly Step[]; current: number; label: string }) {
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

/** A step's heading; it takes the focus when the step opens, so keyboard users start there. */
export function StepHeading({ children, ref }: { children: ReactNode; ref?: Ref<HTMLHeadingElement> }) {
  return (
    <h3 ref={ref} tabIndex={-1} className="step-title">
      {children}
    </h3>
  );
}
