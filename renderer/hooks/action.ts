import type { AppError, Result } from '../../shared/result';

// The bookkeeping behind useAction, without React, so that it can be tested on its own: one action
// at a time per form (a second click while the first request is out is ignored, so nothing is
// sent twice: a key generated twice, a PIN tried twice against a retry counter), busy while it
// runs, the typed error kept for ErrorNotice, and nothing published once the form has gone.

export interface ActionView {
  busy: boolean;
  /** The last failure, typed, for ErrorNotice; null after a success or a reset. */
  error: AppError | null;
}

export interface ActionRunner {
  /**
   * Runs `work` unless an earlier run is still out. Answers its Result, also after the form has
   * gone (what main did must still reach the stores); null when the run was a double submit and
   * was ignored.
   */
  run<T>(work: () => Promise<Result<T>>): Promise<Result<T> | null>;
  /** Forgets the error shown (the step or the subject changed). */
  reset(): void;
  /** The form is on screen (again: React's StrictMode mounts twice). */
  attach(): void;
  /** The form has gone: answers still to come change nothing. */
  detach(): void;
}

export function createAction(publish: (view: ActionView) => void): ActionRunner {
  let view: ActionView = { busy: false, error: null };
  let inFlight = false;
  let live = true;
  const show = (next: ActionView) => {
    view = next;
    if (live) publish(view);
  };

  return {
    async run(work) {
      if (inFlight) return null;
      inFlight = true;
      show({ busy: true, error: null });
      let r;
      try {
        r = await work();
      } catch (e) {
        // useAction hands in work that cannot reject (call()); anything else still leaves the form usable.
        show({ busy: false, error: view.error });
        throw e;
      } finally {
        inFlight = false;
      }
      show({ busy: false, error: r.ok ? null : r.error });
      return r;
    },
    reset() {
      if (view.error) show({ ...view, error: null });
    },
    attach() {
      live = true;
    },
    detach() {
      live = false;
    },
  };
}
