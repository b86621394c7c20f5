// Rollback anchors: the newest checkpoint this workstation has seen for each archive, kept in the
// data folder, outside the archive file. A hash chain cannot tell that its own tail was cut off
// together with the checkpoints that covered it (or that an old copy of the file, or a file whose
// write-ahead log was truncated, was put back): the anchor can. It only ever moves forward, and it
// is written after the commit, so a crash leaves it behind the archive, never ahead of it.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface Anchor {
  seq: number;
  headHash: string;
  at: string;
  path: string;
}

interface AnchorFile {
  version: 1;
  anchors: Record<string, Anchor>;
}

export class AnchorStore {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'archive-anchors.json');
  }

  private read(): AnchorFile {
    if (!existsSync(this.file)) return { version: 1, anchors: {} };
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as AnchorFile;
      if (parsed && parsed.version === 1 && typeof parsed.anchors === 'object' && parsed.anchors) return parsed;
    } catch {
      /* an unreadable anchor file protects nothing; it is rewritten on the next commit */
    }
    return { version: 1, anchors: {} };
  }

  get(archiveId: string): Anchor | null {
    const a = this.read().anchors[archiveId];
    return a && Number.isInteger(a.seq) && typeof a.headHash === 'string' ? a : null;
  }

  /** Moves the anchor forward (never back). */
  record(archiveId: string, anchor: Anchor): void {
    const file = this.read();
    const current = file.anchors[archiveId];
    if (current && current.seq >= anchor.seq) return;
    file.anchors[archiveId] = anchor;
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
    // mode applies only to a new file: a temporary left by a crashed run keeps its own (issue #11).
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }

  /** Accepts the archive's current state as the new anchor (after restoring a backup on purpose). */
  reset(archiveId: string, anchor: Anchor | null): void {
    const file = this.read();
    if (anchor) file.anchors[archiveId] = anchor;
    else delete file.anchors[archiveId];
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
    // mode applies only to a new file: a temporary left by a crashed run keeps its own (issue #11).
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
}
