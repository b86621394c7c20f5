// Archive MAC key rotation (issue #10 part 4) on a real SoftHSM2 token and a real archive file:
//   - every MACed row of every table is verified under the old key, re-MACed under a new HSM key,
//     and the archive verifies completely; the handover entry is in the log, the old key retired
//     (recorded, still in the HSM), new rows are MACed under the new key;
//   - mid-rotation (cancelled), reads and verify use the key each row names; resume finishes;
//   - a row whose MAC was broken before the rotation stops it with ARCHIVE_TAMPERED naming the row,
//     nothing changed for it; a second process holding the archive cannot write under the old key;
//   - a process killed mid-batch and at a batch boundary (SIGKILL, env-gated hook) resumes in a
//     new process, losing at most one batch, every row verifying under its key at every kill.
import { spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveService } from '../../electron/services/archive/service';
import { HOST_SCRIPT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { archiveFixture, failure, TOKEN, USER_PIN, type ArchiveFixture } from './archive-helpers';

let f: ArchiveFixture;
let a: ArchiveService;

beforeAll(async () => {
  f = await archiveFixture('custos-mac-');
  a = await f.init();
  const keys = await Promise.all(['aes-256', 'hmac-256', 'aes-128'].map((t, i) => f.generate(t as 'aes-256', `h-${i}`)));
  await a.add(keys.map((k, i) => ({ hsm: k, key: { label: `k-${i}`, purpose: i === 1 ? ('authentication' as const) : ('data-encryption' as const) }, activate: true })), 'alice');
  await a.saveCustodian({ name: 'Ann', roles: ['custodian'] }, 'alice');
  // An append-only table's rows (the journal) move too: only their MAC changes.
  const c = await a.startCeremony({ scriptId: 's', scriptVersion: 1, fingerprint: 'f'.repeat(64), parameters: {} }, 'alice');
  await a.journal(c, { action: 'step', details: { n: 1 } }, 'alice');
});

afterAll(async () => {
  a?.close();
  await f?.close();
});

const objects = (label: string) => f.hsm.call('objects', { path: SOFTHSM_MODULE, token: TOKEN, ref: { label } });
const macKeys = (s: ArchiveService) => s.internals.db.prepare("SELECT mac_key, count(*) AS n FROM key_versions GROUP BY mac_key ORDER BY mac_key NULLS FIRST").all();

describe('rotating the Archive MAC key', () => {
  it('verifies every row under the old key, re-MACs it under a new HSM key, hands over and verifies', async () => {
    const old = a.workstation;
    const st = a.macRotationState();
    expect(st.incoming).toBeNull();
    expect(st.remaining).toBe(0);
    const progress: number[] = [];
    const r = await a.rotateMacKey({ actor: 'alice', batchSize: 4, onProgress: (p) => progress.push(p.done) });
    expect(r).toMatchObject({ finished: true, from: old.mac_check, alreadyDone: false });
    // Every row, and the incoming key's own record (MACed under the old key when it was recorded).
    expect(r.remaced).toBe(st.rows + 1);
    expect(progress.at(-1)).toBe(st.rows + 1);
    expect(progress.length).toBeGreaterThan(1);
    const ws = a.workstation;
    expect(ws.mac_check).toBe(r.to);
    expect(ws.mac_check).not.toBe(old.mac_check);
    expect(ws.mac_label).toMatch(/^custos-archive-mac\/.+\/2$/);
    // The old key is retired in the record and still in the HSM; the new one is there, not extractable in the clear.
    expect(await objects(old.mac_label)).toHaveLength(1);
    const made = await objects(ws.mac_label);
    expect(made).toHaveLength(1);
    expect(a.macKeys().map((k) => [k.mac_check, k.state]).sort()).toEqual([[old.mac_check, 'retired'], [ws.mac_check, 'current']].sort());
    // Every row names the new key; the handover is in the log; everything verifies (rows under the new key).
    expect(macKeys(a)).toEqual([{ mac_key: ws.mac_check, n: 3 }]);
    const h = a.auditTrail({ action: 'archive.mac.handover' }).entries;
    expect(h).toHaveLength(1);
    expect(h[0]!.details).toMatchObject({ from: { check: old.mac_check }, to: { check: ws.mac_check } });
    expect(h[0]!.seq).toBe(r.handoverSeq);
    const v = await a.verify({ withHsm: true });
    expect(v.problems).toEqual([]);
    expect(v.rows).toBeGreaterThan(st.rows);
    // New rows are MACed under the new key (and name it), after a reopen too.
    await a.saveCustodian({ name: 'Bob', roles: ['custodian'] }, 'alice');
    a.close();
    a = ArchiveService.open(f.file('archive.custos'), { hsm: f.binding, anchors: f.anchors });
    const k = await f.generate('aes-256', 'h-after');
    await a.add([{ hsm: k, key: { label: 'k-after', purpose: 'data-encryption' } }], 'alice');
    const rr = await a.restore('k-0', { label: 'r-k0', usages: ['encrypt'], onToken: false }, 'alice');
    expect(rr.checked).toBe(true);
    expect((await a.verify({ withHsm: true })).problems).toEqual([]);
  });

  it('a cancelled rotation stops between batches, reads and verifies rows under either key, and resumes', async () => {
    const first = a.workstation;
    const ac = new AbortController();
    const r1 = await a.rotateMacKey({ actor: 'bob', batchSize: 2, onProgress: (p) => p.thisRun >= 4 && ac.abort(), signal: ac.signal });
    expect(r1.finished).toBe(false);
    expect(r1.remaced).toBeGreaterThanOrEqual(4);
    const st = a.macRotationState();
    expect(st.incoming?.check).toBe(r1.to);
    expect(st.remaining).toBe(st.rows - r1.remaced);
    expect(a.workstation.mac_check).toBe(first.mac_check);
    // Mid-rotation: verify and retrieval follow each row's key, and a new row is written under the old key.
    expect((await a.verify({ withHsm: true })).problems).toEqual([]);
    expect((await a.restore('k-1', { label: 'r-k1', usages: ['sign'], onToken: false }, 'bob')).checked).toBe(true);
    await a.saveCustodian({ name: 'Carol', roles: ['custodian'] }, 'bob');
    // A row pointed at a key the archive never had is found.
    const copy = f.file('unknown-mac.custos');
    a.internals.db.pragma('wal_checkpoint(TRUNCATE)');
    copyFileSync(f.file('archive.custos'), copy);
    const d = new Database(copy);
    d.prepare("UPDATE custodians SET mac_key = 'deadbeef00' WHERE rowid = 1").run();
    d.close();
    const bad = ArchiveService.open(copy, { hsm: f.binding });
    try {
      expect((await bad.verify({ withHsm: true })).problems.map((p) => p.message).join('\n')).toMatch(/names a MAC key the archive does not know \(check value deadbeef00\)/);
    } finally {
      bad.close();
    }
    // Resumed after a reopen: the same rotation finishes, including the row added meanwhile.
    a.close();
    a = ArchiveService.open(f.file('archive.custos'), { hsm: f.binding, anchors: f.anchors });
    const r2 = await a.rotateMacKey({ actor: 'bob' });
    expect(r2).toMatchObject({ finished: true, from: first.mac_check, to: r1.to });
    expect(r2.remaced).toBe(st.remaining + 1);
    expect(a.macRotationState()).toMatchObject({ incoming: null, remaining: 0 });
    expect((await a.verify({ withHsm: true })).problems).toEqual([]);
    expect(a.auditTrail({ action: 'archive.mac.handover' }).entries).toHaveLength(2);
  });

  it('an archive opened before another process rotated the MAC key refuses to write under the old key', async () => {
    const stale = ArchiveService.open(f.file('archive.custos'), { hsm: f.binding, anchors: f.anchors });
    try {
      const r = await a.rotateMacKey({ actor: 'bob' });
      expect(r.finished).toBe(true);
      const e = await failure(stale.saveCustodian({ name: 'Dan', roles: ['custodian'] }, 'dan'));
      expect(e.code).toBe('ARCHIVE_CONFLICT');
      expect(e.message).toMatch(/MAC key .* was rotated by another process/);
    } finally {
      stale.close();
    }
    expect((await a.verify({ withHsm: true })).problems).toEqual([]);
  });

  it('a row whose MAC was broken before the rotation stops it, named, with nothing changed for it', async () => {
    a.internals.db.pragma('wal_checkpoint(TRUNCATE)');
    const copy = f.file('tampered.custos');
    copyFileSync(f.file('archive.custos'), copy);
    const d = new Database(copy);
    const id = d.prepare('SELECT id FROM custodians ORDER BY rowid LIMIT 1 OFFSET 1').pluck().get() as string;
    d.prepare("UPDATE custodians SET name = 'Mallory' WHERE id = ?").run(id);
    const before = d.prepare('SELECT mac, mac_key FROM custodians WHERE id = ?').get(id);
    d.close();
    const t = ArchiveService.open(copy, { hsm: f.binding });
    try {
      const e = await failure(t.rotateMacKey({ actor: 'eve', batchSize: 64 }));
      expect(e.code).toBe('ARCHIVE_TAMPERED');
      expect(e.message).toContain(`Row ${id} of custodians`);
      expect(t.internals.db.prepare('SELECT mac, mac_key FROM custodians WHERE id = ?').get(id)).toEqual(before);
      expect(t.macRotationState().incoming).not.toBeNull();
      expect(t.workstation.mac_check).toBe(a.workstation.mac_check);
    } finally {
      t.close();
    }
    // A row that names no MAC key (mac_key set to NULL) is found by verify and stops the rotation too.
    const copy2 = f.file('no-mac-key.custos');
    copyFileSync(f.file('archive.custos'), copy2);
    const d2 = new Database(copy2);
    const vid = d2.prepare('SELECT id FROM key_versions ORDER BY rowid LIMIT 1').pluck().get() as string;
    d2.prepare('UPDATE key_versions SET mac_key = NULL WHERE id = ?').run(vid);
    d2.close();
    const t2 = ArchiveService.open(copy2, { hsm: f.binding });
    try {
      expect((await t2.verify({ withHsm: true })).problems.map((p) => p.message)).toContain(`Row ${vid} of key_versions names no MAC key: it was not written by Custos.`);
      const e2 = await failure(t2.rotateMacKey({ actor: 'eve' }));
      expect(e2.code).toBe('ARCHIVE_TAMPERED');
      expect(e2.message).toContain(`Row ${vid} of key_versions`);
      expect(e2.message).toMatch(/names no MAC key/);
    } finally {
      t2.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Kill and resume: mid-batch and at a batch boundary, in a child process (SIGKILL).

const VERSIONS = Number(process.env.CUSTOS_MAC_KILL_VERSIONS ?? 3000);

describe(`a MAC key rotation of ${VERSIONS.toLocaleString('en')} versions killed mid-batch and at a batch boundary`, () => {
  let child: string;
  let g: ArchiveFixture;
  let file: string;

  beforeAll(async () => {
    g = await archiveFixture('custos-mac-kill-');
    file = g.file('archive.custos');
    const s = await g.init('Kill test');
    const pool = await Promise.all(Array.from({ length: 8 }, (_, i) => g.generate('aes-256', `pool-${i}`)));
    for (let done = 0; done < VERSIONS; done += 5000) {
      const n = Math.min(5000, VERSIONS - done);
      await s.add(Array.from({ length: n }, (_, i) => ({ hsm: pool[(done + i) % pool.length]!, key: { label: `v-${done + i}`, purpose: 'data-encryption' as const } })), 'fill');
    }
    s.close();
    child = join(g.fx.dir, 'mac-child.cjs');
    await build({ entryPoints: [join(__dirname, 'mac-rotation-child.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: child, external: ['better-sqlite3', 'pkcs11js', 'custos-p11batch'], logLevel: 'silent' });
  }, 240_000 + VERSIONS * 20);

  afterAll(async () => {
    await g?.close();
  });

  const run = (killAt: string | null, batch: number) => {
    const env = { ...g.fx.env, NODE_PATH: join(__dirname, '../../node_modules'), MAC_TEST_PIN: USER_PIN, MAC_TEST_BATCH: String(batch), ...(killAt ? { CUSTOS_ARCHIVE_TEST_HOOKS: '1', CUSTOS_ARCHIVE_KILL_AT: killAt } : {}) };
    const r = spawnSync(process.execPath, [child, file, SOFTHSM_MODULE, TOKEN, HOST_SCRIPT, g.dataDir], { env, encoding: 'utf8', timeout: 180_000 });
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { progress?: { done: number; total: number; thisRun: number }; at: number; result?: { finished: boolean; remaced: number } });
    return { signal: r.signal, status: r.status, stderr: r.stderr, lines };
  };

  /** Between two runs: every row verifies under the key it names; returns the rows under the new key. */
  async function between(): Promise<number> {
    const s = ArchiveService.open(file, { hsm: g.binding, anchors: g.anchors });
    try {
      const v = await s.verify({ withHsm: true });
      expect(v.problems).toEqual([]);
      const st = s.macRotationState();
      return st.rows - st.remaining;
    } finally {
      s.close();
    }
  }

  it('loses at most one batch per kill, verifies at every kill, and finishes on resume', async () => {
    const BATCH = 256;
    // Mid-batch: the batch reaching 1,000 rows was verified and MACed under the new key, not committed.
    const k1 = run('mac:every:1000', BATCH);
    expect(k1.signal).toBe('SIGKILL');
    const last1 = k1.lines.filter((l) => l.progress).at(-1)!.progress!.done;
    expect(last1).toBeLessThan(1000);
    expect(last1).toBeGreaterThanOrEqual(1000 - BATCH);
    expect(await between()).toBe(last1);
    // At a batch boundary: the batch reaching the next 1,000 was committed, then the process died.
    const k2 = run('mac:after:1000', BATCH);
    expect(k2.signal).toBe('SIGKILL');
    const moved = await between();
    expect(moved).toBeGreaterThanOrEqual(2000);
    expect(moved).toBeLessThan(2000 + BATCH);
    // Resumed: the same rotation finishes from where it stopped, and only the rest is re-MACed.
    const fin = run(null, BATCH);
    expect(fin.status, fin.stderr).toBe(0);
    const res = fin.lines.find((l) => l.result)!.result!;
    expect(res.finished).toBe(true);
    const s = ArchiveService.open(file, { hsm: g.binding, anchors: g.anchors });
    try {
      const st = s.macRotationState();
      expect(st).toMatchObject({ incoming: null, remaining: 0 });
      // All but what the killed runs moved (the retired key's record is written by the handover).
      expect(res.remaced).toBe(st.rows - 1 - moved);
      expect((await s.verify({ withHsm: true })).problems).toEqual([]);
      // Progress came at least once a second.
      const ats = fin.lines.filter((l) => l.progress).map((l) => l.at);
      const gaps = ats.slice(1).map((t, i) => t - ats[i]!);
      expect(Math.max(0, ...gaps)).toBeLessThan(1000);
      const rate = fin.lines.filter((l) => l.progress).at(-1)!.progress as { perSecond?: number };
      console.log(`MAC key rotation: ${res.remaced} rows re-MACed at ${rate.perSecond ?? '?'} rows/s`);
    } finally {
      s.close();
    }
  }, 300_000 + VERSIONS * 20);
});
