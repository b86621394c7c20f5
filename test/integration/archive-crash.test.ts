// Crash safety: a child process archives keys (3 keys per transaction) and rotates keys (a
// multi-row update: the old version deactivated, the new one inserted and activated, their audit
// entries and a checkpoint) through the real HSM host and a real SQLite file, printing a line
// after each commit; it is killed with SIGKILL at a random moment. 50+ times. After each kill the
// archive must open, verify (chain, signatures, every row MAC in the HSM), hold every commit the
// child reported, and show nothing half-written.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveService } from '../../electron/services/archive/service';
import { HOST_SCRIPT, ROOT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { archiveFixture, TOKEN, USER_PIN, type ArchiveFixture } from './archive-helpers';

const KILLS = Number(process.env.CUSTOS_CRASH_KILLS ?? 52);
const ROTATING = ['rot-0', 'rot-1', 'rot-2', 'rot-3'];

let f: ArchiveFixture;
let child: string;
let pool: Array<{ label: string; idHex: string }>;

// The child: log in, open the archive, then alternate "ingest 3 keys" and "rotate one key",
// reporting each commit only after it returned (i.e. after COMMIT).
const CHILD_SOURCE = `
import { HsmClient } from './electron/hsm/client';
import { nodeHostSpawner } from './electron/hsm/client/spawn-node';
import { AnchorStore } from './electron/services/archive/anchors';
import { ArchiveService } from './electron/services/archive/service';
const env = process.env;
const pool = JSON.parse(env.CRASH_POOL!);
const run = env.CRASH_RUN!;
(async () => {
  const hsm = new HsmClient(nodeHostSpawner(env.CRASH_HOST!, env));
  await hsm.call('login', { path: env.CRASH_MODULE!, token: env.CRASH_TOKEN!, role: 'user', pin: env.CRASH_PIN! });
  const a = ArchiveService.open(env.CRASH_ARCHIVE!, { hsm: { hsm, module: env.CRASH_MODULE!, token: env.CRASH_TOKEN! }, anchors: new AnchorStore(env.CRASH_DATA!) });
  process.stdout.write('READY\\n');
  for (let n = 0; ; n++) {
    if (n % 2 === 0) {
      const tag = 'b-' + run + '-' + n;
      const items = [0, 1, 2].map((i) => ({ hsm: pool[(n + i) % pool.length], key: { label: tag + '-' + i, purpose: 'data-encryption', tags: [tag] }, activate: i !== 1 }));
      const r = await a.add(items, 'crash-child');
      process.stdout.write('COMMIT ' + JSON.stringify({ kind: 'ingest', tag, ids: r.map((x) => x.versionId) }) + '\\n');
    } else {
      const label = ${JSON.stringify(ROTATING)}[(n >> 1) % 4];
      const [r] = await a.add([{ hsm: pool[n % pool.length], key: { label }, activate: true }], 'crash-child');
      process.stdout.write('COMMIT ' + JSON.stringify({ kind: 'rotate', label, version: r.version, id: r.versionId }) + '\\n');
    }
  }
})().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(3); });
`;

beforeAll(async () => {
  f = await archiveFixture('custos-archive-crash-');
  const a = await f.init('Crash test');
  pool = [];
  for (let i = 0; i < 4; i++) pool.push(await f.generate('aes-256', `crash-pool-${i}`));
  // The keys the children rotate, each with an active version 1.
  await a.add(
    ROTATING.map((label, i) => ({ hsm: pool[i]!, key: { label, purpose: 'key-wrapping' as const }, activate: true })),
    'setup',
  );
  a.close();
  const dir = join(ROOT, 'node_modules', '.cache', 'custos-tests');
  mkdirSync(dir, { recursive: true });
  child = join(dir, 'archive-crash-child.cjs');
  await build({
    stdin: { contents: CHILD_SOURCE, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: child,
    external: ['better-sqlite3', 'pkcs11js', 'custos-p11batch', 'electron'],
    logLevel: 'warning',
  });
});

afterAll(async () => {
  await f?.close();
});

interface Commit {
  kind: 'ingest' | 'rotate';
  tag?: string;
  ids?: string[];
  label?: string;
  version?: number;
  id?: string;
}

/** Starts a child, waits for READY, kills it `delayMs` later; returns the commits it reported. */
function runAndKill(run: number, delayMs: number): Promise<{ commits: Commit[]; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child], {
      env: {
        ...f.fx.env,
        CRASH_HOST: HOST_SCRIPT,
        CRASH_MODULE: SOFTHSM_MODULE,
        CRASH_TOKEN: TOKEN,
        CRASH_PIN: USER_PIN,
        CRASH_ARCHIVE: f.file('archive.custos'),
        CRASH_DATA: f.dataDir,
        CRASH_RUN: String(run),
        CRASH_POOL: JSON.stringify(pool.map((k) => ({ ...k, kind: 'secret' }))),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let armed = false;
    const guard = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!armed && out.includes('READY\n')) {
        armed = true;
        setTimeout(() => p.kill('SIGKILL'), delayMs);
      }
    });
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('exit', (_code, signal) => {
      clearTimeout(guard);
      // Only complete lines: a report cut by the kill did not happen.
      const commits = out
        .split('\n')
        .slice(0, -1)
        .filter((l) => l.startsWith('COMMIT '))
        .map((l) => JSON.parse(l.slice(7)) as Commit);
      resolve({ commits, signal, stderr });
    });
  });
}

describe('crash safety: SIGKILL during ingestion and multi-row updates', () => {
  it(`after ${KILLS} kills at random moments the archive opens, verifies, and holds exactly the committed work`, async () => {
    const reported: Commit[] = [];
    let killedMidRun = 0;
    let seed = 0x2545f491;
    const rand = () => {
      // xorshift32: reproducible delays for a given run
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    for (let run = 0; run < KILLS; run++) {
      const r = await runAndKill(run, Math.floor(rand() * 250));
      expect(r.stderr, `child ${run} failed on its own`).toBe('');
      expect(r.signal).toBe('SIGKILL');
      if (r.commits.length > 0) killedMidRun++;
      reported.push(...r.commits);

      // The archive opens (rollback anchor respected), and verifies completely.
      const a = ArchiveService.open(f.file('archive.custos'), { hsm: f.binding, anchors: f.anchors });
      try {
        const v = await a.verify({ withHsm: true });
        expect(v.problems, `after kill ${run}`).toEqual([]);
        expect(v.ok).toBe(true);
        checkState(a, reported);
      } finally {
        a.close();
      }
    }
    // The kills really landed in the middle of work, many times.
    expect(reported.length).toBeGreaterThan(KILLS / 2);
    expect(killedMidRun).toBeGreaterThan(KILLS / 4);
    console.log(`crash test: ${KILLS} kills, ${reported.length} commits reported, ${killedMidRun} children killed after at least one commit`);
  }, 180_000); // ~55 s alone on a 2-core machine: a timeout is not what this test measures
});

function checkState(a: ArchiveService, reported: Commit[]): void {
  const { db } = a.internals;
  // Every reported commit is there, as reported.
  for (const c of reported) {
    if (c.kind === 'ingest') {
      const rows = a.search({ tags: [c.tag!] }).items;
      expect(rows.map((x) => x.versionId).sort()).toEqual([...c.ids!].sort());
    } else {
      const v = a.version(c.id!);
      expect(v.summary.label).toBe(c.label);
      expect(v.summary.version).toBe(c.version);
    }
  }
  // Nothing half-written: every ingest batch in the file is complete (3 keys, 3 versions, the
  // middle one pre-active) even if its report was cut off by the kill…
  const batches = db.prepare("SELECT tag, count(*) AS n FROM key_tags WHERE tag LIKE 'b-%' GROUP BY tag").all() as Array<{ tag: string; n: number }>;
  for (const b of batches) {
    expect(b.n, b.tag).toBe(3);
    const states = a.search({ tags: [b.tag] }).items.map((x) => `${x.label.slice(-1)}:${x.state}`).sort();
    expect(states).toEqual(['0:active', '1:pre-active', '2:active']);
  }
  // …every rotated key has versions 1..n, exactly one active — the newest — and the rest deactivated…
  for (const label of ROTATING) {
    const vs = a.search({ label, limit: 500 }).items;
    expect(vs.map((x) => x.version)).toEqual(vs.map((_, i) => vs.length - i));
    expect(vs[0]!.state).toBe('active');
    for (const old of vs.slice(1)) expect(old.state).toBe('deactivated');
  }
  // …and every row has its audit entry, every entry its checkpoint (verify checked both).
  const keys = (db.prepare('SELECT count(*) AS n FROM keys').get() as { n: number }).n;
  const created = (db.prepare("SELECT count(*) AS n FROM audit_entries WHERE action = 'key.create'").get() as { n: number }).n;
  expect(created).toBe(keys);
}
