import { channelOf, METHOD_NAMES, type CustosApi } from './contract';
import type { Result } from './result';

/**
 * Builds the renderer-facing API from the contract over any transport: ipcRenderer.invoke in
 * Electron's preload, the Playwright binding in the preview shell. Both shells therefore expose
 * exactly the same named methods and nothing else.
 */
export function buildApi(invoke: (channel: string, input: unknown) => Promise<unknown>): CustosApi {
  const api: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const name of METHOD_NAMES) {
    const channel = channelOf(name);
    api[name] = (input: unknown) => invoke(channel, input ?? {}) as Promise<Result<unknown>>;
  }
  return Object.freeze(api) as unknown as CustosApi;
}
