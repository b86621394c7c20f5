// A schema-1 archive (as Custos wrote it before ceremonies) still opens: read-only without change,
// and for writing it is migrated to schema 2 in place, keeps every row and verifies completely.
import Database from 'better-sqlite3';
import { copyFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveService } from '../../electron/services/archive/service';
import { archiveFixture, type ArchiveFixture } from './archive-helpers';

let f: ArchiveFixture;
let v1: string;

const SCHEMA_2_TABLES = ['credentials', 'ceremony_definitions', 'policies', 'evidence_bundles', 'record_profile'];

beforeAll(async () => {
  f = await archiveFixture('custos-archive-migration-');
  const a = await f.init('Old workstation');
  const k = await f.generate('aes-256', 'Old key');
  await a.add([{ hsm: { ...k, kind: 'secret' }, key: { label: 'Old key', purpose: 'data-encryption', tags: ['legacy'] }, activate: true }], 'test');
  a.close();
  // Exactly what migration 1 made: schema 1, without the tables and index migration 2 adds.
  v1 = f.file('v1.custos');
  copyFileSync(f.file('archive.custos'), v1);
  const db = new Database(v1);
  for (const t of SCHEMA_2_TABLES) db.exec(`DROP TABLE ${t}`);
  db.exec('DROP INDEX ceremonies_status');
  db.prepare("DELETE FROM meta WHERE key = 'migration_2'").run();
  db.prepare("UPDATE meta SET value = '1' WHERE key = 'schema_version'").run();
  db.pragma('user_version = 1');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
});

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

  it('is migrated to schema 2 when opened for writing, keeps every row, and verifies with the HSM', async () => {
    const a = ArchiveService.open(v1, { hsm: f.binding });
    try {
      expect(a.info().schemaVersion).toBe(2);
      expect(a.search({ tags: ['legacy'] }).items).toHaveLength(1);
      const v = await a.verify({ withHsm: true });
      expect(v.problems).toEqual([]);
      expect(v.ok).toBe(true);
      const { db } = a.internals;
      for (const t of SCHEMA_2_TABLES) expect(db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t)).toBeTruthy();
      expect(String(db.prepare("SELECT value FROM meta WHERE key = 'migration_2'").pluck().get())).toMatch(/ceremonies/);
    } finally {
      a.close();
    }
  });
});
