// `custos ceremony …` as a ceremony administrator scripts it (dist/cli.cjs): the same three
// ceremonies and definitions as the app, one command per action, with SoftHSM2 tokens as the
// workstation HSM and as each person's card. Then the kill-and-resume test: every step of a key
// generation is killed (SIGKILL, through a test hook) before and after its work in the HSM, the
// run is resumed, and it finishes with exactly one key, one archived version, and a bundle that
// verifies; and a backup killed half-way through the hand-over voids its share set and makes a new
// one whose shares rebuild the Archive KEK.
import { execFileSync, spawn } from 'node:child_process';
import { createDecipheriv, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../shared/ceremony/view';
import type { AppError } from '../../shared/result';
import { combineMnemonics, webCryptoSlip39 } from '../../shared/slip39';
import { keyCheckValues } from '../../electron/services/kcv';
import { rsaAesKeyUnwrap } from '../../electron/services/formats/keywrap';
import { DIST, requireBuild, SOFTHSM_MODULE, softhsm, type SoftHsmFixture } from '../helpers/softhsm';
import { PEOPLE, WS } from './ceremony-helpers';

const CLI = join(DIST, 'cli.cjs');
let fx: SoftHsmFixture;
let dataDir: string;
const pinFiles: Record<string, string> = {};

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; onStdout?: (line: string, write: (s: string) => void) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, '--module', SOFTHSM_MODULE, ...args], { env: { ...fx.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) opts.onStdout?.(l, (s) => child.stdin.write(s));
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const p of PEOPLE) expect(stdout + stderr, 'a PIN was printed').not.toContain(p.pin);
      resolve({ code, signal, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin.write(opts.input);
    if (!opts.onStdout) child.stdin.end();
  });
}

const ws = () => ['--token', WS.label, '--pin-file', pinFiles.ws!];
const card = (name: string) => {
  const p = PEOPLE.find((x) => x.name === name)!;
  return ['--card-token', p.card, '--card-pin-file', pinFiles[name]!];
};

async function ok(args: string[], opts: Parameters<typeof cli>[1] = {}): Promise<RunView> {
  const r = await cli([...ws(), '--json', ...args], opts);
  if (r.code !== 0) throw new Error(`custos ${args.join(' ')} failed (${r.code}): ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as RunView;
}

async function refused(args: string[]): Promise<{ code: number | null; error: AppError }> {
  const r = await cli([...ws(), '--json', ...args]);
  expect(r.code, r.stdout + r.stderr).not.toBe(0);
  return { code: r.code, error: (JSON.parse(r.stdout) as { error: AppError }).error };
}

const everyone = PEOPLE.map((p) => p.name);
/** The committed backup and its shares (Ann's, Ben's, Cat's), for the drill. */
let backupRun = '';
let backupShares: string[] = [];
let lostShare = '';
const castArgs = ['Ada Admin=administrator', 'Otto Operator=operator', 'Ann Archer=custodian', 'Ben Baker=custodian', 'Cat Cole=custodian', 'Wes Witness=witness'].flatMap((p) => ['--participant', p]);

async function presentAll(run: string): Promise<RunView> {
  for (const n of everyone) await ok(['ceremony', 'present', '--run', run, '--person', n, ...card(n)]);
  return ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
}

beforeAll(() => {
  requireBuild();
  fx = softhsm('custos-ceremony-cli-');
  fx.initToken(WS.label, { so: WS.so, user: WS.user });
  for (const p of PEOPLE) fx.initToken(p.card, { user: p.pin });
  dataDir = join(fx.dir, 'data');
  const write = (name: string, v: string) => {
    const f = join(fx.dir, `${name.replace(/\W/g, '')}.pin`);
    writeFileSync(f, `${v}\n`, { mode: 0o600 });
    return f;
  };
  pinFiles.ws = write('ws', WS.user);
  pinFiles.so = write('so', WS.so);
  for (const p of PEOPLE) pinFiles[p.name] = write(p.name, p.pin);
  writeFileSync(
    join(fx.dir, 'setup.yaml'),
    [
      'recordName: CLI workstation',
      `token: "pkcs11:token=${WS.label}"`,
      'practice: false',
      'people:',
      ...PEOPLE.flatMap((p) => [`  - name: ${p.name}`, `    roles: [${p.roles.join(', ')}]`, '    credential: card']),
    ].join('\n') + '\n',
  );
});

afterAll(() => fx?.cleanup());

describe('custos ceremony', () => {
  it('sets up the workstation: a record, six people enrolled with their cards, the policy approved, a bundle', async () => {
    const before = await cli(['people']);
    expect(before.stdout).toMatch(/no record yet/);
    let v = await ok(['ceremony', 'plan', 'custos/workstation-setup', '--params', join(fx.dir, 'setup.yaml')]);
    const run = v.run;
    // The set-up waits in the data folder between commands until its record exists.
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
    expect(v.steps.find((s) => s.kind === 'create-record')!.status).toBe('done');
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    for (const n of everyone) v = await ok(['ceremony', 'enrol', '--run', run, '--person', n, ...card(n)]);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    // The fingerprint words must be the ones read aloud.
    const wrong = await refused(['ceremony', 'confirm-fingerprint', '--run', run, '--words', 'academic acid acne acquire acrobat activity actress adapt', '--as', 'Ada Admin']);
    expect(wrong.error.code).toBe('INVALID_INPUT');
    v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    for (const n of ['Ann Archer', 'Ben Baker']) v = await ok(['ceremony', 'approve', '--run', run, '--person', n, ...card(n)]);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
    expect(v.status).toBe('completed');
    const people = await cli(['people', '--json']);
    expect((JSON.parse(people.stdout) as { people: unknown[] }).people).toHaveLength(6);
    const b = JSON.parse((await cli(['--json', 'ceremony', 'bundle', '--run', run])).stdout) as { path: string };
    const verdict = await cli(['--json', 'ceremony', 'verify-bundle', b.path]);
    expect(verdict.code).toBe(0);
    expect(JSON.parse(verdict.stdout).pinned).toBe(true);
  }, 300_000);

  it('refuses a malformed definition file before touching the HSM, with every problem named', async () => {
    const file = join(fx.dir, 'bad.yaml');
    writeFileSync(file, 'format: custos.ceremony-definition\nformatVersion: 1\nid: acme/bad\nrevision: 1\ntype: backup\ntitle: No verification\nroles: {custodian: {min: 2}}\nsteps:\n  - {id: split, kind: split}\n');
    const r = await cli(['--json', 'ceremony', 'lint', file]);
    expect(r.code).not.toBe(0);
    const e = (JSON.parse(r.stdout) as { error: AppError }).error;
    expect(e.code).toBe('CEREMONY_DEFINITION_INVALID');
    expect(e.message).toMatch(/verification round/);
  });

  it('survives a kill before and after every step of a key generation, and finishes with exactly one key', async () => {
    writeFileSync(join(fx.dir, 'keygen.yaml'), 'keyType: ec-p256\nlabel: Signing key 2026\nusages: [sign]\nextractable: false\npurpose: signature\ntags: [signing]\ncustodians: [Ann Archer]\ncsrSubject: "CN=Signing key 2026,O=Example,C=GB"\n');
    let v = await ok(['ceremony', 'plan', 'custos/key-generation', '--params', join(fx.dir, 'keygen.yaml'), ...castArgs]);
    const run = v.run;
    v = await presentAll(run);
    let kills = 0;
    for (let guard = 0; guard < 40 && v.status !== 'completed'; guard++) {
      const c = v.current!;
      if (c.input.kind === 'tick') {
        v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
      } else if (c.input.kind === 'confirm-fingerprint') {
        v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
      } else if (c.input.kind === 'approve') {
        for (const n of ['Ann Archer', 'Ben Baker']) v = await ok(['ceremony', 'approve', '--run', run, '--person', n, ...card(n)]);
      } else if (c.input.kind === 'sign-off') {
        v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
      } else {
        // Kill this step at each boundary: after its intent is journaled, after its work is done
        // but before its outcome is, and right after its outcome is committed — resuming after the
        // first two; then let it run. (Steps with no HSM work commit in one write: only `done`.)
        for (const points of [['before', 'after', 'done'], ['after', 'done'], ['done']]) {
          const point = points[0]!;
          const r = await cli([...ws(), '--json', 'ceremony', 'step', '--run', run, '--as', c.actors[0]!.name], { env: { CUSTOS_CEREMONY_TEST_HOOKS: '1', CUSTOS_CEREMONY_KILL_AT: points.map((p) => `${c.id}:${p}`).join(',') } });
          const st0 = r.signal === 'SIGKILL' ? (JSON.parse((await cli(['--json', 'ceremony', 'status', '--run', run])).stdout) as RunView) : null;
          if (st0 && st0.status === 'running') {
            kills++;
            // Killed after the commit: nothing is interrupted, the step is done and is not repeated.
            v = st0;
            expect(['done', 'skipped']).toContain(v.steps.find((s) => s.id === c.id)!.status);
          } else if (r.signal === 'SIGKILL') {
            kills++;
            expect(st0!.status, `after a kill ${point} ${c.id}`).toBe('interrupted');
            expect((await refused(['ceremony', 'step', '--run', run, '--as', c.actors[0]!.name])).error.code).toBe('CEREMONY_INTERRUPTED');
            v = await ok(['ceremony', 'resume', '--run', run, '--as', 'Ada Admin']);
            expect(v.status).toBe('running');
          } else {
            expect(r.code, r.stdout + r.stderr).toBe(0);
            v = JSON.parse(r.stdout) as RunView;
          }
          if (v.current?.id !== c.id) break;
        }
        if (v.current?.id === c.id && v.status === 'running') v = await ok(['ceremony', 'step', '--run', run, '--as', c.actors[0]!.name]);
      }
    }
    expect(v.status).toBe('completed');
    expect(kills).toBeGreaterThanOrEqual(8);
    const gen = v.steps.find((s) => s.kind === 'generate')!;
    expect(gen.status).toBe('done');
    expect(typeof v.steps.find((s) => s.kind === 'csr')!.outcome!.csrPem).toBe('string');
    // Exactly one key pair with the label: the generation killed after its work was adopted, not repeated.
    const keys = await cli([...ws(), '--json', '--operator', 'Otto Operator', 'key', 'list']);
    const found = (JSON.parse(keys.stdout) as Array<{ label: string }>).filter((k) => k.label === 'Signing key 2026');
    expect(found).toHaveLength(1);
    const b = JSON.parse((await cli(['--json', 'ceremony', 'bundle', '--run', run])).stdout) as { path: string };
    expect((await cli(['ceremony', 'verify-bundle', b.path])).code).toBe(0);
    expect(readFileSync(join(b.path, 'csr.pem'), 'utf8')).toMatch(/BEGIN CERTIFICATE REQUEST/);
  }, 600_000);

  it('backs up the archive keys in one sitting; a kill half-way through the hand-over voids the share set and a new one is made', async () => {
    writeFileSync(join(fx.dir, 'backup.yaml'), 'targets: [archive-kek, archive-mac]\nscheme: slip39\nthreshold: 2\nholders: [Ann Archer, Ben Baker, Cat Cole]\n');
    let v = await ok(['ceremony', 'plan', 'custos/backup', '--params', join(fx.dir, 'backup.yaml'), ...castArgs]);
    const run = v.run;
    v = await presentAll(run);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']); // login
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']); // check
    v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    // The shares are not made before the commit's approvals are in.
    expect((await refused(['ceremony', 'shares', '--run', run, '--so-pin-file', pinFiles.so!])).error.code).toBe('INVALID_INPUT');
    for (const n of ['Ben Baker', 'Cat Cole']) v = await ok(['ceremony', 'approve', '--run', run, '--step', 'commit-backup', '--person', n, ...card(n)]);

    // First sitting: killed after the second holder took their share.
    const first = await cli([...ws(), '--json', 'ceremony', 'shares', '--run', run, '--so-pin-file', pinFiles.so!], { input: '\n\n\n\n\n\n', env: { CUSTOS_CEREMONY_TEST_HOOKS: '1', CUSTOS_CEREMONY_KILL_AT: 'hand-over:2' } });
    expect(first.signal).toBe('SIGKILL');
    const lost = first.stdout.split('\n').filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l) as { event: string; share: string });
    expect(lost.filter((e) => e.event === 'share')).toHaveLength(2);
    let st = JSON.parse((await cli(['--json', 'ceremony', 'status', '--run', run])).stdout) as RunView;
    expect(st.status).toBe('interrupted');
    v = await ok(['ceremony', 'resume', '--run', run, '--as', 'Ada Admin']);
    expect(v.current!.kind).toBe('make-backup-key');

    // Second sitting: each holder alone, a wrong share refused and named, then all verified, commit under the SO.
    const shares: string[] = [];
    let wrote = false;
    const second = await cli([...ws(), '--json', 'ceremony', 'shares', '--run', run, '--so-pin-file', pinFiles.so!], {
      input: '\n\n\n\n\n\n',
      onStdout: (line, write) => {
        if (!line.startsWith('{"event"')) return;
        const e = JSON.parse(line) as { event: string; share?: string };
        if (e.event === 'share') shares.push(e.share!);
        if (shares.length === 3 && !wrote) {
          wrote = true;
          // Ann first types Ben's share (refused, named), then her own; then Ben, then Cat.
          write(`${shares[1]}\n${shares[0]}\n${shares[1]}\n${shares[2]}\n`);
        }
      },
    });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const events = second.stdout.split('\n').filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l) as { event: string; code?: string });
    expect(events.filter((e) => e.event === 'refused').map((e) => e.code)).toEqual(['SHARE_WRONG_HOLDER']);
    expect(events.filter((e) => e.event === 'verified')).toHaveLength(3);
    expect(second.stderr).toMatch(/share 2 \(Ben Baker’s\)/);
    // The lost sitting's shares are not this set's.
    expect(shares).not.toContain(lost[0]!.share);
    backupRun = run;
    backupShares = shares;
    lostShare = lost[0]!.share;

    v = JSON.parse((await cli(['--json', 'ceremony', 'status', '--run', run])).stdout) as RunView;
    expect(v.current!.input.kind).toBe('tick');
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
    expect(v.status).toBe('completed');
    const b = JSON.parse((await cli(['--json', 'ceremony', 'bundle', '--run', run])).stdout) as { path: string };
    expect((await cli(['ceremony', 'verify-bundle', b.path])).code).toBe(0);
    // Shares 1 and 3 rebuild the Backup Key, which opens the KEK blob in the bundle (RFC 5649).
    const blobs = JSON.parse(readFileSync(join(b.path, 'backup-blobs.json'), 'utf8')) as { blobs: Array<{ target: string; wrapped: string }> };
    const bk = await combineMnemonics([shares[0]!, shares[2]!], new Uint8Array(0), webCryptoSlip39(globalThis.crypto));
    const d = createDecipheriv('id-aes256-wrap-pad', bk, Buffer.from('A65959A6', 'hex'));
    const kek = Buffer.concat([d.update(Buffer.from(blobs.blobs.find((x) => x.target === 'archive-kek')!.wrapped, 'hex')), d.final()]);
    const info = JSON.parse((await cli(['--json', 'archive', 'info', '--archive', join(dataDir, 'archive.sqlite')])).stdout) as { keys: { kek: { check: string } } };
    expect(keyCheckValues('AES', kek).cmac).toBe(info.keys.kek.check);
    // No share word in the record or its WAL.
    const record = readFileSync(join(dataDir, 'archive.sqlite')).toString('latin1') + (() => { try { return readFileSync(join(dataDir, 'archive.sqlite-wal')).toString('latin1'); } catch { return ''; } })();
    for (const sh of [...shares, lost[0]!.share]) expect(record).not.toContain(sh.split(' ').slice(4, 9).join(' '));
    st = v;
  }, 600_000);

  it('drills the backup from the command line: a share from the voided set refused, two shares accepted, the keys matched in a session', async () => {
    writeFileSync(join(fx.dir, 'drill.yaml'), `backup: ${backupRun}\nholders: [Ann Archer, Cat Cole]\n`);
    let v = await ok(['ceremony', 'plan', 'custos/restore-drill', '--params', join(fx.dir, 'drill.yaml'), ...castArgs]);
    const run = v.run;
    v = await presentAll(run);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    // Ann first types the share she was shown in the sitting that was voided, then her own; then Cat.
    const r = await cli([...ws(), '--json', 'ceremony', 'restore-shares', '--run', run], { input: `${lostShare}\n${backupShares[0]}\n${backupShares[2]}\n` });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const events = r.stdout.split('\n').filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l) as { event: string; code?: string; results?: Array<{ matches: boolean }> });
    expect(events.filter((e) => e.event === 'refused').map((e) => e.code)).toEqual(['SHARE_SET_MISMATCH']);
    expect(events.filter((e) => e.event === 'accepted')).toHaveLength(2);
    expect(events.find((e) => e.event === 'unwrapped')!.results!.every((x) => x.matches)).toBe(true);
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
    expect(v.status).toBe('completed');
  }, 300_000);
  it('re-shares the backup in one sitting after a kill in the hand-over voided the first: old shares rebuild the key, new holders verify theirs, old holders attest with their cards', async () => {
    writeFileSync(join(fx.dir, 'reshare.yaml'), `backup: ${backupRun}\nfrom: [Ann Archer, Cat Cole]\nscheme: slip39\nthreshold: 2\nholders: [Cat Cole, Ben Baker, Ann Archer]\n`);
    let v = await ok(['ceremony', 'plan', 'custos/reshare', '--params', join(fx.dir, 'reshare.yaml'), ...castArgs]);
    const run = v.run;
    v = await presentAll(run);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    // No old share is typed before the quorum approved the new set.
    expect((await refused(['ceremony', 'reshare-shares', '--run', run])).error.code).toBe('INVALID_INPUT');
    for (const n of ['Ben Baker', 'Cat Cole']) v = await ok(['ceremony', 'approve', '--run', run, '--step', 'commit-reshare', '--person', n, ...card(n)]);
    const old = `${backupShares[0]}\n${backupShares[2]}\n`;
    // First sitting: killed after the second new holder took their share.
    const first = await cli([...ws(), '--json', 'ceremony', 'reshare-shares', '--run', run], { input: `${old}\n\n\n\n\n\n`, env: { CUSTOS_CEREMONY_TEST_HOOKS: '1', CUSTOS_CEREMONY_KILL_AT: 'hand-over:2' } });
    expect(first.signal).toBe('SIGKILL');
    const lost = first.stdout.split('\n').filter((l) => l.startsWith('{"event":"share"')).map((l) => (JSON.parse(l) as { share: string }).share);
    expect(lost).toHaveLength(2);
    expect((JSON.parse((await cli(['--json', 'ceremony', 'status', '--run', run])).stdout) as RunView).status).toBe('interrupted');
    v = await ok(['ceremony', 'resume', '--run', run, '--as', 'Ada Admin']);
    // The secrets went with the process: the old holders enter their shares again.
    expect(v.current!.kind).toBe('enter-shares');
    const fresh: string[] = [];
    let wrote = false;
    const second = await cli([...ws(), '--json', 'ceremony', 'reshare-shares', '--run', run], {
      input: `${old}\n\n\n\n\n\n`,
      onStdout: (line, write) => {
        if (!line.startsWith('{"event"')) return;
        const e = JSON.parse(line) as { event: string; share?: string };
        if (e.event === 'share') fresh.push(e.share!);
        if (fresh.length === 3 && !wrote) {
          wrote = true;
          // Cat first types a share of the voided sitting (refused), then her own; then Ben, then Ann.
          write(`${lost[0]}\n${fresh[0]}\n${fresh[1]}\n${fresh[2]}\n`);
        }
      },
    });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const events = second.stdout.split('\n').filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l) as { event: string; code?: string });
    expect(events.filter((e) => e.event === 'accepted')).toHaveLength(2);
    expect(events.filter((e) => e.event === 'refused')).toHaveLength(1);
    expect(events.filter((e) => e.event === 'verified')).toHaveLength(3);
    expect(second.stderr).toMatch(/old shares stay valid/i);
    expect(fresh.some((x) => lost.includes(x) || backupShares.includes(x))).toBe(false);
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    expect(v.current!.input.kind).toBe('attest');
    // Ann's old share destroyed and attested with her card; Ben held one too but does not attest here.
    v = await ok(['ceremony', 'attest', '--run', run, '--person', 'Ann Archer', ...card('Ann Archer')]);
    expect((await refused(['ceremony', 'attest', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')])).error.code).toBe('PERSON_NOT_FOUND');
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    expect((v.steps.find((x) => x.kind === 'attest-destroyed')!.outcome!.notAttested as Array<{ name: string }>).map((x) => x.name).sort()).toEqual(['Ben Baker', 'Cat Cole']);
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
    expect(v.status).toBe('completed');
    const b = JSON.parse((await cli(['--json', 'ceremony', 'bundle', '--run', run])).stdout) as { path: string };
    expect((await cli(['ceremony', 'verify-bundle', b.path])).code).toBe(0);
    // The new shares rebuild the same Backup Key, which opens the same KEK blob.
    const blobs = JSON.parse(readFileSync(join(b.path, 'backup-blobs.json'), 'utf8')) as { blobs: Array<{ target: string; wrapped: string }> };
    const bk = await combineMnemonics([fresh[1]!, fresh[2]!], new Uint8Array(0), webCryptoSlip39(globalThis.crypto));
    const d = createDecipheriv('id-aes256-wrap-pad', bk, Buffer.from('A65959A6', 'hex'));
    const kek = Buffer.concat([d.update(Buffer.from(blobs.blobs.find((x) => x.target === 'archive-kek')!.wrapped, 'hex')), d.final()]);
    const info = JSON.parse((await cli(['--json', 'archive', 'info', '--archive', join(dataDir, 'archive.sqlite')])).stdout) as { keys: { kek: { check: string } } };
    expect(keyCheckValues('AES', kek).cmac).toBe(info.keys.kek.check);
  }, 400_000);
  it('audits two holders’ shares in one sitting: one good, one that does not pass three times and becomes an exception', async () => {
    writeFileSync(join(fx.dir, 'audit.yaml'), `backup: ${backupRun}\nholders: [Ann Archer, Ben Baker]\n`);
    let v = await ok(['ceremony', 'plan', 'custos/share-audit', '--params', join(fx.dir, 'audit.yaml'), ...castArgs]);
    const run = v.run;
    v = await presentAll(run);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    // Ann's share is good; Ben types the voided sitting's share three times.
    const r = await cli([...ws(), '--json', 'ceremony', 'audit-shares', '--run', run], { input: `${backupShares[0]}\n${lostShare}\n${lostShare}\n${lostShare}\n` });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const events = r.stdout.split('\n').filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l) as { event: string; holder: string; code?: string });
    expect(events.filter((e) => e.event === 'checked').map((e) => e.holder)).toEqual(['Ann Archer']);
    expect(events.filter((e) => e.event === 'failed').map((e) => e.code)).toEqual(['SHARE_SET_MISMATCH', 'SHARE_SET_MISMATCH', 'SHARE_SET_MISMATCH']);
    v = JSON.parse((await cli(['--json', 'ceremony', 'status', '--run', run])).stdout) as RunView;
    expect(v.exceptions).toHaveLength(1);
    expect(v.steps.find((x) => x.kind === 'audit-shares')!.outcome!.checked).toEqual(['Ann Archer']);
  }, 300_000);
  it('forms a key from two XOR components in one sitting: a component typed by the wrong holder refused and named, the key formed in the HSM with the expected check value', async () => {
    const { randomBytes } = await import('node:crypto');
    const { splitKey } = await import('../../shared/components/xor');
    const key = randomBytes(16);
    const parts = splitKey(key, 2, 'AES', (n) => randomBytes(n)).map((c) => Buffer.from(c));
    const kcv = (b: Uint8Array) => keyCheckValues('AES', b).cmac.toUpperCase();
    writeFileSync(join(fx.dir, 'components.yaml'), `label: Partner ZMK CLI\nalgorithm: AES\nusages: [wrap]\nholders: [Ann Archer, Cat Cole]\ncomponentCheckValues: [${kcv(parts[0]!)}, ${kcv(parts[1]!)}]\nkeyCheckValue: ${kcv(key)}\n`);
    let v = await ok(['ceremony', 'plan', 'custos/component-form', '--params', join(fx.dir, 'components.yaml'), ...castArgs]);
    const run = v.run;
    v = await presentAll(run);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    expect((await refused(['ceremony', 'enter-components', '--run', run])).error.code).toBe('INVALID_INPUT');
    for (const n of ['Ben Baker', 'Cat Cole']) v = await ok(['ceremony', 'approve', '--run', run, '--step', 'form-key', '--person', n, ...card(n)]);
    const hex = parts.map((p) => p.toString('hex'));
    const r = await cli([...ws(), '--json', 'ceremony', 'enter-components', '--run', run], { input: `${hex[1]}\n${hex[0]}\n${hex[1]}\n` });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const events = r.stdout.split('\n').filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l) as { event: string; code?: string; checkValue?: string });
    expect(events.filter((e) => e.event === 'refused').map((e) => e.code)).toEqual(['SHARE_WRONG_HOLDER']);
    expect(events.find((e) => e.event === 'formed')!.checkValue!.toLowerCase()).toBe(kcv(key).toLowerCase());
    expect(r.stdout + r.stderr).not.toContain(hex[0]!.slice(0, 12));
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
    expect(v.status).toBe('completed');
  }, 300_000);
  it('creates a key as three XOR components in one sitting, surviving a kill at each boundary: each kill voids the components and the key they formed, the sheets written at the end form the recorded check value', async () => {
    writeFileSync(join(fx.dir, 'create.yaml'), 'label: Terminal ZMK CLI\nalgorithm: aes-128\nusages: [wrap]\nholders: [Ann Archer, Ben Baker, Cat Cole]\npurpose: key-wrapping\n');
    let v = await ok(['ceremony', 'plan', 'custos/component-creation', '--params', join(fx.dir, 'create.yaml'), ...castArgs]);
    const run = v.run;
    v = await presentAll(run);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    expect((await refused(['ceremony', 'component-sheets', '--run', run])).error.code).toBe('INVALID_INPUT');
    for (const n of ['Ann Archer', 'Ben Baker']) v = await ok(['ceremony', 'approve', '--run', run, '--step', 'make-components', '--person', n, ...card(n)]);
    const holders = ['Ann Archer', 'Ben Baker', 'Cat Cole'];
    /** One sitting: sheets to attempt-numbered files; each holder answers from the `made` line (its check values). */
    const sitting = (attempt: number, killAt: string | null) => {
      const files = holders.map((h, i) => join(fx.dir, `zmk-${attempt}-${i + 1}.pdf`));
      return {
        files,
        r: cli([...ws(), '--json', 'ceremony', 'component-sheets', '--run', run, ...holders.flatMap((h, i) => ['--sheet', `${h}=${files[i]}`])], {
          ...(killAt ? { env: { CUSTOS_CEREMONY_TEST_HOOKS: '1', CUSTOS_CEREMONY_KILL_AT: killAt } } : {}),
          onStdout: (line, write) => {
            if (!line.startsWith('{"event":"made"')) return;
            const made = JSON.parse(line) as { components: Array<{ checkValue: string }> };
            // The witness's tick, each holder's Enter at the printer, then each check value and envelope serial.
            write('\n\n\n\n' + made.components.map((c, i) => `${c.checkValue}\nZMK-${attempt}-${i + 1}\n`).join(''));
          },
        }),
      };
    };
    const killAts = ['make-components:before', 'make-components:after', 'make-components:done', 'component-sheet:1', 'seal:2'];
    for (const [i, killAt] of killAts.entries()) {
      const { r } = sitting(i, killAt);
      const done = await r;
      expect(done.signal, `${killAt}: ${done.stdout}${done.stderr}`).toBe('SIGKILL');
      const st = JSON.parse((await cli(['--json', 'ceremony', 'status', '--run', run])).stdout) as RunView;
      expect(st.status, killAt).toBe('interrupted');
      expect((await refused(['ceremony', 'component-sheets', '--run', run])).error.code).toBe(killAt === 'make-components:before' || killAt === 'make-components:after' ? 'CEREMONY_INTERRUPTED' : 'INVALID_INPUT');
      v = await ok(['ceremony', 'resume', '--run', run, '--as', 'Ada Admin']);
      expect(v.current!.kind, killAt).toBe('make-components');
      // Nothing of a component on the terminal or in the JSON lines.
      expect(done.stdout + done.stderr).not.toMatch(/[0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4}/i);
    }
    const last = sitting(9, null);
    const r = await last.r;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    v = JSON.parse((await cli(['--json', 'ceremony', 'status', '--run', run])).stdout) as RunView;
    expect(v.current!.kind).toBe('archive');
    const made = v.steps.find((s) => s.kind === 'make-components')!.outcome! as { checkValue: string };
    // The sheets of the last sitting form the key the HSM holds: one key only, with the recorded check value.
    const parts = last.files.map((file) => {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
      const hex = text.split('\n').filter((l) => /^\s*\d\s+([0-9A-F]{4}\s+)+[0-9A-F]{4}\s*$/.test(l)).map((l) => l.trim().replace(/^\d\s+/, '').replace(/\s+/g, '')).join('');
      return Buffer.from(hex, 'hex');
    });
    const key = Buffer.alloc(16);
    for (const p of parts) for (let i = 0; i < 16; i++) key[i]! ^= p[i]!;
    expect(keyCheckValues('AES', key).cmac.toUpperCase()).toBe(made.checkValue);
    const listed = await cli([...ws(), '--json', '--operator', 'Otto Operator', 'key', 'list']);
    expect(listed.code, listed.stdout + listed.stderr).toBe(0);
    const keys = JSON.parse(listed.stdout) as Array<{ label: string }>;
    expect(keys.filter((k) => k.label === 'Terminal ZMK CLI')).toHaveLength(1);
    const sealed = (JSON.parse((await cli(['--json', 'ceremony', 'status', '--run', run])).stdout) as RunView).steps.find((s) => s.kind === 'seal-components')!.outcome! as { envelopes: Array<{ envelope: string }> };
    expect(sealed.envelopes.map((e) => e.envelope)).toEqual(['ZMK-9-1', 'ZMK-9-2', 'ZMK-9-3']);
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']); // archive: skipped
    v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
    expect(v.status).toBe('completed');
  }, 400_000);
  it('rotates the Archive KEK from the command line: the numbers from `archive info` (the record is the archive) confirmed, the quorum, a progress line per batch, every version under the new KEK', async () => {
    // Two archived AES keys for the rotation to move (the key generation above made a non-extractable EC key).
    const archiveFile = join(dataDir, 'archive.sqlite');
    for (const label of ['Old DEK 1', 'Old DEK 2']) {
      const g = await cli([...ws(), '--json', '--operator', 'Otto Operator', 'key', 'generate', '--type', 'aes-256', '--label', label, '--usage', 'encrypt', '--extractable']);
      expect(g.code, g.stdout + g.stderr).toBe(0);
      const r = await cli([...ws(), '--json', '--operator', 'Otto Operator', 'archive', 'add', '--archive', archiveFile, '--key', label, '--purpose', 'data-encryption']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const info = JSON.parse((await cli([...ws(), '--json', 'archive', 'info', '--archive', archiveFile])).stdout) as { keys: { kek: { check: string; incoming: string | null } }; counts: { withMaterial: number } };
    expect(info.keys.kek.incoming).toBeNull();
    expect(info.counts.withMaterial).toBe(2);
    // Numbers that are not the archive's are refused at planning (exit code, typed error, words).
    writeFileSync(join(fx.dir, 'kek-wrong.yaml'), `kekCheck: "${info.keys.kek.check}"\nversions: ${info.counts.withMaterial + 5}\n`);
    const wrong = await refused(['ceremony', 'plan', 'custos/kek-rotation', '--params', join(fx.dir, 'kek-wrong.yaml'), ...castArgs]);
    expect(wrong.error).toMatchObject({ code: 'INVALID_INPUT' });
    expect(wrong.error.message).toContain(`holds ${info.counts.withMaterial} version`);
    writeFileSync(join(fx.dir, 'kek.yaml'), `kekCheck: "${info.keys.kek.check}"\nversions: ${info.counts.withMaterial}\n`);
    let v = await ok(['ceremony', 'plan', 'custos/kek-rotation', '--params', join(fx.dir, 'kek.yaml'), ...castArgs]);
    const run = v.run;
    v = await presentAll(run);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    expect((await refused(['ceremony', 'step', '--run', run, '--as', 'Otto Operator'])).error.code).toBe('QUORUM_NOT_MET');
    for (const n of ['Ann Archer', 'Ben Baker']) v = await ok(['ceremony', 'approve', '--run', run, '--person', n, ...card(n)]);
    const r = await cli([...ws(), '--json', 'ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain(`rotate-kek: ${info.counts.withMaterial.toLocaleString('en')} of ${info.counts.withMaterial.toLocaleString('en')} versions re-wrapped and verified`);
    v = JSON.parse(r.stdout) as RunView;
    const out = v.steps.find((s) => s.kind === 'rotate-kek')!.outcome!;
    expect(out).toMatchObject({ from: info.keys.kek.check, rewrapped: info.counts.withMaterial });
    const after = JSON.parse((await cli([...ws(), '--json', 'archive', 'info', '--archive', archiveFile])).stdout) as typeof info;
    expect(after.keys.kek).toMatchObject({ check: out.to, incoming: null });
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
    expect(v.status).toBe('completed');
  }, 300_000);
  it('plans a retrieval with `custos archive retrieve`: the purpose bound into the fingerprint, the quorum still to come', async () => {
    const purpose = 'Decrypt the 2025 settlement files for the auditors (ticket 5150).';
    const v = await ok(['archive', 'retrieve', 'Old DEK 1@1', '--purpose', purpose, '--usages', 'encrypt', '--into', 'session', ...castArgs]);
    expect(v).toMatchObject({ type: 'retrieval', status: 'running' });
    expect(v.params).toMatchObject({ purpose, into: 'session', usages: ['encrypt'] });
    expect((v.params.version as { label: string; version: number })).toMatchObject({ label: 'Old DEK 1', version: 1 });
    expect(v.steps.find((x) => x.kind === 'retrieve')!.quorum).toMatchObject({ threshold: 2 });
    // A purpose too short to say anything is refused before the HSM is touched.
    expect((await refused(['archive', 'retrieve', 'Old DEK 1@1', '--purpose', 'audit', '--usages', 'encrypt', ...castArgs])).error.code).toBe('INVALID_INPUT');
    await ok(['ceremony', 'abort', '--run', v.run, '--reason', 'planned for the test only', '--as', 'Ada Admin']);
  }, 120_000);

  it('exports a version wrapped to a receiver’s RSA key with `custos archive retrieve --export-public-key`, saved by `custos ceremony export --out`', async () => {
    const receiver = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const pem = join(fx.dir, 'receiver.pub.pem');
    writeFileSync(pem, receiver.publicKey.export({ type: 'spki', format: 'pem' }));
    const small = join(fx.dir, 'small.pub.pem');
    writeFileSync(small, generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }));
    const purpose = 'Hand the 2025 settlement DEK to the partner’s KMS (change 7311).';
    const base = ['archive', 'retrieve', 'Old DEK 2@1', '--purpose', purpose, ...castArgs];
    // Bad input: each refused with a typed error before anything is planned.
    expect((await refused([...base, '--export-public-key', small])).error.code).toBe('WRAPPING_KEY_TOO_WEAK');
    expect((await refused([...base, '--export-public-key', pem])).error.code).toBe('WRAPPING_KEY_TOO_WEAK'); // RSA-3072 (128 bits) < AES-256
    expect((await refused([...base, '--export-public-key', pem, '--profile', 'AWS KMS RSA_AES_KEY_WRAP_SHA_1', '--usages', 'encrypt', '--allow-weaker-wrapping-key'])).error.code).toBe('INVALID_INPUT');
    expect((await refused([...base, '--export-kek', 'No such KEK'])).error.code).toBe('OBJECT_NOT_FOUND');
    expect((await refused([...base, '--profile', 'AWS KMS RSA_AES_KEY_WRAP_SHA_1', '--usages', 'encrypt'])).code).toBe(2);
    let v = await ok([...base, '--export-public-key', pem, '--profile', 'AWS KMS RSA_AES_KEY_WRAP_SHA_1', '--allow-weaker-wrapping-key']);
    const run = v.run;
    expect(v.params).toMatchObject({ into: 'export', export: { mechanism: 'rsa-aes-kwp-sha1', publicKey: { bits: 3072, profile: 'AWS KMS RSA_AES_KEY_WRAP_SHA_1' }, strength: { wrappingKey: 128, target: 256, weaker: true } } });
    const out = join(fx.dir, 'dek2.rsa-aes-kwp.bin');
    // Nothing to save before the step has run.
    expect((await refused(['ceremony', 'export', '--run', run, '--out', out])).error.code).toBe('CEREMONY_STEP_BLOCKED');
    v = await presentAll(run);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    for (const n of ['Ann Archer', 'Cat Cole']) v = await ok(['ceremony', 'approve', '--run', run, '--person', n, ...card(n)]);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
    expect(v.steps.find((x) => x.kind === 'retrieve')!.outcome).toMatchObject({ into: 'export', mechanism: 'rsa-aes-kwp-sha1', checked: true });
    const saved = await cli([...ws(), '--json', 'ceremony', 'export', '--run', run, '--out', out]);
    expect(saved.code, saved.stdout + saved.stderr).toBe(0);
    // --force semantics: an existing file is never replaced without it.
    const again = (await refused(['ceremony', 'export', '--run', run, '--out', out])).error;
    expect(again).toMatchObject({ code: 'FILE_EXISTS', message: expect.stringContaining('already exists') });
    expect((await cli([...ws(), '--json', '--force', 'ceremony', 'export', '--run', run, '--out', out])).code).toBe(0);
    const key = rsaAesKeyUnwrap(receiver.privateKey, readFileSync(out), 'sha1');
    const archived = JSON.parse((await cli([...ws(), '--json', 'archive', 'show', 'Old DEK 2@1', '--archive', join(dataDir, 'archive.sqlite')])).stdout) as { summary: { checkValue: string } };
    expect(keyCheckValues('AES', key).cmac.toLowerCase()).toBe(archived.summary.checkValue.toLowerCase());
    key.fill(0);
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
    expect(v.status).toBe('completed');
  }, 300_000);

  it('rotates the Backup Key in a re-share, surviving kills after the rebuild and before and after the re-wrap (nothing recorded or shredded, the old backup still usable) and after the commit (the old blobs gone from the archive file)', async () => {
    writeFileSync(join(fx.dir, 'rotate.yaml'), `backup: ${backupRun}\nfrom: [Ann Archer, Cat Cole]\nscheme: slip39\nthreshold: 2\nholders: [Ben Baker, Cat Cole, Ann Archer]\nrotateBackupKey: true\n`);
    writeFileSync(join(fx.dir, 'drill-old.yaml'), `backup: ${backupRun}\nholders: [Ann Archer, Cat Cole]\n`);
    let v = await ok(['ceremony', 'plan', 'custos/reshare', '--params', join(fx.dir, 'rotate.yaml'), ...castArgs]);
    const run = v.run;
    v = await presentAll(run);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    expect(String(v.steps.find((x) => x.kind === 'check')!.outcome!.note)).toMatch(/old wrapped blobs are shredded/);
    v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    for (const n of ['Ben Baker', 'Cat Cole']) v = await ok(['ceremony', 'approve', '--run', run, '--step', 'commit-reshare', '--person', n, ...card(n)]);
    const old = `${backupShares[0]}\n${backupShares[2]}\n`;
    /** One sitting: old shares, the hand-over, the verification round (each new share typed back), the commit. */
    const sitting = (killAt: string | null) => {
      const fresh: string[] = [];
      let wrote = false;
      const r = cli([...ws(), '--json', 'ceremony', 'reshare-shares', '--run', run], {
        input: `${old}\n\n\n\n\n\n`,
        ...(killAt ? { env: { CUSTOS_CEREMONY_TEST_HOOKS: '1', CUSTOS_CEREMONY_KILL_AT: killAt } } : {}),
        onStdout: (line, write) => {
          if (!line.startsWith('{"event"')) return;
          const e = JSON.parse(line) as { event: string; share?: string };
          if (e.event === 'share') fresh.push(e.share!);
          if (fresh.length === 3 && !wrote) {
            wrote = true;
            write(`${fresh[0]}\n${fresh[1]}\n${fresh[2]}\n`);
          }
        },
      });
      return { r, fresh };
    };
    const oldBlobs = ((JSON.parse((await cli(['--json', 'ceremony', 'status', '--run', backupRun])).stdout) as RunView).steps.find((x) => x.kind === 'commit-backup')!.outcome!.blobs as Array<{ wrapped: string }>).map((b) => b.wrapped);
    const archiveHolds = (hex: string) => {
      const file = join(dataDir, 'archive.sqlite');
      return [file, `${file}-wal`].some((x) => existsSync(x) && readFileSync(x).includes(Buffer.from(hex, 'ascii')));
    };
    expect(oldBlobs.every(archiveHolds)).toBe(true);
    // Killed after the old Backup Key was rebuilt, after the intent of the commit was journaled (before
    // the HSM), then after the re-wrap (before its outcome is recorded): nothing recorded, nothing shredded.
    for (const killAt of ['rebuild-backup-key:done', 'commit-reshare:before', 'commit-reshare:after']) {
      const { r, fresh } = sitting(killAt);
      const done = await r;
      expect(done.signal, `${killAt}: ${done.stdout}${done.stderr}`).toBe('SIGKILL');
      expect(fresh).toHaveLength(killAt.startsWith('commit') ? 3 : 0);
      expect(oldBlobs.every(archiveHolds), killAt).toBe(true);
      expect((JSON.parse((await cli(['--json', 'ceremony', 'status', '--run', run])).stdout) as RunView).status, killAt).toBe('interrupted');
      // Nothing was recorded: the old backup is still the one to restore from.
      const drill = await ok(['ceremony', 'plan', 'custos/restore-drill', '--params', join(fx.dir, 'drill-old.yaml'), ...castArgs]);
      await ok(['ceremony', 'abort', '--run', drill.run, '--reason', 'only checking the old backup is still usable', '--as', 'Ada Admin']);
      v = await ok(['ceremony', 'resume', '--run', run, '--as', 'Ada Admin']);
      // The new set of the killed sitting is void; the old holders enter their shares again.
      expect(v.current!.kind, killAt).toBe('enter-shares');
      expect(v.steps.find((x) => x.kind === 'commit-reshare')!.outcome ?? null).toBeNull();
    }
    // Killed right after the commit was recorded: the rotation stands, the old blobs are gone from the archive file.
    const { r, fresh } = sitting('commit-reshare:done');
    const done = await r;
    expect(done.signal, done.stdout + done.stderr).toBe('SIGKILL');
    expect(oldBlobs.some(archiveHolds)).toBe(false);
    v = JSON.parse((await cli(['--json', 'ceremony', 'status', '--run', run])).stdout) as RunView;
    const commit = v.steps.find((x) => x.kind === 'commit-reshare')!.outcome!;
    expect(commit).toMatchObject({ rotatedFrom: { run: backupRun }, oldSharesValid: false, oldBlobsShredded: true, notShredded: [] });
    // The old backup is refused now, naming the rotation.
    const refusedDrill = await refused(['ceremony', 'plan', 'custos/restore-drill', '--params', join(fx.dir, 'drill-old.yaml'), ...castArgs]);
    expect(refusedDrill.error.code).toBe('BACKUP_ROTATED');
    expect(refusedDrill.error.message).toContain(run);
    // The new shares rebuild the new Backup Key, which opens the new KEK blob to the KEK the backup recorded.
    const blobs = commit.blobs as Array<{ target: string; wrapped: string; checkValue: string }>;
    const bk = await combineMnemonics([fresh[0]!, fresh[2]!], new Uint8Array(0), webCryptoSlip39(globalThis.crypto));
    const d = createDecipheriv('id-aes256-wrap-pad', bk, Buffer.from('A65959A6', 'hex'));
    const kekBlob = blobs.find((x) => x.target === 'archive-kek')!;
    const kek = Buffer.concat([d.update(Buffer.from(kekBlob.wrapped, 'hex')), d.final()]);
    expect(keyCheckValues('AES', kek).cmac.toLowerCase()).toBe(kekBlob.checkValue.toLowerCase());
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
    v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
    expect(v.status).toBe('completed');
  }, 400_000);
});
