import { useEffect, useMemo, useState } from 'react';
import type { AppError, Result } from '../../shared/result';
import { call } from '../api';
import { createAction } from './action';

export interface Action {
  busy: boolean;
  error: AppError | null;
  /**
   * Runs one request to main (or a store action that makes one). Answers its Result, even if the
   * component has unmounted meanwhile (so store updates still happen); null when a run was
   * already out and this click is ignored.
   */
  run<T>(work: () => Promise<Result<T>>): Promise<Result<T> | null>;
  /** Forgets the error shown. */
  reset(): void;
}

/** Busy, error and run for a form that asks main to do something; see ./action.ts for the rules. */
export function useAction(): Action {
  const [view, setView] = useState<{ busy: boolean; error: AppError | null }>({ busy: false, error: null });
  const runner = useMemo(() => createAction(setView), []);
  useEffect(() => {
    runner.attach();
    return () => runner.detach();
  }, [runner]);
  // A bridge that fails (rejects) ends the run with a typed error like any other.
  const controls = useMemo(() => ({ run: <T>(work: () => Promise<Result<T>>) => runner.run(() => call(work())), reset: () => runner.reset() }), [runner]);
  return { ...view, ...controls };
}
