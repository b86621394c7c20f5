import { app, session } from 'electron';
import { APP_PREFIX } from './protocol';
import type { MainModule } from './types';

// Electron security checklist: no navigation, no new windows, no webviews, no network, no
// permissions. The app needs none of them; an attacker who gets script into the page would.
// DevTools are for development only: a packaged build (app.isPackaged) neither opens them nor lets
// devtools:// through the request filter — on a custodian's workstation they would be a console
// with the window's IPC API in reach.
export const security: MainModule = {
  name: 'security',
  init({ log }) {
    const packaged = app.isPackaged;
    app.on('web-contents-created', (_e, contents) => {
      contents.setWindowOpenHandler(() => ({ action: 'deny' }));
      contents.on('will-navigate', (event, url) => {
        if (!url.startsWith(APP_PREFIX)) event.preventDefault();
      });
      contents.on('will-redirect', (event) => event.preventDefault());
      contents.on('will-attach-webview', (event) => event.preventDefault());
      if (packaged) contents.on('devtools-opened', () => contents.closeDevTools());
    });
    return {
      load() {
        const s = session.defaultSession;
        s.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
        s.setPermissionCheckHandler(() => false);
        s.webRequest.onBeforeRequest((details, callback) => {
          const allowed = details.url.startsWith(APP_PREFIX) || (!packaged && details.url.startsWith('devtools://'));
          if (!allowed) log(`blocked request to ${details.url.slice(0, 80)}`);
          callback({ cancel: !allowed });
        });
      },
    };
  },
};
