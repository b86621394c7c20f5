// The preview shell's counterpart of electron/preload.ts: builds the same contract-derived API,
// over the Playwright binding instead of ipcRenderer. Injected before any page script runs.
import { buildApi } from '../../shared/api';

type Invoke = (channel: string, input: unknown) => Promise<unknown>;
const w = window as unknown as { __custosInvoke?: Invoke; custos?: unknown };

Object.defineProperty(window, 'custos', {
  value: buildApi((channel, input) => {
    const invoke = w.__custosInvoke;
    if (!invoke) return Promise.reject(new Error('preview shell binding missing'));
    return invoke(channel, input);
  }),
  writable: false,
  configurable: false,
});
