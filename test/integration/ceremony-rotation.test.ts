// Rotation of a managed key (issue #10 part 4) through the ceremony service, with SoftHSM2 tokens
// as the workstation HSM and the people's cards: a key made by the key-generation ceremony is
// rotated under two card-signed approvals; the new version is generated in the HSM with the same
// algorithm and usages, archived as version 2 and active; version 1 is deactivated with its dates
// set by the key's policy, and on the token it still decrypts old data but no longer encrypts.
// Then each bad input is refused with a typed error and changes nothing.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMonths } from '../../shared/archive/policy';
import { ArchiveDoor } from '../../electron/services/archive/door';
import type { ArchiveService } from '../../electron/services/archive/service';
import { failure } from '../helpers/hsm-ops';
import { NSS_DB_TOKEN, NSS_MODULE, nssAvailable, nssDb, type NssFixture } from '../helpers/nss';
import { SOFTHSM_MODULE } from '../helpers/softhsm';
import { cast, ceremonyFixture, rollCall, runSetup, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
let door: ArchiveDoor;
let nss: NssFixture | null = null;
const everyone = ['Ada Admin', 'Otto Operator', 'Ann Archer', 'Ben Baker', 'Cat Cole', 'Wes Witness'];
const tok = () => ({ path: SOFTHSM_MODULE, token: 'Workstation' });
const archive = <T>(fn: (a: ArchiveService) => Promise<T> | T) => door.write(door.existing(), f.session, fn);

beforeAll(async () => {
  nss = nssAvailable() ? nssDb('custos-rotation-nss-') : null;
  f = await ceremonyFixture('custos-rotation-', undefined, { env: nss ? { CUSTOS_NSS_CONFIGDIR: nss.dir } : {} });
  door = new ArchiveDoor(f.hsm, f.dataDir);
  await runSetup(f);
  await generateKey('Payments DEK', 'aes-256', ['encrypt']);
}, 240_000);

afterAll(async () => {
  await f?.close();
  nss?.cleanup();
});

/** The key-generation ceremony, start to end: the key every rotation below starts from. */
async function generateKey(label: string, keyType: string, usages: string[]): Promise<void> {
  let v = await f.service.plan(f.session, { definition: 'custos/key-generation', params: { keyType, label, usages, extractable: true, purpose: 'data-encryption', tags: ['payments'], custodians: ['Ann Archer'] }, participants: cast() });
  const run = v.run;
  v = await upToQuorum(run);
  for (const c of ['Ann Archer', 'Ben Baker']) v = await f.act(run, { kind: 'approve', step: 'generate', person: c, proof: f.card(c) });
  for (const step of ['generate', 'show-check-value', 'test-operation', 'archive', 'csr']) {
    v = await f.act(run, { kind: 'run' }, step === 'show-check-value' ? 'Ada Admin' : 'Otto Operator');
    if (v.current?.input.kind === 'tick') v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
  }
  await signOff(run);
}

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

describe('rotation of a managed key', () => {
  it('generates version 2 with the same algorithm and usages under the quorum, activates it, and deactivates version 1, which still decrypts', async () => {
    const before = await archive((a) => a.version('Payments DEK'));
    const v1 = before.summary;
    expect(v1.state).toBe('active');
    const oldId = (await f.hsm.call('objects', { ...tok(), ref: { label: 'Payments DEK' } }))[0]!.idHex;
    const [old] = await f.hsm.call('encrypt', { ...tok(), ref: { idHex: oldId, kind: 'secret' }, mechanism: 'aes-gcm', data: [Buffer.from('ledger 2026-Q3')] });

    let v = await f.service.plan(f.session, { definition: 'custos/rotation', params: { key: 'Payments DEK' }, participants: cast() });
    const run = v.run;
    // What the custodians approve: planned from the archive, not retyped.
    const plan = (await f.service.view(run)).params as Record<string, unknown>;
    expect(plan).toMatchObject({ keyType: 'aes-256', usages: ['encrypt'], label: 'Payments DEK v2', key: { label: 'Payments DEK' }, old: { version: 1, checkValue: v1.checkValue, object: { idHex: oldId } }, next: { version: 2 } });
    // Retyping other usages is refused: a rotation keeps what the key may do.
    expect((await failure(f.service.plan(f.session, { definition: 'custos/rotation', params: { key: 'Payments DEK', usages: ['wrap'] }, participants: cast() }))).code).toBe('INVALID_INPUT');

    v = await upToQuorum(run);
    expect(v.steps.find((s) => s.id === 'check')!.outcome!.checks).toEqual(expect.arrayContaining([expect.stringMatching(/version 1 of “Payments DEK” is the active version/), expect.stringMatching(/with the archived check value/)]));
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Otto Operator'))).code).toBe('QUORUM_NOT_MET');
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'generate', person: c, proof: f.card(c) });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    const gen = v.steps.find((s) => s.id === 'generate')!.outcome!;
    expect(gen).toMatchObject({ label: 'Payments DEK v2', keyType: 'aes-256', extractable: true });
    expect(gen.checkValue).not.toBe(v1.checkValue);
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // read the check value aloud
    expect(v.steps.find((s) => s.id === 'show-check-value')!.outcome!.readAloud).toBe(gen.checkValue);
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // test
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // archive: v2 active, v1 deactivated in one transaction
    const arch = v.steps.find((s) => s.id === 'archive')!.outcome! as { version: number; state: string; activationDate: string; rotationDue: string; old: { state: string; deactivationDate: string; protectStopDate: string; processStopDate: string } };
    expect(arch).toMatchObject({ version: 2, state: 'active', old: { state: 'deactivated' } });
    // Dates by the key's policy (data-encryption: OUP 24 months, RUP 36 months more, SP 800-57 Table 1):
    // v2 is due 24 months on; v1 stops protecting now and still processes until its planned end.
    expect(arch.rotationDue).toBe(addMonths(arch.activationDate, 24));
    expect(arch.old.deactivationDate).toBe(arch.activationDate);
    expect(arch.old.protectStopDate).toBe(arch.activationDate);
    expect(arch.old.processStopDate).toBe(addMonths(addMonths(v1.activationDate!, 24), 36));
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // restrict the old object
    const restricted = v.steps.find((s) => s.id === 'restrict-old')!.outcome!;
    expect(restricted).toMatchObject({ idHex: oldId, stillProtecting: [] });
    expect(restricted.refused).toBeUndefined();
    await signOff(run);

    const after = await archive((a) => a.version('Payments DEK'));
    expect(after.versions.map((x) => [x.version, x.state])).toEqual([
      [2, 'active'],
      [1, 'deactivated'],
    ]);
    // On the token: version 1 decrypts old data, and can no longer encrypt.
    const o = (await f.hsm.call('objects', { ...tok(), ref: { idHex: oldId } }))[0]!;
    expect(o.usage).toMatchObject({ encrypt: false, decrypt: true });
    const back = await f.hsm.call('decrypt', { ...tok(), ref: { idHex: oldId, kind: 'secret' }, mechanism: 'aes-gcm', ciphertext: old!.ciphertext, iv: old!.iv ?? undefined });
    expect(Buffer.from(back.plaintext).toString()).toBe('ledger 2026-Q3');
    expect((await failure(f.hsm.call('encrypt', { ...tok(), ref: { idHex: oldId, kind: 'secret' }, mechanism: 'aes-gcm', data: [Buffer.from('new data')] }))).code).toBe('KEY_USAGE_NOT_PERMITTED');
  }, 240_000);
});

describe('restricting the old version on a second PKCS#11 implementation', () => {
  it.skipIf(!nssAvailable())('the NSS softoken: encrypt, sign and wrap turned off on the old object, which still decrypts', async () => {
    const t = { path: NSS_MODULE, token: NSS_DB_TOKEN };
    const idHex = randomBytes(8).toString('hex');
    await f.hsm.call('generate', { ...t, spec: { type: 'aes-256', label: 'NSS old version', idHex, usages: ['encrypt', 'wrap'], extractable: true } });
    const [ct] = await f.hsm.call('encrypt', { ...t, ref: { idHex, kind: 'secret' }, mechanism: 'aes-gcm', data: [Buffer.from('old data')] });
    const r = await f.hsm.call('restrictUsage', { ...t, ref: { idHex } });
    expect(r.refused).toEqual([]);
    expect(r.objects[0]!.usage).toMatchObject({ encrypt: false, wrap: false, decrypt: true, unwrap: true });
    const back = await f.hsm.call('decrypt', { ...t, ref: { idHex, kind: 'secret' }, mechanism: 'aes-gcm', ciphertext: ct!.ciphertext, iv: ct!.iv ?? undefined });
    expect(Buffer.from(back.plaintext).toString()).toBe('old data');
    expect((await failure(f.hsm.call('encrypt', { ...t, ref: { idHex, kind: 'secret' }, mechanism: 'aes-gcm', data: [Buffer.from('new')] }))).code).toBe('KEY_USAGE_NOT_PERMITTED');
  }, 60_000);
});

describe('rotations that must be refused', () => {
  /** An AES key put on the token and archived outside a ceremony, then taken through `steps`. */
  async function archivedKey(label: string, steps: Array<'deactivate' | 'compromise' | 'destroy'>): Promise<void> {
    const idHex = randomBytes(8).toString('hex');
    await f.hsm.call('generate', { ...tok(), spec: { type: 'aes-256', label, idHex, usages: ['encrypt'], extractable: true } });
    await archive(async (a) => {
      await a.add([{ hsm: { idHex, kind: 'secret' }, key: { label, purpose: 'data-encryption' }, activate: true }], 'test');
      for (const s of steps) await a.transition(`${label}@1`, s, { actor: 'test' });
    });
  }
  const plan = (key: string, extra: Record<string, unknown> = {}) => failure(f.service.plan(f.session, { definition: 'custos/rotation', params: { key, ...extra }, participants: cast() }));

  it('a key with no active version, a compromised key, a destroyed key: refused at planning, nothing planned', async () => {
    await archivedKey('Retired key', ['deactivate']);
    await archivedKey('Leaked key', ['compromise']);
    await archivedKey('Shredded key', ['deactivate', 'destroy']);
    const runs = (await f.service.list()).length;
    for (const [key, words] of [
      ['Retired key', /no active version/],
      ['Leaked key', /no active version/],
      ['Shredded key', /no active version/],
    ] as const) {
      const e = await plan(key);
      expect(e.code, key).toBe('LIFECYCLE_TRANSITION_INVALID');
      expect(e.message).toMatch(words);
    }
    expect((await plan('Leaked key')).action).toMatch(/compromised key is replaced/);
    expect((await plan('No such key')).code).toBe('ARCHIVE_RECORD_NOT_FOUND');
    // A deactivated version named directly is not the version to replace.
    expect((await plan('Payments DEK@1')).code).toBe('INVALID_INPUT');
    expect((await plan((await archive((a) => a.version('Payments DEK@1'))).summary.versionId)).code).toBe('INVALID_INPUT');
    expect((await f.service.list()).length).toBe(runs);
  }, 120_000);

  it('a key whose algorithm cannot be generated (HMAC-512): refused at planning', async () => {
    const idHex = randomBytes(8).toString('hex');
    await f.hsm.call('importSecretPlain', { ...tok(), value: randomBytes(64), template: { kind: 'secret', keyType: 'generic-secret', label: 'Wide MAC', idHex, usages: ['sign'], extractable: true, onToken: true } });
    await archive((a) => a.add([{ hsm: { idHex, kind: 'secret' }, key: { label: 'Wide MAC', purpose: 'authentication' }, activate: true }], 'test'));
    const e = await plan('Wide MAC', { usages: ['sign'] });
    expect(e.code).toBe('MECHANISM_UNSUPPORTED');
    expect(e.message).toMatch(/hmac-512/);
    // A key archived outside a ceremony: the usages must be given once (the archive does not know them).
    await archivedKey('Loose key', []);
    expect((await plan('Loose key')).message).toMatch(/does not record what/);
  }, 120_000);

  it('an old object on the token that is not the archived version: refused at the check step, nothing generated', async () => {
    const idHex = randomBytes(8).toString('hex');
    await f.hsm.call('generate', { ...tok(), spec: { type: 'aes-256', label: 'Swapped key', idHex, usages: ['encrypt'], extractable: true } });
    await archive((a) => a.add([{ hsm: { idHex, kind: 'secret' }, key: { label: 'Swapped key', purpose: 'data-encryption' }, activate: true }], 'test'));
    // Someone replaced the object on the token with another key under the same id and label.
    await f.hsm.call('destroy', { ...tok(), ref: { idHex } });
    await f.hsm.call('generate', { ...tok(), spec: { type: 'aes-256', label: 'Swapped key', idHex, usages: ['encrypt'], extractable: true } });
    const v = await f.service.plan(f.session, { definition: 'custos/rotation', params: { key: 'Swapped key', usages: ['encrypt'] }, participants: cast() });
    expect(v.params).toMatchObject({ next: { version: 2, usagesFrom: expect.stringMatching(/given when planning/) } });
    await rollCall(f, v.run, everyone);
    await f.act(v.run, { kind: 'login', pin: null }, 'Otto Operator');
    const e = await failure(f.service.act(f.session, v.run, { kind: 'run' }, 'Ada Admin'));
    expect(e.code).toBe('CHECK_VALUE_MISMATCH');
    expect(await f.hsm.call('objects', { ...tok(), ref: { label: 'Swapped key v2' } })).toEqual([]);
    expect((await archive((a) => a.version('Swapped key'))).versions).toHaveLength(1);
    await f.act(v.run, { kind: 'abort', reason: 'test over' }, 'Ada Admin');
  }, 120_000);

  it('an approval signed for the rotation of another key does not count', async () => {
    await generateKey('Settlement DEK', 'aes-256', ['encrypt']);
    const a = await f.service.plan(f.session, { definition: 'custos/rotation', params: { key: 'Payments DEK' }, participants: cast() });
    const b = await f.service.plan(f.session, { definition: 'custos/rotation', params: { key: 'Settlement DEK' }, participants: cast() });
    expect(a.fingerprint.hex).not.toBe(b.fingerprint.hex);
    for (const run of [a.run, b.run]) await upToQuorum(run);
    const { approvalMessage } = await import('../../shared/ceremony/approval');
    const { signWithCard } = await import('../../electron/services/ceremony/credentials');
    const { ArchiveService } = await import('../../electron/services/archive/service');
    const { ArchiveCeremonyRecord } = await import('../../electron/services/ceremony/store');
    const ann = (await f.service.status()).people.find((p) => p.name === 'Ann Archer')!;
    const ro = ArchiveService.open(join(f.dataDir, 'archive.sqlite'), { readonly: true });
    const cred = new ArchiveCeremonyRecord(ro, '', 'test').credential(ann.credential!.fingerprint)!;
    ro.close();
    const cA = (await f.service.act(f.session, a.run, { kind: 'challenge', step: 'generate' }, null)).challenge!;
    // Ann's card signs the approval of Settlement DEK's rotation; it is offered to Payments DEK's.
    const card = (f.card('Ann Archer') as { card: { module: string; token: string; pin: string } }).card;
    const sig = await signWithCard(f.hsm, cred, card, approvalMessage({ purpose: 'approve', run: a.run, fingerprint: b.fingerprint.hex, step: 'generate', counter: cA.counter, nonce: cA.nonce, person: ann.id, credential: cred.fingerprint }));
    const e = await failure(f.service.act(f.session, a.run, { kind: 'approve-signed', step: 'generate', person: 'Ann Archer', counter: cA.counter, nonce: cA.nonce, fingerprint: b.fingerprint.hex, signature: sig }, null));
    expect(e.code).toBe('APPROVAL_FINGERPRINT');
    expect((await f.service.view(a.run)).steps.find((s) => s.id === 'generate')!.quorum!.have).toBe(0);
    const keysBefore = await f.hsm.call('objects', { ...tok(), ref: { label: 'Payments DEK v3' } });
    expect(keysBefore).toEqual([]);
    for (const run of [a.run, b.run]) await f.act(run, { kind: 'abort', reason: 'test over' }, 'Ada Admin');
  }, 240_000);
});

describe('kill and resume through the CLI', () => {
  it('survives a kill before and after every step of a rotation: one new version, active; the old one deactivated; never two active', async () => {
    const { spawn } = await import('node:child_process');
    const { writeFileSync } = await import('node:fs');
    const { DIST } = await import('../helpers/softhsm');
    const { PEOPLE, WS } = await import('./ceremony-helpers');
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
    const activeVersions = async () => (await archive((a) => a.version('Settlement DEK'))).versions.filter((x) => x.state === 'active');

    // Due keys: a key in use since 30 months ago (archived with its real activation date) is overdue;
    // within 800 days every active key of this archive is due (24-month cryptoperiods), soonest first.
    const idHex = randomBytes(8).toString('hex');
    await f.hsm.call('generate', { ...tok(), spec: { type: 'aes-256', label: 'Old DEK', idHex, usages: ['encrypt'], extractable: true } });
    await archive((a) => a.add([{ hsm: { idHex, kind: 'secret' }, key: { label: 'Old DEK', purpose: 'data-encryption' }, activate: true, activationDate: addMonths(new Date().toISOString(), -30) }], 'test'));
    const r0 = await cli(['archive', 'search', '--archive', join(f.dataDir, 'archive.sqlite'), '--due']);
    const due0 = JSON.parse(r0.stdout) as { items: Array<{ label: string }> };
    expect(due0.items.map((x) => x.label), r0.stdout).toEqual(['Old DEK']);
    const due = JSON.parse((await cli(['archive', 'search', '--archive', join(f.dataDir, 'archive.sqlite'), '--due', '800'])).stdout) as { items: Array<{ label: string; state: string; rotationDue: string }> };
    expect(due.items[0]!.label).toBe('Old DEK');
    expect(due.items.map((x) => x.label)).toEqual(expect.arrayContaining(['Payments DEK', 'Settlement DEK']));
    expect(due.items.every((x) => x.state === 'active')).toBe(true);
    expect([...due.items].sort((a, b) => a.rotationDue.localeCompare(b.rotationDue))).toEqual(due.items);
    expect((await cli(['archive', 'search', '--archive', join(f.dataDir, 'archive.sqlite'), '--due', '-1'])).code).not.toBe(0);

    writeFileSync(join(f.fx.dir, 'rotation.yaml'), 'key: Settlement DEK\n');
    const castArgs = ['Ada Admin=administrator', 'Otto Operator=operator', 'Ann Archer=custodian', 'Ben Baker=custodian', 'Cat Cole=custodian', 'Wes Witness=witness'].flatMap((p) => ['--participant', p]);
    let v = await ok(['ceremony', 'plan', 'custos/rotation', '--params', join(f.fx.dir, 'rotation.yaml'), ...castArgs]);
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
        for (const points of [['before', 'after', 'done'], ['after', 'done'], ['done']]) {
          const r = await cli(['ceremony', 'step', '--run', run, '--as', as], { CUSTOS_CEREMONY_TEST_HOOKS: '1', CUSTOS_CEREMONY_KILL_AT: points.map((p) => `${c.id}:${p}`).join(',') });
          // At every boundary: at most one active version of the key.
          expect((await activeVersions()).length, `after a kill ${points[0]} ${c.id}`).toBe(1);
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
    // generate, archive and restrict-old each killed before, after and once done; the other steps once done.
    expect(kills).toBeGreaterThanOrEqual(12);
    // Exactly one new object and one new version: work killed after it was done was adopted, not repeated.
    expect(await f.hsm.call('objects', { ...tok(), ref: { label: 'Settlement DEK v2' } })).toHaveLength(1);
    const after = await archive((a) => a.version('Settlement DEK'));
    expect(after.versions.map((x) => [x.version, x.state])).toEqual([
      [2, 'active'],
      [1, 'deactivated'],
    ]);
    expect(v.steps.find((s) => s.id === 'archive')!.outcome!.versionId).toBe(after.versions[0]!.versionId);
    const old = (await f.hsm.call('objects', { ...tok(), ref: { label: 'Settlement DEK' } }))[0]!;
    expect(old.usage).toMatchObject({ encrypt: false, decrypt: true });
    const b = JSON.parse((await cli(['ceremony', 'bundle', '--run', run])).stdout) as { path: string };
    expect((await cli(['ceremony', 'verify-bundle', b.path])).code).toBe(0);
  }, 600_000);
});
