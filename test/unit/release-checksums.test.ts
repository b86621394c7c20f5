// `npm run package` writes sha256sum files for the packages and for the unpacked native modules
// (scripts/release-checksums.mjs): checked here with the real sha256sum, as a workstation would.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the build scripts, without types
import { writeReleaseChecksums } from '../../scripts/release-checksums.mjs';

const release = mkdtempSync(join(tmpdir(), 'custos-release-'));
afterAll(() => rmSync(release, { recursive: true, force: true }));

describe('release checksums', () => {
  it('lists the packages and every unpacked .node by its path in the install, in sha256sum format', () => {
    writeFileSync(join(release, 'Custos-0.1.0.AppImage'), 'appimage');
    writeFileSync(join(release, 'custos_0.1.0_amd64.deb'), 'deb');
    writeFileSync(join(release, 'builder-debug.yml'), 'not a package');
    const unpacked = join(release, 'linux-unpacked', 'resources', 'app.asar.unpacked', 'node_modules');
    mkdirSync(join(unpacked, 'pkcs11js', 'build', 'Release'), { recursive: true });
    mkdirSync(join(unpacked, 'better-sqlite3', 'build', 'Release'), { recursive: true });
    writeFileSync(join(unpacked, 'pkcs11js', 'build', 'Release', 'pkcs11.node'), 'native 1');
    writeFileSync(join(unpacked, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), 'native 2');
    writeFileSync(join(unpacked, 'pkcs11js', 'package.json'), '{}');
    expect(writeReleaseChecksums(release)).toEqual({ packages: 2, modules: 2 });
    const sums = readFileSync(join(release, 'SHA256SUMS'), 'utf8');
    expect(sums).toMatch(/^[0-9a-f]{64} {2}Custos-0\.1\.0\.AppImage\n[0-9a-f]{64} {2}custos_0\.1\.0_amd64\.deb\n$/);
    const native = readFileSync(join(release, 'native-modules.sha256'), 'utf8');
    expect(native).toContain('  resources/app.asar.unpacked/node_modules/pkcs11js/build/Release/pkcs11.node\n');
    // As on a workstation: sha256sum -c passes, and fails once a module is swapped.
    execFileSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: release });
    execFileSync('sha256sum', ['-c', '--quiet', join(release, 'native-modules.sha256')], { cwd: join(release, 'linux-unpacked') });
    writeFileSync(join(unpacked, 'pkcs11js', 'build', 'Release', 'pkcs11.node'), 'swapped');
    expect(() => execFileSync('sha256sum', ['-c', '--quiet', join(release, 'native-modules.sha256')], { cwd: join(release, 'linux-unpacked'), stdio: 'pipe' })).toThrow();
  });
});
