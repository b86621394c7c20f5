// The pending audit journal: where an audited action waits when the workstation record's signed log
// cannot take it at that moment — before the set-up ceremony has made the record, or when the
// record's token is not logged in (a failed login, a command on another token). The next write
// to the record carries every waiting entry into the signed log, in order, and removes the file.
//
// <data folder>/audit-pending.jsonl (mode 0600), one line per entry (docs/FORMAT.md "Pending audit
// journal"):
//
//   {"hash":"<SHA-256 hex of the entry's JSON text>","entry":{"v":1,"id":…,"n":…,"prev":…,"at":…,
//    "actor":…,"action":…,"object_type":…,"object_id":…,"key_id":…,"details":{…}}}
//
// Entries are hash-chained (prev = the hash of entry n-1; 64 zeros for the first), so an edited or
// removed line in the middle shows; the file is not signed, so a deleted tail or a deleted file
// does not — which is why every write to the record carries it over as soon as it can. Nothing
// secret is ever written here (the callers pass only names, ids, codes and counts).
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DetailValue } from '../audit/chain';

export const PENDING_FILE = 'audit-pending.jsonl';
const LOCK_FILE = 'audit-pending.lock';
const ZERO = '0'.repeat(64);

export interface PendingEntry {
  v: 1;
  id: string;
  n: number;
  prev: string;
  at: string;
  actor: string;
  action: string;
  object_type: string | null;
  object_id: string | null;
  key_id: string | null;
  details: Record<string, DetailValue>;
}

export interface PendingRead {
  entries: PendingEntry[];
  /** Where the chain breaks (the first entry whose prev or number does not follow), if it does. */
  brokenAt: number | null;
  /** A last line cut short (a kill while it was written); it is dropped. */
  torn: boolean;
  /** Lines that are not entries at all (the file was edited). */
  unreadable: number;
}

export type PendingDraft = Omit<PendingEntry, 'v' | 'id' | 'n' | 'prev'>;

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The entry as its line holds it: fixed key order, so the hash is over the same text on every reader. */
function entryText(e: PendingEntry): string {
  return JSON.stringify({
    v: e.v,
    id: e.id,
    n: e.n,
    prev: e.prev,
    at: e.at,
    actor: e.actor,
    action: e.action,
    object_type: e.object_type,
    object_id: e.object_id,
    key_id: e.key_id,
    details: e.details,
  });
}

export class PendingJournal {
  readonly path: string;
  private readonly lockPath: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, PENDING_FILE);
    this.lockPath = join(dataDir, LOCK_FILE);
  }

  get exists(): boolean {
    return existsSync(this.path);
  }

  read(): PendingRead {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return { entries: [], brokenAt: null, torn: false, unreadable: 0 };
    }
    const lines = text.split('\n');
    const last = lines.pop();
    const torn = last !== undefined && last !== '';
    const entries: PendingEntry[] = [];
    let brokenAt: number | null = null;
    let unreadable = 0;
    let prev = ZERO;
    for (const line of lines) {
      let parsed: { hash?: unknown; entry?: PendingEntry };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        unreadable++;
        continue;
      }
      const e = parsed.entry;
      if (!e || typeof e !== 'object' || typeof parsed.hash !== 'string') {
        unreadable++;
        continue;
      }
      const hash = sha256(entryText(e));
      if (brokenAt === null && (hash !== parsed.hash || e.prev !== prev || e.n !== entries.length + 1)) brokenAt = entries.length + 1;
      entries.push(e);
      prev = parsed.hash;
    }
    return { entries, brokenAt, torn, unreadable };
  }

  /** Appends entries (one write, fsynced), chained onto the last whole line. */
  append(drafts: PendingDraft[]): void {
    this.locked(() => {
      // Chained onto the last whole line, read from the end of the file: appending stays cheap
      // however long the journal grows before the set-up carries it over.
      const lastEntry = this.lastEntry();
      let prev = lastEntry ? sha256(entryText(lastEntry)) : ZERO;
      let n = lastEntry ? lastEntry.n : 0;
      let out = '';
      for (const d of drafts) {
        const e: PendingEntry = { v: 1, id: randomUUID(), n: ++n, prev, ...d };
        const text = entryText(e);
        prev = sha256(text);
        out += `{"hash":"${prev}","entry":${text}}\n`;
      }
      // A torn last line (a kill mid-write) would glue onto the next entry: start on a fresh line.
      const fd = openSync(this.path, 'a', 0o600);
      try {
        if (this.endsTorn()) writeSync(fd, '\n');
        writeSync(fd, out);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    });
  }

  /**
   * Hands the entries to `carry` (which writes them to the signed log in one commit) and removes
   * the file once it has. `carried(id)` says whether an entry is already in the log: a kill after
   * the commit but before the removal is then finished by removing the file, not carrying it twice.
   */
  async drain(carry: (read: PendingRead) => Promise<void>, carried: (id: string) => boolean): Promise<number> {
    if (!this.exists) return 0;
    return this.lockedAsync(async () => {
      const read = this.read();
      const last = read.entries[read.entries.length - 1];
      // A file with no whole entry but with damage is still reported (the carry's summary entry says so).
      const already = last ? carried(last.id) : read.unreadable === 0 && !read.torn;
      if (!already) await carry(read);
      rmSync(this.path, { force: true });
      return already ? 0 : read.entries.length;
    });
  }

  /** The last whole entry line of the file (a torn or unreadable tail is skipped), or null. */
  private lastEntry(): PendingEntry | null {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return null;
    }
    try {
      const size = statSync(this.path).size;
      // Entries are far shorter than this; widen until a whole line is found, or the file is read.
      for (let span = 64 * 1024; ; span *= 4) {
        const start = Math.max(0, size - span);
        const buf = Buffer.alloc(size - start);
        readSync(fd, buf, 0, buf.length, start);
        const lines = buf.toString('utf8').split('\n');
        lines.pop(); // after the last newline: empty, or a torn line
        if (start > 0) lines.shift(); // may begin mid-line
        for (let i = lines.length - 1; i >= 0; i--) {
          try {
            const e = (JSON.parse(lines[i]!) as { entry?: PendingEntry }).entry;
            if (e && typeof e.n === 'number') return e;
          } catch {
            /* an unreadable line: look further back */
          }
        }
        if (start === 0) return null;
      }
    } finally {
      closeSync(fd);
    }
  }

  private endsTorn(): boolean {
    try {
      const size = statSync(this.path).size;
      if (size === 0) return false;
      const fd = openSync(this.path, 'r');
      try {
        const b = Buffer.alloc(1);
        readSync(fd, b, 0, 1, size - 1);
        return b[0] !== 0x0a;
      } finally {
        closeSync(fd);
      }
    } catch {
      return false;
    }
  }

  // One writer at a time, across processes (the app and a CLI command may both append): an
  // exclusive lock file; one left by a killed process is taken over after ten seconds.
  private acquire(): void {
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        closeSync(openSync(this.lockPath, 'wx', 0o600));
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        try {
          if (Date.now() - statSync(this.lockPath).mtimeMs > 10_000) rmSync(this.lockPath, { force: true });
        } catch {
          /* gone meanwhile */
        }
        if (Date.now() > deadline) throw new Error(`the pending audit journal is locked by another program (${this.lockPath})`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
  }

  private locked<T>(fn: () => T): T {
    this.acquire();
    try {
      return fn();
    } finally {
      rmSync(this.lockPath, { force: true });
    }
  }

  private async lockedAsync<T>(fn: () => Promise<T>): Promise<T> {
    this.acquire();
    try {
      return await fn();
    } finally {
      rmSync(this.lockPath, { force: true });
    }
  }
}
