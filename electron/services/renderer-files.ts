// Serving the renderer's built files (dist/renderer), the same way in both shells: Electron's
// app:// protocol handler (modules/protocol.ts) and the preview shell's request interception
// (preview/shell.ts). A URL path maps to a file inside the renderer folder or to nothing: no `..`,
// no encoded separator, no symlink target outside it is ever served.
import { realpathSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';

export const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/**
 * The Content-Security-Policy both shells send with every page, the one renderer/index.html states
 * in its meta tag plus `frame-ancestors 'none'` (which only a header can carry): the app must not
 * be framed. A header applies before a byte of the page is parsed.
 */
export const RENDERER_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'none'; base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'";

/** Headers for a served file: its type, no MIME sniffing (a file is only ever what its name says), the CSP on pages. */
export function headersFor(file: string): Record<string, string> {
  const type = MIME_TYPES[extname(file)] ?? 'application/octet-stream';
  return {
    'Content-Type': type,
    'X-Content-Type-Options': 'nosniff',
    ...(type.startsWith('text/html') ? { 'Content-Security-Policy': RENDERER_CSP } : {}),
  };
}

/**
 * The file a URL path names inside `rendererDir` ("/" is index.html), or null when it names nothing
 * there: a malformed escape, an encoded slash or backslash, a path that leaves the folder, or a
 * file that is a link to somewhere else.
 */
export function rendererFile(rendererDir: string, pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname === '/' || pathname === '' ? '/index.html' : pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\') || /%2f|%5c/i.test(pathname)) return null;
  const root = normalize(rendererDir);
  const file = normalize(join(root, decoded));
  if (!file.startsWith(root + sep)) return null;
  try {
    const real = realpathSync(file);
    const realRoot = realpathSync(root);
    return real.startsWith(realRoot + sep) ? file : null;
  } catch {
    return null; // no such file
  }
}
