// Issue #11 part 5: `archive init` killed mid-way used to leave its temporary file set and orphan
// keys on the token. Now it journals what it will make, and the next run finishes or clears it and
// says so. Here the built CLI is killed (SIGKILL, by the test hook in services/archive/init.ts) at
// every boundary of an init; the next command — another init, or a write that logs in — must leave
// no temporary file and no orphan key, put a complete archive in place, tell the person (stderr) and
// record it in the audit log of the archive it wrote.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveDoor } from '../../electron/services/archive/door';
import { INIT_JOURNAL_FORMAT, writeJournal, releaseJournal } from '../../electron/services/archive/init-journal';
import { ArchiveService } from '../../electron/services/archive/service';
import { markOf } from '../../electron/services/process-alive';
import { SOFTHSM_MODULE } from '../helpers/softhsm';
import { archiveFixture, TOKEN, USER_PIN, type ArchiveFixture } from './archive-helpers';
import { cli, hsmArgs, initLeftovers, orphanKeys } from './init-leftovers';

let f: ArchiveFixture;
let pinFile: string;
let main: string;
let n = 0;

const POINTS = ['journaled', 'created', 'kek', 'mac', 'audit', 'committed', 'linked'] as const;
/** Keys (by label: the audit key is a pair) that exist when the init is killed at each point. */
const KEYS_MADE: Record<(typeof POINTS)[number], number> = { journaled: 0, created: 0, kek: 1, mac: 2, audit: 3, committed: 3, linked: 3 };

beforeAll(async () => {
  f = await archiveFixture('custos-init-recovery-');
  pinFile = f.file('pin.txt');
  writeFileSync(pinFile, `${USER_PIN}\n`, { mode: 0o600 });
  main = f.file('main.custos');
  (await f.init('Main', 'main.custos')).close();
});

afterAll(async () => {
  await f?.close();
});

const folder = () => f.fx.dir;
const initArgs = (path: string) => ['archive', 'init', '--archive', path, '--name', `Interrupted ${path.slice(-12)}`, ...hsmArgs(pinFile), '--json'];

/** Runs `archive init` killed at `point` by the test hook; returns the path it was making. */
async function interruptedInit(point: string): Promise<string> {
  const path = f.file(`killed-${point}-${++n}.custos`);
  const r = await cli({ ...f.fx.env, CUSTOS_ARCHIVE_TEST_HOOKS: '1', CUSTOS_ARCHIVE_KILL_AT: `init:${point}` }, initArgs(path));
  expect(r.signal, r.stdout + r.stderr).toBe('SIGKILL');
  expect(r.stderr).toBe('');
  return path;
}

function auditActions(path: string): Array<{ action: string; details: string }> {
  const a = ArchiveService.open(path, { readonly: true });
  try {
    return a.internals.db.prepare('SELECT action, details FROM audit_entries ORDER BY seq').all() as Array<{ action: string; details: string }>;
  } finally {
    a.close();
  }
}

describe('archive init killed at each step, then the next command', () => {
  for (const [i, point] of POINTS.entries()) {
    const via = i % 2 === 0 ? 'the next init' : 'the next write (archive verify with the HSM)';
    it(`killed after "${point}": ${via} clears or adopts what it left, says so, and audits it`, async () => {
      const path = await interruptedInit(point);
      // The debris is really there: the journal, and the keys made so far.
      expect(initLeftovers(folder()).some((x) => x.endsWith('.journal'))).toBe(true);
      expect((await orphanKeys(f, folder())).length > 0).toBe(KEYS_MADE[point] > 0 && point !== 'linked');

      let written: string;
      let next;
      if (i % 2 === 0) {
        written = f.file(`next-${n}.custos`);
        next = await cli(f.fx.env, initArgs(written));
      } else {
        written = main;
        next = await cli(f.fx.env, ['archive', 'verify', '--archive', main, ...hsmArgs(pinFile), '--json']);
      }
      expect(next.code, next.stdout + next.stderr).toBe(0);

      const complete = point === 'committed' || point === 'linked';
      expect(existsSync(path)).toBe(complete);
      expect(initLeftovers(folder())).toEqual([]);
      expect(await orphanKeys(f, folder())).toEqual([]);
      const outcome = point === 'linked' ? 'finished' : point === 'committed' ? 'adopted' : 'cleaned';
      expect(next.stderr).toMatch(outcome === 'finished' ? /note: An archive init interrupted on .* had already created/ : outcome === 'adopted' ? /note: .*not yet put it in place; it is now at/ : /note: Cleaned up an archive init of .*interrupted/);
      if (complete) {
        const a = ArchiveService.open(path, { hsm: f.binding, anchors: f.anchors });
        try {
          const v = await a.verify({ withHsm: true });
          expect(v.problems).toEqual([]);
        } finally {
          a.close();
        }
      }
      const audited = auditActions(written).filter((e) => e.action === 'archive.init-recovery');
      expect(audited.length).toBeGreaterThan(0);
      const details = JSON.parse(audited.at(-1)!.details) as { outcome: string; path: string; destroyed: string[] };
      expect(details).toMatchObject({ outcome, path });
      expect(details.destroyed).toHaveLength(outcome === 'cleaned' ? KEYS_MADE[point] : 0);
    });
  }
});

describe('without a login, and with the init still running', () => {
  it('at start-up (no HSM) the temporary files go and the keys wait, named, for the next login', async () => {
    const path = await interruptedInit('mac');
    const notes: string[] = [];
    const door = new ArchiveDoor(f.hsm, f.dataDir, (l) => notes.push(l));
    const r = await door.recoverInits(path, null);
    expect(r.map((x) => x.outcome)).toEqual(['pending']);
    expect(r[0]!.waiting).toHaveLength(3);
    expect(notes[0]).toMatch(/left keys on token “Archive” .*destroyed the next time/);
    expect(initLeftovers(folder()).every((x) => x.endsWith('.journal'))).toBe(true);
    expect((await orphanKeys(f, folder())).length).toBe(2);
    // The next command that logs in clears them.
    const next = await cli(f.fx.env, ['archive', 'verify', '--archive', main, ...hsmArgs(pinFile), '--json']);
    expect(next.code, next.stdout).toBe(0);
    expect(next.stderr).toMatch(/destroyed 2 of its keys/);
    expect(initLeftovers(folder())).toEqual([]);
    expect(await orphanKeys(f, folder())).toEqual([]);
  });

  it('never touches an init whose process is alive; a PID reused by another process does not keep it alive', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const archiveId = '00000000-0000-4000-8000-000000000001';
    const path = f.file('live.custos');
    const tmp = `${path}.init-${sleeper.pid}-${Date.now()}`;
    const label = `custos-archive-kek/${archiveId}`;
    await f.hsm.call('generate', { path: SOFTHSM_MODULE, token: TOKEN, spec: { type: 'aes-256', label, idHex: 'aa01', usages: ['wrap'], extractable: true } });
    const journal = writeJournal(
      { format: INIT_JOURNAL_FORMAT, version: 1, startedAt: new Date().toISOString(), writer: markOf(sleeper.pid!), host: null, path, tmp, archiveId, module: SOFTHSM_MODULE, token: TOKEN, tokenUri: null, keys: [{ role: 'kek', label, idHex: 'aa01' }] },
      folder(),
    );
    releaseJournal(journal, false); // as if another process had written it
    const door = new ArchiveDoor(f.hsm, f.dataDir);
    try {
      expect(await door.recoverInits(path, { module: SOFTHSM_MODULE, token: TOKEN })).toEqual([]);
      expect(existsSync(journal)).toBe(true);
      // Same PID, another start time: not the writer.
      writeFileSync(journal, JSON.stringify({ ...JSON.parse(readFileSync(journal, 'utf8')), writer: { pid: sleeper.pid, start: '1' } }));
      const r = await door.recoverInits(path, { module: SOFTHSM_MODULE, token: TOKEN });
      expect(r.map((x) => [x.outcome, x.destroyed])).toEqual([['cleaned', [label]]]);
      expect(existsSync(journal)).toBe(false);
    } finally {
      sleeper.kill('SIGKILL');
    }
    expect(await orphanKeys(f, folder())).toEqual([]);
  });

  it('an init into a missing folder is refused in words, and leaves nothing', async () => {
    const r = await cli(f.fx.env, initArgs(join(folder(), 'no-such-folder', 'a.custos')));
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'INVALID_INPUT' });
    expect(await orphanKeys(f, folder())).toEqual([]);
  });
});
