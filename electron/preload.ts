// Sandboxed preload: exposes exactly the contract's methods, each bound to its own IPC channel.
// No ipcRenderer, no Node, nothing generic reaches the page.
import { contextBridge, ipcRenderer } from 'electron';
import { buildApi } from '../shared/api';

contextBridge.exposeInMainWorld(
  'custos',
  buildApi((channel, input) => ipcRenderer.invoke(channel, input)),
);
