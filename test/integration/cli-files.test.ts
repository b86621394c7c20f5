// The CLI's files (issue #10 part 8): every --out is written atomically (a temporary file in the
// same folder, renamed or linked into place), an existing file is replaced only with --force
// (records, sheets and keys never), and anything not public is 0600. Real CLI processes, a real
// SoftHSM token and the real record.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyService } from '../../electron/services/key-service';
import { DIST, SOFTHSM_MODULE } from '../helpers/softhsm';
import { ceremonyFixture, runSetup, WS, type CeremonyFixture } from './ceremony-helpers';

const run = promisify(execFile);
const CLI = join(DIST, 'cli.cjs');
let f: CeremonyFixture;
let setup: { run: string; bundle: string };
let out: string;

async function custos(args: string[]) {
  const full = ['--module', SOFTHSM_MODULE, '--token', WS.label, '--pin-file', join(f.fx.dir, 'pin'), '--data-dir', f.dataDir, '--operator', 'Otto Operator', '--json', ...args];
  try {
    const r = await run(process.execPath, [CLI, ...full], { env: f.fx.env, cwd: f.fx.dir, timeout: 60_000 });
    return { code: 0, json: JSON.parse(r.stdout) as Record<string, unknown> };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, json: JSON.parse(err.stdout || '{}') as Record<string, unknown> };
  }
}
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
const errorOf = (r: { json: Record<string, unknown> }) => (r.json as { error?: { code: string; action: string } }).error;

beforeAll(async () => {
  f = await ceremonyFixture('custos-cli-files-');
  setup = await runSetup(f);
  writeFileSync(join(f.fx.dir, 'pin'), `${WS.user}\n`);
  await new KeyService(f.hsm).generate(f.session, { type: 'ec-p256', label: 'cli-files-ec', usages: ['sign'], extractable: false });
  out = join(f.fx.dir, 'out');
  mkdirSync(out);
}, 120_000);
afterAll(async () => f?.close());

describe('the CLI’s output files', () => {
  it('a public key: 0644; an existing file is refused (exit 2, says --force) and left alone; --force replaces it whole', async () => {
    const p = join(out, 'ec.pem');
    expect((await custos(['key', 'export-public', '--key', 'cli-files-ec', '--out', p])).code).toBe(0);
    const pem = readFileSync(p, 'utf8');
    expect(pem).toMatch(/BEGIN PUBLIC KEY/);
    expect(mode(p)).toBe('644');
    writeFileSync(p, 'keep me\n');
    const r = await custos(['key', 'export-public', '--key', 'cli-files-ec', '--out', p]);
    expect(r.code).toBe(2);
    expect(errorOf(r)).toMatchObject({ code: 'FILE_EXISTS', action: expect.stringContaining('--force') });
    expect(readFileSync(p, 'utf8')).toBe('keep me\n');
    expect((await custos(['key', 'export-public', '--key', 'cli-files-ec', '--out', p, '--force'])).code).toBe(0);
    expect(readFileSync(p, 'utf8')).toBe(pem);
    expect(readdirSync(out)).toEqual(['ec.pem']); // no temporary file left
  });

  it('a signature (not public): 0600, also when it replaces a file that was 0644', async () => {
    const data = join(f.fx.dir, 'data.bin');
    writeFileSync(data, 'to be signed');
    const sig = join(out, 'data.sig');
    writeFileSync(sig, 'old');
    expect(statSync(sig).mode & 0o777).toBe(0o644);
    expect((await custos(['sign', '--key', 'cli-files-ec', '--mechanism', 'ecdsa-sha256', '--in', data, '--out', sig])).code).toBe(2);
    expect((await custos(['sign', '--key', 'cli-files-ec', '--mechanism', 'ecdsa-sha256', '--in', data, '--out', sig, '--force'])).code).toBe(0);
    expect(mode(sig)).toBe('600');
    expect(readFileSync(sig).length).toBeGreaterThan(60);
  });

  it('a ceremony bundle copied with --out: atomic, 0600, verifies with sha256sum -c; a second copy is refused', async () => {
    const stick = join(f.fx.dir, 'stick');
    const r = await custos(['ceremony', 'bundle', '--run', setup.run, '--out', stick]);
    expect(r.code).toBe(0);
    const path = r.json.path as string;
    expect(readdirSync(stick)).toEqual([path.split('/').pop()]);
    for (const n of readdirSync(path)) expect(mode(join(path, n))).toBe('600');
    expect(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: path }).toString()).not.toMatch(/FAILED/);
    expect((await custos(['ceremony', 'bundle', '--run', setup.run, '--out', stick])).code).toBe(2);
  });

  it('an audit export: a new folder made atomically, 0600; a folder with files in it needs --force', async () => {
    const dir = join(out, 'audit');
    const archive = join(f.dataDir, 'archive.sqlite');
    const r = await custos(['audit', 'export', '--archive', archive, '--out', dir]);
    expect(r.code).toBe(0);
    expect(r.json.dir).toBe(dir);
    expect(readdirSync(dir).sort()).toEqual(['audit-public-key.pem', 'audit.jsonl', 'checkpoints.jsonl', 'manifest.json']);
    for (const n of readdirSync(dir)) expect(mode(join(dir, n))).toBe('600');
    expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
    const again = await custos(['audit', 'export', '--archive', archive, '--out', dir]);
    expect(again.code).toBe(2);
    expect(errorOf(again)).toMatchObject({ code: 'FILE_EXISTS', action: expect.stringContaining('--force') });
    expect((await custos(['audit', 'export', '--archive', archive, '--out', dir, '--force'])).code).toBe(0);
  });
});
