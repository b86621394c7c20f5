// Loading the CLI's own ES modules (dist/cli/, scripts/build.mjs) on demand. Where Node can
// require() an ES module (20.19 and later 20.x, 22.12+), they load synchronously, which spares a
// one-shot command the start of Node's asynchronous module loader (a few milliseconds at every
// call, issue #12 part 7); elsewhere import() loads them. It is the same module either way: both
// go through Node's one ES module cache.
import { fileURLToPath } from 'node:url';

export function loadModule<T>(url: URL): Promise<T> {
  try {
    return Promise.resolve(require(fileURLToPath(url)) as T);
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ERR_REQUIRE_ESM') throw e;
    return import(url.href) as Promise<T>;
  }
}

// Where dist/cli/ is. Set by main.mjs from its own URL: the other modules may sit in shared chunks
// or in dist/cli/commands/, so their own URLs say nothing reliable about it.
let root: URL | undefined;

export function setCliRoot(url: URL): void {
  root = url;
}

/** A file of the built CLI, by its path relative to dist/cli/ (e.g. `commands/shares-cards.mjs`, `../hsm-host.cjs`). */
export function cliFile(path: string): URL {
  if (!root) throw new Error('The CLI was not started through dist/cli/main.mjs.');
  return new URL(path, root);
}

export const loadCliModule = <T>(path: string): Promise<T> => loadModule<T>(cliFile(path));
