// Bad input: a corrupted file, a file that is not an archive, a schema newer than this code, a
// truncated write-ahead log, bundles with a bad signature or from an untrusted workstation, and a
// tampered row. Each gives a clear typed error, imports nothing and leaves the files as they were.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnchorStore } from '../../electron/services/archive/anchors';
import { exportBundle, importBundle, trustWorkstation } from '../../electron/services/archive/bundle';
import { ArchiveService } from '../../electron/services/archive/service';
import { archiveFixture, failure, type ArchiveFixture } from './archive-helpers';

let f: ArchiveFixture;
let good: string;
let n = 0;

beforeAll(async () => {
  f = await archiveFixture('custos-archive-bad-');
  const a = await f.init('Bad input');
  await a.add([{ hsm: await f.generate('aes-256', 'bad-1'), key: { label: 'k1', purpose: 'data-encryption' }, activate: true }], 'alice');
  await a.add([{ hsm: await f.generate('aes-128', 'bad-2'), key: { label: 'k2', purpose: 'key-wrapping' } }], 'alice');
  good = a.path;
  a.close();
});

afterAll(async () => {
  await f?.close();
});

const copy = (name = `copy-${++n}.custos`) => {
  const p = f.file(name);
  copyFileSync(good, p);
  return p;
};
/** Content digest; an absent file and an empty one are the same content (an empty -wal holds nothing). */
const digest = (p: string) => createHash('sha256').update(existsSync(p) ? readFileSync(p) : Buffer.alloc(0)).digest('hex');
/** Every copy shares the archive id; each gets its own anchor folder unless a test shares one on purpose. */
const anchorsFor = new Map<string, AnchorStore>();
const anchors = (p: string) => {
  if (!anchorsFor.has(p)) anchorsFor.set(p, new AnchorStore(`${p}.anchors`));
  return anchorsFor.get(p)!;
};
const open = (p: string, extra: { anchors?: AnchorStore } = {}) => ArchiveService.open(p, { hsm: f.binding, anchors: anchors(p), ...extra });

/** Runs `fn`, expects a typed error with `code`, and checks the file (and its WAL) did not change. */
async function refusedUnchanged(path: string, code: string, fn: () => unknown): Promise<string> {
  const before = [digest(path), digest(`${path}-wal`)];
  const e = await failure(fn);
  expect(e.code).toBe(code);
  expect(e.message.length).toBeGreaterThan(20);
  expect(e.action.length).toBeGreaterThan(10);
  expect([digest(path), digest(`${path}-wal`)]).toEqual(before);
  return e.message;
}

describe('files that are not (good) archives', () => {
  it('a text file, an empty file, a directory, another program\'s SQLite database, a missing file', async () => {
    const text = f.file('notes.txt');
    writeFileSync(text, 'custodian notes\n');
    expect(await refusedUnchanged(text, 'ARCHIVE_NOT_ARCHIVE', () => open(text))).toMatch(/not an SQLite database/);
    const empty = f.file('empty.custos');
    writeFileSync(empty, '');
    expect(await refusedUnchanged(empty, 'ARCHIVE_NOT_ARCHIVE', () => open(empty))).toMatch(/empty/);
    expect((await failure(() => open(f.fx.dir))).code).toBe('ARCHIVE_NOT_ARCHIVE');
    const other = f.file('other.sqlite');
    const db = new Database(other);
    db.exec('CREATE TABLE meta (key TEXT, value TEXT); INSERT INTO meta VALUES (\'format\', \'something-else\')');
    db.close();
    expect(await refusedUnchanged(other, 'ARCHIVE_NOT_ARCHIVE', () => open(other))).toMatch(/application id/);
    expect((await failure(() => open(f.file('nope.custos')))).code).toBe('ARCHIVE_NOT_FOUND');
  });

  it('a corrupted file: damaged header, damaged table pages', async () => {
    const header = copy();
    const b = readFileSync(header);
    b.write('Garbage!', 0, 'latin1');
    writeFileSync(header, b);
    await refusedUnchanged(header, 'ARCHIVE_NOT_ARCHIVE', () => open(header));

    // Overwrite the root page of key_versions with junk: the file opens, reading it fails cleanly.
    const pages = copy();
    const meta = new Database(pages, { readonly: true });
    const pageSize = meta.pragma('page_size', { simple: true }) as number;
    const root = meta.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'key_versions'").pluck().get() as number;
    meta.close();
    const buf = readFileSync(pages);
    for (let i = 0; i < pageSize; i++) buf[(root - 1) * pageSize + i] = (i * 131 + 7) & 0xff;
    writeFileSync(pages, buf);
    // Whether SQLite notices while opening or at the first read of that table, the error is typed.
    const msg = await refusedUnchanged(pages, 'ARCHIVE_CORRUPT', () => {
      const a = ArchiveService.open(pages, { hsm: f.binding, anchors: null });
      try {
        return a.search({ label: 'k1' });
      } finally {
        a.close();
      }
    });
    expect(msg).toMatch(/is damaged/);
  });

  it('a schema newer than this version of Custos understands', async () => {
    const p = copy();
    const db = new Database(p);
    db.pragma('user_version = 7');
    db.prepare("UPDATE meta SET value = '7' WHERE key = 'schema_version'").run();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const msg = await refusedUnchanged(p, 'ARCHIVE_VERSION_UNSUPPORTED', () => open(p));
    expect(msg).toMatch(/schema version 7; this version of Custos understands up to 6/);
    expect((await failure(() => ArchiveService.open(p, { readonly: true }))).code).toBe('ARCHIVE_VERSION_UNSUPPORTED');
  });
});

describe('a truncated write-ahead log', () => {
  it('is refused with ARCHIVE_ROLLED_BACK, and neither file is touched', async () => {
    // Commits that are still only in the WAL (the writer has not closed), then the file and a
    // half-copied -wal are "carried away" — as from a USB stick pulled too early.
    const live = copy('live.custos');
    const w = open(live);
    await w.add([{ hsm: await f.generate('aes-256', 'wal-1'), key: { label: 'in-wal-1', purpose: 'data-encryption' } }], 'alice');
    await w.add([{ hsm: await f.generate('aes-256', 'wal-2'), key: { label: 'in-wal-2', purpose: 'data-encryption' } }], 'alice');
    const dest = f.file('carried.custos');
    anchorsFor.set(dest, anchors(live)); // the same workstation opens the carried copy
    copyFileSync(live, dest);
    copyFileSync(`${live}-wal`, `${dest}-wal`);
    w.close();
    const walSize = statSync(`${dest}-wal`).size;
    expect(walSize).toBeGreaterThan(4096);
    truncateSync(`${dest}-wal`, Math.floor(walSize / 2) + 13);
    const msg = await refusedUnchanged(dest, 'ARCHIVE_ROLLED_BACK', () => open(dest));
    expect(msg).toMatch(/lost or truncated -wal file/);
    // Read-only opening refuses too; and with the complete WAL the copy is fine.
    expect((await failure(() => ArchiveService.open(dest, { readonly: true, anchors: anchors(dest) }))).code).toBe('ARCHIVE_ROLLED_BACK');
    copyFileSync(live, dest);
    const ok = open(dest);
    try {
      expect(ok.search({ label: 'in-wal-2' }).items).toHaveLength(1);
    } finally {
      ok.close();
    }
  });

  it('a WAL cut inside its header is refused the same way', async () => {
    const live = copy('live2.custos');
    const w = open(live);
    await w.add([{ hsm: await f.generate('aes-256', 'wal-3'), key: { label: 'in-wal-3', purpose: 'data-encryption' } }], 'alice');
    const dest = f.file('carried2.custos');
    anchorsFor.set(dest, anchors(live));
    copyFileSync(live, dest);
    copyFileSync(`${live}-wal`, `${dest}-wal`);
    w.close();
    truncateSync(`${dest}-wal`, 20);
    await refusedUnchanged(dest, 'ARCHIVE_ROLLED_BACK', () => open(dest));
  });
});

describe('bundles and rows that must not be trusted', () => {
  let A: ArchiveService;
  let B: ArchiveService;
  let bundle: string;

  beforeAll(async () => {
    A = open(copy('bundle-a.custos'));
    B = await f.init('Other workstation', 'bundle-b.custos');
    bundle = f.file('a.bundle');
    await exportBundle(A, bundle, { all: true }, 'alice');
  });

  afterAll(() => {
    A?.close();
    B?.close();
  });

  const state = (x: ArchiveService) => ({ info: x.info(), head: x.auditTrail({ limit: 1 }).entries[0]!.seq });

  it('a bundle from an untrusted workstation', async () => {
    const before = state(B);
    expect((await failure(importBundle(B, bundle, {}, 'bob'))).code).toBe('BUNDLE_UNTRUSTED');
    expect(state(B)).toEqual(before);
  });

  it('a bundle with a bad signature', async () => {
    await trustWorkstation(B, A.info().keys.audit.publicKeyPem, 'A', 'bob');
    const forged = f.file('forged.bundle');
    writeFileSync(forged, readFileSync(bundle, 'utf8').replace('"label":"k2"', '"label":"k3"'));
    const before = state(B);
    expect((await failure(importBundle(B, forged, {}, 'bob'))).code).toBe('BUNDLE_SIGNATURE_INVALID');
    expect(state(B)).toEqual(before);
    // The genuine one imports.
    expect((await importBundle(B, bundle, {}, 'bob')).applied).toBe(true);
  });

  it('a trust row added behind Custos\'s back (no MAC) does not make a bundle trusted', async () => {
    const C = await f.init('Intruder', 'bundle-c.custos');
    const cBundle = f.file('c.bundle');
    await exportBundle(C, cBundle, { all: true }, 'eve');
    const spki = C.workstation.audit_spki;
    const fp = C.workstation.audit_fingerprint;
    C.close();
    const raw = new Database(B.path);
    raw.prepare('INSERT INTO trusted_workstations (fingerprint, name, public_spki, archive_id, added_at, mac) VALUES (?, ?, ?, NULL, ?, ?)').run(fp, 'intruder', spki, new Date().toISOString(), Buffer.alloc(32));
    raw.close();
    const before = state(B);
    expect((await failure(importBundle(B, cBundle, {}, 'eve'))).code).toBe('ARCHIVE_TAMPERED');
    expect(state(B)).toEqual(before);
  });

  it('a tampered version row: verify fails, and its material is refused before it reaches the HSM', async () => {
    const p = copy();
    const raw = new Database(p);
    raw.exec('DROP TRIGGER key_versions_lifecycle');
    raw.prepare("UPDATE key_versions SET state = 'pre-active' WHERE id = (SELECT v.id FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.label = 'k1')").run();
    raw.close();
    const t = open(p);
    try {
      const v = await t.verify();
      expect(v.ok).toBe(false);
      expect(v.problems.map((x) => x.check)).toContain('row-mac');
      const before = t.info();
      expect((await failure(t.restore('k1', { label: 'x', usages: ['encrypt'], onToken: false }, 'eve'))).code).toBe('ARCHIVE_TAMPERED');
      expect(t.info()).toEqual(before);
    } finally {
      t.close();
    }
  });
});
