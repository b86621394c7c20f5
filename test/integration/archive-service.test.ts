// ArchiveService against a real SoftHSM2 token and a real SQLite file: init, archiving keys,
// lifecycle, search, retrieval, custodians and ceremonies, read-only use without the HSM.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveService } from '../../electron/services/archive/service';
import { SOFTHSM_MODULE } from '../helpers/softhsm';
import { archiveFixture, failure, TOKEN, type ArchiveFixture } from './archive-helpers';

let f: ArchiveFixture;
let a: ArchiveService;

beforeAll(async () => {
  f = await archiveFixture('custos-archive-svc-');
  a = await f.init('Workstation A');
});

afterAll(async () => {
  a?.close();
  await f?.close();
});

const objects = (ref: { label?: string; idHex?: string }) => f.hsm.call('objects', { path: SOFTHSM_MODULE, token: TOKEN, ref });

describe('archive init', () => {
  it('creates the file and three HSM keys with the label convention and the right attributes', async () => {
    const info = a.info();
    expect(info).toMatchObject({ name: 'Workstation A', formatId: 'custos.archive', schemaVersion: 6, counts: { keys: 0, versions: 0, auditEntries: 2, checkpoints: 1 } });
    expect(info.keys.kek.label).toBe(`custos-archive-kek/${info.archiveId}`);
    expect(info.keys.mac.label).toBe(`custos-archive-mac/${info.archiveId}`);
    expect(info.keys.audit.label).toBe(`custos-audit/${info.archiveId}`);
    const [kek] = await objects({ label: info.keys.kek.label });
    expect(kek).toMatchObject({ kind: 'secret', keyType: 'aes', bits: 256, extractable: true, sensitive: true, usage: { wrap: true, unwrap: true, encrypt: false, sign: false } });
    const [mac] = await objects({ label: info.keys.mac.label });
    expect(mac).toMatchObject({ kind: 'secret', keyType: 'generic-secret', bits: 256, extractable: true, usage: { sign: true, wrap: false, encrypt: false } });
    const audit = await objects({ label: info.keys.audit.label });
    expect(audit.find((o) => o.kind === 'private')).toMatchObject({ keyType: 'ec', curve: 'P-256', extractable: false, usage: { sign: true } });
    // The recorded check value is the HSM's own CMAC check value of the KEK.
    const cv = await f.hsm.call('checkValue', { path: SOFTHSM_MODULE, token: TOKEN, ref: { label: info.keys.kek.label, kind: 'secret' } });
    expect(info.keys.kek.check).toBe(cv.cmacHex);
    expect(info.keys.audit.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(info.keys.audit.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('sets the file up as documented: WAL, application id, schema version, format id', () => {
    const db = new Database(a.path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('application_id', { simple: true })).toBe(0x43555354);
      expect(db.pragma('user_version', { simple: true })).toBe(6);
      expect(db.prepare("SELECT value FROM meta WHERE key = 'format'").pluck().get()).toBe('custos.archive');
    } finally {
      db.close();
    }
  });

  it('never overwrites an existing file, and leaves no keys behind when it refuses', async () => {
    const before = (await objects({})).length;
    const e = await failure(ArchiveService.init(a.path, { hsm: f.binding, name: 'again', actor: 't', anchors: f.anchors }));
    expect(e.code).toBe('ARCHIVE_EXISTS');
    expect((await objects({})).length).toBe(before);
  });
});

describe('archiving keys', () => {
  it('archives AES-128/192/256, HMAC and TDES keys with their check values', async () => {
    const keys = {
      a128: await f.generate('aes-128', 'hsm-aes-128'),
      a192: await f.generate('aes-192', 'hsm-aes-192'),
      a256: await f.generate('aes-256', 'hsm-aes-256'),
      hmac: await f.generate('hmac-256', 'hsm-hmac'),
      tdes: await f.generate('tdes', 'hsm-tdes'),
    };
    const r = await a.add(
      [
        { hsm: keys.a128, key: { label: 'k-aes-128', purpose: 'data-encryption', tags: ['Team-A', 'pci'] } },
        { hsm: keys.a192, key: { label: 'k-aes-192', purpose: 'key-wrapping', tags: ['team-a'] }, activate: true },
        { hsm: keys.a256, key: { label: 'k-aes-256', purpose: 'data-encryption', tags: ['team-b'], custodians: ['cust-1', 'cust-2'] }, activate: true },
        { hsm: keys.hmac, key: { label: 'k-hmac', purpose: 'authentication' }, activate: true },
        { hsm: keys.tdes, key: { label: 'k-tdes', purpose: 'key-wrapping' } },
      ],
      'alice',
    );
    expect(r.map((x) => [x.label, x.algorithm, x.state])).toEqual([
      ['k-aes-128', 'aes-128', 'pre-active'],
      ['k-aes-192', 'aes-192', 'active'],
      ['k-aes-256', 'aes-256', 'active'],
      ['k-hmac', 'hmac-256', 'active'],
      ['k-tdes', 'tdes', 'pre-active'],
    ]);
    for (const [label, ref] of [['k-aes-128', keys.a128], ['k-aes-256', keys.a256]] as const) {
      const cv = await f.hsm.call('checkValue', { path: SOFTHSM_MODULE, token: TOKEN, ref: { ...ref, kind: 'secret' } });
      const d = a.version(label);
      expect(d.summary.checkValue).toBe(cv.cmacHex);
      expect(d.checkMethod).toBe('aes-cmac');
      expect(d.checkLegacy).toBe(cv.ecbHex);
    }
    expect(a.version('k-tdes')).toMatchObject({ checkMethod: 'tdes-ecb' });
    expect(a.version('k-hmac')).toMatchObject({ checkMethod: 'hmac-sha256-zeros' });
    expect(a.version('k-hmac').summary.checkValue).toMatch(/^[0-9a-f]{10}$/);
    // RFC 5649 output lengths: 16 → 24, 24 → 32, 32 → 40 bytes.
    expect(a.version('k-aes-128').wrappedBytes).toBe(24);
    expect(a.version('k-aes-192').wrappedBytes).toBe(32);
    expect(a.version('k-aes-256').wrappedBytes).toBe(40);
    expect(a.version('k-aes-256').key).toMatchObject({ tags: ['team-b'], custodians: ['cust-1', 'cust-2'], policy: { id: 'sp800-57r5/data-encryption', originatorUsageMonths: 24, recipientExtraMonths: 36 } });
    expect(a.version('k-aes-128').key.tags).toEqual(['pci', 'team-a']);
  });

  it('refuses a key that is not extractable, naming why', async () => {
    const k = await f.generate('aes-256', 'hsm-locked', { extractable: false });
    const e = await failure(a.add([{ hsm: k, key: { label: 'locked', purpose: 'data-encryption' } }], 'alice'));
    expect(e.code).toBe('KEY_NOT_EXTRACTABLE');
    expect(e.message).toMatch(/not extractable/);
    expect(a.search({ label: 'locked' }).items).toEqual([]);
  });

  it('refuses private keys on a token whose AES-KWP is RFC 5649 only for aligned data (SoftHSM), with a clear reason', async () => {
    const probe = await f.hsm.call('probeWrap', { path: SOFTHSM_MODULE, token: TOKEN });
    expect(probe.aesKwp?.wrap).toBe('aligned');
    const k = await f.generate('ec-p256', 'hsm-ec', { extractable: true });
    const before = a.info().counts;
    const e = await failure(a.add([{ hsm: { ...k, kind: 'private' }, key: { label: 'ec-signing', purpose: 'signature' } }], 'alice'));
    expect(e.code).toBe('WRAP_MECHANISM_UNTRUSTED');
    expect(e.message).toMatch(/PKCS#8/);
    expect(e.action).toMatch(/AES, TDES and HMAC keys can be archived here/);
    expect(a.info().counts).toEqual(before);
  });

  it('refuses a new key without a purpose, an unknown HSM key and bad labels or tags', async () => {
    const k = await f.generate('aes-128', 'hsm-nopurpose');
    expect((await failure(a.add([{ hsm: k, key: { label: 'no-purpose' } }], 'x'))).code).toBe('INVALID_INPUT');
    expect((await failure(a.add([{ hsm: { label: 'does-not-exist' }, key: { label: 'x', purpose: 'data-encryption' } }], 'x'))).code).toBe('OBJECT_NOT_FOUND');
    expect((await failure(a.add([{ hsm: k, key: { label: ' padded', purpose: 'data-encryption' } }], 'x'))).code).toBe('INVALID_INPUT');
    expect((await failure(a.add([{ hsm: k, key: { label: 'ok', purpose: 'data-encryption', tags: ['Bad Tag!'] } }], 'x'))).code).toBe('INVALID_INPUT');
    expect((await failure(a.add([{ hsm: k, key: { label: 'k-aes-256', purpose: 'signature' } }], 'x'))).code).toBe('INVALID_INPUT');
  });
});

describe('lifecycle', () => {
  it('rotation: a new active version deactivates the old one in the same step; at most one active', async () => {
    const k2 = await f.generate('aes-256', 'hsm-aes-256-v2');
    const [r] = await a.add([{ hsm: k2, key: { label: 'k-aes-256' }, activate: true }], 'alice');
    expect(r).toMatchObject({ version: 2, state: 'active' });
    const versions = a.version('k-aes-256').versions;
    expect(versions.map((v) => [v.version, v.state])).toEqual([
      [2, 'active'],
      [1, 'deactivated'],
    ]);
    expect(versions[1]!.deactivationDate).toBe(versions[0]!.activationDate);
    expect(a.history(versions[1]!.versionId).map((h) => [h.from, h.to, h.reason])).toEqual([
      [null, 'active', null],
      ['active', 'deactivated', 'rotation'],
    ]);
    // The database itself refuses a second active version, whatever the code does.
    const db = new Database(a.path);
    try {
      expect(() => db.prepare("UPDATE key_versions SET state = 'active' WHERE id = ?").run(versions[1]!.versionId)).toThrow(/lifecycle|UNIQUE/);
    } finally {
      db.close();
    }
  });

  it('walks suspend → resume → deactivate → compromise → destroy, with dates, and shreds the material', async () => {
    const id = a.version('k-hmac').summary.versionId;
    await a.transition(id, 'suspend', { actor: 'bob', reason: 'audit' });
    await a.transition(id, 'resume', { actor: 'bob' });
    await a.transition(id, 'deactivate', { actor: 'bob' });
    await a.transition(id, 'compromise', { actor: 'carol', reason: 'laptop lost' });
    const d0 = a.version(id);
    expect(d0.summary.state).toBe('compromised');
    expect(d0.compromiseDate).not.toBeNull();
    expect(d0.summary.hasMaterial).toBe(true);
    await a.transition(id, 'destroy', { actor: 'carol', reason: 'end' });
    const d = a.version(id);
    expect(d.summary).toMatchObject({ state: 'destroyed-compromised', hasMaterial: false });
    expect(d.wrappedBytes).toBeNull();
    expect(d.destroyedDate).not.toBeNull();
    expect(d.history.map((h) => h.to)).toEqual(['active', 'suspended', 'active', 'deactivated', 'compromised', 'destroyed-compromised']);
    expect(d.allowedActions).toEqual([]);
    // Shredded means gone from the file, not just hidden: the WAL was truncated after the update.
    const db = new Database(a.path, { readonly: true });
    try {
      expect(db.prepare('SELECT wrapped FROM key_versions WHERE id = ?').pluck().get(id)).toBeNull();
    } finally {
      db.close();
    }
  });

  it('refuses illegal transitions in the service and in the database', async () => {
    const e = await failure(a.transition('k-aes-256@2', 'destroy', { actor: 'x' }));
    expect(e.code).toBe('LIFECYCLE_TRANSITION_INVALID');
    expect(e.action).toMatch(/suspend, deactivate, compromise/);
    expect((await failure(a.transition('k-hmac', 'activate', { actor: 'x' }))).code).toBe('LIFECYCLE_TRANSITION_INVALID');
    const db = new Database(a.path);
    try {
      const id = a.version('k-hmac').summary.versionId;
      expect(() => db.prepare("UPDATE key_versions SET state = 'active' WHERE id = ?").run(id)).toThrow(/illegal lifecycle transition/);
      expect(() => db.prepare('DELETE FROM key_versions WHERE id = ?').run(id)).toThrow(/never deleted/);
      expect(() => db.prepare('DELETE FROM audit_entries WHERE seq = 1').run()).toThrow(/append-only/);
      expect(() => db.prepare("UPDATE audit_entries SET entry = '{}' WHERE seq = 1").run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
  });

  it('a suspended version cannot be resumed over a newer active one', async () => {
    await a.add([{ hsm: await f.generate('aes-128', 'susp-1'), key: { label: 'susp', purpose: 'data-encryption' }, activate: true }], 'alice');
    await a.transition('susp@1', 'suspend', { actor: 'bob' });
    await a.add([{ hsm: await f.generate('aes-128', 'susp-2'), key: { label: 'susp' }, activate: true }], 'alice');
    const e = await failure(a.transition('susp@1', 'resume', { actor: 'bob' }));
    expect(e.code).toBe('ARCHIVE_CONFLICT');
    expect(e.message).toMatch(/Version 2 of "susp" became active while version 1 was suspended/);
    expect(a.search({ label: 'susp' }).items.map((v) => v.state)).toEqual(['active', 'suspended']);
  });

  it('pre-active versions can be activated later; rotation-due follows the policy', async () => {
    const v = await a.transition('k-aes-128', 'activate', { actor: 'alice' });
    expect(v.state).toBe('active');
    const d = a.version('k-aes-128');
    const act = new Date(d.summary.activationDate!);
    const due = new Date(d.summary.rotationDue!);
    expect(due.getUTCFullYear() - act.getUTCFullYear()).toBe(2);
    expect(d.processStopDate!.slice(0, 4)).toBe(String(act.getUTCFullYear() + 5));
  });
});

describe('search', () => {
  beforeAll(async () => {
    // Keys that were in use before they were archived, with their real activation dates.
    const pool = [await f.generate('aes-256', 'hist-1'), await f.generate('aes-256', 'hist-2'), await f.generate('aes-256', 'hist-3')];
    await a.add([{ hsm: pool[0]!, key: { label: 'payments-dek', purpose: 'data-encryption', tags: ['payments'] }, activate: true, activationDate: '2019-01-15T00:00:00.000Z' }], 'alice');
    await a.add([{ hsm: pool[1]!, key: { label: 'payments-dek' }, activate: true, activationDate: '2021-01-15T00:00:00.000Z' }], 'alice');
    await a.add([{ hsm: pool[2]!, key: { label: 'payments-dek' }, activate: true, activationDate: '2023-01-15T00:00:00.000Z' }], 'alice');
  });

  it('answers the old-data question: which version was active for a purpose on a date', () => {
    const on = (date: string) => a.search({ activeFor: { purpose: 'data-encryption', on: date }, label: 'payments-dek' }).items.map((v) => v.version);
    expect(on('2018-12-31')).toEqual([]);
    expect(on('2019-06-01')).toEqual([1]);
    expect(on('2021-01-15')).toEqual([2]);
    expect(on('2022-12-31T23:59:59Z')).toEqual([2]);
    expect(on('2024-06-01')).toEqual([3]);
    const all = a.search({ activeFor: { purpose: 'data-encryption', on: '2020-02-02' } }).items.map((v) => v.label);
    expect(all).toEqual(['payments-dek']);
  });

  it('filters by label (exact and prefix), tag, algorithm, state, purpose, custodian and date ranges', () => {
    const labels = (q: object) => a.search(q).items.map((v) => `${v.label}@${v.version}`);
    expect(labels({ label: 'k-aes-256' })).toEqual(['k-aes-256@2', 'k-aes-256@1']);
    expect(labels({ label: 'k-aes-1*' })).toEqual(['k-aes-128@1', 'k-aes-192@1']);
    expect(labels({ tags: ['team-a'] })).toEqual(['k-aes-128@1', 'k-aes-192@1']);
    expect(labels({ tags: ['team-a', 'pci'] })).toEqual(['k-aes-128@1']);
    expect(labels({ tags: ['TEAM-B'] })).toEqual(['k-aes-256@2', 'k-aes-256@1']);
    expect(labels({ algorithm: ['tdes', 'hmac-256'] })).toEqual(['k-hmac@1', 'k-tdes@1']);
    expect(labels({ state: ['deactivated'], purpose: ['data-encryption'] })).toEqual(['k-aes-256@1', 'payments-dek@2', 'payments-dek@1']);
    expect(labels({ custodian: 'cust-2' })).toEqual(['k-aes-256@2', 'k-aes-256@1']);
    expect(labels({ activated: { from: '2020-01-01', to: '2022-01-01' } })).toEqual(['payments-dek@2']);
    expect(labels({ deactivated: { to: '2022-01-01' } })).toEqual(['payments-dek@1']);
    expect(labels({ created: { from: '2000-01-01' }, label: 'k-tdes' })).toEqual(['k-tdes@1']);
    expect(labels({ created: { to: '2000-01-01' } })).toEqual([]);
  });

  it('pages and sorts, and counts when asked', () => {
    const page1 = a.search({ sort: 'label', limit: 3, countTotal: true });
    const page2 = a.search({ sort: 'label', limit: 3, offset: 3 });
    expect(page1.items).toHaveLength(3);
    expect(page1.hasMore).toBe(true);
    expect(page1.total).toBe(a.info().counts.versions);
    expect(page2.items[0]!.label >= page1.items[2]!.label).toBe(true);
    const byActivation = a.search({ sort: 'activation', order: 'asc', label: 'payments-dek' }).items.map((v) => v.version);
    expect(byActivation).toEqual([1, 2, 3]);
    const desc = a.search({ sort: 'activation', label: 'payments-dek' }).items.map((v) => v.version);
    expect(desc).toEqual([3, 2, 1]);
  });

  it('refuses malformed queries with a typed error', async () => {
    for (const q of [{ limit: 0 }, { limit: 501 }, { state: ['gone'] }, { purpose: 'x' }, { created: { from: 'soon' } }, { activeFor: { purpose: 'data-encryption' } }, { sort: 'size' }, { nope: 1 }, null]) {
      expect((await failure(() => a.search(q))).code).toBe('INVALID_INPUT');
    }
  });
});

describe('retrieval and the audit trail', () => {
  it('restores an archived AES key into the HSM, compares its check value, and audits it', async () => {
    const v = a.version('k-aes-128');
    const r = await a.restore(v.summary.versionId, { label: 'restored-aes-128', usages: ['encrypt'], onToken: false }, 'alice');
    expect(r.checked).toBe(true);
    expect(r.object).toMatchObject({ kind: 'secret', keyType: 'aes', onToken: false, extractable: false });
    const cv = await f.hsm.call('checkValue', { path: SOFTHSM_MODULE, token: TOKEN, ref: { label: 'restored-aes-128', kind: 'secret' } });
    expect(cv.cmacHex).toBe(v.summary.checkValue);
    const trail = a.auditTrail({ keyId: v.key.keyId });
    expect(trail.entries[0]).toMatchObject({ action: 'version.retrieve', actor: 'alice', objectId: v.summary.versionId });
    expect(JSON.stringify(trail)).not.toMatch(/"wrapped"/);
  });

  it('an HMAC key is restored and checked by its HMAC check value', async () => {
    const [r] = await a.add([{ hsm: await f.generate('hmac-256', 'hsm-hmac-2'), key: { label: 'k-hmac-2', purpose: 'authentication' } }], 'alice');
    const res = await a.restore(r!.versionId, { label: 'restored-hmac', usages: ['sign'], onToken: false }, 'alice');
    expect(res.checked).toBe(true);
  });

  it('refuses to restore shredded material', async () => {
    expect((await failure(a.restore('k-hmac', { label: 'x', usages: ['sign'] }, 'alice'))).code).toBe('ARCHIVE_RECORD_NOT_FOUND');
  });

  it('the per-key audit trail lists every step about the key, newest first; details carry no key material', () => {
    const keyId = a.version('payments-dek').key.keyId;
    const trail = a.auditTrail({ keyId, limit: 100 });
    expect(trail.entries.map((e) => e.action)).toEqual(['version.add', 'version.deactivate', 'version.add', 'version.deactivate', 'version.add', 'key.create']);
    const all = JSON.stringify(a.auditTrail({ limit: 500 }));
    expect(all).not.toMatch(/wrapped|"value"/);
  });
});

describe('custodians, share sets, ceremonies', () => {
  it('records them through the same MACed, audited path', async () => {
    const c = await a.saveCustodian({ name: 'Dana', roles: ['custodian', 'witness'] }, 'admin');
    await a.saveCustodian({ id: c, name: 'Dana K.', roles: ['custodian'] }, 'admin');
    const keyId = a.version('k-aes-256').key.keyId;
    await a.saveShareSet({ keyId, scheme: 'slip39', threshold: 2, shareCount: 3, holders: ['Dana', 'Eli', 'Fay'], fingerprint: 'abcd' }, 'admin');
    const cer = await a.startCeremony({ scriptId: 'backup', scriptVersion: 1, fingerprint: 'ff00', parameters: { key: 'k-aes-256', m: 2, n: 3 } }, 'admin');
    expect(await a.journal(cer, { action: 'step.done', details: { step: 1 } }, 'admin')).toBe(1);
    expect(await a.journal(cer, { action: 'step.done', details: { step: 2 } }, 'admin')).toBe(2);
    await a.recordApproval({ ceremonyId: cer, custodianId: c, decision: 'approve' }, 'Dana');
    await a.finishCeremony(cer, 'completed', 'admin');
    const actions = a.auditTrail({ limit: 10 }).entries.map((e) => e.action);
    expect(actions.slice(0, 5)).toEqual(['ceremony.completed', 'ceremony.approval', 'ceremony.step', 'ceremony.step', 'ceremony.start']);
    expect((await failure(a.saveShareSet({ scheme: 'slip39', threshold: 4, shareCount: 3, holders: [], fingerprint: 'x' }, 'admin'))).code).toBe('INVALID_INPUT');
  });

  it('reads them back as typed records: a ceremony with its journal in step order and its approvals', async () => {
    const c = await a.saveCustodian({ name: 'Gil', roles: ['witness', 'custodian', 'witness'] }, 'admin');
    expect(a.custodian(c)).toMatchObject({ id: c, name: 'Gil', roles: ['custodian', 'witness'], publicSpki: null, fingerprint: null, status: 'active', revision: 1, originArchive: a.archiveId });
    const set = await a.saveShareSet({ scheme: 'slip39', threshold: 2, shareCount: 3, holders: ['Gil', 'Hal', 'Ida'], fingerprint: 'beef' }, 'admin');
    expect(a.shareSet(set)).toMatchObject({ id: set, keyId: null, scheme: 'slip39', threshold: 2, shareCount: 3, groups: null, holders: ['Gil', 'Hal', 'Ida'], fingerprint: 'beef', status: 'active' });
    const cer = await a.startCeremony({ scriptId: 'drill', scriptVersion: 2, fingerprint: 'aa55', parameters: { set, m: 2 } }, 'admin');
    await a.journal(cer, { action: 'share.entered', details: { holder: 'Gil' } }, 'Gil');
    await a.journal(cer, { action: 'share.entered', details: { holder: 'Hal' } }, 'Hal');
    await a.recordApproval({ ceremonyId: cer, custodianId: c, decision: 'approve', proof: new Uint8Array([1, 2, 3]) }, 'Gil');
    const running = a.ceremony(cer);
    expect(running).toMatchObject({ id: cer, scriptId: 'drill', scriptVersion: 2, fingerprint: 'aa55', parameters: { set, m: 2 }, status: 'running', endedAt: null });
    expect(running.journal.map((j) => [j.step, j.actor, j.action, j.details])).toEqual([
      [1, 'Gil', 'share.entered', { holder: 'Gil' }],
      [2, 'Hal', 'share.entered', { holder: 'Hal' }],
    ]);
    expect(running.approvals).toMatchObject([{ custodianId: c, decision: 'approve' }]);
    expect([...running.approvals[0]!.proof!]).toEqual([1, 2, 3]);
    await a.finishCeremony(cer, 'aborted', 'admin');
    expect(a.ceremony(cer)).toMatchObject({ status: 'aborted', endedAt: expect.any(String) });
    expect((await failure(() => a.ceremony('no-such-ceremony'))).code).toBe('ARCHIVE_RECORD_NOT_FOUND');
  });

  it("the ceremony engine's rows (a run created, then finished) each have the audit entry that binds them", async () => {
    const run = 'run-bound-1';
    const entry = (seq: number, action: string) => ({ seq, at: new Date().toISOString(), actor: 'Ada', action, details: '{}', audit: { actor: 'Ada', details: {} } });
    await a.ceremonyRows.append({
      run,
      create: { definition: { hash: 'ab'.repeat(32), id: 'custos/test', revision: 1, type: 'enrolment', body: '{}' }, parameters: {}, fingerprint: 'cd'.repeat(32) },
      afterSeq: 0,
      entries: [entry(1, 'run.planned')],
      osUser: 'tester',
    });
    await a.ceremonyRows.append({ run, afterSeq: 1, entries: [entry(2, 'run.completed')], runUpdate: { status: 'completed', ended: true }, osUser: 'tester' });
    expect(a.auditTrail({ action: 'ceremony.run' }).entries.map((e) => (e.details as { status: string }).status)).toEqual(['completed', 'running']);
    expect((await a.verify({ withHsm: true })).problems.filter((p) => p.table === 'ceremonies')).toEqual([]);
  });

  it('the whole archive verifies, with every row MAC checked in the HSM', async () => {
    const v = await a.verify();
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, withHsm: true, firstBadEntry: null });
    expect(v.rows).toBeGreaterThan(20);
  });
});

describe('without the HSM', () => {
  it('searches, shows and verifies the chain read-only; anything that writes says it needs the HSM', async () => {
    const ro = ArchiveService.open(a.path, { readonly: true, anchors: f.anchors });
    try {
      expect(ro.search({ label: 'payments-dek' }).items).toHaveLength(3);
      expect(ro.version('payments-dek@2').summary.state).toBe('deactivated');
      const v = await ro.verify({ withHsm: false });
      expect(v).toMatchObject({ ok: true, withHsm: false, rows: 0 });
      expect((await failure(ro.transition('k-aes-192', 'suspend', { actor: 'x' }))).code).toBe('INVALID_INPUT');
    } finally {
      ro.close();
    }
    const noHsm = ArchiveService.open(a.path, { anchors: f.anchors });
    try {
      const e = await failure(noHsm.transition('k-aes-192', 'suspend', { actor: 'x' }));
      expect(e.code).toBe('NOT_LOGGED_IN');
      expect(e.action).toMatch(/--module and --token/);
      expect((await failure(noHsm.verify({ withHsm: true }))).code).toBe('NOT_LOGGED_IN');
    } finally {
      noHsm.close();
    }
    expect(existsSync(a.path)).toBe(true);
  });
});
