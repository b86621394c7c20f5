import { app, BrowserWindow } from 'electron';
import { EVENT_CHANNEL } from '../../shared/api';
import { APP_ENTRY } from './protocol';
import type { MainModule } from './types';

export const window: MainModule = {
  name: 'window',
  init({ services, preloadPath }) {
    let win: BrowserWindow | null = null;
    let unsubscribe: (() => void) | null = null;
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
        // Main's events (a ceremony changed) go to this window only; the preload checks each one.
        const contents = win.webContents;
        unsubscribe = services.events.subscribe((event) => {
          if (!contents.isDestroyed()) contents.send(EVENT_CHANNEL, event);
        });
        win.on('closed', () => {
          unsubscribe?.();
          unsubscribe = null;
          win = null;
        });
        await win.loadURL(APP_ENTRY);
      },
      quit() {
        unsubscribe?.();
        unsubscribe = null;
      },
    };
  },
};
