#!/usr/bin/env node
// `custos` / `npx custos`: runs the bundled CLI, building it first if dist/ is missing.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.cjs');
if (!existsSync(cli) || !existsSync(join(root, 'dist/hsm-host.cjs'))) {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), 'cli', 'host'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
const { main } = createRequire(import.meta.url)(cli);
process.exitCode = await main(process.argv.slice(2));
