// The secret part of a run — the Backup Key and its shares — lives only in this process's memory,
// never in the journal, the record, a temporary file or the renderer's state. If the process dies,
// it is gone: the run resumes by voiding the half-handed-out share set and making a new one (a
// share set that was only partly handed over must never be completed from a copy on disk).
export interface BackupSecret {
  /** The Backup Key (32 bytes), zeroised when the run commits, aborts or is voided. */
  bk: Buffer;
  /** A re-share rotating the Backup Key: the old one, rebuilt from the old shares (`bk` is then the new one). */
  oldBk?: Buffer;
  /** One entry per holder (person id), in the plan's order. SLIP-39 mnemonics or XOR component hex. */
  shares: Map<string, string>;
  /** Per-holder share bytes (decoded share values / components), zeroised with the rest. */
  shareBytes: Map<string, Buffer>;
  /** Public facts made at the split: share fingerprints, the share-set record (no share in it). */
  facts: Record<string, unknown>;
}

export class SecretStore {
  private readonly runs = new Map<string, BackupSecret>();

  has(run: string): boolean {
    return this.runs.has(run);
  }

  get(run: string): BackupSecret | undefined {
    return this.runs.get(run);
  }

  /** Keeps `secret` for the run; a different secret held before is wiped first. */
  set(run: string, secret: BackupSecret): void {
    const old = this.runs.get(run);
    if (old && old !== secret) {
      if (old.bk !== secret.bk && old.bk !== secret.oldBk) old.bk.fill(0);
      if (old.oldBk && old.oldBk !== secret.oldBk && old.oldBk !== secret.bk) old.oldBk.fill(0);
      for (const [k, b] of old.shareBytes) if (secret.shareBytes.get(k) !== b) b.fill(0);
    }
    this.runs.set(run, secret);
  }

  /** Zeroises every buffer of the run and forgets its strings (JavaScript strings cannot be wiped). */
  wipe(run: string): void {
    const s = this.runs.get(run);
    if (!s) return;
    s.bk.fill(0);
    s.oldBk?.fill(0);
    for (const b of s.shareBytes.values()) b.fill(0);
    s.shares.clear();
    s.shareBytes.clear();
    this.runs.delete(run);
  }

  wipeAll(): void {
    for (const run of [...this.runs.keys()]) this.wipe(run);
  }
}
