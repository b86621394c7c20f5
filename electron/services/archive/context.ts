// One open archive, as the topic modules of the service (queries, versions, transitions,
// retrieval, verification, records) see it. ArchiveService builds it once when the file is opened
// and passes it to each; the modules keep no state of their own.
import type { AuditLog } from '../audit/log';
import type { HsmScope } from '../hsm-kcv';
import type { AnchorStore } from './anchors';
import type { ArchiveCrypto, HsmBinding } from './crypto';
import { archiveError, fromSqlite } from './errors';
import type { WorkstationRow } from './rows';
import type { Db } from './schema';
import type { ArchiveStore } from './store';

export interface ArchiveContext {
  readonly db: Db;
  readonly path: string;
  readonly archiveId: string;
  readonly readonly: boolean;
  readonly audit: AuditLog;
  /** The one writer (store.ts); null when read-only or without the HSM. */
  readonly store: ArchiveStore | null;
  /** The logged-in token holding the archive's keys, if any. */
  readonly binding: HsmBinding | null;
  readonly crypto: ArchiveCrypto | null;
  readonly anchors: AnchorStore | null;
  /** The identity row: the archive's three HSM keys and its audit public key. */
  readonly ws: WorkstationRow;
}

/** Runs a read, turning SQLite's exceptions into the archive's typed errors. */
export function guarded<T>(ctx: Pick<ArchiveContext, 'path'>, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromSqlite(e, ctx.path);
  }
}

export function needsHsm(): never {
  throw archiveError(
    'NOT_LOGGED_IN',
    'This step needs the HSM that holds the archive keys, and it is not connected.',
    'Give --module and --token for the archive\'s HSM and log in (the PIN is asked for, or read from --pin-file).',
  );
}

/** The writer, for a step that changes the archive: refused when read-only or without the HSM. */
export function requireStore(ctx: ArchiveContext): ArchiveStore {
  if (ctx.readonly) throw archiveError('INVALID_INPUT', 'The archive was opened read-only.', 'Open it without --read-only to change it.');
  return ctx.store ?? needsHsm();
}

export function requireHsm(ctx: ArchiveContext): HsmBinding {
  return ctx.binding ?? needsHsm();
}

/** A binding as the HSM host's calls (and hsm-kcv.ts) name a token. */
export function scopeOf(b: HsmBinding): HsmScope {
  return { hsm: b.hsm, path: b.module, token: b.token };
}
