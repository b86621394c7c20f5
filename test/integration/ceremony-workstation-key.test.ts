// Rotation of the audit key under the quorum (issue #10 part 4, custos/workstation-key-rotation)
// through the ceremony service and the CLI, with SoftHSM2 tokens as the workstation HSM and the
// people's cards: the fingerprint names the key being replaced; two card-signed approvals; the
// handover; the bundle records both fingerprints and verifies, and so do the bundles the old key
// signed; `archive verify` finds nothing. Bad input: a fingerprint that is not the archive's, a key
// changed after planning, an approval signed for another ceremony. Then a rotation through the CLI
// killed before, after and once done at every step (and inside the handover) still completes once.
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
let setupBundle: string;
const everyone = ['Ada Admin', 'Otto Operator', 'Ann Archer', 'Ben Baker', 'Cat Cole', 'Wes Witness'];
const archive = <T>(fn: (a: ArchiveService) => Promise<T> | T) => door.write(door.existing(), f.session, fn);
const fingerprint = () => archive((a) => a.workstation.audit_fingerprint);

beforeAll(async () => {
  f = await ceremonyFixture('custos-wskey-');
  door = new ArchiveDoor(f.hsm, f.dataDir);
  setupBundle = (await runSetup(f)).bundle;
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

describe('audit key rotation under quorum', () => {
  it('a fingerprint that is not the archive’s audit key is refused at planning, naming the right one', async () => {
    const fp = await fingerprint();
    const e = await failure(f.service.plan(f.session, { definition: 'custos/workstation-key-rotation', params: { key: 'audit', current: 'ab'.repeat(32) }, participants: cast() }));
    expect(e.code).toBe('CHECK_VALUE_MISMATCH');
    expect(e.message).toContain(fp);
    expect((await failure(f.service.plan(f.session, { definition: 'custos/workstation-key-rotation', params: { key: 'mac', current: fp }, participants: cast() }))).code).toBe('INVALID_INPUT');
  });

  it('hands the audit key over after two card-signed approvals of a fingerprint naming the old key; the bundle names both keys; old bundles and the archive still verify', async () => {
    const old = await fingerprint();
    let v = await f.service.plan(f.session, { definition: 'custos/workstation-key-rotation', params: { key: 'audit', current: old }, participants: cast() });
    const run = v.run;
    expect(v.params).toMatchObject({ key: 'audit', audit: { fingerprint: old } });
    v = await upToQuorum(run);
    expect(v.steps.find((s) => s.kind === 'check')!.outcome).toMatchObject({ key: 'audit', fingerprint: old });
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Otto Operator'))).code).toBe('QUORUM_NOT_MET');
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'rotate-audit-key', person: c, proof: f.card(c) });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    const out = v.steps.find((s) => s.kind === 'rotate-workstation-key')!.outcome!;
    expect(out).toMatchObject({ key: 'audit', from: old, oldKey: expect.stringMatching(/may no longer sign/) });
    const now = await fingerprint();
    expect(out.to).toBe(now);
    expect(now).not.toBe(old);
    const bundle = await signOff(run);
    // The bundle is signed by the new key and its transcript names both keys.
    expect(readFileSync(join(bundle, 'transcript.json'), 'utf8')).toContain(old);
    const verdict = await f.service.verifyBundle(bundle);
    expect(verdict.auditKey).toBe(now);
    // The set-up bundle, signed by the old key, still verifies against the record's keys.
    const before = await f.service.verifyBundle(setupBundle);
    expect(before.checks.filter((c) => !c.ok)).toEqual([]);
    expect(before.auditKey).toBe(old);
    expect(before.checks.find((c) => c.check.includes('retired key of the pinned workstation'))?.ok).toBe(true);
    const info = await archive(async (a) => ({ info: a.info(), verdict: await a.verify({ withHsm: true }), handover: a.auditTrail({ action: 'archive.audit.handover' }).entries }));
    expect(info.verdict.problems).toEqual([]);
    expect(info.info.keys.audit.retired.map((k) => k.fingerprint)).toEqual([old]);
    expect(info.handover[0]!.actor).toMatch(/Otto Operator/);
    // The old fingerprint no longer plans a rotation.
    expect((await failure(f.service.plan(f.session, { definition: 'custos/workstation-key-rotation', params: { key: 'audit', current: old }, participants: cast() }))).code).toBe('CHECK_VALUE_MISMATCH');
  }, 240_000);

  it('a key that changed after planning is refused at the check step; nothing is made', async () => {
    const fp = await fingerprint();
    const v = await f.service.plan(f.session, { definition: 'custos/workstation-key-rotation', params: { key: 'audit', current: fp }, participants: cast() });
    // Someone rotates the key outside this ceremony after the plan was made.
    await archive((a) => a.rotateAuditKey({ actor: 'test' }));
    const moved = await fingerprint();
    await rollCall(f, v.run, everyone);
    await f.act(v.run, { kind: 'login', pin: null }, 'Otto Operator');
    const e = await failure(f.service.act(f.session, v.run, { kind: 'run' }, 'Ada Admin'));
    expect(e.code).toBe('CHECK_VALUE_MISMATCH');
    expect(e.message).toMatch(/no longer the one planned/);
    expect(await fingerprint()).toBe(moved);
    expect(await archive((a) => a.auditKeys().length)).toBe(3);
    await f.act(v.run, { kind: 'abort', reason: 'test over' }, 'Ada Admin');
  }, 120_000);

  it('an approval signed for another ceremony (a KEK rotation) does not count', async () => {
    const fp = await fingerprint();
    const info = await archive((a) => a.info());
    const a = await f.service.plan(f.session, { definition: 'custos/workstation-key-rotation', params: { key: 'audit', current: fp }, participants: cast() });
    const b = await f.service.plan(f.session, { definition: 'custos/kek-rotation', params: { kekCheck: info.keys.kek.check, versions: info.counts.withMaterial }, participants: cast() });
    for (const run of [a.run, b.run]) await upToQuorum(run);
    const { approvalMessage } = await import('../../shared/ceremony/approval');
    const { signWithCard } = await import('../../electron/services/ceremony/credentials');
    const { ArchiveService } = await import('../../electron/services/archive/service');
    const { ArchiveCeremonyRecord } = await import('../../electron/services/ceremony/store');
    const ann = (await f.service.status()).people.find((p) => p.name === 'Ann Archer')!;
    const ro = ArchiveService.open(join(f.dataDir, 'archive.sqlite'), { readonly: true });
    const cred = new ArchiveCeremonyRecord(ro, '', 'test').credential(ann.credential!.fingerprint)!;
    ro.close();
    const cA = (await f.service.act(f.session, a.run, { kind: 'challenge', step: 'rotate-audit-key' }, null)).challenge!;
    const card = (f.card('Ann Archer') as { card: { module: string; token: string; pin: string } }).card;
    const sig = await signWithCard(f.hsm, cred, card, approvalMessage({ purpose: 'approve', run: a.run, fingerprint: b.fingerprint.hex, step: 'rotate-audit-key', counter: cA.counter, nonce: cA.nonce, person: ann.id, credential: cred.fingerprint }));
    const e = await failure(f.service.act(f.session, a.run, { kind: 'approve-signed', step: 'rotate-audit-key', person: 'Ann Archer', counter: cA.counter, nonce: cA.nonce, fingerprint: b.fingerprint.hex, signature: sig }, null));
    expect(e.code).toBe('APPROVAL_FINGERPRINT');
    expect((await f.service.view(a.run)).steps.find((s) => s.id === 'rotate-audit-key')!.quorum!.have).toBe(0);
    expect(await fingerprint()).toBe(fp);
    for (const run of [a.run, b.run]) await f.act(run, { kind: 'abort', reason: 'test over' }, 'Ada Admin');
  }, 240_000);
});

describe('kill and resume through the CLI', () => {
  it('survives a kill before, after and once done at every step, and inside the handover: one handover, the archive verifies', async () => {
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
    const before = await fingerprint();
    const handovers = async () => archive((a) => a.auditTrail({ action: 'archive.audit.handover' }).entries.length);
    const had = await handovers();
    writeFileSync(join(f.fx.dir, 'wskey.yaml'), `key: audit\ncurrent: ${before}\n`);
    const castArgs = ['Ada Admin=administrator', 'Otto Operator=operator', 'Ann Archer=custodian', 'Ben Baker=custodian', 'Cat Cole=custodian', 'Wes Witness=witness'].flatMap((p) => ['--participant', p]);
    let v = await ok(['ceremony', 'plan', 'custos/workstation-key-rotation', '--params', join(f.fx.dir, 'wskey.yaml'), ...castArgs]);
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
      else {
        const as = c.actors[0]!.name;
        // The rotate step is also killed inside the handover: new key pair made, nothing committed;
        // and handover committed, the pin not yet moved.
        const inside = c.kind === 'rotate-workstation-key' ? [{ CUSTOS_ARCHIVE_TEST_HOOKS: '1', CUSTOS_ARCHIVE_KILL_AT: 'audit:generated' }, { CUSTOS_ARCHIVE_TEST_HOOKS: '1', CUSTOS_ARCHIVE_KILL_AT: 'audit:committed' }] : [];
        for (const env of [...inside, ...[['before', 'after', 'done'], ['after', 'done'], ['done']].map((points) => ({ CUSTOS_CEREMONY_TEST_HOOKS: '1', CUSTOS_CEREMONY_KILL_AT: points.map((p) => `${c.id}:${p}`).join(',') }))]) {
          const r = await cli(['ceremony', 'step', '--run', run, '--as', as], env);
          // At every boundary the archive verifies, under whichever key it names.
          const check = await archive((a) => a.verify({ withHsm: true }));
          expect(check.problems, `after a kill at ${JSON.stringify(env)}`).toEqual([]);
          if (r.signal === 'SIGKILL') {
            kills++;
            const st = await ok(['ceremony', 'status', '--run', run]);
            v = st.status === 'interrupted' ? await ok(['ceremony', 'resume', '--run', run, '--as', 'Ada Admin']) : st;
          } else {
            expect(r.code, r.stdout).toBe(0);
            v = JSON.parse(r.stdout) as typeof v;
          }
          if (v.current?.id !== c.id) break;
        }
        if (v.current?.id === c.id && v.status === 'running') v = await ok(['ceremony', 'step', '--run', run, '--as', as]);
      }
    }
    expect(v.status).toBe('completed');
    expect(kills).toBeGreaterThanOrEqual(6);
    // Exactly one handover by this run: work killed after it was done was found, not repeated.
    expect(await handovers()).toBe(had + 1);
    const out = v.steps.find((s) => s.kind === 'rotate-workstation-key')!.outcome!;
    expect(out.from).toBe(before);
    expect(out.to).toBe(await fingerprint());
    const b = JSON.parse((await cli(['ceremony', 'bundle', '--run', run])).stdout) as { path: string };
    expect((await cli(['ceremony', 'verify-bundle', b.path])).code).toBe(0);
    const info = JSON.parse((await cli(['archive', 'info', '--archive', join(f.dataDir, 'archive.sqlite')])).stdout) as { keys: { audit: { fingerprint: string; retired: Array<{ fingerprint: string }> } }; auditKey: { matchesPin: boolean } };
    expect(info.keys.audit.retired.map((k) => k.fingerprint)).toContain(before);
    expect(info.auditKey.matchesPin).toBe(true);
  }, 600_000);
});
