// A schema-1 archive (as Custos wrote it before ceremonies) still opens: read-only without change,
// and for writing it is migrated to the newest schema (2: ceremonies, 3: KEK rotation, 4: audit key
// rotation, 5: MAC key rotation) in place, keeps every row and verifies completely. So does a
// schema-3 archive (as Custos wrote it before audit key rotation), whose audit key can then be
// rotated, and a schema-4 archive (before MAC key rotation), whose MAC key can then be rotated.
import Database from 'better-sqlite3';
import { copyFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnchorStore } from '../../electron/services/archive/anchors';
import { ArchiveService } from '../../electron/services/archive/service';
import { archiveFixture, hsmAuditSigner, rewriteLog, type ArchiveFixture } from './archive-helpers';

let f: ArchiveFixture;
let v1: string;
let v3: string;
let v4: string;

const SCHEMA_2_TABLES = ['credentials', 'ceremony_definitions', 'policies', 'evidence_bundles', 'record_profile'];

beforeAll(async () => {
  f = await archiveFixture('custos-archive-migration-');
  const a = await f.init('Old workstation');
  const k = await f.generate('aes-256', 'Old key');
  await a.add([{ hsm: { ...k, kind: 'secret' }, key: { label: 'Old key', purpose: 'data-encryption', tags: ['legacy'] }, activate: true }], 'test');
  const sign = hsmAuditSigner(f, a);
  const spki = a.workstation.audit_spki;
  a.close();
  // Exactly what migrations 1–4 made: schema 4, before journal redaction and MAC key rotation (no
  // mac_keys, no mac_key columns), its log without the meta entry that recorded migrations 5 and 6.
  v4 = f.file('v4.custos');
  copyFileSync(f.file('archive.custos'), v4);
  const d4 = new Database(v4);
  dropSchema6(d4);
  dropSchema5(d4);
  d4.pragma('user_version = 4');
  d4.prepare("UPDATE meta SET value = '4' WHERE key = 'schema_version'").run();
  const t4 = d4.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('audit_entries', 'checkpoints')").all() as Array<{ name: string; sql: string }>;
  for (const t of t4) d4.exec(`DROP TRIGGER ${t.name}`);
  await rewriteLog(d4, a.archiveId, { spki, sign, keep: (e) => e.action !== 'archive.meta' });
  for (const t of t4) d4.exec(t.sql);
  d4.pragma('wal_checkpoint(TRUNCATE)');
  d4.close();
  // Exactly what migrations 1–3 made: schema 3, without audit_keys and the handover index.
  v3 = f.file('v3.custos');
  copyFileSync(f.file('archive.custos'), v3);
  const d3 = new Database(v3);
  dropSchema4(d3);
  d3.pragma('user_version = 3');
  d3.prepare("UPDATE meta SET value = '3' WHERE key = 'schema_version'").run();
  const t3 = d3.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('audit_entries', 'checkpoints')").all() as Array<{ name: string; sql: string }>;
  for (const t of t3) d3.exec(`DROP TRIGGER ${t.name}`);
  await rewriteLog(d3, a.archiveId, { spki, sign, keep: (e) => e.action !== 'archive.meta' });
  for (const t of t3) d3.exec(t.sql);
  d3.pragma('wal_checkpoint(TRUNCATE)');
  d3.close();
  // Exactly what migration 1 made: schema 1, without the tables and index migration 2 adds, and an
  // audit log as Custos then wrote it (no archive.meta entry; checkpoints signed by the archive's
  // own audit key in the HSM).
  v1 = f.file('v1.custos');
  copyFileSync(f.file('archive.custos'), v1);
  const db = new Database(v1);
  dropSchema4(db);
  for (const t of SCHEMA_2_TABLES) db.exec(`DROP TABLE ${t}`);
  db.exec('DROP INDEX ceremonies_status');
  db.exec('DROP TABLE archive_keks');
  db.exec('DROP INDEX key_versions_kek');
  db.prepare("DELETE FROM meta WHERE key IN ('migration_2', 'migration_3')").run();
  db.prepare("UPDATE meta SET value = '1' WHERE key = 'schema_version'").run();
  db.pragma('user_version = 1');
  const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('audit_entries', 'checkpoints')").all() as Array<{ name: string; sql: string }>;
  for (const t of triggers) db.exec(`DROP TRIGGER ${t.name}`);
  await rewriteLog(db, a.archiveId, { spki, sign, keep: (e) => e.action !== 'archive.meta' });
  for (const t of triggers) db.exec(t.sql);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
});

const MACED = ['workstation', 'keys', 'key_versions', 'custodians', 'share_sets', 'ceremonies', 'ceremony_journal', 'approvals', 'trusted_workstations', 'credentials', 'ceremony_definitions', 'policies', 'evidence_bundles', 'record_profile', 'archive_keks', 'audit_keys'];
const APPEND_ONLY = ['ceremony_journal', 'approvals', 'credentials', 'ceremony_definitions', 'policies', 'evidence_bundles', 'record_profile'];

/** Back to what migrations 1–5 made: no mac_keys, no mac_key columns, append-only for every column (schema 5's journal exception is undone by dropSchema5). */
function dropSchema6(db: Database.Database): void {
  db.exec('DROP TRIGGER mac_keys_no_delete');
  db.exec('DROP TABLE mac_keys');
  for (const t of MACED) db.exec(`ALTER TABLE ${t} DROP COLUMN mac_key`);
  for (const t of APPEND_ONLY) {
    db.exec(`DROP TRIGGER ${t}_append_only_update`);
    db.exec(`CREATE TRIGGER ${t}_append_only_update BEFORE UPDATE ON ${t}
    BEGIN SELECT RAISE(ABORT, 'custos: ${t} is append-only'); END`);
  }
  db.prepare("DELETE FROM meta WHERE key = 'migration_6'").run();
}

/** Back to what migrations 1–4 made: schema 5's journal trigger back to schema 1's. */
function dropSchema5(db: Database.Database): void {
  db.exec('DROP TRIGGER ceremony_journal_append_only_update');
  db.exec("CREATE TRIGGER ceremony_journal_append_only_update BEFORE UPDATE ON ceremony_journal BEGIN SELECT RAISE(ABORT, 'custos: ceremony_journal is append-only'); END;");
  db.prepare("DELETE FROM meta WHERE key = 'migration_5'").run();
}

function dropSchema4(db: Database.Database): void {
  dropSchema6(db);
  dropSchema5(db);
  db.exec('DROP TRIGGER audit_keys_no_delete');
  db.exec('DROP TABLE audit_keys');
  db.exec('DROP INDEX audit_handovers');
  db.prepare("DELETE FROM meta WHERE key = 'migration_4'").run();
}

afterAll(async () => {
  await f?.close();
});

describe('a schema-1 archive', () => {
  it('opens read-only as it is, and verifies without the HSM', async () => {
    const a = ArchiveService.open(v1, { readonly: true });
    try {
      expect(a.info().schemaVersion).toBe(1);
      expect(a.search({ tags: ['legacy'] }).items.map((x) => x.label)).toEqual(['Old key']);
      expect(a.ceremonyRows.policy()).toBeNull();
      expect(a.ceremonyRows.profile()).toBeNull();
      const v = await a.verify();
      expect(v.problems).toEqual([]);
    } finally {
      a.close();
    }
  });

  it('is migrated to schema 6 when opened for writing, keeps every row, and verifies with the HSM', async () => {
    const a = ArchiveService.open(v1, { hsm: f.binding });
    try {
      expect(a.info().schemaVersion).toBe(6);
      expect(a.search({ tags: ['legacy'] }).items).toHaveLength(1);
      const v = await a.verify({ withHsm: true });
      expect(v.problems).toEqual([]);
      expect(v.ok).toBe(true);
      const { db } = a.internals;
      for (const t of [...SCHEMA_2_TABLES, 'archive_keks', 'audit_keys', 'mac_keys']) expect(db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t)).toBeTruthy();
      expect(String(db.prepare("SELECT value FROM meta WHERE key = 'migration_3'").pluck().get())).toMatch(/KEK rotation/);
      expect(String(db.prepare("SELECT value FROM meta WHERE key = 'migration_2'").pluck().get())).toMatch(/ceremonies/);
      expect(String(db.prepare("SELECT value FROM meta WHERE key = 'migration_4'").pluck().get())).toMatch(/Audit key rotation/);
      expect(String(db.prepare("SELECT value FROM meta WHERE key = 'migration_5'").pluck().get())).toMatch(/Backup Key rotation/);
      expect(String(db.prepare("SELECT value FROM meta WHERE key = 'migration_6'").pluck().get())).toMatch(/MAC key rotation/);
      // The next commit records the meta table in the log (schema 6, every migration note)…
      await a.saveCustodian({ name: 'Ann', roles: ['custodian'] }, 'test');
      const snap = a.auditTrail({ action: 'archive.meta' }).entries;
      expect(snap).toHaveLength(1);
      expect(snap[0]!.details).toMatchObject({ schemaVersion: 6, meta: { schema_version: '6', migration_1: expect.stringMatching(/initial schema/), migration_2: expect.stringMatching(/ceremonies/), migration_3: expect.stringMatching(/KEK rotation/), migration_4: expect.stringMatching(/Audit key rotation/), migration_5: expect.stringMatching(/Backup Key rotation/), migration_6: expect.stringMatching(/MAC key rotation/) } });
      expect((await a.verify({ withHsm: true })).problems).toEqual([]);
      // …and an edit of a migration note is found from then on.
      db.prepare("UPDATE meta SET value = replace(value, '20', '19') WHERE key = 'migration_1'").run();
      const v2 = await a.verify({ withHsm: true });
      expect(v2.problems.map((p) => p.check)).toEqual(['meta']);
      expect(v2.problems[0]!.message).toMatch(/"migration_1" is not what audit entry \d+ recorded/);
    } finally {
      a.close();
    }
  });
});

describe('a schema-4 archive (before MAC key rotation)', () => {
  let anchors: AnchorStore;
  beforeAll(() => {
    anchors = new AnchorStore(f.file('v4-data'));
  });
  it('opens read-only as it is (no MAC keys, no mac_key column), and verifies with and without the HSM', async () => {
    const a = ArchiveService.open(v4, { readonly: true, anchors, hsm: f.binding });
    try {
      expect(a.info().schemaVersion).toBe(4);
      expect(a.macKeys()).toEqual([]);
      expect(a.internals.db.prepare("SELECT 1 FROM pragma_table_info('key_versions') WHERE name = 'mac_key'").get()).toBeUndefined();
      expect((await a.verify({ withHsm: false })).problems).toEqual([]);
      expect((await a.verify({ withHsm: true })).problems).toEqual([]);
    } finally {
      a.close();
    }
  });

  it('is migrated to schema 6 when opened for writing, verifies, keeps append-only tables append-only, and its MAC key can then be rotated', async () => {
    const a = ArchiveService.open(v4, { hsm: f.binding, anchors });
    try {
      expect(a.info().schemaVersion).toBe(6);
      expect(a.search({ tags: ['legacy'] }).items).toHaveLength(1);
      expect((await a.verify({ withHsm: true })).problems).toEqual([]);
      const { db } = a.internals;
      // Only the MAC and mac_key of an append-only row may change (a rotation): every other column stays refused.
      const p = db.prepare('SELECT rowid, * FROM policies LIMIT 1').get() as { rowid: number } | undefined;
      if (p) expect(() => db.prepare("UPDATE policies SET policy = '{}' WHERE rowid = ?").run(p.rowid)).toThrow(/append-only/);
      const old = a.workstation.mac_check;
      const r = await a.rotateMacKey({ actor: 'test', expectFrom: old });
      expect(r).toMatchObject({ finished: true, from: old });
      expect(a.macKeys().map((k) => k.state).sort()).toEqual(['current', 'retired']);
      const v = await a.verify({ withHsm: true });
      expect(v.problems).toEqual([]);
    } finally {
      a.close();
    }
  });
});

// After the schema-4 archive's: this rotation turns off the signing of the audit key both copies share.
describe('a schema-3 archive (before audit key rotation)', () => {
  // Its own workstation state: the rewritten log has fewer checkpoints than the original's anchor.
  let anchors: AnchorStore;
  beforeAll(() => {
    anchors = new AnchorStore(f.file('v3-data'));
  });
  it('opens read-only as it is (no audit keys, no handover), and verifies without the HSM', async () => {
    const a = ArchiveService.open(v3, { readonly: true, anchors });
    try {
      expect(a.info().schemaVersion).toBe(3);
      expect(a.info().keys.audit.retired).toEqual([]);
      expect(a.auditKeys()).toEqual([]);
      expect((await a.verify()).problems).toEqual([]);
    } finally {
      a.close();
    }
  });

  it('is migrated to schema 6 when opened for writing, verifies, and its audit key can then be rotated', async () => {
    const a = ArchiveService.open(v3, { hsm: f.binding, anchors });
    try {
      expect(a.info().schemaVersion).toBe(6);
      expect(a.search({ tags: ['legacy'] }).items).toHaveLength(1);
      expect((await a.verify({ withHsm: true })).problems).toEqual([]);
      const old = a.workstation.audit_fingerprint;
      const r = await a.rotateAuditKey({ actor: 'test', expectFrom: old });
      expect(r.from.fingerprint).toBe(old);
      expect(a.info().keys.audit.retired.map((k) => k.fingerprint)).toEqual([old]);
      expect(anchors.pinnedAuditKey(a.archiveId)).toBe(r.to.fingerprint);
      // Every checkpoint from before the upgrade verifies under the retired key.
      const v = await a.verify({ withHsm: true });
      expect(v.problems).toEqual([]);
      expect(v.checkpoints).toBeGreaterThan(2);
    } finally {
      a.close();
    }
  });
});
