// What an interrupted `archive init` can leave, looked for the way a reviewer would: files named
// FILE.init-* in the folder, and archive keys on the token (custos-archive-kek/ID,
// custos-archive-mac/ID, custos-audit/ID) whose archive ID no archive file in the folder has.
// Shared by the init-recovery test and the kill loop.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, SOFTHSM_MODULE } from '../helpers/softhsm';
import { TOKEN, type ArchiveFixture } from './archive-helpers';

export const CLI = join(DIST, 'cli.cjs');

export interface Run {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** When the kill's trigger file appeared (ms after the start), if one was watched. */
  triggeredMs: number | null;
}

/** A file that appears when the command's real work starts, or a test for it. */
export type Trigger = string | (() => boolean);

/** SIGKILL `delayMs` after the start, or after `trigger` holds (never, if it does not). */
export interface KillPlan {
  delayMs: number;
  trigger?: Trigger;
}

/**
 * Runs the built CLI, killed as `kill` says (the command may finish first); a trigger file is watched
 * even without a kill, to time it. Resolves when the process has exited and its pipes are drained.
 */
export function cli(env: NodeJS.ProcessEnv, args: string[], kill?: KillPlan | null, trigger?: Trigger): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let timer: NodeJS.Timeout | null = null;
    let triggeredMs: number | null = null;
    const watched = kill?.trigger ?? trigger;
    const holds = typeof watched === 'string' ? () => existsSync(watched) : watched;
    const fire = () => (timer = kill ? setTimeout(() => child.kill('SIGKILL'), kill.delayMs) : null);
    const poll = holds
      ? setInterval(() => {
          if (!holds()) return;
          clearInterval(poll!);
          triggeredMs = Date.now() - started;
          if (kill?.trigger) fire();
        }, 2)
      : null;
    if (kill && !kill.trigger) fire();
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      clearTimeout(guard);
      resolve({ pid: child.pid ?? -1, code, signal, stdout, stderr, ms: Date.now() - started, triggeredMs });
    });
  });
}

export const hsmArgs = (pinFile: string) => ['--module', SOFTHSM_MODULE, '--token', TOKEN, '--pin-file', pinFile];

/** Files an init leaves while it works (or after a kill): FILE.init-PID-MS and its companions. */
export function initLeftovers(folder: string): string[] {
  return readdirSync(folder).filter((n) => /\.init-\d+-\d+/.test(n));
}

/** The archive id of every Custos archive file in `folder` (by its meta table). */
export function archiveIdsIn(folder: string): Set<string> {
  const ids = new Set<string>();
  for (const name of readdirSync(folder)) {
    if (!/\.custos$/.test(name)) continue;
    const db = new Database(join(folder, name), { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare("SELECT value FROM meta WHERE key = 'archive_id'").get() as { value: string } | undefined;
      if (row) ids.add(row.value);
    } finally {
      db.close();
    }
  }
  return ids;
}

/** Archive keys on the token (labels), by the archive id in their label. */
export async function archiveKeysOnToken(f: ArchiveFixture): Promise<Map<string, string[]>> {
  const all = await f.hsm.call('objects', { path: SOFTHSM_MODULE, token: TOKEN, ref: {} });
  const byArchive = new Map<string, string[]>();
  for (const o of all) {
    const m = /^custos-(?:archive-kek|archive-mac|audit)\/(.+)$/.exec(o.label);
    if (!m) continue;
    byArchive.set(m[1]!, [...(byArchive.get(m[1]!) ?? []), `${o.kind}:${o.label}`]);
  }
  return byArchive;
}

/** Archive keys whose archive is not a file in `folder`: orphans. */
export async function orphanKeys(f: ArchiveFixture, folder: string): Promise<string[]> {
  const ids = archiveIdsIn(folder);
  const out: string[] = [];
  for (const [id, labels] of await archiveKeysOnToken(f)) if (!ids.has(id)) out.push(...labels);
  return out;
}
