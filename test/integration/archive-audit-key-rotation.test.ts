// Audit key rotation (issue #10 part 4) on a real SoftHSM2 token and a real archive file:
//   - the handover: one entry, in a commit the old key signed, naming both keys with the new key's
//     signature; checkpoints after it signed by the new key; the old public key kept (audit_keys,
//     archive info), so `verify` checks every old checkpoint under it; the pin moves;
//   - a workstation that pinned the old key follows the handover when it opens the archive;
//   - a bundle the old key signed still reads;
//   - attacks: the stored key swapped after a rotation, a forged handover to an attacker's key, a
//     handover entry altered: each detected;
//   - a process killed after the new key pair was made, and after the handover commit: the archive
//     verifies after each, and the rotation completes when run again.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnchorStore } from '../../electron/services/archive/anchors';
import { exportBundle, readBundle } from '../../electron/services/archive/bundle';
import { ArchiveService } from '../../electron/services/archive/service';
import { auditEntryText, checkpointText, handoverStatement } from '../../shared/archive/canonical';
import { ecdsaRawToDer } from '../../electron/services/formats/ecdsa';
import { spkiToPem } from '../../electron/services/formats/publicKey';
import { DIST, HOST_SCRIPT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { archiveFixture, failure, TOKEN, USER_PIN, type ArchiveFixture } from './archive-helpers';

let f: ArchiveFixture;
let a: ArchiveService;
let file: string;
let oldBundle: string;
let oldFp: string;
let newFp: string;

beforeAll(async () => {
  f = await archiveFixture('custos-audit-rot-');
  a = await f.init();
  file = a.path;
  const k = await f.generate('aes-256', 'h-one');
  await a.add([{ hsm: k, key: { label: 'one', purpose: 'data-encryption' } }], 'alice');
  oldBundle = f.file('old-bundle.jsonl');
  await exportBundle(a, oldBundle, { all: true }, 'alice');
}, 60_000);

afterAll(async () => {
  a?.close();
  await f?.close();
});

const pinOf = (anchors: AnchorStore) => anchors.pinnedAuditKey(a.archiveId);

describe('rotating the audit key', () => {
  it('hands over in one commit signed by the old key, names the new key with its signature, moves the pin and keeps the old public key', async () => {
    oldFp = a.workstation.audit_fingerprint;
    const oldSpki = a.workstation.audit_spki;
    const oldLabel = a.workstation.audit_label;
    expect(pinOf(f.anchors)).toBe(oldFp);
    const wrong = await failure(a.rotateAuditKey({ actor: 'alice', expectFrom: 'ab'.repeat(32) }));
    expect(wrong.code).toBe('CHECK_VALUE_MISMATCH');
    expect(a.workstation.audit_fingerprint).toBe(oldFp);
    const before = a.info().lastCheckpoint!.seq;
    const r = await a.rotateAuditKey({ actor: 'alice', expectFrom: oldFp });
    newFp = r.to.fingerprint;
    expect(r).toMatchObject({ from: { fingerprint: oldFp, label: oldLabel }, alreadyDone: false, handoverSeq: before + 1 });
    expect(r.to.label).toMatch(/^custos-audit\/.+\/2$/);
    expect(newFp).not.toBe(oldFp);
    expect(a.workstation.audit_fingerprint).toBe(newFp);
    expect(pinOf(f.anchors)).toBe(newFp);

    const { db } = a.internals;
    const entry = JSON.parse(db.prepare('SELECT entry FROM audit_entries WHERE seq = ?').pluck().get(r.handoverSeq) as string) as { action: string; details: { from: { spki: string }; to: { spki: string; fingerprint: string }; toSignature: string } };
    expect(entry.action).toBe('archive.audit.handover');
    expect(Buffer.from(entry.details.from.spki, 'base64').equals(oldSpki)).toBe(true);
    expect(createHash('sha256').update(Buffer.from(entry.details.to.spki, 'base64')).digest('hex')).toBe(newFp);
    // The handover's checkpoint is the old key's; the next commit's is the new key's.
    const cpOf = (seq: number) => db.prepare('SELECT key_fingerprint FROM checkpoints WHERE seq >= ? ORDER BY seq LIMIT 1').pluck().get(seq);
    expect(cpOf(r.handoverSeq)).toBe(oldFp);
    await a.note([{ actor: 'alice', action: 'test.after-rotation' }]);
    expect(db.prepare('SELECT key_fingerprint FROM checkpoints ORDER BY seq DESC LIMIT 1').pluck().get()).toBe(newFp);

    // The old public key stays in the record; the info shows it.
    const info = a.info();
    expect(info.keys.audit.fingerprint).toBe(newFp);
    expect(info.keys.audit.retired).toEqual([expect.objectContaining({ fingerprint: oldFp, label: oldLabel, handoverSeq: r.handoverSeq })]);
    expect(info.auditKey).toMatchObject({ stored: newFp, pinned: newFp, matchesPin: true });
    expect(a.auditKeys().map((k) => [k.fingerprint, k.state])).toEqual([[oldFp, 'retired'], [newFp, 'current']]);

    // Every old and new checkpoint verifies, with the HSM (row MACs, the HSM's audit key) and without.
    const v = await a.verify({ withHsm: true });
    expect(v.problems).toEqual([]);
    expect(v.auditKey).toMatchObject({ matchesHsm: true, matchesPin: true });
    const ro = ArchiveService.open(file, { readonly: true, anchors: f.anchors });
    try {
      expect((await ro.verify()).problems).toEqual([]);
    } finally {
      ro.close();
    }
    // The old private key may no longer sign (deactivated, kept in the HSM).
    const old = await f.hsm.call('objects', { path: SOFTHSM_MODULE, token: TOKEN, ref: { label: oldLabel, kind: 'private' } });
    expect(old).toHaveLength(1);
    expect(r.oldKeyRestricted).toBe(true);
    expect(old[0]!.usage.sign).toBe(false);
  }, 60_000);

  it('an archive opened here before another process rotated the audit key refuses to write (ARCHIVE_CONFLICT), and nothing is written', async () => {
    const b = ArchiveService.open(file, { hsm: f.binding, anchors: f.anchors });
    try {
      const other = ArchiveService.open(file, { hsm: f.binding, anchors: f.anchors });
      const before = other.info().counts.auditEntries;
      await b.rotateAuditKey({ actor: 'other process' });
      const e = await failure(other.note([{ actor: 'stale', action: 'test.stale' }]));
      expect(e.code).toBe('ARCHIVE_CONFLICT');
      expect(e.message).toMatch(/rotated by another process/);
      const entries = other.info().counts.auditEntries;
      other.close();
      expect(entries).toBeGreaterThan(before);
      expect(a.info().counts.auditEntries).toBe(entries);
      expect((await b.verify({ withHsm: true })).problems).toEqual([]);
    } finally {
      b.close();
    }
    // The service used elsewhere in this file follows: reopened, it signs with the newest key.
    a.close();
    a = ArchiveService.open(file, { hsm: f.binding, anchors: f.anchors });
    newFp = a.workstation.audit_fingerprint;
    await a.note([{ actor: 'alice', action: 'test.reopened' }]);
    expect((await a.verify({ withHsm: true })).problems).toEqual([]);
  });

  it('a bundle the old key signed still reads; a new one is signed by the new key', async () => {
    const checked = await readBundle(a, oldBundle);
    expect(checked.signer).toMatchObject({ fingerprint: oldFp });
    expect(checked.signer.name).toMatch(/retired/);
    const path = f.file('new-bundle.jsonl');
    await exportBundle(a, path, { all: true }, 'alice');
    expect((await readBundle(a, path)).signer.fingerprint).toBe(newFp);
  });

  it('the audit export carries the retired key, named by its fingerprint, and every checkpoint verifies with OpenSSL-equivalent checks against the key it names', async () => {
    const dir = f.file('audit-export');
    a.exportAudit(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { publicKeyFingerprint: string; retiredKeyFingerprints: string[]; files: Record<string, string> };
    expect(manifest.publicKeyFingerprint).toBe(newFp);
    // Two rotations by now (the test above rotated again): the first key first.
    expect(manifest.retiredKeyFingerprints).toHaveLength(2);
    expect(manifest.retiredKeyFingerprints[0]).toBe(oldFp);
    const keys = new Map([[newFp, readFileSync(join(dir, 'audit-public-key.pem'), 'utf8')], ...manifest.retiredKeyFingerprints.map((fp) => [fp, readFileSync(join(dir, `audit-public-key-${fp}.pem`), 'utf8')] as [string, string])]);
    expect(manifest.files[`audit-public-key-${oldFp}.pem`]).toBe(createHash('sha256').update(keys.get(oldFp)!).digest('hex'));
    const lines = readFileSync(join(dir, 'checkpoints.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; message: string; signature_der: string });
    expect(new Set(lines.map((l) => l.key))).toEqual(new Set(keys.keys()));
    for (const l of lines) expect(nodeVerify('sha256', Buffer.from(l.message), keys.get(l.key)!, Buffer.from(l.signature_der, 'base64'))).toBe(true);
  });

  it('a workstation that pinned the old key follows the handover when it opens the archive, and verifies it', async () => {
    const other = new AnchorStore(f.file('other-data'));
    other.record(a.archiveId, { seq: 1, headHash: a.internals.db.prepare('SELECT head FROM checkpoints WHERE seq = 1').pluck().get() as string, at: new Date().toISOString(), path: file, auditKey: oldFp });
    expect(other.pinnedAuditKey(a.archiveId)).toBe(oldFp);
    const s = ArchiveService.open(file, { readonly: true, anchors: other });
    try {
      expect(other.pinnedAuditKey(a.archiveId)).toBe(newFp);
      expect((await s.verify()).problems).toEqual([]);
    } finally {
      s.close();
    }
  });

  it('custos audit verify --public-key accepts the key written down at creation (the log hands over from it), and refuses it for a copy whose key was swapped after the rotation', async () => {
    a.internals.db.pragma('wal_checkpoint(TRUNCATE)');
    const pem = f.file('created.pem');
    writeFileSync(pem, spkiToPem(a.auditKeys().find((k) => k.fingerprint === oldFp)!.spki));
    const elsewhere = { ...f.fx.env, CUSTOS_DATA_DIR: mkdtempSync(join(f.fx.dir, 'elsewhere-')) };
    const run = (file: string) => spawnSync(process.execPath, [join(DIST, 'cli.cjs'), 'audit', 'verify', '--archive', file, '--public-key', pem, '--json'], { env: elsewhere, encoding: 'utf8' });
    const good = run(file);
    expect(good.status, good.stdout + good.stderr).toBe(0);
    expect((JSON.parse(good.stdout) as { ok: boolean }).ok).toBe(true);
    // A copy whose stored key was swapped (no handover to it): the given key no longer reaches it.
    const copy = f.file('swapped-cli.custos');
    copyFileSync(file, copy);
    const db = new Database(copy);
    for (const t of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").pluck().all() as string[]) db.exec(`DROP TRIGGER "${t}"`);
    const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    db.prepare('UPDATE workstation SET audit_spki = ?, audit_fingerprint = ?').run(spki, createHash('sha256').update(spki).digest('hex'));
    db.close();
    const bad = run(copy);
    expect(bad.status).not.toBe(0);
    expect((JSON.parse(bad.stdout) as { error: { code: string } }).error.code).toBe('AUDIT_CHAIN_BROKEN');
  });

  it('a swapped audit key is still detected after a rotation: the stored key replaced and the log re-signed', async () => {
    const copy = f.file('swapped.custos');
    a.internals.db.pragma('wal_checkpoint(TRUNCATE)');
    copyFileSync(file, copy);
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const fp = createHash('sha256').update(spki).digest('hex');
    const db = new Database(copy);
    for (const t of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").pluck().all() as string[]) db.exec(`DROP TRIGGER "${t}"`);
    db.prepare('UPDATE workstation SET audit_spki = ?, audit_fingerprint = ?').run(spki, fp);
    // Every checkpoint after the handover re-signed with the attacker's key.
    const cps = db.prepare('SELECT seq, head, at FROM checkpoints WHERE key_fingerprint = ?').all(newFp) as Array<{ seq: number; head: string; at: string }>;
    for (const c of cps) {
      const raw = nodeSign('sha256', Buffer.from(checkpointText({ archive: a.archiveId, seq: c.seq, head: c.head, at: c.at, key: fp })), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      db.prepare('UPDATE checkpoints SET key_fingerprint = ?, signature_raw = ?, signature_der = ? WHERE seq = ?').run(fp, raw, ecdsaRawToDer(raw), c.seq);
    }
    db.close();
    expect((await failure(() => ArchiveService.open(copy, { readonly: true, anchors: f.anchors }))).code).toBe('ARCHIVE_TAMPERED');
    // A workstation that pinned the old key is not fooled either: the last handover names another key.
    const other = new AnchorStore(f.file('other-data-2'));
    other.record(a.archiveId, { seq: 1, headHash: a.internals.db.prepare('SELECT head FROM checkpoints WHERE seq = 1').pluck().get() as string, at: new Date().toISOString(), path: copy, auditKey: oldFp });
    expect((await failure(() => ArchiveService.open(copy, { readonly: true, anchors: other }))).code).toBe('ARCHIVE_TAMPERED');
    const s = ArchiveService.open(copy, { readonly: true, anchors: f.anchors, reportAuditKey: true });
    try {
      const v = await s.verify();
      expect(v.ok).toBe(false);
      expect(v.problems.map((p) => p.message).join('\n')).toMatch(/not the one the last handover names|not the one this workstation pinned/);
    } finally {
      s.close();
    }
  });

  it('a forged handover from the real key to an attacker\'s key is detected (the old key never signed it; the new key\'s statement is the forger\'s own)', async () => {
    const copy = f.file('forged.custos');
    a.internals.db.pragma('wal_checkpoint(TRUNCATE)');
    copyFileSync(file, copy);
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const fp = createHash('sha256').update(spki).digest('hex');
    const sign = (m: string | Buffer) => nodeSign('sha256', Buffer.from(m), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const db = new Database(copy);
    for (const t of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").pluck().all() as string[]) db.exec(`DROP TRIGGER "${t}"`);
    const last = db.prepare('SELECT seq, entry, hash FROM audit_entries ORDER BY seq DESC LIMIT 1').get() as { seq: number; entry: string; hash: string };
    const cur = a.workstation;
    const at = new Date(Date.now() + 60_000).toISOString();
    const details = { from: { fingerprint: newFp, label: cur.audit_label, id: cur.audit_id, spki: cur.audit_spki.toString('base64') }, to: { fingerprint: fp, label: 'x', id: 'x', spki: spki.toString('base64') }, toSignature: sign(handoverStatement(a.archiveId, newFp, fp)).toString('hex'), ceremony: null };
    const text = auditEntryText({ archive: a.archiveId, seq: last.seq + 1, prev: last.hash, at, actor: 'mallory', action: 'archive.audit.handover', object_type: null, object_id: null, key_id: null, object_mac: null, details: JSON.stringify(details) });
    const head = createHash('sha256').update(text).digest('hex');
    db.prepare('INSERT INTO audit_entries (seq, entry, hash) VALUES (?, ?, ?)').run(last.seq + 1, text, head);
    // The forger cannot sign the covering checkpoint with the real key: it signs with its own.
    const raw = sign(checkpointText({ archive: a.archiveId, seq: last.seq + 1, head, at, key: fp }));
    db.prepare('INSERT INTO checkpoints (seq, head, at, key_fingerprint, signature_raw, signature_der) VALUES (?, ?, ?, ?, ?, ?)').run(last.seq + 1, head, at, fp, raw, ecdsaRawToDer(raw));
    db.prepare('UPDATE workstation SET audit_spki = ?, audit_fingerprint = ?').run(spki, fp);
    db.close();
    expect((await failure(() => ArchiveService.open(copy, { readonly: true, anchors: f.anchors }))).code).toBe('ARCHIVE_TAMPERED');
    const s = ArchiveService.open(copy, { readonly: true, anchors: f.anchors, reportAuditKey: true });
    try {
      const v = await s.verify();
      expect(v.ok).toBe(false);
      expect(v.problems.some((p) => p.check === 'checkpoint' && p.seq === last.seq + 1)).toBe(true);
      expect(s.info().auditKey.matchesPin).toBe(false);
    } finally {
      s.close();
    }
  });

  it('a handover entry altered (its new key swapped) is named', async () => {
    const copy = f.file('altered.custos');
    a.internals.db.pragma('wal_checkpoint(TRUNCATE)');
    copyFileSync(file, copy);
    const db = new Database(copy);
    for (const t of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").pluck().all() as string[]) db.exec(`DROP TRIGGER "${t}"`);
    const h = db.prepare("SELECT seq, entry FROM audit_entries WHERE action = 'archive.audit.handover'").get() as { seq: number; entry: string };
    const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const e = JSON.parse(h.entry) as { details: { to: { spki: string; fingerprint: string } } };
    const altered = h.entry.replace(e.details.to.spki, spki.toString('base64')).replace(new RegExp(e.details.to.fingerprint, 'g'), createHash('sha256').update(spki).digest('hex'));
    db.prepare('UPDATE audit_entries SET entry = ? WHERE seq = ?').run(altered, h.seq);
    db.close();
    const s = ArchiveService.open(copy, { readonly: true, anchors: new AnchorStore(f.file('fresh-data')) });
    try {
      const v = await s.verify();
      expect(v.ok).toBe(false);
      expect(v.firstBadEntry).toBeLessThanOrEqual(h.seq);
      expect(v.problems.some((p) => p.seq === h.seq)).toBe(true);
    } finally {
      s.close();
    }
  });
});

describe('an audit key rotation killed at each point', () => {
  let g: ArchiveFixture;
  let gfile: string;
  let gid: string;
  const child = join(__dirname, '../../dist/test-audit-key-rotation-child.cjs');

  beforeAll(async () => {
    g = await archiveFixture('custos-audit-rot-kill-');
    const s = await g.init();
    gfile = s.path;
    gid = s.archiveId;
    const k = await g.generate('aes-256', 'h-k');
    await s.add([{ hsm: k, key: { label: 'k', purpose: 'data-encryption' } }], 'alice');
    s.close();
    await build({ entryPoints: [join(__dirname, 'audit-key-rotation-child.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: child, external: ['better-sqlite3', 'pkcs11js', 'custos-p11batch'], logLevel: 'silent' });
  }, 120_000);

  afterAll(async () => {
    await g?.close();
  });

  const run = (killAt: string | null) => {
    const env = { ...g.fx.env, NODE_PATH: join(__dirname, '../../node_modules'), KEK_TEST_PIN: USER_PIN, ...(killAt ? { CUSTOS_ARCHIVE_TEST_HOOKS: '1', CUSTOS_ARCHIVE_KILL_AT: killAt } : {}) };
    return spawnSync(process.execPath, [child, gfile, SOFTHSM_MODULE, TOKEN, HOST_SCRIPT, g.dataDir], { env, encoding: 'utf8', timeout: 120_000 });
  };

  async function state() {
    const s = ArchiveService.open(gfile, { hsm: g.binding, anchors: g.anchors });
    try {
      const v = await s.verify({ withHsm: true });
      return { fp: s.workstation.audit_fingerprint, pin: g.anchors.pinnedAuditKey(s.archiveId), problems: v.problems, keys: s.auditKeys().length };
    } finally {
      s.close();
    }
  }

  it('killed after the new key pair was made: nothing changed; the next run destroys the leftover and rotates', async () => {
    const before = await state();
    const r = run('audit:generated');
    expect(r.signal).toBe('SIGKILL');
    const mid = await state();
    expect(mid).toMatchObject({ fp: before.fp, pin: before.fp, problems: [], keys: 0 });
    const left = await g.hsm.call('objects', { path: SOFTHSM_MODULE, token: TOKEN, ref: { label: `custos-audit/${gid}/2` } });
    expect(left.length).toBeGreaterThan(0);
    const done = run(null);
    expect(done.status, done.stderr).toBe(0);
    const after = await state();
    expect(after.fp).not.toBe(before.fp);
    expect(after).toMatchObject({ pin: after.fp, problems: [], keys: 2 });
    // One pair under the new label (the leftover was destroyed, not adopted).
    const pairs = await g.hsm.call('objects', { path: SOFTHSM_MODULE, token: TOKEN, ref: { label: left[0]!.label! } });
    expect(pairs.filter((o) => o.kind === 'private')).toHaveLength(1);
  }, 120_000);

  it('killed after the handover commit, before the pin moved: the next open follows the handover and moves the pin; a second rotation works', async () => {
    const before = await state();
    const r = run('audit:committed');
    expect(r.signal).toBe('SIGKILL');
    // The pin is still the old key's; the archive names the new one.
    expect(g.anchors.pinnedAuditKey(gid)).toBe(before.fp);
    const mid = await state();
    expect(mid.fp).not.toBe(before.fp);
    expect(mid).toMatchObject({ pin: mid.fp, problems: [], keys: 3 });
    const again = run(null);
    expect(again.status, again.stderr).toBe(0);
    const after = await state();
    expect(after).toMatchObject({ problems: [], keys: 4, pin: after.fp });
    expect(after.fp).not.toBe(mid.fp);
    // Every retired private key may no longer sign, including the one the killed run left enabled.
    const s = ArchiveService.open(gfile, { readonly: true, anchors: g.anchors });
    const retired = s.auditKeys().filter((k) => k.state === 'retired');
    s.close();
    expect(retired).toHaveLength(3);
    for (const k of retired) {
      const [o] = await g.hsm.call('objects', { path: SOFTHSM_MODULE, token: TOKEN, ref: { label: k.label, idHex: k.key_id, kind: 'private' } });
      expect(o!.usage.sign).toBe(false);
    }
    // A retired key destroyed on the token (as the destruction ceremony would) does not block the
    // next rotation, and what it signed still verifies from the public key in the record.
    await g.hsm.call('destroy', { path: SOFTHSM_MODULE, token: TOKEN, ref: { label: retired[0]!.label, idHex: retired[0]!.key_id } });
    const next = run(null);
    expect(next.status, next.stderr).toBe(0);
    expect(await state()).toMatchObject({ problems: [], keys: 5 });
  }, 120_000);
});
