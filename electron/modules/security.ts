import { app, session } from 'electron';
import { pathToFileURL } from 'node:url';
import type { MainModule } from './types';

// Electron security checklist: no navigation, no new windows, no webviews, no network, no
// permissions. The app needs none of them; an attacker who gets script into the page would.
export const security: MainModule = {
  name: 'security',
  init({ rendererDir, log }) {
    const appUrl = pathToFileURL(rendererDir).href + '/';
    app.on('web-contents-created', (_e, contents) => {
      contents.setWindowOpenHandler(() => ({ action: 'deny' }));
      contents.on('will-navigate', (event, url) => {
        if (!url.startsWith(appUrl)) event.preventDefault();
      });
      contents.on('will-redirect', (event) => event.preventDefault());
      contents.on('will-attach-webview', (event) => event.preventDefault());
    });
    return {
      load() {
        const s = session.defaultSession;
        s.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
        s.setPermissionCheckHandler(() => false);
        s.webRequest.onBeforeRequest((details, callback) => {
          const allowed = details.url.startsWith(appUrl) || details.url.startsWith('devtools://');
          if (!allowed) log(`blocked request to ${details.url.slice(0, 80)}`);
          callback({ cancel: !allowed });
        });
      },
    };
  },
};
