// Rotation of the archive's MAC key under the quorum (issue #10 part 4, custos/workstation-key-rotation
// with key: mac) through the ceremony service and the CLI, with SoftHSM2 tokens as the workstation
// HSM and the people's cards: the check value names the key being replaced; two card-signed
// approvals (a witness's and a missing one do not count); every row re-MACed with progress; the
// handover in the log and the bundle, which verifies; `archive verify` finds nothing. Bad input: a
// check value that is not the archive's; a cancel mid-rotation, then resume; a kill of the CLI
// mid-batch, at a batch boundary and after the step, each resumed: one handover.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveDoor } from '../../electron/services/archive/door';
import type { ArchiveService } from '../../electron/services/archive/service';
import { failure } from '../helpers/hsm-ops';
import { DIST, SOFTHSM_MODULE } from '../helpers/softhsm';
import { cast, ceremonyFixture, PEOPLE, rollCall, runSetup, WS, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
let door: ArchiveDoor;
const everyone = ['Ada Admin', 'Otto Operator', 'Ann Archer', 'Ben Baker', 'Cat Cole', 'Wes Witness'];
const archive = <T>(fn: (a: ArchiveService) => Promise<T> | T) => door.write(door.existing(), f.session, fn);
const macCheck = () => archive((a) => a.workstation.mac_check);
const FILL = 3000;

beforeAll(async () => {
  f = await ceremonyFixture('custos-mackey-');
  door = new ArchiveDoor(f.hsm, f.dataDir);
  await runSetup(f);
  // Enough rows for several batches (a version and a key row each), so that a cancel lands mid-rotation.
  const k = { label: 'fill', idHex: 'f1110001' };
  await f.hsm.call('generate', { path: f.session.module, token: f.session.token, spec: { type: 'aes-256', ...k, usages: ['encrypt'], extractable: true } });
  await archive((a) => a.add(Array.from({ length: FILL }, (_, i) => ({ hsm: k, key: { label: `fill-${i}`, purpose: 'data-encryption' as const } })), 'fill'));
}, 240_000);

afterAll(async () => {
  await f?.close();
});

async function upToQuorum(run: string) {
  await rollCall(f, run, everyone);
  await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
  const v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
  return f.act(run, { kind: 'run' }, 'Ada Admin');
}

async function signOff(run: string): Promise<string> {
  const v = await f.service.view(run);
  if (v.current?.input.kind === 'tick') await f.act(run, { kind: 'tick' }, 'Wes Witness');
  await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
  const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
  expect(done.view.status).toBe('completed');
  expect((await f.service.verifyBundle(done.bundle!.path)).checks.filter((c) => !c.ok)).toEqual([]);
  return done.bundle!.path;
}

describe('MAC key rotation under quorum', () => {
  it('a check value that is not the archive’s MAC key is refused at planning, naming the right one', async () => {
    const check = await macCheck();
    const e = await failure(f.service.plan(f.session, { definition: 'custos/workstation-key-rotation', params: { key: 'mac', current: 'ab'.repeat(5) }, participants: cast() }));
    expect(e.code).toBe('CHECK_VALUE_MISMATCH');
    expect(e.message).toContain(check);
    // A value of the wrong shape (an audit key's fingerprint) is bad input.
    expect((await failure(f.service.plan(f.session, { definition: 'custos/workstation-key-rotation', params: { key: 'mac', current: 'ab'.repeat(32) }, participants: cast() }))).code).toBe('INVALID_INPUT');
  });

  it('re-MACs every row after two card-signed approvals, cancelled once and resumed; the handover is in the log and the bundle; the archive verifies', async () => {
    const old = await macCheck();
    let v = await f.service.plan(f.session, { definition: 'custos/workstation-key-rotation', params: { key: 'mac', current: old }, participants: cast() });
    const run = v.run;
    expect(v.params).toMatchObject({ key: 'mac', mac: { check: old } });
    // The run goes by what it rotates, in its view and in the record's list.
    expect(v.title).toBe('MAC key rotation');
    expect((await f.service.list()).find((r) => r.run === run)?.title).toBe('MAC key rotation');
    v = await upToQuorum(run);
    expect(v.steps.find((s) => s.kind === 'check')!.outcome).toMatchObject({ key: 'mac', check: old });
    // Wrong approvals: none, one, and the witness's (not a custodian) do not make the quorum.
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Otto Operator'))).code).toBe('QUORUM_NOT_MET');
    v = await f.act(run, { kind: 'approve', step: 'rotate-audit-key', person: 'Ann Archer', proof: f.card('Ann Archer') });
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Otto Operator'))).code).toBe('QUORUM_NOT_MET');
    expect((await failure(f.act(run, { kind: 'approve', step: 'rotate-audit-key', person: 'Wes Witness', proof: f.card('Wes Witness') }))).code).toBe('ROLE_MISSING');
    expect(await macCheck()).toBe(old);
    v = await f.act(run, { kind: 'approve', step: 'rotate-audit-key', person: 'Cat Cole', proof: f.card('Cat Cole') });
    // Cancelled at the first progress event: the step fails as interrupted, rows under both keys, all verifying.
    const seen = f.events.length;
    const going = f.service.act(f.session, run, { kind: 'run' }, 'Otto Operator');
    while (!f.events.slice(seen).some((e) => e.type === 'progress')) await new Promise((r) => setTimeout(r, 5));
    expect(f.service.cancel(run)).toBe(true);
    expect((await failure(going)).code).toBe('CEREMONY_INTERRUPTED');
    const mid = await archive(async (a) => ({ st: a.macRotationState(), verdict: await a.verify({ withHsm: true }) }));
    expect(mid.st.incoming?.ceremonyId).toBe(run);
    expect(mid.st.remaining).toBeGreaterThan(0);
    expect(mid.st.remaining).toBeLessThan(mid.st.rows);
    expect(mid.verdict.problems).toEqual([]);
    expect(await macCheck()).toBe(old);
    // Resumed: the same rotation finishes.
    v = await f.service.view(run);
    if (v.status === 'interrupted') v = await f.act(run, { kind: 'resume' }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    const out = v.steps.find((s) => s.kind === 'rotate-workstation-key')!.outcome!;
    expect(out).toMatchObject({ key: 'mac', from: old, oldKey: expect.stringMatching(/retired/) });
    const now = await macCheck();
    expect(out.to).toBe(now);
    expect(now).not.toBe(old);
    const progress = f.events.slice(seen).filter((e) => e.type === 'progress') as Array<{ message: string }>;
    expect(progress.at(-1)!.message).toMatch(/rows verified and re-MACed/);
    const bundle = await signOff(run);
    const transcript = readFileSync(join(bundle, 'transcript.json'), 'utf8');
    expect(transcript).toContain(old);
    expect(transcript).toContain(now);
    const info = await archive(async (a) => ({ info: a.info(), verdict: await a.verify({ withHsm: true }), handover: a.auditTrail({ action: 'archive.mac.handover' }).entries, st: a.macRotationState() }));
    expect(info.verdict.problems).toEqual([]);
    expect(info.info.keys.mac.check).toBe(now);
    expect(info.handover).toHaveLength(1);
    expect(info.handover[0]!.actor).toMatch(/Otto Operator/);
    expect(info.handover[0]!.details).toMatchObject({ from: { check: old }, to: { check: now }, ceremony: run });
    expect(info.st).toMatchObject({ incoming: null, remaining: 0 });
    // The old check value no longer plans a rotation.
    expect((await failure(f.service.plan(f.session, { definition: 'custos/workstation-key-rotation', params: { key: 'mac', current: old }, participants: cast() }))).code).toBe('CHECK_VALUE_MISMATCH');
  }, 240_000);
});

describe('kill and resume through the CLI', () => {
  it('survives a kill mid-batch, at a batch boundary, and after the step: one handover, the archive verifies at every kill', async () => {
    const pin = (name: string, value: string) => {
      const p = join(f.fx.dir, `pin-${name.replace(/ /g, '-')}`);
      writeFileSync(p, `${value}\n`);
      return p;
    };
    const ws = ['--token', WS.label, '--pin-file', pin('ws', WS.user)];
    const card = (name: string) => ['--card-token', f.person(name).card, '--card-pin-file', pin(name, f.person(name).pin)];
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [join(DIST, 'cli.cjs'), '--data-dir', f.dataDir, '--module', SOFTHSM_MODULE, ...ws, '--json', ...args], { env: { ...f.fx.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code, signal) => {
          for (const p of PEOPLE) expect(stdout + stderr, 'a PIN was printed').not.toContain(p.pin);
          resolve({ code, signal, stdout: stdout || stderr });
        });
      });
    const ok = async (args: string[]) => {
      const r = await cli(args);
      if (r.code !== 0) throw new Error(`custos ${args.join(' ')} failed (${r.code}): ${r.stdout}`);
      return JSON.parse(r.stdout) as Awaited<ReturnType<typeof f.service.view>>;
    };
    const before = await macCheck();
    writeFileSync(join(f.fx.dir, 'mackey.yaml'), `key: mac\ncurrent: ${before}\n`);
    const castArgs = ['Ada Admin=administrator', 'Otto Operator=operator', 'Ann Archer=custodian', 'Ben Baker=custodian', 'Cat Cole=custodian', 'Wes Witness=witness'].flatMap((p) => ['--participant', p]);
    let v = await ok(['ceremony', 'plan', 'custos/workstation-key-rotation', '--params', join(f.fx.dir, 'mackey.yaml'), ...castArgs]);
    const run = v.run;
    for (const n of everyone) await ok(['ceremony', 'present', '--run', run, '--person', n, ...card(n)]);
    v = await ok(['ceremony', 'step', '--run', run, '--as', 'Ada Admin']);
    let kills = 0;
    for (let guard = 0; guard < 40 && v.status !== 'completed'; guard++) {
      const c = v.current!;
      if (c.input.kind === 'tick') v = await ok(['ceremony', 'tick', '--run', run, '--as', 'Wes Witness']);
      else if (c.input.kind === 'confirm-fingerprint') v = await ok(['ceremony', 'confirm-fingerprint', '--run', run, '--words', v.fingerprint.words.join(' '), '--as', 'Ada Admin']);
      else if (c.input.kind === 'approve') for (const n of ['Ann Archer', 'Ben Baker']) v = await ok(['ceremony', 'approve', '--run', run, '--person', n, ...card(n)]);
      else if (c.input.kind === 'sign-off') v = await ok(['ceremony', 'sign-off', '--run', run, '--person', 'Wes Witness', ...card('Wes Witness')]);
      else if (c.kind === 'rotate-workstation-key') {
        // Mid-batch (the batch reaching 1,000 rows verified and MACed, not committed), at the
        // boundary after the batch reaching 2,000, then once the step is done but not recorded.
        for (const env of [{ CUSTOS_ARCHIVE_TEST_HOOKS: '1', CUSTOS_ARCHIVE_KILL_AT: 'mac:every:1000' }, { CUSTOS_ARCHIVE_TEST_HOOKS: '1', CUSTOS_ARCHIVE_KILL_AT: 'mac:after:2000' }, { CUSTOS_CEREMONY_TEST_HOOKS: '1', CUSTOS_CEREMONY_KILL_AT: `${c.id}:done` }]) {
          const r = await cli(['ceremony', 'step', '--run', run, '--as', c.actors[0]!.name], env);
          const check = await archive(async (a) => ({ verdict: await a.verify({ withHsm: true }), st: a.macRotationState() }));
          expect(check.verdict.problems, `after a kill at ${JSON.stringify(env)}`).toEqual([]);
          expect(r.signal, JSON.stringify(env)).toBe('SIGKILL');
          kills++;
          const st = await ok(['ceremony', 'status', '--run', run]);
          v = st.status === 'interrupted' ? await ok(['ceremony', 'resume', '--run', run, '--as', 'Ada Admin']) : st;
          if (v.current?.id !== c.id) break;
        }
        if (v.current?.id === c.id && v.status === 'running') v = await ok(['ceremony', 'step', '--run', run, '--as', c.actors[0]!.name]);
      } else v = await ok(['ceremony', 'step', '--run', run, '--as', c.actors[0]!.name]);
    }
    expect(v.status).toBe('completed');
    expect(kills).toBe(3);
    const end = await archive(async (a) => ({ verdict: await a.verify({ withHsm: true }), handovers: a.auditTrail({ action: 'archive.mac.handover' }).entries.filter((e) => (e.details as { ceremony?: string }).ceremony === run), check: a.workstation.mac_check }));
    expect(end.verdict.problems).toEqual([]);
    expect(end.handovers).toHaveLength(1);
    expect(end.check).not.toBe(before);
  }, 300_000);
});
