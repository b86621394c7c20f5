// Rollback anchors: the newest checkpoint this workstation has seen for each archive, kept in the
// data folder, outside the archive file. A hash chain cannot tell that its own tail was cut off
// together with the checkpoints that covered it (or that an old copy of the file, or a file whose
// write-ahead log was truncated, was put back): the anchor can. It only ever moves forward, and it
// is written after the commit, so a crash leaves it behind the archive, never ahead of it.
//
// The anchor also pins the archive's audit key: the SHA-256 fingerprint of the public key whose
// signature this workstation saw the HSM make (issue #11 part 2). The archive file stores the audit
// public key itself, and a file can be edited: whoever swaps that key and re-signs the log with
// their own key makes a log that verifies against the file alone. The pin is set once — at init,
// from the key read out of the HSM, or at the first commit after an upgrade, once the HSM's fresh
// signature verified under the stored key — and changes afterwards only by an audit key handover
// (audit/handover.ts): to the key a handover in the log names, vouched for by the pinned key's
// checkpoint and the new key's signature. --accept-rollback never changes it.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface Anchor {
  seq: number;
  headHash: string;
  at: string;
  path: string;
  /** SHA-256 (hex) of the audit key's SubjectPublicKeyInfo DER, pinned by this workstation. */
  auditKey?: string;
}

interface AnchorFile {
  version: 1;
  anchors: Record<string, Anchor>;
}

const HEX64 = /^[0-9a-f]{64}$/;

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

  private write(file: AnchorFile): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
    // mode applies only to a new file: a temporary left by a crashed run keeps its own (issue #11).
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }

  get(archiveId: string): Anchor | null {
    const a = this.read().anchors[archiveId];
    return a && Number.isInteger(a.seq) && typeof a.headHash === 'string' ? a : null;
  }

  /** The audit key fingerprint this workstation pinned for the archive, or null if none yet. */
  pinnedAuditKey(archiveId: string): string | null {
    const k = this.read().anchors[archiveId]?.auditKey;
    return typeof k === 'string' && HEX64.test(k) ? k : null;
  }

  /**
   * Moves the anchor forward (never back). A pin already recorded is kept whatever `anchor`
   * says; one given where none was recorded is added.
   */
  record(archiveId: string, anchor: Anchor): void {
    const file = this.read();
    const current = file.anchors[archiveId];
    const pinned = current?.auditKey && HEX64.test(current.auditKey) ? current.auditKey : undefined;
    const pin = pinned ?? (anchor.auditKey && HEX64.test(anchor.auditKey) ? anchor.auditKey : undefined);
    if (current && current.seq >= anchor.seq) {
      if (pin === pinned) return;
      file.anchors[archiveId] = { ...current, auditKey: pin! };
    } else {
      const { auditKey: _given, ...rest } = anchor;
      file.anchors[archiveId] = pin ? { ...rest, auditKey: pin } : rest;
    }
    this.write(file);
  }

  /**
   * Moves the pin from `from` to `to` after an audit key handover that the log proves (the caller
   * checked it). Nothing changes when the pin is not `from`: a pin never moves to a key its
   * workstation did not see handed over to.
   */
  movePin(archiveId: string, from: string, to: string): boolean {
    if (!HEX64.test(to)) return false;
    const file = this.read();
    const current = file.anchors[archiveId];
    if (!current || current.auditKey !== from) return false;
    file.anchors[archiveId] = { ...current, auditKey: to };
    this.write(file);
    return true;
  }

  /**
   * Accepts the archive's current state as the new anchor (after restoring a backup on purpose).
   * The audit key pin stays: a backup of the same archive has the same audit key.
   */
  reset(archiveId: string, anchor: Anchor | null): void {
    const file = this.read();
    const pin = file.anchors[archiveId]?.auditKey;
    if (anchor) file.anchors[archiveId] = pin ? { ...anchor, auditKey: pin } : anchor;
    else if (pin) file.anchors[archiveId] = { seq: 0, headHash: '', at: new Date().toISOString(), path: file.anchors[archiveId]!.path, auditKey: pin };
    else delete file.anchors[archiveId];
    this.write(file);
  }
}
