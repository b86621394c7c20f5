// `custos ceremony …` for a destruction (issue #10 part 5), as an administrator scripts it
// (dist/cli.cjs), with SoftHSM2 tokens as the workstation HSM and as each person's card: the
// protected-key refusal of `custos key destroy` names the ceremony; then a destruction of a token
// key, a key pair and an archived version is killed (SIGKILL, through the test hooks) at every
// boundary of every step — including between two items of the destroy step — and resumed. It ends
// with every item proved gone exactly once, nothing reported that did not happen, and a bundle whose
// certificate verifies.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../shared/ceremony/view';
import type { AppError } from '../../shared/result';
import type { DestructionCertificate } from '../../shared/ceremony/destruction-certificate';
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
const castArgs = ['Ada Admin=administrator', 'Otto Operator=operator', 'Ann Archer=custodian', 'Ben Baker=custodian', 'Cat Cole=custodian', 'Wes Witness=witness'].flatMap((p) => ['--participant', p]);

async function presentAll(run: string): Promise<RunView> {
  for (const n of everyone) await ok(['ceremony', 'present', '--run', run, '--person', n, ...card(n)]);
  return ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
}

beforeAll(() => {
  requireBuild();
  fx = softhsm('custos-destroy-cli-');
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


async function setUp(): Promise<void> {
  let v = await ok(['ceremony', 'plan', 'custos/workstation-setup', '--params', join(fx.dir, 'setup.yaml')]);
  const run = v.run;
  v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
  v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
  v = await ok(['ceremony', 'step', '--run', run, '--as', 'Otto Operator']);
  v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
  for (const n of everyone) v = await ok(['ceremony', 'enrol', '--run', run, '--person', n, ...card(n)]);
  v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
  v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
  v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
  v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
  for (const n of ['Ann Archer', 'Ben Baker']) v = await ok(['ceremony', 'approve', '--run', run, '--person', n, ...card(n)]);
  v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
  v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
  v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
  expect(v.status).toBe('completed');
}

const keyList = async () => JSON.parse((await cli([...ws(), '--json', '--operator', 'Otto Operator', 'key', 'list'])).stdout) as Array<{ label: string; idHex: string }>;

describe('custos ceremony: destruction', () => {
  it('refuses `custos key destroy` on the Archive KEK and names the destruction ceremony', async () => {
    await setUp();
    const kek = (await keyList()).find((k) => k.label.startsWith('custos-archive-kek/'))!;
    const r = await refused(['--operator', 'Otto Operator', 'key', 'destroy', '--key', kek.label, '--confirm', kek.label]);
    expect(r.error.code).toBe('KEY_PROTECTED');
    expect(r.error.action).toContain('custos ceremony plan custos/destruction --params');
    expect((await keyList()).some((k) => k.label === kek.label)).toBe(true);
  }, 300_000);

  it('survives a kill at every step boundary (and between two items), destroys each item once, and ends with a certificate that verifies', async () => {
    for (const [label, type, extra] of [['CLI DEK', 'aes-256', ['--extractable']], ['CLI signer', 'ec-p256', []]] as const) {
      const g = await cli([...ws(), '--json', '--operator', 'Otto Operator', 'key', 'generate', '--type', type, '--label', label, ...extra]);
      expect(g.code, g.stdout + g.stderr).toBe(0);
    }
    const add = await cli([...ws(), '--json', '--operator', 'Otto Operator', 'archive', 'add', '--archive', join(dataDir, 'archive.sqlite'), '--key', 'CLI DEK', '--purpose', 'data-encryption', '--activate']);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    // Shredding it with a plain lifecycle step is refused on a workstation record: the ceremony does it.
    const plain = await refused(['--operator', 'Otto Operator', 'archive', 'state', '--archive', join(dataDir, 'archive.sqlite'), 'CLI DEK@1', '--action', 'destroy']);
    expect(plain.error.code).toBe('KEY_PROTECTED');
    expect(plain.error.action).toMatch(/custos ceremony plan custos\/destruction/);
    const before = await keyList();
    const ids = ['CLI DEK', 'CLI signer'].map((l) => before.find((k) => k.label === l)!.idHex);
    writeFileSync(join(fx.dir, 'destroy.yaml'), 'keys: [CLI signer, CLI DEK]\nversions: ["CLI DEK@1"]\nreason: "Retired with the old payment switch (change 9001); data re-keyed."\ndeactivateActive: true\n');
    let v = await ok(['ceremony', 'plan', 'custos/destruction', '--params', join(fx.dir, 'destroy.yaml'), ...castArgs]);
    const run = v.run;
    v = await presentAll(run);
    const kills: string[] = [];
    for (let guard = 0; guard < 60 && v.status !== 'completed'; guard++) {
      const open = v.exceptions.filter((e) => !e.decision || !e.acknowledged);
      const c = v.current!;
      if (open.length && c.input.kind !== 'tick') {
        for (const e of open) {
          if (!e.decision) v = await ok(['ceremony', 'decide', '--run', run, '--id', e.id, '--decision', 'Accepted: no data remains under this key (change 9001).', '--as', 'Ada Admin']);
          v = await ok(['ceremony', 'acknowledge', '--run', run, '--id', e.id, '--as', 'Wes Witness']);
        }
      } else if (c.input.kind === 'tick') {
        v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
      } else if (c.input.kind === 'confirm-fingerprint') {
        v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
      } else if (c.input.kind === 'approve') {
        for (const n of ['Ann Archer', 'Ben Baker']) v = await ok(['ceremony', 'approve', '--run', run, '--person', n, ...card(n)]);
      } else if (c.input.kind === 'sign-off') {
        v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
      } else {
        // Each boundary in turn: after the intent is journaled, after the first item is gone, after
        // the work (outcome not journaled), after the commit; resumed after each kill.
        for (const points of [['before', 'item', 'after', 'done'], ['item', 'after', 'done'], ['after', 'done'], ['done']]) {
          const r = await cli([...ws(), '--json', 'ceremony', 'step', '--run', run, '--as', c.actors[0]!.name], { env: { CUSTOS_CEREMONY_TEST_HOOKS: '1', CUSTOS_CEREMONY_KILL_AT: points.map((p) => `${c.id}:${p}`).join(',') } });
          if (r.signal === 'SIGKILL') {
            const st = JSON.parse((await cli(['--json', 'ceremony', 'status', '--run', run])).stdout) as RunView;
            kills.push(`${c.id}:${points[0]}:${st.status}`);
            if (st.status === 'interrupted') {
              expect((await refused(['ceremony', 'step', '--run', run, '--as', c.actors[0]!.name])).error.code).toBe('CEREMONY_INTERRUPTED');
              v = await ok(['ceremony', 'resume', '--run', run, '--as', 'Ada Admin']);
            } else v = st;
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
    // Steps that commit in one write are killed after the commit (still running, nothing to resume);
    // the destroy step before its work, between two items, and after its work.
    expect(kills).toEqual(['login:before:running', 'check:before:running', 'read-fingerprint:before:running', 'destroy:before:interrupted', 'destroy:item:interrupted', 'destroy:after:interrupted']);
    const after = await keyList();
    for (const id of ids) expect(after.some((k) => k.idHex === id)).toBe(false);
    const shown = JSON.parse((await cli(['--json', 'archive', 'show', '--archive', join(dataDir, 'archive.sqlite'), 'CLI DEK@1'])).stdout) as { summary: { state: string; hasMaterial: boolean }; history: Array<{ action: string }> };
    expect(shown.summary).toMatchObject({ state: 'destroyed', hasMaterial: false });
    expect(shown.history.filter((h) => h.action === 'version.destroy')).toHaveLength(1);
    const b = JSON.parse((await cli(['--json', 'ceremony', 'bundle', '--run', run])).stdout) as { path: string };
    const verdict = await cli(['--json', 'ceremony', 'verify-bundle', b.path]);
    expect(verdict.code, verdict.stdout).toBe(0);
    const cert = JSON.parse(readFileSync(join(b.path, 'destruction-certificate.json'), 'utf8')) as DestructionCertificate;
    expect(cert.items.map((i) => i.item)).toEqual(['version CLI DEK@1', 'key CLI signer', 'key CLI DEK']);
    // Nothing is reported that did not happen: no item claims to have gone outside the ceremony.
    for (const i of cert.items) expect(i.how).not.toMatch(/outside this ceremony/);
    expect(cert.exceptions.length).toBe(3);
  }, 600_000);
});
