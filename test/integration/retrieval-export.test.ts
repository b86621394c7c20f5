// Archive retrieval exported wrapped for another system (issue #10 part 3) through the ceremony
// service: a SoftHSM2 workstation token, a SoftHSM2 card per person, a real record and archive.
// The receiver's side is played by Node's own crypto (an RSA key pair made here) or by the token's
// unwrap under the same KEK, so the test proves what another system would get, not what Custos says.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveDoor } from '../../electron/services/archive/door';
import { resolveRetrieval } from '../../electron/services/ceremony/plan-retrieval';
import { exportFacts, ownKeys, wrappedExportPath } from '../../electron/services/ceremony/retrieval-export';
import { rsaAesKeyUnwrap } from '../../electron/services/formats/keywrap';
import { keyCheckValues } from '../../electron/services/kcv';
import { KeyService } from '../../electron/services/key-service';
import type { RunView } from '../../shared/ceremony/view';
import { failure } from '../helpers/hsm-ops';
import { NSS_DB_TOKEN, NSS_MODULE, nssAvailable, nssDb, type NssFixture } from '../helpers/nss';
import { cast, ceremonyFixture, rollCall, runSetup, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
let nss: NssFixture | null = null;
let door: ArchiveDoor;
let keys: KeyService;
const everyone = ['Ada Admin', 'Otto Operator', 'Ann Archer', 'Ben Baker', 'Cat Cole', 'Wes Witness'];
const PURPOSE = 'Move the 2024 settlement DEK to the partner bank’s KMS (change 9120).';
const receiver = generateKeyPairSync('rsa', { modulusLength: 4096 });
const receiverPem = receiver.publicKey.export({ type: 'spki', format: 'pem' }).toString();

beforeAll(async () => {
  nss = nssAvailable() ? nssDb('custos-retx-nss-') : null;
  f = await ceremonyFixture('custos-retx-', undefined, { env: nss ? { CUSTOS_NSS_CONFIGDIR: nss.dir } : {} });
  await runSetup(f);
  door = new ArchiveDoor(f.hsm, f.dataDir);
  keys = new KeyService(f.hsm);
  await archived('Settlement DEK 2024', 'aes-256');
  await archived('Settlement DEK 2023', 'aes-128');
  await keys.generate(f.session, { type: 'aes-256', label: 'Partner KEK', usages: ['wrap'], extractable: false });
  await keys.generate(f.session, { type: 'aes-256', label: 'Other KEK', usages: ['wrap'], extractable: false });
  await keys.generate(f.session, { type: 'aes-256', label: 'Data key, no wrap', usages: ['encrypt'], extractable: false });
}, 180_000);

afterAll(async () => {
  await f?.close();
  nss?.cleanup();
});

async function archived(label: string, type: 'aes-256' | 'aes-128'): Promise<void> {
  await keys.generate(f.session, { type, label, usages: ['encrypt'], extractable: true });
  await door.write(door.existing(), f.session, (a) => a.add([{ hsm: { label }, key: { label, purpose: 'data-encryption' }, activate: true }], 'test setup'));
  await keys.destroy(f.session, label, label);
}

const version = (sel: string) => door.read(door.existing(), async (a) => a.version(sel));
const exportTrail = () => door.read(door.existing(), async (a) => a.auditTrail({ action: 'version.export' }));
const tokenObjects = async () => (await f.hsm.call('objects', { path: f.session.module, token: f.session.token, ref: {} })).map((o) => `${o.kind}:${o.idHex}`).sort();
const plan = (params: Record<string, unknown>) => f.service.plan(f.session, { definition: 'custos/retrieval', params: { purpose: PURPOSE, into: 'export', ...params }, participants: cast() });

/** Roll call, login, check, fingerprint, two approvals, the retrieve step. */
async function runToExport(run: string): Promise<RunView> {
  await rollCall(f, run, everyone);
  await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
  const checked = await f.act(run, { kind: 'run' }, 'Ada Admin');
  await f.act(run, { kind: 'confirm-fingerprint', fingerprint: checked.fingerprint.hex }, 'Ada Admin');
  await f.act(run, { kind: 'run' }, 'Ada Admin');
  for (const c of ['Ann Archer', 'Cat Cole']) await f.act(run, { kind: 'approve', step: 'retrieve', person: c, proof: f.card(c) });
  return f.act(run, { kind: 'run' }, 'Otto Operator');
}

async function signOff(run: string): Promise<string> {
  await f.act(run, { kind: 'tick' }, 'Wes Witness');
  await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
  const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
  expect(done.view.status).toBe('completed');
  return done.bundle!.path;
}

describe('archive retrieval exported wrapped for another system', () => {
  it('exports a version with RSA-OAEP + AES-KWP to a receiver’s public key: the receiver recovers the key whose check value was archived', async () => {
    const before = await tokenObjects();
    const p = await plan({ version: 'Settlement DEK 2024@1', wrap: { publicKey: receiverPem, profile: 'AWS KMS RSA_AES_KEY_WRAP_SHA_256', allowWeaker: true } });
    const target = (p.params as { export: { publicKey: { fingerprint: string; bits: number }; mechanism: string } }).export;
    expect(target.mechanism).toBe('rsa-aes-kwp-sha256');
    expect(target.publicKey.bits).toBe(4096);
    const v = await runToExport(p.run);
    const out = v.steps.find((s) => s.kind === 'retrieve')!.outcome!;
    expect(out).toMatchObject({ into: 'export', mechanism: 'rsa-aes-kwp-sha256', checked: true, publicKey: { fingerprint: target.publicKey.fingerprint } });
    // Nothing stays on the token: the wrap-only session object and the imported public key are gone.
    expect(await tokenObjects()).toEqual(before);

    const x = await f.service.wrappedExport(p.run);
    expect(x.sha256).toBe((out.file as { sha256: string }).sha256);
    const key = rsaAesKeyUnwrap(receiver.privateKey, x.bytes, 'sha256');
    expect(key.length).toBe(32);
    expect(keyCheckValues('AES', key).cmac.toLowerCase()).toBe((await version('Settlement DEK 2024@1')).summary.checkValue!.toLowerCase());
    key.fill(0);

    // The audit log names the receiver and the file, never key material.
    const trail = await exportTrail();
    const entry = trail.entries.at(-1)!;
    expect(entry.details).toMatchObject({ mechanism: 'rsa-aes-kwp-sha256', to: { publicKeyFingerprint: target.publicKey.fingerprint }, sha256: x.sha256 });
    expect(JSON.stringify(trail)).not.toContain(x.bytes.toString('hex').slice(0, 32));
    const bundle = await signOff(p.run);
    const transcript = readFileSync(`${bundle}/transcript.json`, 'utf8');
    expect(transcript).toContain(target.publicKey.fingerprint);
    expect(transcript).not.toContain(x.bytes.toString('base64').slice(0, 24));
    expect(transcript).not.toContain(x.bytes.toString('hex').slice(0, 32));
  }, 180_000);

  it('exports under a KEK on the token with AES-KWP: the same KEK unwraps it into the key with the archived check value', async () => {
    const p = await plan({ version: 'Settlement DEK 2023@1', wrap: { kek: 'Partner KEK' } });
    const target = (p.params as { export: { kek: { checkValue: string }; strength: { weaker: boolean } } }).export;
    expect(target.kek.checkValue).toMatch(/^[0-9a-f]{10}$/);
    expect(target.strength.weaker).toBe(false);
    const v = await runToExport(p.run);
    expect(v.steps.find((s) => s.kind === 'retrieve')!.outcome).toMatchObject({ into: 'export', mechanism: 'aes-kwp', kek: { label: 'Partner KEK', checkValue: target.kek.checkValue } });
    const x = await f.service.wrappedExport(p.run);
    expect(x.bytes.length).toBe(16 + 8); // RFC 5649: an AES-128 key is two blocks, plus the AIV block
    // The receiver's side: the same KEK unwraps it (RFC 5649 integrity check) into the archived key.
    const back = await keys.unwrap(f.session, 'Partner KEK', x.bytes, 'aes-kwp', { type: 'aes-128', label: 'Received 2023', usages: ['encrypt'], extractable: false });
    expect(back.checkValue?.cmac?.toLowerCase()).toBe((await version('Settlement DEK 2023@1')).summary.checkValue!.toLowerCase());
    await keys.destroy(f.session, 'Received 2023', 'Received 2023');
    // The file is checked against the journal before it is handed out: a changed file is refused.
    const path = wrappedExportPath(f.service.bundleDir, p.run);
    expect(existsSync(path)).toBe(true);
    const { writeFileSync } = await import('node:fs');
    const good = readFileSync(path);
    writeFileSync(path, Buffer.concat([good.subarray(0, 8), Buffer.alloc(good.length - 8)]));
    expect((await failure(f.service.wrappedExport(p.run))).code).toBe('RECORD_INVALID');
    writeFileSync(path, good);
    expect(createHash('sha256').update((await f.service.wrappedExport(p.run)).bytes).digest('hex')).toBe(x.sha256);
    await signOff(p.run);
  }, 180_000);

  it('binds the approvals to the destination: another KEK is another fingerprint, and an approval for it is refused', async () => {
    const a = await plan({ version: 'Settlement DEK 2023@1', wrap: { kek: 'Partner KEK' } });
    const b = await plan({ version: 'Settlement DEK 2023@1', wrap: { kek: 'Other KEK' } });
    const c = await plan({ version: 'Settlement DEK 2024@1', wrap: { kek: 'Partner KEK' } });
    expect(new Set([a.fingerprint.hex, b.fingerprint.hex, c.fingerprint.hex]).size).toBe(3);
    await rollCall(f, a.run, everyone);
    await f.act(a.run, { kind: 'login', pin: null }, 'Otto Operator');
    const checked = await f.act(a.run, { kind: 'run' }, 'Ada Admin');
    expect(checked.fingerprint.hex).toBe(a.fingerprint.hex);
    await f.act(a.run, { kind: 'confirm-fingerprint', fingerprint: checked.fingerprint.hex }, 'Ada Admin');
    await f.act(a.run, { kind: 'run' }, 'Ada Admin');
    for (const other of [b, c]) {
      const e = await failure(f.service.act(f.session, a.run, { kind: 'approve-signed', step: 'retrieve', person: 'Ann Archer', counter: 1, nonce: '00', fingerprint: other.fingerprint.hex, signature: '00' }, null));
      expect(e.code).toBe('APPROVAL_FINGERPRINT');
    }
    expect((await failure(f.service.act(f.session, a.run, { kind: 'run' }, 'Otto Operator'))).code).toBe('QUORUM_NOT_MET');
    for (const r of [a, b, c]) await f.act(r.run, { kind: 'abort', reason: 'test of the binding' }, 'Ada Admin');
  }, 180_000);

  it('refuses bad targets at planning with a typed error, before any key leaves the archive', async () => {
    const before = await tokenObjects();
    const audits = (await exportTrail()).entries.length;
    const code = async (params: Record<string, unknown>) => (await failure(plan(params))).code;
    // A KEK without CKA_WRAP, a missing KEK, a secret that is not AES.
    expect(await code({ version: 'Settlement DEK 2023@1', wrap: { kek: 'Data key, no wrap' } })).toBe('KEY_USAGE_NOT_PERMITTED');
    expect(await code({ version: 'Settlement DEK 2023@1', wrap: { kek: 'No such KEK' } })).toBe('OBJECT_NOT_FOUND');
    // A public key too small to protect anything (RSA-1024), and one weaker than the key without allowWeaker.
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(await code({ version: 'Settlement DEK 2023@1', wrap: { publicKey: small } })).toBe('WRAPPING_KEY_TOO_WEAK');
    expect(await code({ version: 'Settlement DEK 2024@1', wrap: { publicKey: receiverPem } })).toBe('WRAPPING_KEY_TOO_WEAK');
    // An EC key cannot receive; a profile whose RSA size is not this key's; a profile that does not exist.
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(await code({ version: 'Settlement DEK 2023@1', wrap: { publicKey: ec } })).toBe('KEY_TYPE_MISMATCH');
    expect(await code({ version: 'Settlement DEK 2023@1', wrap: { publicKey: receiverPem, profile: 'Google Cloud KMS RSA_OAEP_3072_SHA256_AES_256' } })).toBe('INVALID_INPUT');
    expect(await code({ version: 'Settlement DEK 2023@1', wrap: { publicKey: receiverPem, profile: 'Azure something' } })).toBe('INVALID_INPUT');
    // The shape: an export without a target, a target without an export, usages on an export.
    expect(await code({ version: 'Settlement DEK 2023@1' })).toBe('INVALID_INPUT');
    expect(await code({ version: 'Settlement DEK 2023@1', into: 'token', usages: ['encrypt'], wrap: { kek: 'Partner KEK' } })).toBe('INVALID_INPUT');
    expect(await code({ version: 'Settlement DEK 2023@1', usages: ['encrypt'], wrap: { kek: 'Partner KEK' } })).toBe('INVALID_INPUT');
    // Nothing was lost or made: the token and the archive's export trail are as they were, the versions still there.
    expect(await tokenObjects()).toEqual(before);
    expect((await exportTrail()).entries.length).toBe(audits);
    expect((await version('Settlement DEK 2023@1')).summary.hasMaterial).toBe(true);
  }, 180_000);

  it('refuses the workstation’s own keys as the export target at planning (KEY_PROTECTED), saying why and what to do; nothing is planned', async () => {
    const before = await tokenObjects();
    const runs = (await f.service.list()).length;
    const info = await door.read(door.existing(), async (a) => a.info());
    const refused = async (kek: string) => failure(plan({ version: 'Settlement DEK 2023@1', wrap: { kek } }));
    // The Archive KEK, by its label and by its CKA_ID alone: the export would be what the archive holds.
    const uriById = `pkcs11:id=${info.keys.kek.idHex.replace(/(..)/g, '%$1')}`;
    for (const name of [info.keys.kek.label, uriById]) {
      const e = await refused(name);
      expect(e.code, name).toBe('KEY_PROTECTED');
      expect(e.message).toMatch(/is the Archive KEK: it cannot be the target of an export/);
      expect(e.message).toMatch(/what the archive file itself holds/);
      expect(e.action).toMatch(/^Nothing was planned\. Export under the receiver’s own KEK/);
      expect(e.details).toMatchObject({ role: 'archive-kek' });
    }
    // The MAC key, the audit key (an EC key, no secret key at all) and a Backup Key a killed backup left behind.
    expect(await refused(info.keys.mac.label)).toMatchObject({ code: 'KEY_PROTECTED', details: { role: 'archive-mac' }, message: expect.stringMatching(/archive MAC key.*never used to wrap a key for another system/) });
    expect(await refused(info.keys.audit.label)).toMatchObject({ code: 'KEY_PROTECTED', details: { role: 'audit' } });
    await f.hsm.call('generate', { path: f.session.module, token: f.session.token, spec: { type: 'aes-256', label: 'custos-backup-key/left-by-a-killed-run', idHex: 'bb'.repeat(16), usages: ['wrap'], extractable: false } });
    expect(await refused('custos-backup-key/left-by-a-killed-run')).toMatchObject({ code: 'KEY_PROTECTED', details: { role: 'backup-key' } });
    await f.hsm.call('destroy', { path: f.session.module, token: f.session.token, ref: { idHex: 'bb'.repeat(16) } });
    // Found by the CKA_ID the archive records even under another label (the planner's rule, given the token's real report).
    const facts = await exportFacts(f.hsm, { path: f.session.module, token: f.session.token }, { kek: info.keys.kek.label });
    const real = await version('Settlement DEK 2023@1');
    const own = await door.read(door.existing(), async (a) => ownKeys(a));
    const relabelled = { ...facts, kek: { ...facts.kek!, label: 'Partner KEK (really)' } };
    expect((await failure(Promise.resolve().then(() => resolveRetrieval({ version: 'Settlement DEK 2023@1', purpose: PURPOSE, into: 'export', wrap: { kek: 'Partner KEK (really)' } }, () => real, relabelled, new Date(), own)))).code).toBe('KEY_PROTECTED');
    // Another KEK on the same token is still a valid target.
    expect(resolveRetrieval({ version: 'Settlement DEK 2023@1', purpose: PURPOSE, into: 'export', wrap: { kek: 'Partner KEK' } }, () => real, await exportFacts(f.hsm, { path: f.session.module, token: f.session.token }, { kek: 'Partner KEK' }), new Date(), own).export?.kek?.label).toBe('Partner KEK');
    expect((await f.service.list()).length).toBe(runs);
    expect(await tokenObjects()).toEqual(before);
  }, 120_000);

  it('refuses a token that lacks a standard wrap for the key: SoftHSM’s AES-KWP is RFC 5649 only for whole 8-byte blocks, so a private key cannot leave it readably', async () => {
    // The facts are what SoftHSM really reports. This archive cannot hold a private key (the archive
    // refuses it on such a token for the same reason), so the version is this archive's AES version
    // described as an EC private key: the rule under test is the planner's, given the token's probe.
    const facts = await exportFacts(f.hsm, { path: f.session.module, token: f.session.token }, { kek: 'Partner KEK' });
    expect(facts.kwp?.wrap).toBe('aligned');
    const real = await version('Settlement DEK 2023@1');
    const asPrivate = { ...real, kind: 'private' as const, summary: { ...real.summary, algorithm: 'ec-p256' } };
    const e = await failure(Promise.resolve().then(() => resolveRetrieval({ version: 'Settlement DEK 2023@1', purpose: PURPOSE, into: 'export', wrap: { kek: 'Partner KEK' } }, () => asPrivate, facts)));
    expect(e.code).toBe('WRAP_MECHANISM_UNTRUSTED');
    expect(e.action).toMatch(/Nothing was retrieved/);
    // The same token exports an AES key, whose value is whole blocks.
    expect(resolveRetrieval({ version: 'Settlement DEK 2023@1', purpose: PURPOSE, into: 'export', wrap: { kek: 'Partner KEK' } }, () => real, facts).export?.mechanism).toBe('aes-kwp');
  }, 60_000);

  it.skipIf(!nssAvailable())('plans the same export from the NSS softoken’s own report (a second PKCS#11 implementation with a standard padded wrap)', async () => {
    const facts = await exportFacts(f.hsm, { path: NSS_MODULE, token: NSS_DB_TOKEN }, { publicKey: receiverPem });
    expect(facts.kwp?.wrap).toBe('any');
    const real = await version('Settlement DEK 2023@1');
    expect(resolveRetrieval({ version: 'Settlement DEK 2023@1', purpose: PURPOSE, into: 'export', wrap: { publicKey: receiverPem } }, () => real, facts).export).toMatchObject({ mechanism: 'rsa-aes-kwp-sha256', publicKey: { bits: 4096 } });
  }, 60_000);

  it('refuses at the step a KEK replaced after the approvals, and keeps the version', async () => {
    await keys.generate(f.session, { type: 'aes-256', label: 'Swapped KEK', usages: ['wrap'], extractable: false });
    const p = await plan({ version: 'Settlement DEK 2023@1', wrap: { kek: 'Swapped KEK' } });
    await keys.destroy(f.session, 'Swapped KEK', 'Swapped KEK');
    await keys.generate(f.session, { type: 'aes-256', label: 'Swapped KEK', usages: ['wrap'], extractable: false });
    const before = await tokenObjects();
    const e = await failure(runToExport(p.run));
    expect(e.code).toBe('OBJECT_NOT_FOUND');
    expect(await tokenObjects()).toEqual(before);
    expect((await failure(f.service.wrappedExport(p.run))).code).toBe('CEREMONY_STEP_BLOCKED');
    expect((await version('Settlement DEK 2023@1')).summary.hasMaterial).toBe(true);
    await f.act(p.run, { kind: 'abort', reason: 'the KEK was replaced' }, 'Ada Admin');
  }, 180_000);
});

describe('limits on a retrieved key (what the token stores, what only Custos enforces)', () => {
  async function retrieve(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const p = await f.service.plan(f.session, { definition: 'custos/retrieval', params: { purpose: 'Decrypt the 2023 settlement archive for the auditors (ticket 88).', into: 'token', usages: ['encrypt'], ...params }, participants: cast() });
    const v = await runToExport(p.run);
    const out = v.steps.find((s) => s.kind === 'retrieve')!.outcome!;
    await signOff(p.run);
    return out;
  }
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

  it('keeps the dates and the use count beside the key on the token; Custos’s operations refuse the key past either, the token itself refuses nothing', async () => {
    const out = await retrieve({ version: 'Settlement DEK 2023@1', label: 'DEK 2023 for audit', validDays: 2, maxUses: 3 });
    expect(out).toMatchObject({ into: 'token', checked: true, validFrom: day(0), validUntil: day(2), maxUses: 3, enforcedBy: 'custos' });
    const [raw] = await f.hsm.call('objects', { path: f.session.module, token: f.session.token, ref: { label: 'DEK 2023 for audit' } });
    expect(raw!.idHex.startsWith('52455452')).toBe(true); // "RETR": Custos looks for its limits
    // The limits record beside it on the token, which only Custos reads: the token refuses nothing.
    expect(await f.hsm.call('keyLimits', { path: f.session.module, token: f.session.token, keyIdHex: raw!.idHex })).toMatchObject({ limits: { validFrom: day(0), validUntil: day(2), maxUses: 3, used: 0 } });
    // The token itself still encrypts with the key on the day after its end date.
    const [direct] = await f.hsm.call('encrypt', { path: f.session.module, token: f.session.token, ref: { idHex: raw!.idHex, kind: 'secret' }, mechanism: 'aes-gcm', data: [Buffer.from('x')] });
    expect(direct!.ciphertext.length).toBeGreaterThan(0);
    const later = new KeyService(f.hsm, () => new Date(Date.now() + 3 * 86_400_000));
    const today = new KeyService(f.hsm);
    const data = Buffer.from('settlement batch 2023-11-04');
    for (let i = 0; i < 3; i++) await today.encrypt(f.session, 'DEK 2023 for audit', 'aes-gcm', data);
    const spent = await failure(today.encrypt(f.session, 'DEK 2023 for audit', 'aes-gcm', data));
    expect(spent).toMatchObject({ code: 'KEY_USES_EXHAUSTED', message: expect.stringContaining('3 times') });
    expect((await failure(later.encrypt(f.session, 'DEK 2023 for audit', 'aes-gcm', data))).code).toBe('KEY_EXPIRED');
    // The archive's audit entry records the limits given to the retrieved key.
    const trail = await door.read(door.existing(), async (a) => a.auditTrail({ action: 'version.retrieve' }));
    expect(trail.entries.at(-1)!.details).toMatchObject({ limits: { endDate: day(2), maxUses: 3 } });
  }, 180_000);

  it('lists an expired retrieved key and removes it, with its counter, leaving every valid key alone', async () => {
    await retrieve({ version: 'Settlement DEK 2024@1', label: 'DEK 2024 for audit', validDays: 1 });
    const later = new KeyService(f.hsm, () => new Date(Date.now() + 3 * 86_400_000)); // past both end dates (the last day is still valid)
    const before = (await later.list(f.session)).map((k) => k.label);
    const listed = await later.expired(f.session);
    expect(listed.map((k) => [k.key.label, k.why]).sort()).toEqual([['DEK 2023 for audit', 'end-date'], ['DEK 2024 for audit', 'end-date']]);
    // Today only the spent one (3 of 3 uses) is listed; the other is still valid.
    expect((await new KeyService(f.hsm).expired(f.session)).map((k) => [k.key.label, k.why])).toEqual([['DEK 2023 for audit', 'uses']]);
    const gone = await later.destroyExpired(f.session);
    expect(gone.map((g) => g.key.label).sort()).toEqual(['DEK 2023 for audit', 'DEK 2024 for audit']);
    const after = (await later.list(f.session)).map((k) => k.label);
    expect(after).toEqual(before.filter((l) => !l.endsWith('for audit')));
    expect(after).toEqual(expect.arrayContaining(['Partner KEK', 'Other KEK']));
    expect(await f.hsm.call('keyLimits', { path: f.session.module, token: f.session.token, keyIdHex: listed[0]!.key.idHex })).toBeNull();
  }, 180_000);
});
