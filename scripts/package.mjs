// `npm run package`: builds AppImage and deb with electron-builder. Needs a connected machine:
// the native modules are rebuilt against Electron's headers (downloaded), and electron-builder
// fetches Electron itself. Kept out of `npm install`/`npm test` on purpose: an offline Electron
// rebuild fails and deletes the Node build of better-sqlite3 (restore with `npm rebuild better-sqlite3`).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { writeReleaseChecksums } from './release-checksums.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const electronVersion = require('electron/package.json').version;
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

run(process.execPath, ['scripts/build.mjs']);
try {
  run('npx', ['--no-install', 'electron-rebuild', '--version', electronVersion, '--only', 'better-sqlite3,pkcs11js', '--force']);
  run('npx', ['--no-install', 'electron-builder', '--linux', '--publish', 'never']);
  // Asar integrity does nothing on Linux: these let the workstation check the packages and the
  // installed native modules with sha256sum (docs/ARCHITECTURE.md).
  const sums = writeReleaseChecksums(join(root, 'release'));
  console.log(`release/SHA256SUMS: ${sums.packages} packages; release/native-modules.sha256: ${sums.modules} native modules`);
} finally {
  // Put the Node build back so that tests and the CLI keep working on this machine.
  run('npm', ['rebuild', 'better-sqlite3', 'pkcs11js', 'custos-p11batch']);
}
