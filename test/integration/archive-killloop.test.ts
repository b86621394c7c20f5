// The kill loop (issue #11): the built CLI (`node dist/cli.cjs`) runs `archive init`, `add`, `state`
// and `import` and is SIGKILLed after a random delay, 52+ times, in two lanes at once (each its own
// token, folder and data folder, so one lane's work in progress is not the other's debris). After
// each kill:
//   - the child printed nothing on stderr (no stack trace), and its HSM host ended too;
//   - add/state/import: the archive opens (rollback anchor respected) and verifies with the HSM
//     (chain, signatures, every row MAC), and every commit the CLI reported — and every version
//     ever seen — is still there, in a state the lifecycle allows;
//   - init: the next command (another init, or a write that logs in) leaves either the complete
//     archive, verifying, or nothing; no temporary file and no archive key without its archive.
// CUSTOS_KILLLOOP_KILLS and CUSTOS_KILLLOOP_SEED change the count and the delays.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportReport, VersionSummary } from '../../shared/archive/types';
import { AnchorStore } from '../../electron/services/archive/anchors';
import { exportBundle, trustWorkstation } from '../../electron/services/archive/bundle/index';
import type { HsmBinding } from '../../electron/services/archive/crypto';
import { ArchiveService } from '../../electron/services/archive/service';
import { HsmClient } from '../../electron/hsm/client';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import { HOST_SCRIPT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { archiveFixture, SO_PIN, USER_PIN, type ArchiveFixture } from './archive-helpers';
import { archiveIdsIn, cli, initLeftovers, type KillPlan, type Run, type Trigger } from './init-leftovers';

const KILLS = Number(process.env.CUSTOS_KILLLOOP_KILLS ?? 52);
const LANES = 2;
const COMMANDS = ['init', 'add', 'state', 'import'] as const;
type Command = (typeof COMMANDS)[number];

let f: ArchiveFixture;
/** A host started after the lanes' tokens were made (SoftHSM sees new tokens only at C_Initialize). */
let hsm: HsmClient;
let pinFile: string;
let seed = Number(process.env.CUSTOS_KILLLOOP_SEED ?? 0x6d2b79f5) >>> 0 || 1;
const rand = () => {
  // xorshift32: the same delays for the same seed
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};

interface Lane {
  n: number;
  token: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  binding: HsmBinding;
  anchors: AnchorStore;
  main: string;
  pool: string[];
  /** Keys whose state the loop toggles (suspend ↔ resume), with the state last seen committed. */
  toggles: Map<string, 'active' | 'suspended'>;
  bundles: Array<{ file: string; label: string }>;
  /** Every version id ever seen in the main archive: none may disappear. */
  seen: Set<string>;
  reported: { added: string[]; imported: string[] };
  seq: number;
}

const figures = {
  kills: { init: 0, add: 0, state: 0, import: 0 } as Record<Command, number>,
  finishedFirst: 0,
  midCommitReported: 0,
  /** Kills that landed after the commit but before the CLI printed it (the change is there, unreported). */
  committedUnreported: 0,
  /** Of the inits cleaned up after a kill: how many of their three keys had been made. */
  initKeysMade: [0, 0, 0, 0],
  initOutcomes: { nothing: 0, cleaned: 0, adopted: 0, finished: 0, complete: 0 } as Record<string, number>,
  lost: 0,
  corrupt: 0,
  orphanKeys: 0,
  orphanFiles: 0,
  orphanHosts: 0,
  stackTraces: 0,
  slowestHostExitMs: 0,
};

const args = (lane: Lane) => ['--module', SOFTHSM_MODULE, '--token', lane.token, '--pin-file', pinFile, '--json'];

async function makeLane(n: number): Promise<Lane> {
  const token = `Lane${n}`;
  await hsm.call('login', { path: SOFTHSM_MODULE, token, role: 'user', pin: USER_PIN });
  const dir = f.file(`lane${n}`);
  const dataDir = join(dir, 'data');
  const binding: HsmBinding = { hsm, module: SOFTHSM_MODULE, token };
  const anchors = new AnchorStore(dataDir);
  mkdirSync(dataDir, { recursive: true });
  const gen = async (label: string) => {
    const idHex = Buffer.from(`${n}-${label}`).toString('hex');
    await hsm.call('generate', { path: SOFTHSM_MODULE, token, spec: { type: 'aes-256', label, idHex, usages: ['encrypt'], extractable: true } });
    return { label, idHex, kind: 'secret' as const };
  };
  const main = join(dir, 'main.custos');
  const a = await ArchiveService.init(main, { hsm: binding, name: `Lane ${n}`, actor: 'setup', anchors });
  const w2 = await ArchiveService.init(join(dir, 'w2.custos'), { hsm: binding, name: `Lane ${n} sender`, actor: 'setup', anchors });
  const pool = [];
  for (let i = 0; i < 4; i++) pool.push((await gen(`pool-${i}`)).label);
  const toggles = new Map<string, 'active' | 'suspended'>();
  const st = [];
  for (let i = 0; i < 4; i++) st.push(await gen(`st-${i}`));
  await a.add(st.map((k) => ({ hsm: k, key: { label: k.label, purpose: 'data-encryption' as const }, activate: true })), 'setup');
  for (const k of st) toggles.set(`${k.label}@1`, 'active');
  await trustWorkstation(a, w2.info().keys.audit.publicKeyPem, `Lane ${n} sender`, 'setup');
  const bundles: Lane['bundles'] = [];
  for (let i = 0; i < 16; i++) {
    const k = await gen(`imp-${i}`);
    await w2.add([{ hsm: k, key: { label: k.label, purpose: 'data-encryption' } }], 'setup');
    const out = join(dir, `imp-${i}.bundle`);
    await exportBundle(w2, out, { labels: [k.label] }, 'setup');
    bundles.push({ file: out, label: k.label });
  }
  a.close();
  w2.close();
  return { n, token, dir, env: { ...f.fx.env, CUSTOS_DATA_DIR: dataDir }, binding, anchors, main, pool, toggles, bundles, seen: new Set(), reported: { added: [], imported: [] }, seq: 0 };
}

beforeAll(async () => {
  f = await archiveFixture('custos-killloop-');
  pinFile = f.file('pin.txt');
  writeFileSync(pinFile, `${USER_PIN}\n`, { mode: 0o600 });
  for (let n = 0; n < LANES; n++) f.fx.initToken(`Lane${n}`, { so: SO_PIN, user: USER_PIN });
  hsm = new HsmClient(nodeHostSpawner(HOST_SCRIPT, f.fx.env));
}, 120_000);

afterAll(async () => {
  await hsm?.close();
  await f?.close();
});

/** The command line of the lane's next `cmd`, and what its JSON output means if it was printed. */
/**
 * The command line of the lane's next `cmd`, and what shows that its work has begun: an init's first
 * file (its journal, written before its first key), or the main archive's -wal (opened after the login).
 */
function commandFor(lane: Lane, cmd: Command): { argv: string[]; trigger: Trigger; path?: string; label?: string } {
  lane.seq++;
  const opened = `${lane.main}-wal`;
  if (cmd === 'init') {
    const name = `init-${lane.seq}.custos`;
    const path = join(lane.dir, name);
    const trigger = () => readdirSync(lane.dir).some((n) => n.startsWith(`${name}.init-`));
    return { argv: ['archive', 'init', '--archive', path, '--name', `Init ${lane.seq}`, ...args(lane)], path, trigger };
  }
  if (cmd === 'add') {
    const key = lane.pool[lane.seq % lane.pool.length]!;
    return { argv: ['archive', 'add', '--archive', lane.main, '--key', key, '--label', `added-${lane.seq}`, '--purpose', 'data-encryption', '--tag', 'killloop', ...args(lane)], trigger: opened };
  }
  if (cmd === 'state') {
    const toggle = [...lane.toggles.keys()][lane.seq % lane.toggles.size]!;
    const action = lane.toggles.get(toggle) === 'active' ? 'suspend' : 'resume';
    return { argv: ['archive', 'state', '--archive', lane.main, toggle, '--action', action, ...args(lane)], trigger: opened };
  }
  const bundle = lane.bundles.shift();
  if (!bundle) throw new Error('the lane ran out of bundles');
  return { argv: ['archive', 'import', '--archive', lane.main, bundle.file, ...args(lane)], label: bundle.label, trigger: opened };
}

/** Processes whose environment names `pid` as their parent: HSM hosts of that CLI (electron/hsm/client/spawn-node.ts). */
function hostsOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'latin1');
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && env.split('\0').includes(`CUSTOS_HSM_PARENT=${pid}`)) out.push(Number(name));
    } catch {
      /* gone, or not ours */
    }
  }
  return out;
}

async function hostsGone(pid: number): Promise<void> {
  const started = Date.now();
  while (hostsOf(pid).length > 0) {
    if (Date.now() - started > 6000) {
      figures.orphanHosts++;
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  figures.slowestHostExitMs = Math.max(figures.slowestHostExitMs, Date.now() - started);
}

/** A JSON document printed in full before the kill: the command had committed. */
function printed<T>(r: Run): T | null {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    return null;
  }
}

async function checkMain(lane: Lane): Promise<void> {
  const a = ArchiveService.open(lane.main, { hsm: lane.binding, anchors: lane.anchors });
  try {
    const v = await a.verify({ withHsm: true });
    if (!v.ok) figures.corrupt++;
    expect(v.problems, `lane ${lane.n} main archive`).toEqual([]);
    const now = new Set(a.search({ limit: 500 }).items.map((x) => x.versionId));
    for (const id of [...lane.seen, ...lane.reported.added]) {
      if (!now.has(id)) figures.lost++;
      expect(now.has(id), `version ${id} was committed and is gone`).toBe(true);
    }
    for (const label of lane.reported.imported) expect(a.search({ label }).items.length, `import of ${label} was reported`).toBe(1);
    for (const id of now) lane.seen.add(id);
    for (const [toggle] of lane.toggles) {
      const state = a.version(toggle).summary.state;
      expect(['active', 'suspended']).toContain(state);
      lane.toggles.set(toggle, state as 'active' | 'suspended');
    }
  } finally {
    a.close();
  }
}

/** Nothing an init left: no temporary file, no archive key without its archive; the killed init's archive complete or absent. */
async function checkInitLeftovers(lane: Lane, path: string, next: Run): Promise<void> {
  const files = initLeftovers(lane.dir);
  figures.orphanFiles += files.length;
  expect(files, `lane ${lane.n}: temporary files after the next command`).toEqual([]);
  const ids = archiveIdsIn(lane.dir);
  const objects = await hsm.call('objects', { path: SOFTHSM_MODULE, token: lane.token, ref: {} });
  const orphans = objects.filter((o) => /^custos-(archive-kek|archive-mac|audit)\//.test(o.label) && !ids.has(o.label.split('/')[1]!));
  figures.orphanKeys += orphans.length;
  expect(orphans.map((o) => o.label), `lane ${lane.n}: orphan keys`).toEqual([]);
  const made = /destroyed (\d) of its keys/.exec(next.stderr)?.[1] ?? (/none of its keys had been made/.test(next.stderr) ? '0' : null);
  if (made !== null) figures.initKeysMade[Number(made)]!++;
  const outcome = /note: Cleaned up/.test(next.stderr) ? 'cleaned' : /it is now at/.test(next.stderr) ? 'adopted' : /had already created/.test(next.stderr) ? 'finished' : null;
  const exists = readdirSync(lane.dir).includes(path.split('/').pop()!);
  figures.initOutcomes[outcome ?? (exists ? 'complete' : 'nothing')]!++;
  if (exists) {
    const a = ArchiveService.open(path, { hsm: lane.binding, anchors: lane.anchors });
    try {
      const v = await a.verify({ withHsm: true });
      if (!v.ok) figures.corrupt++;
      expect(v.problems, `${path} after the kill`).toEqual([]);
    } finally {
      a.close();
    }
  }
}

/** What the command would change, as it stands: to tell a kill after the commit from one before it. */
function snapshot(lane: Lane): string {
  // Read-write, so that closing it (the last connection) removes the -wal the next command's trigger watches for.
  const a = ArchiveService.open(lane.main, { anchors: lane.anchors });
  try {
    return JSON.stringify([a.info().counts, a.search({ limit: 500 }).items.map((x) => x.state)]);
  } finally {
    a.close();
  }
}

/** How long a command runs, and how long its work lasts after its trigger (measured unkilled). */
interface Timing {
  total: number;
  work: number;
}

async function runLane(lane: Lane, kills: number, timing: Record<Command, Timing>): Promise<void> {
  let landed = 0;
  for (let i = 0; landed < kills && i < kills * 3; i++) {
    // By kills landed, not by runs: a command that finished before its kill is run again.
    const cmd = COMMANDS[landed % COMMANDS.length]!;
    const c = commandFor(lane, cmd);
    const t = timing[cmd];
    // Three kills in four land in the command's work (from its trigger to its end, where the keys,
    // files and commits are made); the fourth anywhere in its run, start-up and login included.
    const plan: KillPlan = rand() < 0.75 ? { trigger: c.trigger, delayMs: Math.round(rand() * t.work * 1.05) } : { delayMs: Math.round(rand() * t.total) };
    const before = cmd === 'init' ? null : snapshot(lane);
    const r = await cli(lane.env, c.argv, plan);
    const delay = plan.trigger ? `${plan.delayMs} ms after its work began` : `${plan.delayMs} ms`;
    if (r.stderr !== '') figures.stackTraces++;
    expect(r.stderr, `lane ${lane.n} ${cmd} killed ${delay} printed on stderr`).toBe('');
    const out = printed<VersionSummary & ImportReport>(r);
    if (r.signal !== 'SIGKILL') {
      figures.finishedFirst++;
      expect(r.code, r.stdout).toBe(0);
    } else {
      landed++;
      figures.kills[cmd]++;
      if (out) figures.midCommitReported++;
      await hostsGone(r.pid);
    }
    if (r.signal === 'SIGKILL' && !out && before !== null && snapshot(lane) !== before) figures.committedUnreported++;
    if (out && cmd === 'add') lane.reported.added.push(out.versionId);
    if (out && cmd === 'import' && out.applied) lane.reported.imported.push(c.label!);
    if (cmd === 'init') {
      // The next command clears up: alternately another init, and a write that logs in.
      const next = lane.seq % 2 === 0
        ? await cli(lane.env, ['archive', 'init', '--archive', join(lane.dir, `next-${lane.seq}.custos`), '--name', 'Next', ...args(lane)])
        : await cli(lane.env, ['archive', 'verify', '--archive', lane.main, ...args(lane)]);
      expect(next.code, next.stdout + next.stderr).toBe(0);
      expect(next.stderr.split('\n').filter((l) => l && !l.startsWith('note: ')), 'only notes on stderr').toEqual([]);
      await checkInitLeftovers(lane, c.path!, next);
    }
    await checkMain(lane);
  }
  expect(landed).toBe(kills);
}

describe('kill loop: SIGKILL during archive init, add, state and import (the built CLI)', () => {
  it(`${KILLS} kills: 0 lost, 0 corrupt, 0 orphan keys or files or hosts, 0 stack traces`, { timeout: 240_000 }, async () => {
    const lanes: Lane[] = [];
    for (let n = 0; n < LANES; n++) lanes.push(await makeLane(n));
    // How long each command takes here, unkilled (and that it works): the delays are drawn from it.
    const timing = {} as Record<Command, Timing>;
    for (const cmd of COMMANDS) {
      const c = commandFor(lanes[0]!, cmd);
      const r = await cli(lanes[0]!.env, c.argv, null, c.trigger);
      expect(r.code, `${cmd}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.triggeredMs, `${cmd}: its trigger was never seen`).not.toBeNull();
      timing[cmd] = { total: r.ms, work: r.ms - r.triggeredMs! };
    }
    await checkMain(lanes[0]!);
    const started = Date.now();
    await Promise.all(lanes.map((lane) => runLane(lane, Math.ceil(KILLS / LANES), timing)));
    const total = Object.values(figures.kills).reduce((x, y) => x + y, 0);
    console.log(`kill loop: ${total} kills (${COMMANDS.map((c) => `${c} ${figures.kills[c]}`).join(', ')}) in ${Math.round((Date.now() - started) / 1000)} s; ` +
      `${figures.finishedFirst} commands finished before their kill; ${figures.midCommitReported} killed after printing their commit, ${figures.committedUnreported} after committing but before printing; ` +
      `init aftermath: ${Object.entries(figures.initOutcomes).map(([k, v]) => `${k} ${v}`).join(', ')} (keys made when killed, of those cleaned: ${figures.initKeysMade.map((v, i) => `${i}: ${v}`).join(', ')}); ` +
      `lost ${figures.lost}, corrupt ${figures.corrupt}, orphan keys ${figures.orphanKeys}, orphan files ${figures.orphanFiles}, orphan hosts ${figures.orphanHosts}, stack traces ${figures.stackTraces}; ` +
      `slowest host exit ${figures.slowestHostExitMs} ms; timing ${JSON.stringify(timing)}`);
    expect(total).toBeGreaterThanOrEqual(KILLS);
    for (const c of COMMANDS) expect(figures.kills[c], `kills of ${c}`).toBeGreaterThanOrEqual(Math.floor(KILLS / COMMANDS.length) - 1);
  });
});
