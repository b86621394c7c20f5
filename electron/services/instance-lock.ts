// One Custos window per data folder, whichever shell runs it. Two windows on one folder would each
// start an HSM host logged in to the same tokens and write the same archive and configuration from
// two places; a custodian would not know which window a ceremony step went to. Electron's own
// requestSingleInstanceLock() covers Electron against Electron (main.ts); this file covers every
// shell against every other: `custos.lock` in the data folder names the holder by PID and /proc
// start time (process-alive.ts), so a lock left by a crash — its PID dead, or reused by another
// program — is taken over, and a live one refuses the second window with words.
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CustosError } from '../../shared/result';
import { isRunning, markOf, type ProcessMark } from './process-alive';

export const LOCK_FILE = 'custos.lock';

export interface LockRecord extends ProcessMark {
  shell: string;
  at: string;
}

export interface InstanceLock {
  file: string;
  /** The lock that was found and taken over (its holder was gone), if any: for the log. */
  tookOverFrom: LockRecord | null;
  release(): void;
}

function read(file: string): { text: string; record: LockRecord | null } | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const r = JSON.parse(text) as Partial<LockRecord>;
    const ok = typeof r.pid === 'number' && (typeof r.start === 'string' || r.start === null) && typeof r.shell === 'string';
    return { text, record: ok ? (r as LockRecord) : null };
  } catch {
    return { text, record: null };
  }
}

/** Creates `file` with `text` in one step (link(2) of a finished file refuses to replace): false when it exists. */
function create(file: string, text: string): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * Moves a stale lock out of the way, but only the one judged stale: it is renamed aside first and
 * compared, so that a lock another window created in the meantime is put back, not deleted.
 */
function clearStale(file: string, staleText: string): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch {
    return; // gone already: someone else cleared it
  }
  let movedText = '';
  try {
    movedText = readFileSync(aside, 'utf8');
  } catch {
    /* unreadable: treat as not ours to delete */
  }
  if (movedText !== staleText) {
    try {
      linkSync(aside, file);
    } catch {
      /* a third window took the name: it holds the lock now */
    }
  }
  unlinkSync(aside);
}

function refused(dataDir: string, holder: LockRecord): CustosError {
  const where = holder.shell === 'preview' ? 'a Custos preview shell' : holder.shell === 'electron' ? 'the Custos app' : `Custos (${holder.shell})`;
  return new CustosError({
    code: 'INSTANCE_RUNNING',
    message: `${where} is already running on the data folder ${dataDir} (process ${holder.pid}, since ${holder.at}).`,
    action: 'Use that window, or close it first. To run a second Custos beside it, give this one another data folder (CUSTOS_DATA_DIR).',
    details: { dataDir, pid: holder.pid },
  });
}

/** Takes the data folder's lock for this process, or throws INSTANCE_RUNNING naming the holder. */
export function acquireInstanceLock(dataDir: string, shell: string): InstanceLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, LOCK_FILE);
  const mine: LockRecord = { ...markOf(), shell, at: new Date().toISOString() };
  const text = JSON.stringify(mine) + '\n';
  let tookOverFrom: LockRecord | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (create(file, text)) {
      let released = false;
      return {
        file,
        tookOverFrom,
        release() {
          if (released) return;
          released = true;
          // Only our own lock: never one a later window took over after we were judged gone.
          if (read(file)?.text === text) unlinkSync(file);
        },
      };
    }
    const found = read(file);
    if (!found) continue; // removed between the two steps: try again
    if (found.record && isRunning(found.record)) throw refused(dataDir, found.record);
    tookOverFrom = found.record;
    clearStale(file, found.text);
  }
  const holder = read(file)?.record;
  throw refused(dataDir, holder ?? { pid: 0, start: null, shell: 'unknown', at: 'unknown' });
}
