import { app, BrowserWindow } from 'electron';
import { APP_ENTRY } from './protocol';
import type { MainModule } from './types';

export const window: MainModule = {
  name: 'window',
  init({ preloadPath }) {
    let win: BrowserWindow | null = null;
    return {
      async load() {
        win = new BrowserWindow({
          width: 1280,
          height: 800,
          minWidth: 1024,
          minHeight: 700,
          title: 'Custos',
          backgroundColor: '#f6f7f9',
          show: false,
          webPreferences: {
            preload: preloadPath,
            contextIsolation: true,
            sandbox: true,
            nodeIntegration: false,
            webSecurity: true,
            spellcheck: false,
            webviewTag: false,
            devTools: !app.isPackaged,
          },
        });
        win.once('ready-to-show', () => win?.show());
        win.on('closed', () => (win = null));
        await win.loadURL(APP_ENTRY);
      },
    };
  },
};
