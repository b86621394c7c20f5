import { protocol } from 'electron';
import { readFile } from 'node:fs/promises';
import { headersFor, rendererFile } from '../services/renderer-files';
import type { MainModule } from './types';

// The renderer is served from app://custos/, a custom protocol, not from file:// (Electron security
// checklist item 18). A file:// page may read any file URL the OS lets the user read, and every
// file:// page shares one origin; app://custos/ is its own origin, reaches only dist/renderer, and
// the IPC sender check, the navigation rules and the request filter (security.ts, ipc.ts) can name
// it exactly. The grantFileProtocolExtraPrivileges fuse (electron-builder.yml) takes file:// back to
// what a browser allows.

export const APP_SCHEME = 'app';
export const APP_ORIGIN = 'app://custos';
/** Every URL of the app starts with this; nothing else is the app. */
export const APP_PREFIX = `${APP_ORIGIN}/`;
export const APP_ENTRY = `${APP_PREFIX}index.html`;

/**
 * Declares app:// before the app is ready (Electron allows it only then): standard, so that it has
 * an origin, relative URLs and 'self' in the CSP; secure, as https is. Not corsEnabled and no fetch
 * support: nothing but the app's own pages loads from it, and no other origin may read it.
 */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, codeCache: true } }]);
}

/** The response to one app:// request: a file of dist/renderer, or 404. Only GET and HEAD, only the app's host. */
export async function serveApp(rendererDir: string, request: { url: string; method: string }): Promise<Response> {
  const refuse = (status: number) => new Response(null, { status, headers: { 'Content-Type': 'text/plain' } });
  if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(405);
  if (!request.url.startsWith(APP_PREFIX)) return refuse(404);
  const file = rendererFile(rendererDir, new URL(request.url).pathname);
  if (!file) return refuse(404);
  try {
    const body = await readFile(file);
    return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers: headersFor(file) });
  } catch {
    return refuse(404);
  }
}

export const appProtocol: MainModule = {
  name: 'protocol',
  init({ rendererDir }) {
    return {
      load() {
        protocol.handle(APP_SCHEME, (request) => serveApp(rendererDir, request));
      },
      quit() {
        protocol.unhandle(APP_SCHEME);
      },
    };
  },
};
