import { ceremonyEventSchema, type CeremonyEvent } from './ceremony/contract';
import { channelOf, METHOD_NAMES, type CustosApi } from './contract';
import type { Result } from './result';

/** Everything main tells the page without being asked (today: ceremony events). */
export type CustosEvent = CeremonyEvent;

/** The one channel main pushes events on (Electron: webContents.send; the preview shell: page.evaluate). */
export const EVENT_CHANNEL = 'custos:event';

/** The API the page sees: the contract's methods, and one way to hear main's events. */
export type CustosBridge = CustosApi & {
  /** Calls `listener` with each event main sends that passes the schema; returns the unsubscribe. */
  onEvent(listener: (event: CustosEvent) => void): () => void;
};

/**
 * A payload from the event channel, checked: the event, or null when it is not one. Main is the
 * only sender, but what reaches a listener is still input (a bug, a version skew, a script in the
 * page calling the preview shell's entry point): it is dropped unless the schema accepts it.
 */
export function parseEvent(payload: unknown): CustosEvent | null {
  const r = ceremonyEventSchema.safeParse(payload);
  return r.success ? r.data : null;
}

/**
 * Builds the renderer-facing API from the contract over any transport: ipcRenderer.invoke in
 * Electron's preload, the Playwright binding in the preview shell. Both shells therefore expose
 * exactly the same named methods and nothing else. `subscribe` is the shell's way to hear the
 * event channel (it hands each raw payload on); every payload is checked here, once, for both.
 */
export function buildApi(
  invoke: (channel: string, input: unknown) => Promise<unknown>,
  subscribe?: (deliver: (payload: unknown) => void) => () => void,
): CustosBridge {
  const api: Record<string, unknown> = {};
  for (const name of METHOD_NAMES) {
    const channel = channelOf(name);
    api[name] = (input: unknown) => invoke(channel, input ?? {}) as Promise<Result<unknown>>;
  }
  api.onEvent = (listener: (event: CustosEvent) => void): (() => void) => {
    if (typeof listener !== 'function' || !subscribe) return () => undefined;
    let live = true;
    const off = subscribe((payload) => {
      const event = parseEvent(payload);
      if (live && event) listener(event);
    });
    return () => {
      live = false;
      off();
    };
  };
  return Object.freeze(api) as unknown as CustosBridge;
}
