// The archive's one front door: how the app (handlers.ts) and the command line (`custos archive`,
// `custos audit`) open an archive, so both apply the same rules:
//
//   - a read (search, show, info, the audit trail, verification without the HSM, export of the
//     log) opens the file read-only and needs no HSM and no login;
//   - a step that writes, wraps, unwraps or signs opens it bound to a logged-in token, and that
//     token must be the one that holds the archive's keys (the token URI recorded at init). The
//     check is made on a read-only connection, before anything may be written (migrations
//     included), and fails with words instead of with a missing-key error from the HSM;
//   - the audit log names who acted through actorName().
//
// It depends on the HSM client and the data folder only (the rollback anchors live there), so the
// CLI can open an archive without starting the other services. Rules that belong to one front end
// stay there: the app allows only configured PKCS#11 modules (the window must not load arbitrary
// libraries), the CLI logs in with a PIN for the length of one command.
import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { TokenRef } from '../../../shared/keys';
import { parsePkcs11Uri, uriMatchesToken, type TokenIdentity } from '../../../shared/pkcs11-uri';
import { CustosError } from '../../../shared/result';
import type { HsmClient } from '../../hsm/client';
import { AnchorStore } from './anchors';
import { recoverInterruptedInits, recoveryAudit, type InitRecovery } from './init-recovery';
import { APPLICATION_ID } from './schema';
import { ArchiveService, type ArchiveOpenOptions } from './service';

/** The archive's file name in a data folder (the app keeps one archive per data folder). */
export const ARCHIVE_FILE = 'archive.sqlite';
const SQLITE_MAGIC = 'SQLite format 3\0';

/** Through which front end someone acts; it is recorded with the actor. */
export type FrontEnd = 'app' | 'cli';

/**
 * Who acts, for the audit log: a name given explicitly (the CLI's --actor), else the
 * operating-system user on this workstation and the front end, "user@host (app)". The OS user is
 * a detail of today's single-operator workstation; named custodians (their cards) replace it.
 */
export function actorName(via: FrontEnd, given?: string): string {
  if (given !== undefined) return given;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry (containers): keep "unknown" */
  }
  return `${user}@${hostname()} (${via})`;
}

/** The label in a token URI, for messages. */
export function tokenLabelOf(uri: string | null): string | null {
  if (!uri) return null;
  try {
    return parsePkcs11Uri(uri).path.token ?? null;
  } catch {
    return null;
  }
}

export class ArchiveDoor {
  readonly anchors: AnchorStore;

  constructor(
    private readonly hsm: HsmClient,
    readonly dataDir: string,
    /** Tells the person what was done on their behalf (an interrupted init cleared up): the CLI's stderr, the app's log. */
    private readonly notice: (line: string) => void = () => undefined,
    private readonly via: FrontEnd = 'app',
  ) {
    this.anchors = new AnchorStore(dataDir);
  }

  /**
   * Finishes, adopts or clears what interrupted `archive init`s left in the data folder and next to
   * `path` (init-recovery.ts). With a logged-in token, an abandoned init's keys on it are destroyed;
   * without, they wait. Run before an init and before every write; the app runs it at start.
   */
  recoverInits(path: string | null, token: TokenRef | null): Promise<InitRecovery[]> {
    const folders = [this.dataDir, ...(path ? [dirname(resolve(path))] : [])];
    return recoverInterruptedInits({
      folders,
      binding: token ? this.binding(token) : null,
      holdsKeys: (j) => !!token && (j.token === token.token || sameToken(j.tokenUri ?? j.token, token.token)),
      anchors: this.anchors,
      notice: this.notice,
    });
  }

  /**
   * The data folder's archive: archive.sqlite, else an archive already there under another name
   * (the first, by name, whose header is a Custos archive's), else archive.sqlite (to be created).
   */
  locate(): { path: string; exists: boolean } {
    const preferred = join(this.dataDir, ARCHIVE_FILE);
    if (existsSync(preferred)) return { path: preferred, exists: true };
    let names: string[] = [];
    try {
      names = readdirSync(this.dataDir).sort();
    } catch {
      /* no data folder yet */
    }
    for (const name of names) {
      if (!/\.(sqlite|sqlite3|db|archive)$/i.test(name)) continue;
      const p = join(this.dataDir, name);
      if (isCustosArchive(p)) return { path: p, exists: true };
    }
    return { path: preferred, exists: false };
  }

  /** The data folder's archive, which must exist. */
  existing(): string {
    const { path, exists } = this.locate();
    if (!exists) {
      throw new CustosError({
        code: 'ARCHIVE_NOT_FOUND',
        message: 'There is no key archive in this data folder yet.',
        action: 'Create the archive on the Archive screen first.',
        details: { path },
      });
    }
    return path;
  }

  /** Creates an archive and its three keys in the HSM (log in first); returns it open. */
  async init(path: string, opts: { token: TokenRef; name: string; actor: string; tokenUri?: string | null }): Promise<ArchiveService> {
    // Recorded in the new archive's log: what was done (keys destroyed, an archive put in place), not what still waits.
    const recovered = (await this.recoverInits(path, opts.token)).filter((r) => r.outcome !== 'pending');
    return ArchiveService.init(path, { hsm: this.binding(opts.token), name: opts.name, actor: opts.actor, tokenUri: opts.tokenUri ?? null, anchors: this.anchors, recovered });
  }

  /**
   * Runs `fn` on the archive opened read-only (no HSM), and closes it. `reportAuditKey` opens a
   * file whose audit key is not the pinned one, for the commands that report it (info, verify);
   * every other read refuses such a file.
   */
  read<T>(path: string, fn: (a: ArchiveService) => Promise<T> | T, opts: { acceptRollback?: boolean; reportAuditKey?: boolean } = {}): Promise<T> {
    return this.with(path, { readonly: true, acceptRollback: opts.acceptRollback ?? false, reportAuditKey: opts.reportAuditKey ?? false }, fn);
  }

  /**
   * Runs `fn` on the archive bound to `token` (logged in), which must be the token holding the
   * archive's keys, and closes it.
   */
  async write<T>(path: string, token: TokenRef, fn: (a: ArchiveService) => Promise<T> | T, opts: { acceptRollback?: boolean } = {}): Promise<T> {
    await this.checkToken(path, token, opts);
    const recovered = (await this.recoverInits(path, token)).filter((r) => r.outcome !== 'pending');
    return this.with(path, { hsm: this.binding(token), acceptRollback: opts.acceptRollback ?? false }, async (a) => {
      // Keys destroyed or an archive adopted on this token belong on the record of the archive that holds its keys.
      if (recovered.length) await a.commit(() => ({ rows: [], audit: recoveryAudit(recovered, actorName(this.via)) }));
      return fn(a);
    });
  }

  /**
   * Runs `fn` on the archive opened read-only but bound to `token` (logged in), so that it can be
   * checked against the HSM (row MACs, the HSM's keys) without writing anything: `archive verify`
   * and `archive info --check-hsm`. A stored audit key that is not the pinned one is reported,
   * not refused.
   */
  async inspect<T>(path: string, token: TokenRef, fn: (a: ArchiveService) => Promise<T> | T, opts: { acceptRollback?: boolean } = {}): Promise<T> {
    await this.checkToken(path, token, { ...opts, reportAuditKey: true });
    // Like every command that logs in, an inspection first clears up interrupted inits on this token;
    // what it did is recorded in this archive (a write of its own, before the read-only look), when
    // the archive can take a write at all.
    const recovered = (await this.recoverInits(path, token)).filter((r) => r.outcome !== 'pending');
    if (recovered.length) {
      await this.with(path, { hsm: this.binding(token), acceptRollback: opts.acceptRollback ?? false }, (a) => a.commit(() => ({ rows: [], audit: recoveryAudit(recovered, actorName(this.via)) }))).catch(() => undefined);
    }
    return this.with(path, { readonly: true, hsm: this.binding(token), acceptRollback: opts.acceptRollback ?? false, reportAuditKey: true }, fn);
  }

  /** The token given must be the one recorded at init as holding the archive's keys. */
  private async checkToken(path: string, token: TokenRef, opts: { acceptRollback?: boolean; reportAuditKey?: boolean }): Promise<void> {
    const recorded = await this.read(path, (a) => a.workstation.token_uri, opts);
    if (recorded && !sameToken(recorded, token.token)) {
      const label = tokenLabelOf(recorded);
      throw new CustosError({
        code: 'TOKEN_NOT_FOUND',
        message: `The archive's keys are on token “${label ?? recorded}”, not on the token you chose.`,
        action: `Choose token “${label ?? recorded}” (on the Tokens screen, or with --token) and log in to it as user.`,
        details: { archiveToken: recorded },
      });
    }
  }

  private binding(t: TokenRef) {
    return { hsm: this.hsm, module: t.module, token: t.token };
  }

  private async with<T>(path: string, opts: ArchiveOpenOptions, fn: (a: ArchiveService) => Promise<T> | T): Promise<T> {
    const a = ArchiveService.open(path, { ...opts, anchors: this.anchors });
    try {
      return await fn(a);
    } finally {
      a.close();
    }
  }
}

/** A first look at a file's header: SQLite, with a Custos archive's application_id ('CUST', byte 68). */
function isCustosArchive(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(100);
      const n = readSync(fd, buf, 0, 100, 0);
      return n === 100 && buf.subarray(0, 16).toString('latin1') === SQLITE_MAGIC && buf.readUInt32BE(68) === APPLICATION_ID;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** True when the token URI given names the same token as the recorded one (label, serial, model, manufacturer). */
function sameToken(recorded: string, given: string): boolean {
  // A token named by its label alone (the CLI's --token LABEL) matches the recorded URI's label.
  if (!given.toLowerCase().startsWith('pkcs11:')) return tokenLabelOf(recorded) === given;
  try {
    const g = parsePkcs11Uri(given).path;
    const id: TokenIdentity = { label: g.token ?? '', manufacturer: g.manufacturer ?? '', model: g.model ?? '', serial: g.serial ?? '' };
    return uriMatchesToken(parsePkcs11Uri(recorded), id);
  } catch {
    return recorded === given;
  }
}
