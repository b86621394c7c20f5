#!/usr/bin/env node
// `custos` / `npx custos`: runs the CLI through dist/cli.cjs, building it first if dist/ is missing.
// CommonJS (unlike this package's other scripts) so that dist/cli.cjs can start the HSM host before
// Node's ES module loader starts; and it exits as soon as the command is done, without waiting for
// the stopped host to be reaped.
const { existsSync } = require('node:fs');
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const cli = join(root, 'dist', 'cli.cjs');
if (!existsSync(cli) || !existsSync(join(root, 'dist', 'cli', 'main.mjs')) || !existsSync(join(root, 'dist', 'hsm-host.cjs'))) {
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), 'cli', 'host'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
require(cli)
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
