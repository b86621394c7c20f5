// `custos archive init` and the Archive screen's "Create archive": the archive's three keys made in
// the HSM, and the file created around them — all of it, or nothing. A failure is undone here; a
// kill cannot undo anything, so the init journals what it is about to make first (init-journal.ts),
// and the next run finishes or clears it (init-recovery.ts).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RECORDS } from '../../../shared/archive/canonical';
import { ARCHIVE_FORMAT_ID } from '../../../shared/archive/types';
import { textProblem } from '../../../shared/archive/validate';
import { invalidInput } from '../../../shared/result';
import { AuditLog } from '../audit/log';
import { hsmCheckValues, hsmHmacCheck, hsmPublicKey } from '../hsm-kcv';
import { markOf, type ProcessMark } from '../process-alive';
import type { AnchorStore } from './anchors';
import { scopeOf } from './context';
import { HsmArchiveCrypto, type ArchiveKeyRefs, type HsmBinding } from './crypto';
import { archiveError, FIX_INPUT } from './errors';
import { INIT_JOURNAL_FORMAT, releaseJournal, writeJournal, type PlannedKey } from './init-journal';
import { destroyPlanned, recoveryAudit, type InitRecovery } from './init-recovery';
import { abandonCreate, archiveExists, createArchiveFile, finishCreate, removeTempSet, tempNameFor, type Creating } from './open';
import type { WorkstationRow } from './rows';
import { ArchiveStore, newId, nowIso } from './store';

export interface InitOptions {
  /** The logged-in token that will hold the archive's keys. */
  hsm: HsmBinding;
  name: string;
  actor: string;
  /** The token's RFC 7512 URI, recorded so that later writes can check they use the same token. */
  tokenUri?: string | null;
  anchors?: AnchorStore | null;
  /** What was recovered from interrupted inits just before this one (door.ts): recorded in its audit log. */
  recovered?: InitRecovery[];
}

const KEK_LABEL = (id: string) => `custos-archive-kek/${id}`;
const MAC_LABEL = (id: string) => `custos-archive-mac/${id}`;
const AUDIT_LABEL = (id: string) => `custos-audit/${id}`;

/**
 * `custos archive init`: generates the Archive KEK (AES-256, wrap/unwrap, extractable under wrap
 * so it can be backed up with shares), the Archive MAC key (HMAC, 256 bits, sign/verify,
 * extractable under wrap so a recovery team can authenticate rows) and the audit signing key
 * (EC P-256, sign, never extractable) in the HSM, records their ids, check values and
 * fingerprint, and creates the archive file. If any step fails, the keys made so far are destroyed
 * and no file is left behind.
 */
export async function initArchive(pathIn: string, opts: InitOptions): Promise<void> {
  const p = textProblem('The archive name', opts.name, 100);
  if (p || opts.name.trim() === '') invalidInput(p ?? 'The archive needs a name (for example the workstation\'s name).', FIX_INPUT);
  const path = resolve(pathIn);
  // Fails early (ARCHIVE_EXISTS) before anything is journaled or generated.
  if (existsSync(path)) throw archiveExists(path);
  const archiveId = newId();
  const b = opts.hsm;
  const call = b.hsm.call.bind(b.hsm);
  const ids = { kek: randomBytes(16).toString('hex'), mac: randomBytes(16).toString('hex'), audit: randomBytes(16).toString('hex') };
  const refs: ArchiveKeyRefs = {
    kek: { label: KEK_LABEL(archiveId), idHex: ids.kek },
    mac: { label: MAC_LABEL(archiveId), idHex: ids.mac },
    audit: { label: AUDIT_LABEL(archiveId), idHex: ids.audit },
  };
  const planned: PlannedKey[] = (['kek', 'mac', 'audit'] as const).map((role) => ({ role, label: refs[role].label!, idHex: refs[role].idHex! }));
  const tmp = tempNameFor(path);
  const host = await hostOf(b);
  const journal = journalOrRefuse(path, () => writeJournal(
    {
      format: INIT_JOURNAL_FORMAT,
      version: 1,
      startedAt: nowIso(),
      writer: markOf(),
      host,
      path,
      tmp,
      archiveId,
      module: b.module,
      token: b.token,
      tokenUri: opts.tokenUri ?? null,
      keys: planned,
    },
    dirname(path),
  ));
  killHook('journaled');
  let created: Creating | null = null;
  try {
    created = createArchiveFile(path, tmp);
    killHook('created');
    await call('generate', { path: b.module, token: b.token, spec: { type: 'aes-256', label: refs.kek.label!, idHex: ids.kek, usages: ['wrap'], extractable: true, wrapWithTrusted: true } });
    killHook('kek');
    await call('generate', { path: b.module, token: b.token, spec: { type: 'hmac-256', label: refs.mac.label!, idHex: ids.mac, usages: ['sign'], extractable: true, wrapWithTrusted: true } });
    killHook('mac');
    await call('generate', { path: b.module, token: b.token, spec: { type: 'ec-p256', label: refs.audit.label!, idHex: ids.audit, usages: ['sign'], extractable: false } });
    killHook('audit');
    const scope = scopeOf(b);
    const kcv = await hsmCheckValues(scope, refs.kek);
    if (!kcv.cmac) throw archiveError('MECHANISM_UNSUPPORTED', 'The HSM cannot compute a CMAC check value for the Archive KEK.', 'Use a token that supports CKM_AES_CMAC.');
    const macCheck = await hsmHmacCheck(scope, refs.mac);
    const pub = await hsmPublicKey(scope, refs.audit);
    const spki = pub.spki;
    const fingerprint = pub.fingerprint.hex;
    const now = nowIso();
    const ws: WorkstationRow = {
      archive_id: archiveId,
      name: opts.name.trim(),
      created_at: now,
      token_uri: opts.tokenUri ?? null,
      kek_label: refs.kek.label!,
      kek_id: ids.kek,
      kek_check: kcv.cmac,
      kek_check_legacy: kcv.legacy,
      mac_label: refs.mac.label!,
      mac_id: ids.mac,
      mac_check: macCheck,
      audit_label: refs.audit.label!,
      audit_id: ids.audit,
      audit_spki: spki,
      audit_fingerprint: fingerprint,
      mac: Buffer.alloc(0),
    };
    created.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('archive_id', archiveId);
    const audit = new AuditLog(created.db, archiveId);
    const store = new ArchiveStore(created.db, created.path, archiveId, audit, new HsmArchiveCrypto(b, refs), fingerprint, opts.anchors ?? null);
    const { mac: _mac, ...row } = ws;
    await store.commit(() => ({
      rows: [{ spec: RECORDS.workstation, op: 'insert', row }],
      audit: [
        {
          actor: opts.actor,
          action: 'archive.init',
          row: 0,
          details: {
            name: ws.name,
            format: ARCHIVE_FORMAT_ID,
            kek: { label: ws.kek_label, id: ws.kek_id, check: ws.kek_check },
            mac: { label: ws.mac_label, id: ws.mac_id, check: ws.mac_check },
            audit: { label: ws.audit_label, id: ws.audit_id, fingerprint },
            token: ws.token_uri,
          },
        },
        // What the door cleared up before this init (keys of an interrupted one, destroyed): on the record.
        ...recoveryAudit(opts.recovered ?? [], opts.actor),
      ],
    }));
    killHook('committed');
    finishCreate(created);
    created = null;
    killHook('linked');
    releaseJournal(journal, true);
  } catch (e) {
    if (created) abandonCreate(created);
    else removeTempSet(tmp);
    // Every planned key, not only those whose generate returned: a call that timed out may still
    // have made its key. The journal stays while any key could not be destroyed (the HSM host
    // crashed, the session is gone), so that the next run destroys it.
    const { waiting } = await destroyPlanned(b, { keys: planned });
    releaseJournal(journal, waiting.length === 0);
    throw e;
  }
}

/**
 * Test hook for the recovery tests: with CUSTOS_ARCHIVE_TEST_HOOKS=1 the process kills itself (SIGKILL,
 * as a power cut or `kill -9` would) at the point CUSTOS_ARCHIVE_KILL_AT names: journaled, created,
 * kek, mac, audit (after that key was generated), committed (identity row committed in the temporary
 * file) or linked (the file in place, the journal not yet removed).
 */
function killHook(point: string): void {
  if (process.env.CUSTOS_ARCHIVE_TEST_HOOKS === '1' && process.env.CUSTOS_ARCHIVE_KILL_AT === `init:${point}`) process.kill(process.pid, 'SIGKILL');
}

/** Writes the journal; a folder that is missing or not writable is the user's to fix, said in words. */
function journalOrRefuse(path: string, write: () => string): string {
  const folder = dirname(path);
  try {
    return write();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw archiveError('INVALID_INPUT', `The folder ${folder} does not exist, so no archive can be created in it.`, 'Create the folder first, or choose another path with --archive.', { path });
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw archiveError('INVALID_INPUT', `Custos may not write in the folder ${folder}.`, 'Choose a folder you can write to, or fix its permissions.', { path });
    }
    throw e;
  }
}

/** The HSM host process that will make the keys: a kill of this process may leave it one call to finish. */
async function hostOf(b: HsmBinding): Promise<ProcessMark | null> {
  try {
    const { pid } = await b.hsm.call('ping', {});
    return markOf(pid);
  } catch {
    return null;
  }
}
