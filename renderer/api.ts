import type { CustosBridge } from '../shared/api';
import type { Result } from '../shared/result';

declare global {
  interface Window {
    custos: CustosBridge;
  }
}

/**
 * The typed API from the preload (Electron) or the binding (preview shell); the only way out of the
 * page. `api.onEvent` is the only way in: events main sends, each checked against its schema.
 */
export const api: CustosBridge = window.custos;

/**
 * An API call whose promise cannot reject: main answers with a Result, but the bridge itself can
 * fail (the main process gone, the preview shell's binding closed), and that too must reach the
 * person as a typed error with what to do, not as an unhandled rejection.
 */
export async function call<T>(p: Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await p;
  } catch {
    return { ok: false, error: { code: 'INTERNAL', message: 'The app did not answer.', action: 'Restart Custos.' } };
  }
}
