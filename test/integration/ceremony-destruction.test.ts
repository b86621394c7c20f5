// Destruction under dual control (issue #10 part 5) through the ceremony service: a SoftHSM2 token
// as the workstation HSM and a SoftHSM2 token per person as their card, a real record. Keys are made
// on the token and archived directly (the key-generation ceremony is tested elsewhere), then
// destroyed in ceremonies: the last copy and the workstation's own keys need exceptions, the
// quorum is bound to the fingerprint, every item is proved gone, and the bundle's certificate
// verifies. Each refusal changes nothing.
import { createHash, createSign, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveDoor } from '../../electron/services/archive/door';
import { verifyBundle, writeBundle } from '../../electron/services/ceremony/evidence';
import { KeyService } from '../../electron/services/key-service';
import type { DestructionCertificate } from '../../shared/ceremony/destruction-certificate';
import type { JournalEntry } from '../../shared/ceremony/run';
import type { Transcript } from '../../shared/ceremony/transcript';
import type { RunView } from '../../shared/ceremony/view';
import { failure } from '../helpers/hsm-ops';
import { cast, ceremonyFixture, rollCall, runSetup, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
let door: ArchiveDoor;
let keys: KeyService;
const everyone = ['Ada Admin', 'Otto Operator', 'Ann Archer', 'Ben Baker', 'Cat Cole', 'Wes Witness'];
const REASON = 'End of the cryptoperiod; the 2025 batches were re-encrypted under DEK 2026 (change 8812).';

beforeAll(async () => {
  f = await ceremonyFixture('custos-destroy-');
  await runSetup(f);
  door = new ArchiveDoor(f.hsm, f.dataDir);
  keys = new KeyService(f.hsm);
}, 180_000);

afterAll(async () => {
  await f?.close();
});

const onToken = async (idHex: string) => (await f.hsm.call('objects', { path: f.session.module, token: f.session.token, ref: { idHex } })).filter((o) => o.kind !== 'certificate');
const archived = (sel: string) => door.read(door.existing(), (a) => a.version(sel));

/** An AES key on the token, archived as version 1 (active). */
async function archivedKey(label: string): Promise<{ idHex: string; versionId: string }> {
  const k = await keys.generate(f.session, { type: 'aes-256', label, usages: ['encrypt'], extractable: true });
  const [added] = await door.write(door.existing(), f.session, (a) => a.add([{ hsm: { label }, key: { label, purpose: 'data-encryption' }, activate: true }], 'test setup'));
  return { idHex: k.idHex, versionId: added!.versionId };
}

/** Roll call, login, check, fingerprint: the run waits for approvals at the destroy step. */
async function upToApprovals(run: string): Promise<RunView> {
  await rollCall(f, run, everyone);
  await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
  const checked = await f.act(run, { kind: 'run' }, 'Ada Admin'); // check
  await f.act(run, { kind: 'confirm-fingerprint', fingerprint: checked.fingerprint.hex }, 'Ada Admin');
  return f.act(run, { kind: 'run' }, 'Ada Admin');
}

async function signOff(run: string): Promise<string> {
  await f.act(run, { kind: 'tick' }, 'Wes Witness');
  await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
  const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
  expect(done.view.status).toBe('completed');
  const verdict = await f.service.verifyBundle(done.bundle!.path);
  expect(verdict.checks.filter((c) => !c.ok)).toEqual([]);
  expect(verdict.checks.map((c) => c.check)).toEqual(expect.arrayContaining([expect.stringMatching(/destruction certificate lists/)]));
  return done.bundle!.path;
}

describe('destruction under dual control (issue #10 part 5)', () => {
  it('refuses the workstation’s own keys outside the ceremony, naming the ceremony to use', async () => {
    const kek = (await door.read(door.existing(), (a) => a.info())).keys.kek.label;
    const e = await failure(keys.destroy(f.session, kek, kek));
    expect(e.code).toBe('KEY_PROTECTED');
    expect(e.action).toMatch(/custos ceremony plan custos\/destruction/);
    expect((await f.hsm.call('objects', { path: f.session.module, token: f.session.token, ref: { label: kek } })).length).toBe(1);
  });

  it('refuses bad input with a typed error and changes nothing', async () => {
    const dek = await archivedKey('Active DEK');
    const plan = (params: unknown) => failure(f.service.plan(f.session, { definition: 'custos/destruction', params, participants: cast() }));
    // An active version is deactivated first, or the ceremony is asked to do it.
    expect((await plan({ keys: [], versions: ['Active DEK@1'], reason: REASON })).code).toBe('LIFECYCLE_TRANSITION_INVALID');
    expect((await plan({ keys: [], versions: [], reason: REASON })).code).toBe('INVALID_INPUT');
    expect((await plan({ keys: ['Active DEK'], versions: [], reason: 'because' })).code).toBe('INVALID_INPUT');
    // A key that does not exist: refused at the check, before anything is destroyed.
    let v = await f.service.plan(f.session, { definition: 'custos/destruction', params: { keys: ['No such key'], versions: [], reason: REASON }, participants: cast() });
    await rollCall(f, v.run, everyone);
    await f.act(v.run, { kind: 'login', pin: null }, 'Otto Operator');
    expect((await failure(f.service.act(f.session, v.run, { kind: 'run' }, 'Ada Admin'))).code).toBe('OBJECT_NOT_FOUND');
    v = await f.act(v.run, { kind: 'abort', reason: 'wrong key named' }, 'Ada Admin');
    // The archive MAC key in use cannot go: the ceremony could not record its own end.
    const mac = (await door.read(door.existing(), (a) => a.info())).keys.mac.label;
    v = await f.service.plan(f.session, { definition: 'custos/destruction', params: { keys: [mac], versions: [], reason: REASON }, participants: cast() });
    await rollCall(f, v.run, everyone);
    await f.act(v.run, { kind: 'login', pin: null }, 'Otto Operator');
    const macErr = await failure(f.service.act(f.session, v.run, { kind: 'run' }, 'Ada Admin'));
    expect(macErr.code).toBe('KEY_PROTECTED');
    expect(macErr.action).toMatch(/Rotate the MAC key first/);
    await f.act(v.run, { kind: 'abort', reason: 'in use' }, 'Ada Admin');
    expect(await onToken(dek.idHex)).toHaveLength(1);
    expect((await archived(dek.versionId)).summary).toMatchObject({ state: 'active', hasMaterial: true });
  }, 120_000);

  it('says what stops working before the Archive KEK goes, and demands an exception', async () => {
    const kek = (await door.read(door.existing(), (a) => a.info())).keys.kek.label;
    const v0 = await f.service.plan(f.session, { definition: 'custos/destruction', params: { keys: [kek], versions: [], reason: 'Retiring this workstation; the archive moves to the new HSM.' }, participants: cast() });
    const v = await upToApprovals(v0.run);
    const item = (v.steps.find((s) => s.kind === 'check')!.outcome!.items as Array<{ stops: string; lastCopy: boolean }>)[0]!;
    expect(item.stops).toMatch(/Archive KEK in use.*none of the archive’s \d+ versions? that still have material can be retrieved, restored/);
    expect(v.exceptions.map((e) => e.happened)).toEqual(expect.arrayContaining([expect.stringMatching(/one of the workstation’s own keys/), expect.stringMatching(/last copy/)]));
    for (const c of ['Ann Archer', 'Ben Baker']) await f.act(v.run, { kind: 'approve', step: 'destroy', person: c, proof: f.card(c) });
    expect((await failure(f.service.act(f.session, v.run, { kind: 'run' }, 'Otto Operator'))).code).toBe('EXCEPTION_OPEN');
    await f.act(v.run, { kind: 'abort', reason: 'Not today: the new HSM is not ready.' }, 'Ada Admin');
    expect(await f.hsm.call('objects', { path: f.session.module, token: f.session.token, ref: { label: kek } })).toHaveLength(1);
  }, 120_000);

  it('destroys a token key pair, a token key and its archived version under the quorum, with exceptions for the last copies and a certificate', async () => {
    const dek = await archivedKey('Old DEK 2025');
    const signer = (await keys.generate(f.session, { type: 'ec-p256', label: 'Old signer 2025', usages: ['sign'], extractable: false }));
    const params = { keys: ['Old signer 2025', 'Old DEK 2025'], versions: ['Old DEK 2025@1'], reason: REASON, deactivateActive: true };
    const v0 = await f.service.plan(f.session, { definition: 'custos/destruction', params, participants: cast() });
    const run = v0.run;
    const other = await f.service.plan(f.session, { definition: 'custos/destruction', params: { ...params, keys: ['Old signer 2025'] }, participants: cast() });
    let v = await upToApprovals(run);
    const items = v.steps.find((s) => s.kind === 'check')!.outcome!.items as Array<{ item: string; algorithm: string; checkValue: string; lastCopy: boolean; copies: string[] }>;
    expect(items.map((i) => i.item)).toEqual(['key Old signer 2025', 'key Old DEK 2025', 'version Old DEK 2025@1']);
    expect(items.every((i) => i.lastCopy)).toBe(true);
    expect(items[0]!.algorithm).toMatch(/^ec/);
    expect(items[1]!.checkValue).toBe(items[2]!.checkValue); // the token key and its archived version are one key
    // The check step's amendment put ids and check values into the fingerprint.
    expect(v.fingerprint.hex).not.toBe(v0.fingerprint.hex);
    expect(v.exceptions).toHaveLength(3);

    // An approval bound to another destruction (another fingerprint) is refused.
    const foreign = await failure(f.service.act(f.session, run, { kind: 'approve-signed', step: 'destroy', person: 'Ann Archer', counter: 1, nonce: '00', fingerprint: other.fingerprint.hex, signature: '00' }, null));
    expect(foreign.code).toBe('APPROVAL_FINGERPRINT');
    await f.act(other.run, { kind: 'abort', reason: 'not needed' }, 'Ada Admin');
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'destroy', person: c, proof: f.card(c) });
    // Without the exceptions decided and acknowledged nothing goes.
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Otto Operator'))).code).toBe('EXCEPTION_OPEN');
    expect(await onToken(dek.idHex)).toHaveLength(1);
    for (const e of v.exceptions) {
      await f.act(run, { kind: 'decide', id: e.id, decision: 'Accepted: the data under this key was re-encrypted and verified (change 8812).' }, 'Ada Admin');
      v = await f.act(run, { kind: 'acknowledge', id: e.id }, 'Wes Witness');
    }
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // destroy
    const out = v.steps.find((s) => s.kind === 'destroy')!.outcome!.destroyed as Array<{ item: string; how: string; proof: string; deactivated?: boolean }>;
    expect(out.map((d) => d.how)).toEqual([expect.stringMatching(/^archive shred/), 'C_DestroyObject', 'C_DestroyObject']);
    expect(out[0]!.deactivated).toBe(true);
    expect(await onToken(dek.idHex)).toEqual([]);
    expect(await onToken(signer.idHex)).toEqual([]);
    const after = await archived(dek.versionId);
    expect(after.summary).toMatchObject({ state: 'destroyed', hasMaterial: false, label: 'Old DEK 2025' });
    expect(after.history.map((h) => h.action)).toEqual(expect.arrayContaining(['version.deactivate', 'version.destroy']));

    const bundle = await signOff(run);
    const cert = JSON.parse(readFileSync(join(bundle, 'destruction-certificate.json'), 'utf8')) as DestructionCertificate;
    expect(cert).toMatchObject({ format: 'custos.destruction-certificate', version: 1, run, reason: REASON, witness: { name: 'Wes Witness' } });
    expect(cert.items).toHaveLength(3);
    expect(cert.items[2]).toMatchObject({ label: 'Old DEK 2025', idHex: dek.idHex, how: 'C_DestroyObject', copiesRemaining: [] });
    expect(cert.items[2]!.proof).toMatch(/finds 0 key objects/);
    expect(cert.approvals.map((a) => a.name).sort()).toEqual(['Ann Archer', 'Cat Cole']);
    expect(cert.exceptions.every((e) => e.decision && e.acknowledgedBy)).toBe(true);
    const text = readFileSync(join(bundle, 'destruction-certificate.json'), 'utf8');
    for (const secret of [f.person('Ann').pin, f.person('Cat').pin, f.person('Otto').pin]) expect(text).not.toContain(secret);

    // The verifier's certificate check can fail: the same transcript and journal, signed by a stand-in
    // audit key, with a certificate that claims less than the journal (or none), is refused.
    const transcript = JSON.parse(readFileSync(join(bundle, 'transcript.json'), 'utf8')) as Transcript;
    const journal = readFileSync(join(bundle, 'journal.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => ({ ...(JSON.parse(line) as JournalEntry), hash: createHash('sha256').update(line, 'utf8').digest('hex') }));
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const standIn = {
      spki,
      fingerprint: createHash('sha256').update(spki).digest('hex'),
      // Raw r‖s, as the HSM returns it.
      sign: async (m: Uint8Array) => new Uint8Array(createSign('sha256').update(m).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' })),
    };
    const forged = { ...cert, items: cert.items.slice(1) };
    for (const [name, extras] of [['fewer', { 'destruction-certificate.json': JSON.stringify(forged, null, 2) + '\n' }], ['none', {}]] as const) {
      const dir = mkdtempSync(join(tmpdir(), `custos-forged-${name}-`));
      try {
        const w = await writeBundle(dir, { transcript, journal, subjects: ['x'], extras }, standIn);
        const verdict = verifyBundle(w.path);
        expect(verdict.ok, name).toBe(false);
        expect(verdict.checks.find((c) => /destruction certificate/.test(c.check))).toMatchObject({ ok: false });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 180_000);

  it('needs no exception when another copy remains: the archived version keeps the token key’s material', async () => {
    const dek = await archivedKey('Spare DEK');
    await door.write(door.existing(), f.session, (a) => a.transition(dek.versionId, 'deactivate', { actor: 'test', reason: 'rotated' }));
    let v = await f.service.plan(f.session, { definition: 'custos/destruction', params: { keys: ['Spare DEK'], versions: [], reason: REASON }, participants: cast() });
    const run = v.run;
    v = await upToApprovals(run);
    const item = (v.steps.find((s) => s.kind === 'check')!.outcome!.items as Array<{ lastCopy: boolean; copies: string[] }>)[0]!;
    expect(item).toMatchObject({ lastCopy: false, copies: [expect.stringMatching(/archived version Spare DEK@1 \(deactivated\)/)] });
    expect(v.exceptions).toEqual([]);
    for (const c of ['Ann Archer', 'Ben Baker']) v = await f.act(run, { kind: 'approve', step: 'destroy', person: c, proof: f.card(c) });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    expect(await onToken(dek.idHex)).toEqual([]);
    expect((await archived(dek.versionId)).summary.hasMaterial).toBe(true);
    await signOff(run);
  }, 120_000);
});
