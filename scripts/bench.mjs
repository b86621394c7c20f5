// `npm run bench`: each benchmark prints its figures beside a baseline measured in the same run.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNodeModules, ensurePackages } from './setup.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);
ensurePackages(['softhsm2', 'chromium'], 'the benchmarks');
ensureNodeModules(root);
execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
const benches = readdirSync(join(root, 'bench')).filter((f) => /\.c?js$|\.mjs$/.test(f) && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
for (const b of benches) {
  console.log(`\n== ${b}`);
  execFileSync(process.execPath, [join(root, 'bench', b)], { stdio: 'inherit', cwd: root });
}
