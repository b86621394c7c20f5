// The archive and audit log as the Archive and Audit screens use them: one archive per data folder,
// opened for each request and closed after it (read-only unless the step needs the HSM). A thin
// adapter over ArchiveManager / AuditService: it finds the archive file, names the actor, checks
// that a write goes to the token holding the archive's keys, and turns results into the contract's
// plain shapes. Errors from the services are CustosErrors already and pass through unchanged.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { SearchQuery } from '../../shared/archive/types';
import type { AddedVersion, ArchiveStatus, AuditExport, MethodInput } from '../../shared/contract';
import { objectUri, parsePkcs11Uri, uriMatchesToken, type TokenIdentity } from '../../shared/pkcs11-uri';
import { CustosError } from '../../shared/result';
import type { Services } from './index';

export const ARCHIVE_FILE = 'archive.sqlite';
const SQLITE_MAGIC = 'SQLite format 3\0';
/** PRAGMA application_id of a Custos archive ('CUST'), at byte 68 of the SQLite header. */
const CUSTOS_APP_ID = 0x43555354;

interface TokenRef {
  module: string;
  token: string;
}

/** Who acts, for the audit log: the operating-system user on this workstation. */
export function appActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry (containers) */
  }
  return `${user}@${hostname()} (app)`;
}

function isCustosArchive(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(100);
      const n = readSync(fd, buf, 0, 100, 0);
      return n === 100 && buf.subarray(0, 16).toString('latin1') === SQLITE_MAGIC && buf.readUInt32BE(68) === CUSTOS_APP_ID;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

function tokenLabelOf(uri: string | null): string | null {
  if (!uri) return null;
  try {
    return parsePkcs11Uri(uri).path.token ?? null;
  } catch {
    return null;
  }
}

export class ArchiveUi {
  constructor(private readonly s: Services) {}

  /**
   * The data folder's archive: archive.sqlite, else an archive already there under another name
   * (the first, by name, whose header is a Custos archive's), else archive.sqlite (to be created).
   */
  path(): { path: string; exists: boolean } {
    const preferred = join(this.s.dataDir, ARCHIVE_FILE);
    if (existsSync(preferred)) return { path: preferred, exists: true };
    let names: string[] = [];
    try {
      names = readdirSync(this.s.dataDir).sort();
    } catch {
      /* no data folder yet */
    }
    for (const name of names) {
      if (!/\.(sqlite|sqlite3|db|archive)$/i.test(name)) continue;
      const p = join(this.s.dataDir, name);
      if (isCustosArchive(p)) return { path: p, exists: true };
    }
    return { path: preferred, exists: false };
  }

  private existing(): string {
    const { path, exists } = this.path();
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

  status(): ArchiveStatus {
    const { path, exists } = this.path();
    if (!exists) return { exists: false, path };
    const info = this.read(path, (a) => a.info());
    return { exists: true, path, info, token: info.tokenUri ? { uri: info.tokenUri, label: tokenLabelOf(info.tokenUri) } : null };
  }

  async init(input: MethodInput<'archive.init'>): Promise<ArchiveStatus> {
    const { path, exists } = this.path();
    if (exists) {
      throw new CustosError({
        code: 'ARCHIVE_EXISTS',
        message: 'This data folder already holds a key archive; Custos keeps one archive per data folder.',
        action: 'Use the existing archive.',
        details: { path },
      });
    }
    const ref = { module: input.module, token: input.token };
    const a = await this.s.tokens.withConfigured(input.module, () => this.s.archive.init(path, { token: ref, name: input.name, actor: appActor(), tokenUri: input.token }));
    a.close();
    return this.status();
  }

  search(query: MethodInput<'archive.search'>) {
    const q: SearchQuery = { ...query };
    return this.read(this.existing(), (a) => a.search(q));
  }

  version(versionId: string) {
    return this.read(this.existing(), (a) => a.version(versionId));
  }

  async add(input: MethodInput<'archive.add'>): Promise<AddedVersion> {
    const ref = { module: input.module, token: input.token };
    const hsmRef = { ...(input.key.label ? { label: input.key.label } : {}), ...(input.key.idHex ? { idHex: input.key.idHex } : {}), kind: input.key.kind };
    if (!hsmRef.label && !hsmRef.idHex) {
      throw new CustosError({ code: 'INVALID_INPUT', message: 'The key on the token has neither a label nor an id, so it cannot be named.', action: 'Give the key a label on the token first.' });
    }
    const [r] = await this.write(ref, (a) =>
      a.add(
        [
          {
            hsm: hsmRef,
            sourceUri: objectUri(input.token, hsmRef),
            key: {
              label: input.label,
              purpose: input.purpose,
              tags: input.tags,
              ...(input.description ? { description: input.description } : {}),
            },
            activate: input.activate,
            ...(input.activate && input.activationDate ? { activationDate: input.activationDate } : {}),
          },
        ],
        appActor(),
      ),
    );
    return r!;
  }

  transition(input: MethodInput<'archive.transition'>) {
    return this.write({ module: input.module, token: input.token }, (a) =>
      a.transition(input.versionId, input.action, { actor: appActor(), ...(input.reason ? { reason: input.reason } : {}) }),
    );
  }

  trail(input: MethodInput<'audit.trail'>) {
    return this.s.audit.trail(this.existing(), { ...(input.keyId ? { keyId: input.keyId } : {}), limit: input.limit, ...(input.beforeSeq ? { beforeSeq: input.beforeSeq } : {}) });
  }

  verify() {
    return this.s.audit.verify(this.existing());
  }

  /** Writes into <data folder>/exports/audit-<UTC timestamp>/ (a new folder each time). */
  async exportAudit(): Promise<AuditExport> {
    const path = this.existing();
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    let dir = join(this.s.dataDir, 'exports', `audit-${stamp}`);
    for (let i = 2; existsSync(dir); i++) dir = join(this.s.dataDir, 'exports', `audit-${stamp}-${i}`);
    const r = await this.s.audit.export(path, dir);
    const names = readdirSync(r.dir).filter((n) => !n.startsWith('.')).sort();
    return {
      dir: r.dir,
      entries: r.entries,
      checkpoints: r.checkpoints,
      files: names.map((name) => ({ name, bytes: statSync(join(r.dir, name)).size, sha256: r.files[name] ?? null })),
    };
  }

  // -------------------------------------------------------------------------------------------

  private read<T>(path: string, fn: (a: ReturnType<Services['archive']['open']>) => T): T {
    const a = this.s.archive.open(path, { readonly: true });
    try {
      return fn(a);
    } finally {
      a.close();
    }
  }

  /** Opens the archive bound to the token (which must be the one holding the archive's keys). */
  private async write<T>(ref: TokenRef, fn: (a: ReturnType<Services['archive']['open']>) => Promise<T>): Promise<T> {
    const path = this.existing();
    return this.s.tokens.withConfigured(ref.module, async () => {
      const recorded = this.read(path, (a) => a.workstation.token_uri);
      if (recorded && !sameToken(recorded, ref.token)) {
        const label = tokenLabelOf(recorded);
        throw new CustosError({
          code: 'TOKEN_NOT_FOUND',
          message: `The archive's keys are on token “${label ?? recorded}”, not on the token you chose.`,
          action: `Choose token “${label ?? recorded}” on the Tokens screen and log in to it as user.`,
          details: { archiveToken: recorded },
        });
      }
      return this.s.archive.with(path, { token: ref }, fn);
    });
  }
}

/** True when the token URI given names the same token as the recorded one (label, serial, model, manufacturer). */
function sameToken(recorded: string, given: string): boolean {
  try {
    const g = parsePkcs11Uri(given).path;
    const id: TokenIdentity = { label: g.token ?? '', manufacturer: g.manufacturer ?? '', model: g.model ?? '', serial: g.serial ?? '' };
    return uriMatchesToken(parsePkcs11Uri(recorded), id);
  } catch {
    return recorded === given;
  }
}

