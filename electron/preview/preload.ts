// The preview shell's counterpart of electron/preload.ts: builds the same contract-derived API,
// over the Playwright binding instead of ipcRenderer. Injected before any page script runs.
//
// Events: the shell pushes each one with page.evaluate into __custosEvent (no port, no polling).
// That entry point is fixed (not writable, not configurable) and only hands the raw payload to
// buildApi's listeners, which check it against the schema; a page script calling it can do no more
// than a malformed event could.
import { buildApi } from '../../shared/api';

type Invoke = (channel: string, input: unknown) => Promise<unknown>;
const w = window as unknown as { __custosInvoke?: Invoke; custos?: unknown };

const listeners = new Set<(payload: unknown) => void>();

Object.defineProperty(window, '__custosEvent', {
  value: (payload: unknown) => {
    for (const deliver of [...listeners]) {
      try {
        deliver(payload);
      } catch {
        /* one listener's failure must not keep the event from the others */
      }
    }
  },
  writable: false,
  configurable: false,
  enumerable: false,
});

Object.defineProperty(window, 'custos', {
  value: buildApi(
    (channel, input) => {
      const invoke = w.__custosInvoke;
      if (!invoke) return Promise.reject(new Error('preview shell binding missing'));
      return invoke(channel, input);
    },
    (deliver) => {
      listeners.add(deliver);
      return () => void listeners.delete(deliver);
    },
  ),
  writable: false,
  configurable: false,
});
