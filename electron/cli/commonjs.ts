// dist/cli.cjs: the way into the CLI for `custos` (bin/custos.cjs), `node dist/cli.cjs …` and
// require() (tests, scripts). It starts the HSM host when the command will use it, then loads the
// CLI itself: ES modules in dist/cli/, split by esbuild so that each command loads only its own
// code (code splitting needs ESM; scripts/build.mjs). It starts the host first because the host's
// start is the longest wait of a one-shot command.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultDataDir } from '../services/config';
import { needsHsm, optionValue } from './argv';
import type { EarlyHost } from './early-host';
import { loadModule } from './load';

export async function main(argv: string[]): Promise<number> {
  let early: EarlyHost | undefined;
  if (needsHsm(argv)) {
    // Loaded only here: child_process is not free to load, and the commands that need no HSM are quick.
    const { startHost } = await import('./host');
    early = startHost(join(__dirname, 'hsm-host.cjs'), optionValue(argv, '--data-dir') ?? defaultDataDir());
  }
  try {
    const cli = await loadModule<typeof import('./main')>(pathToFileURL(join(__dirname, 'cli', 'main.mjs')));
    return await cli.main(argv, early);
  } catch (e) {
    early?.port.kill();
    throw e;
  }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => process.exit(code));
