// Reading an archive: its identity and counts, search, one version with its key and history, the
// audit trail. Plain SELECTs that work on a read-only connection: no HSM, no login.
import { allowedActions, type KeyState } from '../../../shared/archive/lifecycle';
import { ARCHIVE_FORMAT_ID, type ArchiveInfo, type AuditPage, type SearchPage, type SearchQuery, type StateChange, type VersionDetail, type VersionSummary } from '../../../shared/archive/types';
import { spkiToPem } from '../formats/publicKey';
import { guarded, type ArchiveContext } from './context';
import { archiveError } from './errors';
import { auditKeyRows } from './audit-key-rotation';
import { auditKeyStatus } from './identity';
import { keyDetail, type KeyRow, type VersionRow } from './rows';
import { search, SUMMARY_COLUMNS, summaryOf, validateQuery, type SummaryRow } from './search';

export function info(ctx: ArchiveContext): ArchiveInfo {
  return guarded(ctx, () => {
    const n = (sql: string) => (ctx.db.prepare(sql).get() as { n: number }).n;
    const hasKekTable = !!ctx.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'archive_keks'").get();
    return {
      archiveId: ctx.archiveId,
      name: ctx.ws.name,
      path: ctx.path,
      formatId: ARCHIVE_FORMAT_ID,
      schemaVersion: ctx.db.pragma('user_version', { simple: true }) as number,
      createdAt: ctx.ws.created_at,
      tokenUri: ctx.ws.token_uri,
      keys: {
        kek: {
          label: ctx.ws.kek_label,
          idHex: ctx.ws.kek_id,
          check: ctx.ws.kek_check,
          checkLegacy: ctx.ws.kek_check_legacy,
          // A schema-2 file opened read-only has no archive_keks table (nothing was ever rotated).
          incoming: hasKekTable ? ((ctx.db.prepare("SELECT kek_check FROM archive_keks WHERE state = 'incoming'").pluck().get() as string | undefined) ?? null) : null,
        },
        mac: { label: ctx.ws.mac_label, idHex: ctx.ws.mac_id, check: ctx.ws.mac_check },
        audit: {
          label: ctx.ws.audit_label,
          idHex: ctx.ws.audit_id,
          fingerprint: ctx.ws.audit_fingerprint,
          publicKeyPem: spkiToPem(ctx.ws.audit_spki),
          // Keys retired by audit key rotations: their public keys still verify the checkpoints they signed.
          retired: auditKeyRows(ctx)
            .filter((r) => r.state === 'retired')
            .map((r) => ({ label: r.label, idHex: r.key_id, fingerprint: r.fingerprint, publicKeyPem: spkiToPem(r.spki), handoverSeq: r.handover_seq })),
        },
      },
      counts: {
        keys: n('SELECT count(*) AS n FROM keys'),
        versions: n('SELECT count(*) AS n FROM key_versions'),
        withMaterial: n('SELECT count(*) AS n FROM key_versions WHERE wrapped IS NOT NULL'),
        auditEntries: (ctx.db.prepare('SELECT max(seq) FROM audit_entries').pluck().get() as number | null) ?? 0,
        checkpoints: n('SELECT count(*) AS n FROM checkpoints'),
        trusted: n('SELECT count(*) AS n FROM trusted_workstations'),
      },
      lastCheckpoint: ctx.audit.lastCheckpoint(),
      auditKey: auditKeyStatus(ctx),
    };
  });
}

export function searchVersions(ctx: ArchiveContext, query: unknown): SearchPage {
  const q: SearchQuery = validateQuery(query);
  return guarded(ctx, () => search(ctx.db, q));
}

/** A version by id, or the newest version of a key by label ("label@3" for version 3). */
export function resolveVersion(ctx: ArchiveContext, selector: string): VersionRow {
  return guarded(ctx, () => {
    let row = ctx.db.prepare('SELECT * FROM key_versions WHERE id = ?').get(selector) as VersionRow | undefined;
    if (!row) {
      const m = /^(.*)@(\d+)$/.exec(selector);
      const label = m ? m[1]! : selector;
      row = (
        m
          ? ctx.db.prepare('SELECT v.* FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.label = ? AND v.version = ?').get(label, Number(m[2]))
          : ctx.db.prepare('SELECT v.* FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.label = ? ORDER BY v.version DESC LIMIT 1').get(label)
      ) as VersionRow | undefined;
    }
    if (!row) {
      throw archiveError('ARCHIVE_RECORD_NOT_FOUND', `The archive has no key version "${selector.slice(0, 140)}".`, 'Search the archive (custos archive search) and use the version id or LABEL@VERSION it shows.');
    }
    return row;
  });
}

export function keyRow(ctx: ArchiveContext, id: string): KeyRow {
  const k = guarded(ctx, () => ctx.db.prepare('SELECT * FROM keys WHERE id = ?').get(id) as KeyRow | undefined);
  if (!k) throw archiveError('ARCHIVE_RECORD_NOT_FOUND', 'The key of this version is missing from the archive.', 'Run `custos archive verify`.');
  return k;
}

export function summary(ctx: ArchiveContext, versionId: string): VersionSummary {
  const r = guarded(ctx, () => ctx.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE v.id = ?`).get(versionId) as SummaryRow);
  return summaryOf(r);
}

/** Everything an Archive screen shows for one version. */
export function versionDetail(ctx: ArchiveContext, selector: string): VersionDetail {
  const v = resolveVersion(ctx, selector);
  const k = keyRow(ctx, v.key_id);
  const versions = guarded(ctx, () =>
    (ctx.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE v.key_id = ? ORDER BY v.version DESC`).all(v.key_id) as SummaryRow[]).map(summaryOf),
  );
  return {
    summary: versions.find((s) => s.versionId === v.id)!,
    kind: v.kind,
    sourceUri: v.source_uri,
    checkMethod: v.check_method,
    checkLegacy: v.check_legacy,
    publicKeyPem: v.public_spki ? spkiToPem(v.public_spki) : null,
    wrapMechanism: v.wrap_mechanism,
    kekCheck: v.kek_check,
    wrappedBytes: v.wrapped ? v.wrapped.length : null,
    protectStopDate: v.protect_stop_date,
    processStopDate: v.process_stop_date,
    compromiseDate: v.compromise_date,
    destroyedDate: v.destroyed_date,
    ceremonyId: v.ceremony_id,
    originArchive: v.origin_archive,
    revision: v.revision,
    updatedAt: v.updated_at,
    key: keyDetail(k),
    versions,
    history: history(ctx, v.id),
    allowedActions: allowedActions(v.state),
  };
}

/** The state history of a version, from the audit log (each change is an audit entry). */
export function history(ctx: ArchiveContext, versionId: string): StateChange[] {
  const out: StateChange[] = [];
  for (const e of guarded(ctx, () => ctx.audit.about('version', versionId))) {
    const d = (e.details ?? {}) as Record<string, unknown>;
    const imported = Array.isArray(d.history) ? (d.history as StateChange[]) : [];
    for (const h of imported) out.push({ ...h, seq: e.seq, action: `${h.action} (imported)` });
    if (typeof d.to === 'string') {
      out.push({ seq: e.seq, at: e.at, actor: e.actor, action: e.action, from: (d.from as KeyState | null) ?? null, to: d.to as KeyState, reason: (d.reason as string | null) ?? null });
    }
  }
  return out;
}

/** Audit entries, newest first: for one key (keyId), one row (objectType + objectId), or all. */
export function auditTrail(ctx: ArchiveContext, filter: { keyId?: string; objectType?: string; objectId?: string; action?: string; limit?: number; beforeSeq?: number } = {}): AuditPage {
  return guarded(ctx, () => ctx.audit.page(filter));
}
