// Sandboxed preload: exposes exactly the contract's methods, each bound to its own IPC channel,
// and onEvent for the one event channel. No ipcRenderer, no Node, nothing generic reaches the
// page: the page's listener gets the checked payload only, never Electron's event object (whose
// `sender` is ipcRenderer itself).
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { buildApi, EVENT_CHANNEL } from '../shared/api';

contextBridge.exposeInMainWorld(
  'custos',
  buildApi(
    (channel, input) => ipcRenderer.invoke(channel, input),
    (deliver) => {
      const listener = (_event: IpcRendererEvent, payload: unknown) => deliver(payload);
      ipcRenderer.on(EVENT_CHANNEL, listener);
      return () => void ipcRenderer.removeListener(EVENT_CHANNEL, listener);
    },
  ),
);
