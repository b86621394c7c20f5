// What docs/FORMAT.md tells a reader without Custos, checked against a real archive (issue #11
// part 8): the step-2 query of "Recovering a key" names each column once; a row's `mac` is 32 raw
// bytes while the audit entry's `object_mac` is the same value in hex; and the audit export's
// manifest.json has exactly the fields the document lists.
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/softhsm';
import { archiveFixture, type ArchiveFixture } from './archive-helpers';

const doc = readFileSync(join(ROOT, 'docs/FORMAT.md'), 'utf8');
let f: ArchiveFixture;
let path: string;

beforeAll(async () => {
  f = await archiveFixture('custos-format-docs-');
  const a = await f.init('Format docs');
  await a.add([{ hsm: await f.generate('aes-256', 'fd-1'), key: { label: 'Payments DEK', purpose: 'data-encryption' }, activate: true }], 'alice');
  path = a.path;
  a.exportAudit(f.file('audit-export'));
  a.close();
});

afterAll(async () => {
  await f?.close();
});

describe('docs/FORMAT.md against an archive', () => {
  it('the step-2 query of "Recovering a key" gives one column per name, with what the next steps need', () => {
    const sql = /2\. Read the version row[\s\S]*?```sql\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(sql, 'FORMAT.md has no SQL block for step 2').toBeDefined();
    const db = new Database(path, { readonly: true });
    try {
      const stmt = db.prepare(sql!);
      const names = stmt.columns().map((c) => c.name);
      expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
      expect(names).toEqual(expect.arrayContaining(['id', 'wrapped', 'kek_check', 'check_value', 'check_method', 'mac', 'key_label']));
      const row = stmt.get() as { wrapped: Buffer; key_label: string };
      expect(row.key_label).toBe('Payments DEK');
      expect(row.wrapped.length).toBe(40);
      // Why the document says so: SELECT * over the join repeats names.
      const star = db.prepare('SELECT * FROM key_versions v JOIN keys k ON k.id = v.key_id').columns().map((c) => c.name);
      expect(star.filter((n, i) => star.indexOf(n) !== i)).toEqual(expect.arrayContaining(['id', 'mac', 'purpose']));
    } finally {
      db.close();
    }
  });

  it('a row\'s mac is 32 raw bytes; the audit entry\'s object_mac is the same in lowercase hex', () => {
    expect(doc).toMatch(/`mac` column of each of these tables is a BLOB of the \*\*32\s+raw bytes\*\*/);
    const db = new Database(path, { readonly: true });
    try {
      for (const table of ['workstation', 'keys', 'key_versions']) {
        for (const r of db.prepare(`SELECT mac FROM ${table}`).all() as Array<{ mac: Buffer }>) {
          expect(Buffer.isBuffer(r.mac)).toBe(true);
          expect(r.mac.length).toBe(32);
          const entry = db.prepare('SELECT object_mac FROM audit_entries WHERE object_mac = ?').pluck().get(r.mac.toString('hex')) as string | undefined;
          expect(entry, `no audit entry names the ${table} row's MAC in hex`).toMatch(/^[0-9a-f]{64}$/);
        }
      }
    } finally {
      db.close();
    }
  });

  it('the audit export\'s manifest.json has exactly the documented fields', () => {
    const table = /`manifest\.json` — written last[\s\S]*?\n\n((?:\|.*\n)+)/.exec(doc)?.[1];
    expect(table, 'FORMAT.md has no manifest.json table').toBeDefined();
    // A field documented as "only after …" (an audit key rotation) is absent from this archive's export.
    const fields = [...table!.matchAll(/^\| `([A-Za-z]+)` \| (.*)$/gm)].filter((m) => !m[2]!.startsWith('only after')).map((m) => m[1]);
    const manifest = JSON.parse(readFileSync(f.file('audit-export/manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(manifest).sort()).toEqual([...fields].sort());
    expect(manifest).toMatchObject({ format: 'custos.audit-export', version: 1 });
    expect(Object.keys(manifest.files as object).sort()).toEqual(['audit-public-key.pem', 'audit.jsonl', 'checkpoints.jsonl']);
    const db = new Database(path, { readonly: true });
    try {
      expect(manifest.publicKeyFingerprint).toBe(db.prepare('SELECT audit_fingerprint FROM workstation').pluck().get());
      expect(manifest.archive).toBe(db.prepare("SELECT value FROM meta WHERE key = 'archive_id'").pluck().get());
    } finally {
      db.close();
    }
  });
});
