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
import { SOFTHSM_MODULE } from '../helpers/softhsm';
import { cast, ceremonyFixture, rollCall, runSetup, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
let door: ArchiveDoor;
const everyone = ['Ada Admin', 'Otto Operator', 'Ann Archer', 'Ben Baker', 'Cat Cole', 'Wes Witness'];
const tok = () => ({ path: SOFTHSM_MODULE, token: 'Workstation' });
const archive = <T>(fn: (a: ArchiveService) => Promise<T> | T) => door.write(door.existing(), f.session, fn);

beforeAll(async () => {
  f = await ceremonyFixture('custos-rotation-');
  door = new ArchiveDoor(f.hsm, f.dataDir);
  await runSetup(f);
  await generateKey('Payments DEK', 'aes-256', ['encrypt']);
}, 240_000);

afterAll(async () => {
  await f?.close();
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
