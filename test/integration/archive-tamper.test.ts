// Tampering with a real archive file behind Custos's back (generic SQL, triggers dropped, CHECKs
// ignored — what anyone with the file and the sqlite3 tool can do) and checking that `verify`
// notices and names the first bad audit entry. Each case runs with the chain walked in this
// thread and split over two worker threads.
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnchorStore } from '../../electron/services/archive/anchors';
import { ArchiveService } from '../../electron/services/archive/service';
import { auditEntryText } from '../../shared/archive/canonical';
import type { VerifyVerdict } from '../../shared/archive/types';
import { archiveFixture, failure, type ArchiveFixture } from './archive-helpers';

let f: ArchiveFixture;
let base: string;
let archiveId: string;
let entries: number;
const snapshots: Record<string, Record<string, unknown>> = {};
let n = 0;

beforeAll(async () => {
  f = await archiveFixture('custos-archive-tamper-');
  const a = await f.init('Tamper');
  archiveId = a.archiveId;
  const k = [await f.generate('aes-256', 't1'), await f.generate('aes-128', 't2'), await f.generate('hmac-256', 't3'), await f.generate('aes-256', 't4')];
  await a.add([{ hsm: k[0]!, key: { label: 'alpha', purpose: 'data-encryption', tags: ['payments'], custodians: ['cust-ann', 'cust-ben'] }, activate: true }], 'alice');
  await a.add([{ hsm: k[1]!, key: { label: 'beta', purpose: 'key-wrapping' } }, { hsm: k[2]!, key: { label: 'gamma', purpose: 'authentication' }, activate: true }], 'alice');
  const raw = new Database(a.path, { readonly: true });
  snapshots.beta1 = raw.prepare("SELECT v.* FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.label = 'beta'").get() as Record<string, unknown>;
  raw.close();
  await a.add([{ hsm: k[3]!, key: { label: 'alpha' }, activate: true }], 'bob');
  await a.transition('beta', 'activate', { actor: 'bob' });
  await a.transition('gamma', 'deactivate', { actor: 'carol' });
  entries = a.info().counts.auditEntries;
  expect((await a.verify()).ok).toBe(true);
  base = a.path;
  a.close();
});

afterAll(async () => {
  await f?.close();
});

/**
 * A copy of the archive, changed with plain SQL the way an attacker with the file would: the
 * triggers dropped for the change and put back after it (a dropped trigger is itself reported).
 */
function tampered(change: (db: Database.Database) => void): string {
  const path = join(f.fx.dir, `tampered-${++n}.custos`);
  copyFileSync(base, path);
  const db = new Database(path);
  db.pragma('ignore_check_constraints = ON');
  db.pragma('foreign_keys = OFF');
  const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all() as Array<{ name: string; sql: string }>;
  for (const t of triggers) db.exec(`DROP TRIGGER "${t.name}"`);
  change(db);
  for (const t of triggers) db.exec(t.sql);
  db.close();
  return path;
}

async function verdicts(path: string): Promise<VerifyVerdict[]> {
  // A fresh anchor folder: these cases are about what the file alone reveals.
  const anchors = new AnchorStore(mkdtempSync(join(f.fx.dir, 'anchors-')));
  const a = ArchiveService.open(path, { hsm: f.binding, anchors });
  try {
    return [await a.verify({ threads: 1 }), await a.verify({ threads: 2 })];
  } finally {
    a.close();
  }
}

const entryText = (db: Database.Database, seq: number) => db.prepare('SELECT entry FROM audit_entries WHERE seq = ?').pluck().get(seq) as string;
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

async function expectFirstBad(path: string, seq: number, check: RegExp) {
  for (const v of await verdicts(path)) {
    expect(v.ok).toBe(false);
    expect(v.firstBadEntry).toBe(seq);
    expect(v.problems.map((p) => p.message).join('\n')).toMatch(check);
  }
}

describe('audit log tampering is found, and the first bad entry named', () => {
  it('the untouched copy verifies (both walks)', async () => {
    for (const v of await verdicts(tampered(() => undefined))) expect(v).toMatchObject({ ok: true, entries, firstBadEntry: null });
  });

  it('an entry edited in place', async () => {
    const p = tampered((db) => db.prepare('UPDATE audit_entries SET entry = replace(entry, \'"actor":"bob"\', \'"actor":"eve"\') WHERE seq = ?').run(entries - 3));
    await expectFirstBad(p, entries - 3, new RegExp(`entry ${entries - 3} was altered`));
  });

  it('an entry edited in place with its stored hash recomputed', async () => {
    const seq = 3;
    const p = tampered((db) => {
      const text = entryText(db, seq).replace('"actor":"alice"', '"actor":"mallory"');
      db.prepare('UPDATE audit_entries SET entry = ?, hash = ? WHERE seq = ?').run(text, sha(text), seq);
    });
    await expectFirstBad(p, seq, /no longer chain/);
  });

  it('an entry edited to contain a raw line break (the chunked reader falls back to rows)', async () => {
    const p = tampered((db) => db.prepare("UPDATE audit_entries SET entry = replace(entry, '\"action\":', char(10) || '\"action\":') WHERE seq = 2").run());
    await expectFirstBad(p, 2, /entry 2 was altered/);
  });

  it('an entry deleted', async () => {
    const p = tampered((db) => db.prepare('DELETE FROM audit_entries WHERE seq = 4').run());
    await expectFirstBad(p, 4, /entry 4 is missing/);
  });

  it('an entry inserted (later entries renumbered, the forged one chained correctly)', async () => {
    const at = 5;
    const p = tampered((db) => {
      const rows = db.prepare('SELECT seq, entry, hash FROM audit_entries WHERE seq >= ? ORDER BY seq DESC').all(at) as Array<{ seq: number; entry: string; hash: string }>;
      for (const r of rows) db.prepare('UPDATE audit_entries SET seq = ? WHERE seq = ?').run(r.seq + 1, r.seq);
      const prev = sha(entryText(db, at - 1));
      const forged = auditEntryText({ archive: archiveId, seq: at, prev, at: '2026-01-01T00:00:00.000Z', actor: 'eve', action: 'version.add', object_type: null, object_id: null, key_id: null, object_mac: null, details: '{}' });
      db.prepare('INSERT INTO audit_entries (seq, entry, hash) VALUES (?, ?, ?)').run(at, forged, sha(forged));
    });
    await expectFirstBad(p, at, /not in its place|no longer chain/);
  });

  it('two entries swapped', async () => {
    const p = tampered((db) => {
      const a = db.prepare('SELECT entry, hash FROM audit_entries WHERE seq = 6').get() as { entry: string; hash: string };
      const b = db.prepare('SELECT entry, hash FROM audit_entries WHERE seq = 7').get() as { entry: string; hash: string };
      db.prepare('UPDATE audit_entries SET entry = ?, hash = ? WHERE seq = 6').run(b.entry, b.hash);
      db.prepare('UPDATE audit_entries SET entry = ?, hash = ? WHERE seq = 7').run(a.entry, a.hash);
    });
    await expectFirstBad(p, 6, /not in its place/);
  });

  it('the log cut short (checkpoints kept): detected against the latest checkpoint', async () => {
    const p = tampered((db) => db.prepare('DELETE FROM audit_entries WHERE seq > ?').run(entries - 2));
    await expectFirstBad(p, entries - 1, /were cut off/);
  });

  it('entries appended without a checkpoint (a forger without the HSM)', async () => {
    const p = tampered((db) => {
      const prev = sha(entryText(db, entries));
      const forged = auditEntryText({ archive: archiveId, seq: entries + 1, prev, at: '2030-01-01T00:00:00.000Z', actor: 'eve', action: 'version.destroy', object_type: null, object_id: null, key_id: null, object_mac: null, details: '{}' });
      db.prepare('INSERT INTO audit_entries (seq, entry, hash) VALUES (?, ?, ?)').run(entries + 1, forged, sha(forged));
    });
    await expectFirstBad(p, entries + 1, /not covered by a valid signed checkpoint/);
  });

  it('a checkpoint signature altered', async () => {
    const p = tampered((db) => {
      const cp = db.prepare('SELECT seq, signature_raw FROM checkpoints ORDER BY seq LIMIT 1 OFFSET 2').get() as { seq: number; signature_raw: Buffer };
      cp.signature_raw[10] = cp.signature_raw[10]! ^ 1;
      db.prepare('UPDATE checkpoints SET signature_raw = ? WHERE seq = ?').run(cp.signature_raw, cp.seq);
    });
    for (const v of await verdicts(p)) {
      expect(v.ok).toBe(false);
      expect(v.problems[0]!.message).toMatch(/signature of checkpoint \d+ does not verify/);
    }
  });

  it('the log cut short together with its checkpoints: the workstation\'s rollback anchor refuses the file', async () => {
    const p = tampered((db) => {
      db.prepare('DELETE FROM audit_entries WHERE seq > 4').run();
      db.prepare('DELETE FROM checkpoints WHERE seq > 4').run();
    });
    // f.anchors saw every commit of the original archive.
    const e = await failure(() => ArchiveService.open(p, { hsm: f.binding, anchors: f.anchors }));
    expect(e.code).toBe('ARCHIVE_ROLLED_BACK');
    expect(e.message).toMatch(/ends at checkpoint [1-4], but this workstation has already seen checkpoint \d+/);
  });
});

describe('row tampering is found by the MACs and by the audit binding', () => {
  it('a field of a version edited (MAC mismatch)', async () => {
    const p = tampered((db) => db.prepare("UPDATE key_versions SET algorithm = 'aes-128' WHERE id = (SELECT v.id FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.label = 'gamma')").run());
    for (const v of await verdicts(p)) {
      expect(v.ok).toBe(false);
      expect(v.firstBadEntry).toBeNull();
      expect(v.problems.some((x) => x.check === 'row-mac' && x.table === 'key_versions')).toBe(true);
    }
  });

  it('wrapped blobs swapped between two versions (the identity binding)', async () => {
    const p = tampered((db) => {
      // alpha@1 first (its restore is tried below), then another blob of the same length. Without the
      // ORDER BY the two rows came in id order — random ids — so alpha@1 was not always one of them.
      const rows = db
        .prepare(
          "SELECT v.id, v.wrapped FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE v.wrapped IS NOT NULL AND length(v.wrapped) = 40 ORDER BY (k.label = 'alpha' AND v.version = 1) DESC, v.id LIMIT 2",
        )
        .all() as Array<{ id: string; wrapped: Buffer }>;
      expect(rows).toHaveLength(2);
      db.prepare('UPDATE key_versions SET wrapped = ? WHERE id = ?').run(rows[1]!.wrapped, rows[0]!.id);
      db.prepare('UPDATE key_versions SET wrapped = ? WHERE id = ?').run(rows[0]!.wrapped, rows[1]!.id);
    });
    const [v] = await verdicts(p);
    expect(v!.problems.filter((x) => x.check === 'row-mac').map((x) => x.table)).toEqual(['key_versions', 'key_versions']);
    // And the swapped blob is refused before it reaches the HSM.
    const a = ArchiveService.open(p, { hsm: f.binding, anchors: null });
    try {
      expect((await failure(a.restore('alpha@1', { label: 'x', usages: ['encrypt'], onToken: false }, 'eve'))).code).toBe('ARCHIVE_TAMPERED');
    } finally {
      a.close();
    }
  });

  it('a row put back to an older, validly MACed copy (an activated version rolled back to pre-active)', async () => {
    const old = snapshots.beta1!;
    const p = tampered((db) => {
      const cols = Object.keys(old);
      db.prepare(`UPDATE key_versions SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`).run(old);
    });
    for (const v of await verdicts(p)) {
      expect(v.problems.filter((x) => x.check === 'row-mac')).toEqual([]);
      expect(v.problems.some((x) => x.check === 'row-audit' && x.id === old.id && /replaced/.test(x.message))).toBe(true);
    }
  });

  it('a row deleted, and a row forged by copying another', async () => {
    const p = tampered((db) => {
      db.prepare("DELETE FROM key_versions WHERE id = (SELECT v.id FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.label = 'beta')").run();
      const row = db.prepare("SELECT * FROM keys WHERE label = 'gamma'").get() as Record<string, unknown>;
      db.prepare(`INSERT INTO keys (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map((c) => `@${c}`).join(', ')})`).run({ ...row, id: 'forged-key', label: 'forged' });
    });
    const [v] = await verdicts(p);
    const msgs = v!.problems.map((x) => x.message).join('\n');
    expect(msgs).toMatch(/of key_versions \(audit entry \d+\) is missing: it was deleted/);
    expect(msgs).toMatch(/Row forged-key of keys does not match its MAC/);
    expect(msgs).toMatch(/Row forged-key of keys has no audit entry/);
  });
});

/** The problems of both walks (they must agree), checks and messages. */
async function problemsOf(path: string, opts: { full?: boolean } = {}) {
  const anchors = new AnchorStore(mkdtempSync(join(f.fx.dir, 'anchors-')));
  const a = ArchiveService.open(path, { hsm: f.binding, anchors, readonly: true });
  try {
    const v = await a.verify({ threads: 1, ...opts });
    return { ok: v.ok, checks: v.problems.map((p) => p.check), text: v.problems.map((p) => p.message).join('\n'), firstBadEntry: v.firstBadEntry };
  } finally {
    a.close();
  }
}

describe('tables and columns without a MAC are rebuilt and compared (issue #11 part 3)', () => {
  it('a custodian\'s index row deleted: the key disappears from a custodian search, and verify says so (without the HSM too)', async () => {
    const p = tampered((db) => db.prepare("DELETE FROM key_custodians WHERE custodian_id = 'cust-ben'").run());
    const a = ArchiveService.open(p, { readonly: true });
    try {
      expect(a.search({ custodian: 'cust-ben' }).items).toEqual([]);
      const v = await a.verify({ withHsm: false });
      expect(v.ok).toBe(false);
      expect(v.problems.map((x) => x.table)).toEqual(['key_custodians']);
      expect(v.problems[0]!.message).toMatch(/key_custodians table does not match the keys' custodians: 1 missing/);
    } finally {
      a.close();
    }
  });

  it('a tag index row pointed at another label, and a custodian row added', async () => {
    let r = await problemsOf(tampered((db) => db.prepare("UPDATE key_tags SET label = 'beta' WHERE tag = 'payments'").run()));
    expect(r.checks).toEqual(['derived']);
    expect(r.text).toMatch(/key_tags table does not match/);
    r = await problemsOf(tampered((db) => db.prepare("INSERT INTO key_custodians (custodian_id, label, key_id) SELECT 'cust-eve', label, key_id FROM key_custodians LIMIT 1").run()));
    expect(r.text).toMatch(/key_custodians table does not match the keys' custodians: 1 not derived from/);
  });

  it('lifecycle_reachable: a pair added (destroyed back to active) or taken away', async () => {
    let r = await problemsOf(tampered((db) => db.prepare("INSERT INTO lifecycle_reachable VALUES ('destroyed', 'active')").run()));
    expect(r.checks).toEqual(['derived']);
    expect(r.text).toMatch(/lifecycle_reachable table does not match the key lifecycle \(NIST SP 800-57\): 1 not derived/);
    r = await problemsOf(tampered((db) => db.prepare("DELETE FROM lifecycle_reachable WHERE from_state = 'active' AND to_state = 'compromised'").run()));
    expect(r.text).toMatch(/lifecycle_reachable table does not match .*1 missing/);
  });

  it('a checkpoint deleted from the middle of the log', async () => {
    const seq = (new Database(base, { readonly: true }).prepare('SELECT seq FROM checkpoints ORDER BY seq LIMIT 1 OFFSET 2').pluck().get()) as number;
    const r = await problemsOf(tampered((db) => db.prepare('DELETE FROM checkpoints WHERE seq = ?').run(seq)));
    expect(r.checks).toEqual(['checkpoint']);
    expect(r.text).toMatch(new RegExp(`the checkpoint after entry ${seq} was deleted`));
  });

  it('meta: a migration note deleted, re-dated, or a key written twice (the table rebuilt without its primary key)', async () => {
    let r = await problemsOf(tampered((db) => db.prepare("DELETE FROM meta WHERE key = 'migration_1'").run()));
    expect(r.checks).toEqual(['meta', 'meta']);
    expect(r.text).toMatch(/no "migration_1" .*it was deleted/);
    r = await problemsOf(tampered((db) => db.prepare("UPDATE meta SET value = '2020-01-01T00:00:00.000Z' || substr(value, 25) WHERE key = 'migration_2'").run()));
    expect(r.checks).toEqual(['meta']);
    expect(r.text).toMatch(/"migration_2" is not what audit entry 2 recorded/);
    const duplicate = (key: string, value: string) =>
      tampered((db) => {
        db.exec('CREATE TABLE meta2 (key TEXT, value TEXT NOT NULL) STRICT; INSERT INTO meta2 SELECT key, value FROM meta; DROP TABLE meta; ALTER TABLE meta2 RENAME TO meta');
        db.prepare('INSERT INTO meta VALUES (?, ?)').run(key, value);
      });
    r = await problemsOf(duplicate('migration_1', '2020-01-01T00:00:00.000Z initial schema'));
    expect(r.text).toMatch(/holds the key "migration_1" more than once/);
    expect(r.text).toMatch(/The table meta is not defined as Custos defines it/);
    // A duplicate that changes what the file says about itself is refused when it is opened.
    expect((await failure(() => ArchiveService.open(duplicate('schema_version', '1'), { readonly: true }))).code).toBe('ARCHIVE_CORRUPT');
  });

  it('the stored hash column of an entry edited (the entry itself intact)', async () => {
    const r = await problemsOf(tampered((db) => db.prepare("UPDATE audit_entries SET hash = replace(hash, substr(hash, 1, 1), 'f') WHERE seq = 5 AND substr(hash, 1, 1) <> 'f'").run()));
    expect(r).toMatchObject({ ok: false, checks: ['chain'], firstBadEntry: null });
    expect(r.text).toMatch(/The hash stored with audit entry 5 is not the SHA-256 of the entry's text/);
  });

  it('a trigger dropped and not put back', async () => {
    const path = join(f.fx.dir, `tampered-${++n}.custos`);
    copyFileSync(base, path);
    const db = new Database(path);
    db.exec('DROP TRIGGER key_versions_lifecycle');
    db.close();
    const r = await problemsOf(path);
    expect(r.checks).toEqual(['schema']);
    expect(r.text).toMatch(/The trigger key_versions_lifecycle is missing/);
  });

  it('an index that disagrees with its table: only integrity_check (--full) sees it', async () => {
    // A label changed in the keys.label index's page only, keeping its order: the table and every
    // MAC are intact, but a look-up by label no longer finds the key.
    const path = join(f.fx.dir, `tampered-${++n}.custos`);
    copyFileSync(base, path);
    const raw = new Database(path, { readonly: true });
    const pageSize = raw.pragma('page_size', { simple: true }) as number;
    const roots = raw.prepare("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'keys'").pluck().all() as number[];
    raw.close();
    const bytes = readFileSync(path);
    const hits = roots.map((root) => ({ root, at: bytes.subarray((root - 1) * pageSize, root * pageSize).indexOf('gamma') })).filter((h) => h.at >= 0);
    expect(hits).toHaveLength(1);
    bytes[(hits[0]!.root - 1) * pageSize + hits[0]!.at + 4] = 'b'.charCodeAt(0); // gamma → gammb, still the last label
    writeFileSync(path, bytes);
    const quick = await problemsOf(path);
    expect(quick.ok).toBe(true);
    const full = await problemsOf(path, { full: true });
    expect(full.checks.every((c) => c === 'sqlite')).toBe(true);
    expect(full.text).toMatch(/missing from index|wrong # of entries/);
  });
});
