// `npm test`: set-up, build, lint, type-check, then every test (unit, integration against
// SoftHSM2, end-to-end in Chromium). Prints one closing line: "Tests: N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNodeModules, ensurePackages } from './setup.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const extra = process.argv.slice(2);
ensurePackages(['softhsm2', 'chromium', 'opensc', 'libnss3-tools', 'openssl', 'poppler-utils'], 'the tests');
ensureNodeModules(root);

const step = (name, cmd, args) => {
  const t = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`custos: ${name} failed`);
    process.exit(r.status ?? 1);
  }
  console.log(`custos: ${name} ok (${((Date.now() - t) / 1000).toFixed(1)} s)`);
};

step('build', process.execPath, [join(root, 'scripts/build.mjs')]);
step('lint', process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '.']);
step('typecheck', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit']);

mkdirSync(join(root, 'test-results'), { recursive: true });
const report = join(root, 'test-results/vitest.json');
const r = spawnSync(
  process.execPath,
  [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra],
  { cwd: root, stdio: 'inherit' },
);
if (existsSync(report)) {
  const j = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  console.log(`Tests: ${j.numPassedTests} passed, ${j.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
}
process.exit(r.status ?? 1);
