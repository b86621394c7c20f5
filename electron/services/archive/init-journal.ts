// The init journal: what `archive init` is about to create, on disk before it creates any of it.
// An init makes three keys in the HSM and a temporary file set (FILE.init-PID-MS, -wal, -shm), and
// only at its end links the finished file to its real name. Killed in between, it used to leave
// both behind, and nothing told anyone which keys on the token belonged to no archive. So it first
// writes FILE.init-PID-MS.journal (mode 0600, flushed with its folder before the first key is
// generated): the archive id, the temporary file, the token, and the label and CKA_ID of each key
// it will make. No secret: these labels and ids are recorded in the archive itself and its audit
// log. init-recovery.ts reads what is left and finishes, adopts or clears it.
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessMark } from '../process-alive';

export const INIT_JOURNAL_FORMAT = 'custos.archive.init-journal';

/** A key the init will make: found again by label and CKA_ID (both halves of the audit key pair). */
export interface PlannedKey {
  role: 'kek' | 'mac' | 'audit';
  label: string;
  idHex: string;
}

export interface InitJournal {
  format: typeof INIT_JOURNAL_FORMAT;
  version: 1;
  startedAt: string;
  /** The process running the init, and its HSM host (which may finish one last call after it died). */
  writer: ProcessMark;
  host: ProcessMark | null;
  /** The archive's real name and the temporary file it is built in. */
  path: string;
  tmp: string;
  archiveId: string;
  /** The token that holds the keys: the module, the token as the init named it, and its URI if known. */
  module: string;
  token: string;
  tokenUri: string | null;
  keys: PlannedKey[];
}

/** What an interrupted init may leave in a folder: a temporary file set, its journal, or both. */
export interface Leftover {
  /** FILE.init-PID-MS: the temporary archive's name (the file itself may be gone). */
  tmp: string;
  /** Its journal, if there is one. */
  journal: string | null;
  pid: number;
  /** When the temporary name was made (epoch ms), from the name. */
  madeAt: number;
}

/** Journals of inits running in this process: never "recovered" from under them. */
const running = new Set<string>();

export function journalOf(tmp: string): string {
  return `${tmp}.journal`;
}

export function isRunningHere(journal: string): boolean {
  return running.has(journal);
}

/**
 * Writes the journal (refusing to replace one) and flushes it and its folder, so that it is on disk
 * before the HSM holds anything it names; marks it as this process's running init.
 */
export function writeJournal(j: InitJournal, folder: string): string {
  const file = journalOf(j.tmp);
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify(j, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  syncFolder(folder);
  running.add(file);
  return file;
}

/** The init in this process is over (done, or failed and cleaned up as far as it could). */
export function releaseJournal(file: string, remove: boolean): void {
  running.delete(file);
  if (remove) removeJournal(file);
}

export function removeJournal(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}

/** The journal in `file`, or null when it cannot be read as one (cut off by a power loss while it was written). */
export function readJournal(file: string): InitJournal | null {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as Partial<InitJournal>;
    const ok =
      j.format === INIT_JOURNAL_FORMAT &&
      j.version === 1 &&
      typeof j.path === 'string' &&
      typeof j.tmp === 'string' &&
      typeof j.archiveId === 'string' &&
      typeof j.module === 'string' &&
      typeof j.token === 'string' &&
      typeof j.writer?.pid === 'number' &&
      Array.isArray(j.keys) &&
      j.keys.every((k) => typeof k?.label === 'string' && typeof k.idHex === 'string' && /^[0-9a-f]+$/.test(k.idHex));
    return ok ? (j as InitJournal) : null;
  } catch {
    return null;
  }
}

const LEFTOVER = /^(.+\.init-(\d+)-(\d+))(\.journal|-wal|-shm|-journal)?$/;

/** The leftovers of inits in `folder`, one per temporary name, oldest first. */
export function findLeftovers(folder: string): Leftover[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  const found = new Map<string, Leftover>();
  for (const name of names) {
    const m = LEFTOVER.exec(name);
    if (!m) continue;
    const tmp = join(folder, m[1]!);
    const entry = found.get(tmp) ?? { tmp, journal: null, pid: Number(m[2]), madeAt: Number(m[3]) };
    if (m[4] === '.journal') entry.journal = join(folder, name);
    found.set(tmp, entry);
  }
  return [...found.values()].sort((a, b) => a.madeAt - b.madeAt);
}

function syncFolder(folder: string): void {
  try {
    const fd = openSync(folder, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some file systems cannot sync a directory; the journal's own fsync still stands */
  }
}
