// The app:// handler (electron/modules/protocol.ts) serves dist/renderer and nothing else, with the
// renderer's CSP as a header; the preview shell serves through the same rendererFile()
// (electron/services/renderer-files.ts). Hostile paths come from a page an attacker may control.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => ({ protocol: {} }));

import { serveApp } from '../../electron/modules/protocol';
import { RENDERER_CSP, rendererFile } from '../../electron/services/renderer-files';

let root: string;
let dir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'custos-app-protocol-'));
  dir = join(root, 'renderer');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Custos</title>');
  writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(join(root, 'secret.txt'), 'not for the page');
  symlinkSync(join(root, 'secret.txt'), join(dir, 'assets', 'link.txt'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const get = (url: string, method = 'GET') => serveApp(dir, { url, method });

describe('app:// serves the renderer folder, and only it', () => {
  it('serves the page with the CSP and nosniff headers, and scripts with their type', async () => {
    for (const url of ['app://custos/', 'app://custos/index.html']) {
      const r = await get(url);
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('<title>Custos</title>');
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(r.headers.get('content-security-policy')).toBe(RENDERER_CSP);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const js = await get('app://custos/assets/index-abc.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('content-security-policy')).toBeNull();
    const head = await get('app://custos/index.html', 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('refuses paths that leave the folder, encoded separators, links out, other hosts and other methods', async () => {
    const refused: Array<[string, number, string?]> = [
      ['app://custos/../secret.txt', 404],
      ['app://custos/%2e%2e/secret.txt', 404],
      ['app://custos/assets/..%2f..%2fsecret.txt', 404],
      ['app://custos/assets%5c..%5c..%5csecret.txt', 404],
      ['app://custos/assets/link.txt', 404],
      ['app://custos/%E0%A4%A', 404],
      ['app://custos/index.html%00.js', 404],
      ['app://custos/missing.js', 404],
      ['app://custos/assets', 404],
      ['app://other/index.html', 404],
      ['app://custos.evil/index.html', 404],
      ['app://custos/index.html', 405, 'POST'],
      ['app://custos/index.html', 405, 'PUT'],
    ];
    for (const [url, status, method] of refused) {
      const r = await get(url, method);
      expect(r.status, `${method ?? 'GET'} ${url}`).toBe(status);
      expect(await r.text()).not.toContain('not for the page');
    }
  });

  it('rendererFile maps "/" to index.html and refuses what is not a file inside', () => {
    expect(rendererFile(dir, '/')).toBe(join(dir, 'index.html'));
    expect(rendererFile(dir, '/assets/index-abc.js')).toBe(join(dir, 'assets', 'index-abc.js'));
    expect(rendererFile(dir, '/../secret.txt')).toBeNull();
    expect(rendererFile(dir, '/assets/link.txt')).toBeNull();
  });

  it("the CSP header is the page's own meta policy, plus frame-ancestors 'none'", () => {
    const html = readFileSync(join(__dirname, '../../renderer/index.html'), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(meta).toBeTruthy();
    expect(RENDERER_CSP).toBe(`${meta}; frame-ancestors 'none'`);
  });
});
