// `custos archive init` and the Archive screen's "Create archive": the archive's three keys made in
// the HSM, and the file created around them — all of it, or nothing.
import { randomBytes } from 'node:crypto';
import { RECORDS } from '../../../shared/archive/canonical';
import { ARCHIVE_FORMAT_ID } from '../../../shared/archive/types';
import { textProblem } from '../../../shared/archive/validate';
import { invalidInput } from '../../../shared/result';
import type { ObjectRef } from '../../hsm/protocol';
import { AuditLog } from '../audit/log';
import { hsmCheckValues, hsmHmacCheck, hsmPublicKey } from '../hsm-kcv';
import type { AnchorStore } from './anchors';
import { scopeOf } from './context';
import { HsmArchiveCrypto, type ArchiveKeyRefs, type HsmBinding } from './crypto';
import { archiveError, FIX_INPUT } from './errors';
import { abandonCreate, createArchiveFile, finishCreate } from './open';
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
export async function initArchive(path: string, opts: InitOptions): Promise<void> {
  const p = textProblem('The archive name', opts.name, 100);
  if (p || opts.name.trim() === '') invalidInput(p ?? 'The archive needs a name (for example the workstation\'s name).', FIX_INPUT);
  const archiveId = newId();
  const b = opts.hsm;
  const call = b.hsm.call.bind(b.hsm);
  const ids = { kek: randomBytes(16).toString('hex'), mac: randomBytes(16).toString('hex'), audit: randomBytes(16).toString('hex') };
  const refs: ArchiveKeyRefs = {
    kek: { label: KEK_LABEL(archiveId), idHex: ids.kek },
    mac: { label: MAC_LABEL(archiveId), idHex: ids.mac },
    audit: { label: AUDIT_LABEL(archiveId), idHex: ids.audit },
  };
  const made: ObjectRef[] = [];
  let created: ReturnType<typeof createArchiveFile> | null = null;
  try {
    // Fails early (ARCHIVE_EXISTS) before any key is generated.
    created = createArchiveFile(path);
    await call('generate', { path: b.module, token: b.token, spec: { type: 'aes-256', label: refs.kek.label!, idHex: ids.kek, usages: ['wrap'], extractable: true, wrapWithTrusted: true } });
    made.push(refs.kek);
    await call('generate', { path: b.module, token: b.token, spec: { type: 'hmac-256', label: refs.mac.label!, idHex: ids.mac, usages: ['sign'], extractable: true, wrapWithTrusted: true } });
    made.push(refs.mac);
    await call('generate', { path: b.module, token: b.token, spec: { type: 'ec-p256', label: refs.audit.label!, idHex: ids.audit, usages: ['sign'], extractable: false } });
    made.push(refs.audit);
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
      ],
    }));
    finishCreate(created);
    created = null;
  } catch (e) {
    if (created) abandonCreate(created);
    for (const ref of made) {
      try {
        await call('destroy', { path: b.module, token: b.token, ref });
      } catch {
        /* best effort: the labels name the archive id that never came to be */
      }
    }
    throw e;
  }
}
