// `custos archive …` and `custos audit …` as a custodian runs them (dist/cli.cjs), against a
// SoftHSM2 token: --json output, exit codes, the PIN read from a file and never echoed.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveInfo, SearchPage, VerifyVerdict, VersionDetail } from '../../shared/archive/types';
import type { AppError } from '../../shared/result';
import { DIST, SOFTHSM_MODULE } from '../helpers/softhsm';
import { archiveFixture, TOKEN, USER_PIN, type ArchiveFixture } from './archive-helpers';

const CLI = join(DIST, 'cli.cjs');
let f: ArchiveFixture;
let pinFile: string;
let A: string;
let B: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: f.fx.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      expect(stdout + stderr).not.toContain(USER_PIN);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

const hsm = ['--module', SOFTHSM_MODULE, '--token', TOKEN, '--pin-file'];
const json = <T>(r: Run): T => JSON.parse(r.stdout) as T;
const jsonError = (r: Run): AppError => (JSON.parse(r.stdout) as { error: AppError }).error;

beforeAll(async () => {
  f = await archiveFixture('custos-archive-cli-');
  // The CLI logs in itself: log the fixture's session out so nothing is shared.
  await f.hsm.call('logout', { path: SOFTHSM_MODULE, token: TOKEN });
  pinFile = join(f.fx.dir, 'pin.txt');
  writeFileSync(pinFile, `${USER_PIN}\n`, { mode: 0o600 });
  A = f.file('a.custos');
  B = f.file('b.custos');
  await f.hsm.call('login', { path: SOFTHSM_MODULE, token: TOKEN, role: 'user', pin: USER_PIN });
  await f.generate('aes-256', 'cli-aes');
  await f.generate('hmac-256', 'cli-hmac');
  await f.generate('aes-128', 'cli-aes-2');
  await f.hsm.call('logout', { path: SOFTHSM_MODULE, token: TOKEN });
});

afterAll(async () => {
  await f?.close();
});

describe('custos archive', () => {
  it('init creates the archive and prints its identity; the PIN comes from --pin-file', async () => {
    const r = await cli(['archive', 'init', '--archive', A, '--name', 'CLI A', ...hsm, pinFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const info = json<ArchiveInfo>(r);
    // archive.init and archive.meta (the meta table recorded in the log: docs/FORMAT.md)
    expect(info).toMatchObject({ name: 'CLI A', formatId: 'custos.archive', counts: { auditEntries: 2 } });
    expect(info.tokenUri).toMatch(/^pkcs11:.*token=Archive$/);
    const text = await cli(['archive', 'init', '--archive', B, '--name', 'CLI B', ...hsm, pinFile]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/audit key fingerprint[^\n]*\n\s+[0-9a-f]{64}/);
    const again = await cli(['archive', 'init', '--archive', A, '--name', 'x', ...hsm, pinFile, '--json']);
    expect(again.code).not.toBe(0);
    expect(jsonError(again).code).toBe('ARCHIVE_EXISTS');
  });

  it('init makes the archive and the anchors readable by their owner only (0600), the WAL too', async () => {
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(A)).toBe(0o600);
    expect(mode(join(f.fx.env.CUSTOS_DATA_DIR!, 'archive-anchors.json'))).toBe(0o600);
    // While a connection is open SQLite keeps -wal and -shm beside the file, with the file's mode.
    const db = new Database(A, { readonly: true });
    try {
      db.prepare('SELECT count(*) FROM keys').get();
      for (const extra of ['-wal', '-shm']) if (existsSync(A + extra)) expect(mode(A + extra)).toBe(0o600);
    } finally {
      db.close();
    }
  });

  it('init into a folder that does not exist is a usage error, and leaves no key on the token', async () => {
    const keys = async () => (JSON.parse((await cli(['key', 'list', ...hsm, pinFile, '--json'])).stdout) as Array<{ label: string }>).map((k) => k.label).sort();
    const before = await keys();
    const r = await cli(['archive', 'init', '--archive', f.file('missing/folder/a.custos'), '--name', 'X', ...hsm, pinFile, '--json']);
    expect(r.code).toBe(2);
    expect(jsonError(r)).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/folder .* does not exist/) });
    expect(await keys()).toEqual(before);
  });

  it('add archives HSM keys named by label or by PKCS#11 URI', async () => {
    let r = await cli(['archive', 'add', '--archive', A, '--key', 'cli-aes', '--label', 'orders-dek', '--purpose', 'data-encryption', '--tag', 'orders', '--tag', 'pci', '--activate', '--activation-date', '2024-02-01', ...hsm, pinFile, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(json<{ state: string; algorithm: string }>(r)).toMatchObject({ label: 'orders-dek', version: 1, state: 'active', algorithm: 'aes-256' });
    r = await cli(['archive', 'add', '--archive', A, '--key', 'pkcs11:object=cli-hmac;type=secret-key', '--label', 'api-mac', '--purpose', 'authentication', ...hsm, pinFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Archived api-mac@1 \(hmac-256, pre-active\)/);
    r = await cli(['archive', 'add', '--archive', A, '--key', 'cli-aes-2', '--label', 'orders-dek', '--activate', ...hsm, pinFile, '--json']);
    expect(json<{ version: number }>(r)).toMatchObject({ version: 2, state: 'active' });
    r = await cli(['archive', 'add', '--archive', A, '--key', 'missing-key', '--label', 'x', '--purpose', 'data-encryption', ...hsm, pinFile, '--json']);
    expect(r.code).not.toBe(0);
    expect(jsonError(r).code).toBe('OBJECT_NOT_FOUND');
  });

  it('search and show need no HSM and no PIN', async () => {
    let r = await cli(['archive', 'search', '--archive', A, '--tag', 'orders', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json<SearchPage>(r).items.map((v) => `${v.label}@${v.version}:${v.state}`)).toEqual(['orders-dek@2:active', 'orders-dek@1:deactivated']);
    r = await cli(['archive', 'search', '--archive', A, '--active-for', 'data-encryption', '--on', '2024-06-01', '--json']);
    expect(json<SearchPage>(r).items.map((v) => v.version)).toEqual([1]);
    r = await cli(['archive', 'search', '--archive', A, '--label', 'orders*', '--count']);
    expect(r.stdout).toMatch(/orders-dek@2\s+active/);
    expect(r.stdout).toMatch(/2 shown of 2/);
    r = await cli(['archive', 'show', '--archive', A, 'orders-dek@1', '--json']);
    const d = json<VersionDetail>(r);
    expect(d.history.map((h) => h.to)).toEqual(['active', 'deactivated']);
    expect(d.summary.activationDate).toBe('2024-02-01T00:00:00.000Z');
    r = await cli(['archive', 'show', '--archive', A, 'api-mac']);
    expect(r.stdout).toMatch(/state\s+pre-active/);
    expect(r.stdout).toMatch(/possible steps: activate, compromise, destroy/);
    r = await cli(['archive', 'search', '--archive', A, '--state', 'gone', '--json']);
    expect(r.code).toBe(2);
    expect(jsonError(r).code).toBe('INVALID_INPUT');
  });

  it('state runs a lifecycle step and refuses an illegal one', async () => {
    let r = await cli(['archive', 'state', '--archive', A, 'api-mac', '--action', 'activate', ...hsm, pinFile, '--json']);
    expect(r.code, r.stdout).toBe(0);
    expect(json<{ state: string }>(r).state).toBe('active');
    r = await cli(['archive', 'state', '--archive', A, 'api-mac', '--action', 'destroy', ...hsm, pinFile, '--json']);
    expect(r.code).not.toBe(0);
    expect(jsonError(r).code).toBe('LIFECYCLE_TRANSITION_INVALID');
  });

  it('refuses a write with a token other than the one holding the archive keys, as the app does', async () => {
    f.fx.initToken('Other', { so: '13579135', user: USER_PIN });
    const r = await cli(['archive', 'state', '--archive', A, 'api-mac', '--action', 'suspend', '--module', SOFTHSM_MODULE, '--token', 'Other', '--pin-file', pinFile, '--json']);
    expect(r.code).not.toBe(0);
    const e = jsonError(r);
    expect(e.code).toBe('TOKEN_NOT_FOUND');
    expect(e.message).toMatch(/token “Archive”/);
    const show = await cli(['archive', 'show', '--archive', A, 'api-mac', '--json']);
    expect(json<VersionDetail>(show).summary.state).toBe('active');
  });

  it('verify passes (with and without the HSM), export/trust/import move keys to another archive', async () => {
    let r = await cli(['archive', 'verify', '--archive', A, ...hsm, pinFile, '--json']);
    expect(r.code, r.stdout).toBe(0);
    expect(json<VerifyVerdict>(r)).toMatchObject({ ok: true, withHsm: true, firstBadEntry: null });
    r = await cli(['archive', 'verify', '--archive', A, '--no-hsm', '--json']);
    expect(json<VerifyVerdict>(r)).toMatchObject({ ok: true, withHsm: false });
    const bundle = f.file('a.bundle');
    r = await cli(['archive', 'export', '--archive', A, '--out', bundle, '--key', 'orders-dek', ...hsm, pinFile, '--json']);
    expect(r.code, r.stdout).toBe(0);
    expect(json<{ keys: number; versions: number }>(r)).toMatchObject({ keys: 1, versions: 2 });
    r = await cli(['archive', 'import', '--archive', B, bundle, ...hsm, pinFile, '--json']);
    expect(jsonError(r).code).toBe('BUNDLE_UNTRUSTED');
    const pub = f.file('a-audit.pem');
    r = await cli(['archive', 'info', '--archive', A, '--public-key-out', pub]);
    expect(r.code).toBe(0);
    expect(readFileSync(pub, 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    r = await cli(['archive', 'trust', '--archive', B, '--public-key', pub, '--name', 'Workstation A', ...hsm, pinFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Now trusting "Workstation A"/);
    r = await cli(['archive', 'import', '--archive', B, bundle, '--dry-run', ...hsm, pinFile, '--json']);
    expect(json<{ applied: boolean; inserted: number }>(r)).toMatchObject({ applied: false, inserted: 3 });
    r = await cli(['archive', 'import', '--archive', B, bundle, ...hsm, pinFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Imported bundle of "CLI A".*\n\s+3 new, 0 updated, 0 unchanged, 0 conflicts/);
    r = await cli(['archive', 'search', '--archive', B, '--label', 'orders-dek', '--json']);
    expect(json<SearchPage>(r).items).toHaveLength(2);
  });

  it('verify exits non-zero and names the problem when the file was tampered with', async () => {
    const raw = new Database(A);
    raw.exec('DROP TRIGGER audit_entries_append_only_update');
    raw.prepare(`UPDATE audit_entries SET entry = replace(entry, '"actor":', '"actor":"x","a":') WHERE seq = 3`).run();
    raw.close();
    let r = await cli(['archive', 'verify', '--archive', A, '--no-hsm', '--report', f.file('report.json'), '--json']);
    expect(r.code).toBe(1);
    const e = jsonError(r);
    expect(e.code).toBe('AUDIT_CHAIN_BROKEN');
    expect(e.message).toMatch(/the first bad audit entry is 3/);
    expect(e.details).toMatchObject({ firstBadEntry: 3 });
    expect(JSON.parse(readFileSync(f.file('report.json'), 'utf8'))).toMatchObject({ ok: false, firstBadEntry: 3 });
    r = await cli(['audit', 'verify', '--archive', A]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/problem: Audit entry 3 was altered/);
  });
});

describe('custos audit', () => {
  it('verify, trail and export work without the HSM; verify checks the expected public key', async () => {
    let r = await cli(['audit', 'verify', '--archive', B, '--json']);
    expect(r.code, r.stdout).toBe(0);
    expect(json<VerifyVerdict>(r).ok).toBe(true);
    r = await cli(['audit', 'verify', '--archive', B, '--public-key', f.file('a-audit.pem'), '--json']);
    expect(r.code).toBe(1);
    expect(jsonError(r).code).toBe('AUDIT_CHAIN_BROKEN');
    r = await cli(['audit', 'trail', '--archive', B, '--key', 'orders-dek', '--json']);
    const trail = json<{ entries: Array<{ action: string }> }>(r);
    expect(trail.entries.map((e) => e.action)).toEqual(['import.insert', 'import.insert', 'import.insert']);
    const out = f.file('audit-export');
    r = await cli(['audit', 'export', '--archive', B, '--out', out, '--json']);
    expect(r.code, r.stdout).toBe(0);
    expect(json<{ entries: number }>(r).entries).toBeGreaterThan(5);
    expect(readFileSync(join(out, 'audit.jsonl'), 'utf8').split('\n').length - 1).toBe(json<{ entries: number }>(r).entries);
  });
});
