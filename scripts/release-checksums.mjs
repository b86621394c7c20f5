// Checksums for what crosses the air gap and for what it installs, written by `npm run package`
// (docs/ARCHITECTURE.md "Asar integrity does not protect a Linux install"):
//   release/SHA256SUMS              the AppImage and the .deb, to check them on the workstation's side;
//   release/native-modules.sha256   every native module (.node) unpacked beside app.asar, by its path
//                                   in an install, to check one: `cd /opt/Custos && sha256sum -c PATH/native-modules.sha256`.
// Both are in `sha256sum` format (hash, two spaces, path), so no Custos code is needed to check them.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

function walk(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Writes both files into `releaseDir`; returns how many packages and native modules they list. */
export function writeReleaseChecksums(releaseDir) {
  const packages = readdirSync(releaseDir).filter((n) => /\.(AppImage|deb)$/.test(n)).sort();
  writeFileSync(join(releaseDir, 'SHA256SUMS'), packages.map((n) => `${sha256(join(releaseDir, n))}  ${n}\n`).join(''));
  // electron-builder's unpacked tree mirrors the install folder (/opt/Custos for the .deb).
  const installRoot = join(releaseDir, 'linux-unpacked');
  const unpacked = join(installRoot, 'resources', 'app.asar.unpacked');
  const modules = existsSync(unpacked) ? walk(unpacked).filter((p) => p.endsWith('.node')) : [];
  writeFileSync(join(releaseDir, 'native-modules.sha256'), modules.map((p) => `${sha256(p)}  ${relative(installRoot, p).split(sep).join('/')}\n`).join(''));
  return { packages: packages.length, modules: modules.length };
}
