// Backup Key rotation in a re-share (issue #10 part 7), through the ceremony service on SoftHSM2
// tokens: a backup of the Archive KEK and MAC key, then a re-share with rotateBackupKey — the old
// quorum rebuilds the old Backup Key, a new one is split for the new holders with the verification
// round, and at the commit (under the quorum) each key is unwrapped from its old blob into a session
// object, its check value compared, and the blobs re-wrapped under the new Backup Key in the HSM. Afterwards the old backup
// restores nothing (BACKUP_ROTATED, naming the rotation), and the new share set restores both keys
// into a fresh token (and into the NSS softoken). Bad input: a share of another set, too few old
// shares, a blob whose check value does not match.
import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiveDoor } from '../../electron/services/archive/door';
import type { ArchiveService } from '../../electron/services/archive/service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combineMnemonics, splitSecret, webCryptoSlip39 } from '../../shared/slip39';
import type { RunView } from '../../shared/ceremony/view';
import { keyCheckValues } from '../../electron/services/kcv';
import { rewrapTargets } from '../../electron/services/ceremony/steps-reshare';
import { failure } from '../helpers/hsm-ops';
import { NSS_DB_TOKEN, NSS_MODULE, nssAvailable, nssDb, type NssFixture } from '../helpers/nss';
import { SOFTHSM_MODULE } from '../helpers/softhsm';
import { cast, ceremonyFixture, rollCall, runSetup, WS, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
let nss: NssFixture | null = null;
const REPLACEMENT = { label: 'Replacement HSM', so: '11223344', user: '55667788' };
const everyone = ['Ada Admin', 'Otto Operator', 'Ann Archer', 'Ben Baker', 'Cat Cole', 'Wes Witness'];
const holders = ['Ann Archer', 'Ben Baker', 'Cat Cole'];
let backupRun = '';
let backupBundle = '';
const oldShares: Record<string, string> = {};
let oldBlobs: Array<{ target: string; label: string; wrapped: string; checkValue: string; idHex: string; kind: 'secret' | 'private'; keyType: string | null; checkMethod: string | null; wrapWithTrusted: boolean }> = [];
let rotationRun = '';
const newShares: Record<string, string> = {};
let kekCheck = '';

beforeAll(async () => {
  nss = nssAvailable() ? nssDb('custos-rotation-nss-') : null;
  f = await ceremonyFixture('custos-rotation-', undefined, { extraTokens: [REPLACEMENT], env: nss ? { CUSTOS_NSS_CONFIGDIR: nss.dir } : {} });
  await runSetup(f);
  // The backup whose Backup Key is rotated below.
  let v = await f.service.plan(f.session, { definition: 'custos/backup', params: { targets: ['archive-kek', 'archive-mac'], scheme: 'slip39', threshold: 2, holders }, participants: cast() });
  const run = v.run;
  v = await rollCall(f, run, everyone);
  v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'commit-backup', person: c, proof: f.card(c) });
  v = await f.act(run, { kind: 'run' }, 'Otto Operator');
  v = await f.act(run, { kind: 'run' }, 'Otto Operator');
  for (const h of holders) {
    oldShares[h] = (await f.service.act(f.session, run, { kind: 'reveal', holder: h }, null)).reveal!.share;
    v = await f.act(run, { kind: 'handed-over', holder: h });
  }
  for (const h of holders) v = await f.act(run, { kind: 'verify-share', holder: h, share: oldShares[h]! });
  v = await f.act(run, { kind: 'commit', soPin: WS.so }, 'Otto Operator');
  oldBlobs = v.steps.find((s) => s.id === 'commit-backup')!.outcome!.blobs as typeof oldBlobs;
  kekCheck = oldBlobs.find((b) => b.target === 'archive-kek')!.checkValue;
  backupBundle = await signOff(run);
  backupRun = run;
}, 240_000);

afterAll(async () => {
  await f?.close();
  nss?.cleanup();
});

async function signOff(run: string): Promise<string> {
  await f.act(run, { kind: 'tick' }, 'Wes Witness');
  await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
  const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
  expect(done.view.status).toBe('completed');
  expect((await f.service.verifyBundle(done.bundle!.path)).ok).toBe(true);
  return done.bundle!.path;
}

/** Plans `definition` and runs it to its first secret step (roll call, login, check, fingerprint). */
async function upTo(definition: string, params: Record<string, unknown>): Promise<{ run: string; v: RunView }> {
  let v = await f.service.plan(f.session, { definition, params, participants: cast() });
  const run = v.run;
  v = await rollCall(f, run, everyone);
  v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  return { run, v };
}

/** RFC 5649 unwrap in Node, to check a blob against a Backup Key rebuilt from shares. */
function kwpUnwrap(bk: Uint8Array, wrapped: string): Buffer {
  const d = createDecipheriv('id-aes256-wrap-pad', bk, Buffer.from('A65959A6', 'hex'));
  return Buffer.concat([d.update(Buffer.from(wrapped, 'hex')), d.final()]);
}

describe('re-share with Backup Key rotation', () => {
  it('rebuilds the old Backup Key, splits a new one, re-wraps every key under it in the HSM with its check value compared, and the old backup restores nothing any more', async () => {
    const params = { backup: backupRun, from: ['Ann Archer', 'Ben Baker'], scheme: 'slip39', threshold: 2, holders: ['Cat Cole', 'Ben Baker', 'Ann Archer'], rotateBackupKey: true };
    // Too few old shares to rebuild the old Backup Key: refused at planning.
    expect((await failure(f.service.plan(f.session, { definition: 'custos/reshare', params: { ...params, from: ['Ann Archer'] }, participants: cast() }))).code).toBe('QUORUM_NOT_MET');
    // A rotation fingerprints differently from a plain re-share of the same set.
    const plain = await f.service.plan(f.session, { definition: 'custos/reshare', params: { ...params, rotateBackupKey: false }, participants: cast() });
    // A drill of the old backup planned before the rotation: its check after the rotation refuses.
    const early = await f.service.plan(f.session, { definition: 'custos/restore-drill', params: { backup: backupRun, holders: ['Ann Archer', 'Cat Cole'] }, participants: cast() });

    let v = await f.service.plan(f.session, { definition: 'custos/reshare', params, participants: cast() });
    expect(v.fingerprint.hex).not.toBe(plain.fingerprint.hex);
    await f.act(plain.run, { kind: 'abort', reason: 'the rotation is planned instead' }, 'Ada Admin');
    const run = v.run;
    rotationRun = run;
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // check
    const check = v.steps.find((s) => s.id === 'check')!.outcome!;
    expect(String(check.note)).toMatch(/Backup Key is rotated/);
    expect(String(check.note)).toMatch(/old wrapped blobs are shredded from this workstation’s archive file/);
    // The backup's bundle holds the old blobs (backup-blobs.json): listed, to be destroyed.
    expect((check.oldBlobBundles as Array<{ run: string; name: string }>).map((b) => b.run)).toEqual([backupRun]);
    expect(backupBundle).toContain((check.oldBlobBundles as Array<{ name: string }>)[0]!.name);
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'commit-reshare', person: c, proof: f.card(c) });
    // A share of another set: named, not counted.
    const [other] = await splitSecret({ secret: new Uint8Array(32).fill(9), groupThreshold: 1, groups: [{ threshold: 2, count: 3 }] }, webCryptoSlip39(globalThis.crypto));
    expect((await failure(f.service.act(f.session, run, { kind: 'enter-share', holder: 'Ann Archer', share: other![0]! }, null))).code).toBe('SHARE_SET_MISMATCH');
    v = await f.act(run, { kind: 'enter-share', holder: 'Ann Archer', share: oldShares['Ann Archer']! });
    v = await f.act(run, { kind: 'enter-share', holder: 'Ben Baker', share: oldShares['Ben Baker']! });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // rebuild the old key, draw the new one
    const rebuilt = v.steps.find((s) => s.kind === 'rebuild-backup-key')!.outcome!;
    const oldCheck = String(rebuilt.checkValue);
    const newCheck = (rebuilt.newBackupKey as { checkValue: string }).checkValue;
    expect(rebuilt.matches).toBe(true);
    expect(newCheck).toMatch(/^[0-9A-Fa-f]+$/);
    expect(newCheck).not.toBe(oldCheck);
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // split the new one
    for (const h of ['Cat Cole', 'Ben Baker', 'Ann Archer']) {
      newShares[h] = (await f.service.act(f.session, run, { kind: 'reveal', holder: h }, null)).reveal!.share;
      v = await f.act(run, { kind: 'handed-over', holder: h });
    }
    for (const h of ['Cat Cole', 'Ben Baker', 'Ann Archer']) v = await f.act(run, { kind: 'verify-share', holder: h, share: newShares[h]! });
    expect(v.current!.kind).toBe('commit-reshare');
    // Before the commit the archive file holds the old blobs (the backup's record and the plans that copied them).
    const archiveBytes = () => {
      const file = join(f.dataDir, 'archive.sqlite');
      return Buffer.concat([readFileSync(file), existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`) : Buffer.alloc(0)]);
    };
    expect(archiveBytes().includes(Buffer.from(oldBlobs[0]!.wrapped, 'ascii'))).toBe(true);
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    const commit = v.steps.find((s) => s.kind === 'commit-reshare')!.outcome!;
    expect(commit).toMatchObject({ reshareOf: backupRun, rotatedFrom: { run: backupRun, backupKeyCheck: oldCheck }, backupKeyCheck: newCheck, oldSharesValid: false, oldBlobsShredded: true, notShredded: [] });
    // Shredded: the backup's commit, and the plans that copied its blobs (this run's, the aborted plain re-share's, the early drill's).
    expect([...new Set((commit.shredded as Array<{ run: string }>).map((x) => x.run))].sort()).toEqual([backupRun, run, plain.run, early.run].sort());
    // The archive file (and its WAL) holds no copy of an old blob, as text or as bytes.
    const bytes = archiveBytes();
    for (const b of oldBlobs) {
      expect(bytes.includes(Buffer.from(b.wrapped, 'ascii')), `${b.target} as hex`).toBe(false);
      expect(bytes.includes(Buffer.from(b.wrapped, 'hex')), `${b.target} as bytes`).toBe(false);
    }
    // The old backup's journal still verifies (loading a run checks its chain), its blobs named by their SHA-256 only.
    const oldView = await f.service.view(backupRun);
    const kept = oldView.steps.find((x) => x.id === 'commit-backup')!.outcome!.blobs as Array<{ wrapped?: string; wrappedSha256: string }>;
    expect(kept.map((b) => b.wrapped)).toEqual([undefined, undefined]);
    expect(kept.map((b) => b.wrappedSha256)).toEqual(oldBlobs.map((b) => createHash('sha256').update(Buffer.from(b.wrapped, 'hex')).digest('hex')));
    // The old bundle, exported before, still verifies; so does the archive, row MACs and audit log included.
    expect((await f.service.verifyBundle(backupBundle)).ok).toBe(true);
    const door = new ArchiveDoor(f.hsm, f.dataDir);
    const verdict = await door.write(door.existing(), f.session, (a: ArchiveService) => a.verify({ withHsm: true }));
    expect(verdict.ok, JSON.stringify(verdict).slice(0, 2000)).toBe(true);
    const blobs = commit.blobs as typeof oldBlobs;
    expect((commit.results as Array<{ matches: boolean }>).map((r) => r.matches)).toEqual([true, true]);
    expect(blobs.map((b) => b.target)).toEqual(['archive-kek', 'archive-mac']);
    for (const [i, b] of blobs.entries()) {
      expect(b.wrapped).not.toBe(oldBlobs[i]!.wrapped);
      expect(b.checkValue).toBe(oldBlobs[i]!.checkValue);
    }
    // Nothing of the re-wrap stays on the token: no session copy, no Backup Key.
    expect(await f.hsm.call('objects', { path: SOFTHSM_MODULE, token: WS.label, ref: { label: `custos-backup-key/${run}` } })).toEqual([]);
    expect(await f.hsm.call('objects', { path: SOFTHSM_MODULE, token: WS.label, ref: { label: `custos-rewrap/${run}/archive-kek` } })).toEqual([]);
    // The new shares rebuild the new Backup Key, which opens the new KEK blob to the archive's KEK; the old shares' key does not open it.
    const newBk = await combineMnemonics([newShares['Cat Cole']!, newShares['Ann Archer']!], new Uint8Array(0), webCryptoSlip39(globalThis.crypto));
    expect(keyCheckValues('AES', newBk).cmac).toBe(newCheck);
    expect(keyCheckValues('AES', kwpUnwrap(newBk, blobs[0]!.wrapped)).cmac.toLowerCase()).toBe(kekCheck.toLowerCase());
    const oldBk = await combineMnemonics([oldShares['Ann Archer']!, oldShares['Cat Cole']!], new Uint8Array(0), webCryptoSlip39(globalThis.crypto));
    expect(() => kwpUnwrap(oldBk, blobs[0]!.wrapped)).toThrow();
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    v = await f.act(run, { kind: 'attest', person: 'Ann Archer', proof: f.card('Ann Archer') });
    v = await f.act(run, { kind: 'attest', person: 'Ben Baker', proof: f.card('Ben Baker') });
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    const att = v.steps.find((s) => s.kind === 'attest-destroyed')!.outcome!;
    expect((att.notAttested as Array<{ name: string }>).map((a) => a.name)).toEqual(['Cat Cole']);
    expect(String(att.note)).toMatch(/no longer uses/);
    await signOff(run);

    // The old backup restores nothing now: every use of it is refused, naming the rotation.
    for (const [definition, p] of [
      ['custos/restore-drill', { backup: backupRun, holders: ['Ann Archer', 'Cat Cole'] }],
      ['custos/restore', { backup: backupRun, holders: ['Ann Archer', 'Cat Cole'], destination: { token: REPLACEMENT.label } }],
      ['custos/share-audit', { backup: backupRun, holders: ['Ann Archer'] }],
      ['custos/reshare', { ...params, rotateBackupKey: false }],
    ] as const) {
      const e = await failure(f.service.plan(f.session, { definition, params: p, participants: cast() }));
      expect(e.code, definition).toBe('BACKUP_ROTATED');
      expect(e.message).toContain(run);
    }
    // The dashboard lists the rotation as the backup, and no longer the old one (no drill is due for it).
    const backups = (await f.service.status()).backups;
    expect(backups.map((b) => b.run)).toContain(run);
    expect(backups.map((b) => b.run)).not.toContain(backupRun);
    // The drill planned before the rotation: refused at its check, nothing unwrapped.
    let ev = await rollCall(f, early.run, everyone);
    ev = await f.act(early.run, { kind: 'login', pin: null }, 'Otto Operator');
    const late = await failure(f.service.act(f.session, early.run, { kind: 'run' }, 'Ada Admin'));
    expect(late.code).toBe('BACKUP_ROTATED');
    expect(late.message).toContain(run);
    void ev;
  }, 300_000);

  it('restores both keys from the new share set into a fresh SoftHSM token, matching the check values recorded at the original backup', async () => {
    expect(rotationRun).not.toBe('');
    // An old share is of another set now.
    const { run } = await upTo('custos/restore', { backup: rotationRun, holders: ['Cat Cole', 'Ben Baker'], destination: { token: REPLACEMENT.label } });
    for (const c of ['Ann Archer', 'Ben Baker']) await f.act(run, { kind: 'approve', step: 'unwrap-targets', person: c, proof: f.card(c) });
    expect((await failure(f.service.act(f.session, run, { kind: 'enter-share', holder: 'Ben Baker', share: oldShares['Ben Baker']! }, null))).code).toBe('SHARE_SET_MISMATCH');
    await f.act(run, { kind: 'enter-share', holder: 'Cat Cole', share: newShares['Cat Cole']! });
    await f.act(run, { kind: 'enter-share', holder: 'Ben Baker', share: newShares['Ben Baker']! });
    await f.act(run, { kind: 'run' }, 'Otto Operator');
    const v = (await f.service.act(f.session, run, { kind: 'unwrap', destPin: REPLACEMENT.user }, 'Otto Operator')).view;
    const out = v.steps.find((s) => s.kind === 'unwrap-targets')!.outcome!;
    expect((out.results as Array<{ matches: boolean; expected: string }>).map((r) => [r.matches, r.expected])).toEqual(oldBlobs.map((b) => [true, b.checkValue.toLowerCase()]));
    await f.hsm.call('login', { path: SOFTHSM_MODULE, token: REPLACEMENT.label, role: 'user', pin: REPLACEMENT.user });
    try {
      const kek = (await f.hsm.call('objects', { path: SOFTHSM_MODULE, token: REPLACEMENT.label, ref: { label: oldBlobs[0]!.label } }))[0]!;
      expect(kek).toMatchObject({ onToken: true, sensitive: true, wrapWithTrusted: true });
    } finally {
      await f.hsm.call('logout', { path: SOFTHSM_MODULE, token: REPLACEMENT.label });
    }
    await signOff(run);
  }, 180_000);

  it.skipIf(!nssAvailable())('restores the rotated backup into the NSS softoken, a second PKCS#11 implementation', async () => {
    const { run } = await upTo('custos/restore', { backup: rotationRun, holders: ['Ann Archer', 'Ben Baker'], destination: { module: NSS_MODULE, token: NSS_DB_TOKEN } });
    for (const c of ['Ben Baker', 'Cat Cole']) await f.act(run, { kind: 'approve', step: 'unwrap-targets', person: c, proof: f.card(c) });
    await f.act(run, { kind: 'enter-share', holder: 'Ann Archer', share: newShares['Ann Archer']! });
    await f.act(run, { kind: 'enter-share', holder: 'Ben Baker', share: newShares['Ben Baker']! });
    await f.act(run, { kind: 'run' }, 'Otto Operator');
    const v = (await f.service.act(f.session, run, { kind: 'unwrap', destPin: null }, 'Otto Operator')).view;
    expect((v.steps.find((s) => s.kind === 'unwrap-targets')!.outcome!.results as Array<{ matches: boolean }>).every((r) => r.matches)).toBe(true);
    await signOff(run);
  }, 180_000);

  it('stops the re-wrap at a blob whose check value does not match the one recorded, leaving no session object behind', async () => {
    // The old Backup Key (from two old shares) and a new one, as session keys on the workstation token.
    const t = { path: SOFTHSM_MODULE, token: WS.label };
    const oldBk = Buffer.from(await combineMnemonics([oldShares['Ann Archer']!, oldShares['Ben Baker']!], new Uint8Array(0), webCryptoSlip39(globalThis.crypto)));
    const oldId = randomBytes(16).toString('hex');
    const newId = randomBytes(16).toString('hex');
    await f.hsm.call('importSecretPlain', { ...t, value: oldBk, template: { kind: 'secret', keyType: 'aes', label: 'test-old-bk', idHex: oldId, usages: ['wrap'], extractable: false, onToken: false } });
    const newBk = randomBytes(32);
    await f.hsm.call('importSecretPlain', { ...t, value: Buffer.from(newBk), template: { kind: 'secret', keyType: 'aes', label: 'test-new-bk', idHex: newId, usages: ['wrap'], extractable: false, onToken: false } });
    try {
      // The MAC key's recorded check value altered by one digit: stopped there, nothing re-wrapped.
      const mac = oldBlobs[1]!;
      const wrong = { ...mac, checkValue: (mac.checkValue[0] === '0' ? '1' : '0') + mac.checkValue.slice(1) };
      const e = await failure(rewrapTargets(f.hsm, t, 'test-run', oldId, newId, [oldBlobs[0]!, wrong]));
      expect(e.code).toBe('CHECK_VALUE_MISMATCH');
      expect(e.message).toContain(mac.label);
      for (const target of ['archive-kek', 'archive-mac']) expect(await f.hsm.call('objects', { ...t, ref: { label: `custos-rewrap/test-run/${target}` } })).toEqual([]);
      // A blob not wrapped under the old Backup Key (another key's): RFC 5649's integrity check refuses it.
      const foreign = { ...oldBlobs[0]!, wrapped: oldBlobs[1]!.wrapped.slice(0, -2) + (oldBlobs[1]!.wrapped.endsWith('00') ? '01' : '00') };
      expect((await failure(rewrapTargets(f.hsm, t, 'test-run', oldId, newId, [foreign]))).code).toMatch(/^(WRAPPED_KEY_INVALID|CHECK_VALUE_MISMATCH|DECRYPTION_FAILED)$/);
      // The same blobs with the recorded values re-wrap, and the new blobs open under the new key to the same check values.
      const ok = await rewrapTargets(f.hsm, t, 'test-run', oldId, newId, oldBlobs);
      expect(ok.results.every((r) => r.matches)).toBe(true);
      expect(keyCheckValues('AES', kwpUnwrap(newBk, ok.blobs[0]!.wrapped)).cmac.toLowerCase()).toBe(kekCheck.toLowerCase());
    } finally {
      oldBk.fill(0);
      for (const id of [oldId, newId]) await f.hsm.call('destroy', { ...t, ref: { idHex: id } }).catch(() => undefined);
    }
  }, 120_000);
});
