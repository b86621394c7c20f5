// The archive service: the API the CLI, the Archive screen and the Audit screen call.
//
//   read (no HSM, read-only connection is enough): info, search, version, history, auditTrail,
//        verify({withHsm: false}), exportAudit
//   write / unwrap (HSM, logged in): init, add, transition, restore, verify (row MACs),
//        exportBundle, importBundle, trust, custodians / share sets / ceremonies
//
// The envelope of an archived version (docs/FORMAT.md "Archive envelope"):
//   wrapped = RFC 5649 AES-KWP(Archive KEK, key value)         computed by C_WrapKey in the HSM
//   mac     = HMAC-SHA256(Archive MAC key, canonical row)      computed by C_Sign in the HSM
// The canonical row holds the archive id, version id, key id, version number, algorithm and the
// wrapped bytes (and every other column), so a blob moved to another row, another key or another
// archive no longer matches its MAC. KWP has no associated data, which is why the binding is the
// MAC's job.
//
// Private keys: SoftHSM's AES-KWP output is RFC 5649 only for key data whose length is a multiple
// of 8 bytes (the host's probe; PKCS#8 encodings have any length), and CKM_AES_KEY_WRAP (RFC 3394)
// needs a multiple of 8 too. A blob that only SoftHSM can read defeats the archive's purpose
// (recovery with standard tools, docs/FORMAT.md), so private keys are archived only on tokens whose
// KWP passes the probe for every length (probe.wrap === 'any'); elsewhere add() refuses them with
// WRAP_MECHANISM_UNTRUSTED and says what to do. AES, TDES and HMAC keys (16/24/32 bytes) work on
// every token whose KWP reads RFC 5649.
import { createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { RECORDS, type RecordSpec } from '../../../shared/archive/canonical';
import { allowedActions, datesAfter, isLifecycleAction, MATERIAL_GONE, transitionFor, type KeyState, type LifecycleAction, type LifecycleDates } from '../../../shared/archive/lifecycle';
import { checkPolicyMonths, DEFAULT_POLICIES, isIsoDate, isPurpose, plannedDates, type Purpose } from '../../../shared/archive/policy';
import {
  ARCHIVE_FORMAT_ID,
  WRAP_MECHANISM_KWP,
  type ArchiveInfo,
  type AuditPage,
  type CheckMethod,
  type KeyDetail,
  type SearchPage,
  type SearchQuery,
  type StateChange,
  type VerifyProblem,
  type VerifyVerdict,
  type VersionDetail,
  type VersionSummary,
} from '../../../shared/archive/types';
import { labelProblem, normalizeTags, tagProblem, textProblem } from '../../../shared/archive/validate';
import type { AddedVersion } from '../../../shared/contract';
import { CustosError } from '../../../shared/result';
import type { KeyUsage, ObjectRef, RawObject, UnwrapTemplate } from '../../hsm/protocol';
import type { DetailValue } from '../audit/chain';
import { AuditLog } from '../audit/log';
import { spkiFingerprint, spkiToPem } from '../formats/publicKey';
import { HMAC_CHECK_DATA, hmacCheckOf, hsmCheckValues, hsmHmacCheck, hsmPublicKey, type HsmScope } from '../hsm-kcv';
import type { AnchorStore } from './anchors';
import { HsmArchiveCrypto, type ArchiveCrypto, type ArchiveKeyRefs, type HsmBinding } from './crypto';
import { archiveError, fromSqlite } from './errors';
import { inspectKey, type InspectedKey } from './hsmkeys';
import { abandonCreate, createArchiveFile, finishCreate, openArchiveFile, type OpenOptions } from './open';
import type { Db } from './schema';
import { search, SUMMARY_COLUMNS, summaryOf, validateQuery, type SummaryRow } from './search';
import { ArchiveStore, newId, nowIso, type AuditDraft, type Mutation, type RowWrite } from './store';
import { verifyRows } from './verify';

export interface WorkstationRow {
  archive_id: string;
  name: string;
  created_at: string;
  token_uri: string | null;
  kek_label: string;
  kek_id: string;
  kek_check: string;
  kek_check_legacy: string | null;
  mac_label: string;
  mac_id: string;
  mac_check: string;
  audit_label: string;
  audit_id: string;
  audit_spki: Buffer;
  audit_fingerprint: string;
  mac: Buffer;
}

export interface VersionRow {
  id: string;
  key_id: string;
  version: number;
  algorithm: string;
  kind: 'secret' | 'private';
  purpose: Purpose;
  state: KeyState;
  source_uri: string | null;
  check_method: CheckMethod | null;
  check_value: string | null;
  check_legacy: string | null;
  fingerprint: string | null;
  public_spki: Buffer | null;
  wrap_mechanism: string | null;
  kek_check: string | null;
  wrapped: Buffer | null;
  created_at: string;
  activation_date: string | null;
  protect_stop_date: string | null;
  process_stop_date: string | null;
  deactivation_date: string | null;
  compromise_date: string | null;
  destroyed_date: string | null;
  rotation_due: string | null;
  ceremony_id: string | null;
  origin_archive: string;
  revision: number;
  updated_at: string;
  mac: Buffer;
}

export interface KeyRow {
  id: string;
  label: string;
  purpose: Purpose;
  algorithm: string;
  policy_id: string;
  oup_months: number;
  rup_extra_months: number;
  tags: string;
  custodians: string;
  description: string | null;
  created_at: string;
  origin_archive: string;
  revision: number;
  updated_at: string;
  mac: Buffer;
}

export interface AddItem {
  /** The HSM key to archive (label and/or CKA_ID; kind optional). */
  hsm: ObjectRef;
  /** The RFC 7512 URI or label the operator gave, recorded for the record. */
  sourceUri?: string;
  key: {
    label: string;
    purpose?: Purpose;
    tags?: string[];
    custodians?: string[];
    description?: string;
    policy?: { originatorUsageMonths: number; recipientExtraMonths: number };
  };
  /** Make the new version the active one (a rotation if another version is active). */
  activate?: boolean;
  /**
   * When the version became active, if earlier than now: keys that were in use before they were
   * archived keep their real dates (the old-data question depends on them). Needs `activate`.
   */
  activationDate?: string;
  ceremonyId?: string;
}

/** What archiving one version reports: the contract's AddedVersion, as the app shows it. */
export type AddResult = AddedVersion;

export interface RestoreTemplate {
  label: string;
  idHex?: string;
  usages: KeyUsage[];
  extractable?: boolean;
  onToken?: boolean;
}

export interface ArchiveOpenOptions extends OpenOptions {
  /** A logged-in token holding this archive's keys: needed for anything that writes or unwraps. */
  hsm?: HsmBinding | null;
  /** Overrides the HSM crypto (tests may pass a software stand-in). */
  crypto?: ArchiveCrypto | null;
}

const KEK_LABEL = (id: string) => `custos-archive-kek/${id}`;
const MAC_LABEL = (id: string) => `custos-archive-mac/${id}`;
const AUDIT_LABEL = (id: string) => `custos-audit/${id}`;

function invalid(message: string, action = 'Correct the input and try again.'): never {
  throw new CustosError({ code: 'INVALID_INPUT', message, action });
}

function needsHsm(): never {
  throw new CustosError({
    code: 'NOT_LOGGED_IN',
    message: 'This step needs the HSM that holds the archive keys, and it is not connected.',
    action: 'Give --module and --token for the archive\'s HSM and log in (the PIN is asked for, or read from --pin-file).',
  });
}

export class ArchiveService {
  readonly path: string;
  readonly archiveId: string;
  readonly readonly: boolean;
  private readonly audit: AuditLog;
  private store: ArchiveStore | null = null;
  private ws: WorkstationRow;

  private constructor(
    private readonly db: Db,
    opened: { path: string; archiveId: string; readonly: boolean },
    private readonly binding: HsmBinding | null,
    private readonly crypto: ArchiveCrypto | null,
    private readonly anchors: AnchorStore | null,
  ) {
    this.path = opened.path;
    this.archiveId = opened.archiveId;
    this.readonly = opened.readonly;
    this.audit = new AuditLog(db, this.archiveId);
    this.ws = this.q(() => db.prepare('SELECT * FROM workstation').get() as WorkstationRow);
    if (crypto && !this.readonly) {
      this.store = new ArchiveStore(db, this.path, this.archiveId, this.audit, crypto, this.ws.audit_fingerprint, anchors);
    }
  }

  /** Opens an existing archive (see open.ts for the checks made before anything is written). */
  static open(path: string, opts: ArchiveOpenOptions = {}): ArchiveService {
    const f = openArchiveFile(path, opts);
    try {
      const ws = f.db.prepare('SELECT * FROM workstation').get() as WorkstationRow;
      const crypto = opts.crypto ?? (opts.hsm ? new HsmArchiveCrypto(opts.hsm, refsOf(ws)) : null);
      return new ArchiveService(f.db, f, opts.hsm ?? null, crypto, opts.anchors ?? null);
    } catch (e) {
      f.db.close();
      throw fromSqlite(e, f.path);
    }
  }

  /**
   * `custos archive init`: generates the Archive KEK (AES-256, wrap/unwrap, extractable under wrap
   * so it can be backed up with shares), the Archive MAC key (HMAC, 256 bits, sign/verify,
   * extractable under wrap so a recovery team can authenticate rows) and the audit signing key
   * (EC P-256, sign, never extractable) in the HSM, records their ids, check values and
   * fingerprint, and creates the archive file. If any step fails, the keys made so far are destroyed
   * and no file is left behind.
   */
  static async init(path: string, opts: { hsm: HsmBinding; name: string; actor: string; tokenUri?: string | null; anchors?: AnchorStore | null }): Promise<ArchiveService> {
    const p = textProblem('The archive name', opts.name, 100);
    if (p || opts.name.trim() === '') invalid(p ?? 'The archive needs a name (for example the workstation\'s name).');
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
      await call('generate', { path: b.module, token: b.token, spec: { type: 'aes-256', label: refs.kek.label!, idHex: ids.kek, usages: ['wrap'], extractable: true } });
      made.push(refs.kek);
      await call('generate', { path: b.module, token: b.token, spec: { type: 'hmac-256', label: refs.mac.label!, idHex: ids.mac, usages: ['sign'], extractable: true } });
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
    return ArchiveService.open(path, { hsm: b, anchors: opts.anchors ?? null });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private q<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw fromSqlite(e, this.path);
    }
  }

  private requireStore(): ArchiveStore {
    if (this.readonly) throw archiveError('INVALID_INPUT', 'The archive was opened read-only.', 'Open it without --read-only to change it.');
    return this.store ?? needsHsm();
  }

  private requireHsm(): HsmBinding {
    return this.binding ?? needsHsm();
  }

  get workstation(): Readonly<WorkstationRow> {
    return this.ws;
  }

  get keyRefs(): ArchiveKeyRefs {
    return refsOf(this.ws);
  }

  // ===========================================================================================
  // Reading (no HSM)

  info(): ArchiveInfo {
    return this.q(() => {
      const n = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
      return {
        archiveId: this.archiveId,
        name: this.ws.name,
        path: this.path,
        formatId: ARCHIVE_FORMAT_ID,
        schemaVersion: this.db.pragma('user_version', { simple: true }) as number,
        createdAt: this.ws.created_at,
        tokenUri: this.ws.token_uri,
        keys: {
          kek: { label: this.ws.kek_label, idHex: this.ws.kek_id, check: this.ws.kek_check, checkLegacy: this.ws.kek_check_legacy },
          mac: { label: this.ws.mac_label, idHex: this.ws.mac_id, check: this.ws.mac_check },
          audit: { label: this.ws.audit_label, idHex: this.ws.audit_id, fingerprint: this.ws.audit_fingerprint, publicKeyPem: spkiToPem(this.ws.audit_spki) },
        },
        counts: {
          keys: n('SELECT count(*) AS n FROM keys'),
          versions: n('SELECT count(*) AS n FROM key_versions'),
          auditEntries: (this.db.prepare('SELECT max(seq) FROM audit_entries').pluck().get() as number | null) ?? 0,
          checkpoints: n('SELECT count(*) AS n FROM checkpoints'),
          trusted: n('SELECT count(*) AS n FROM trusted_workstations'),
        },
        lastCheckpoint: this.audit.lastCheckpoint(),
      };
    });
  }

  search(query: unknown): SearchPage {
    const q: SearchQuery = validateQuery(query);
    return this.q(() => search(this.db, q));
  }

  /** A version by id, or the newest version of a key by label ("label@3" for version 3). */
  resolveVersion(selector: string): VersionRow {
    return this.q(() => {
      let row = this.db.prepare('SELECT * FROM key_versions WHERE id = ?').get(selector) as VersionRow | undefined;
      if (!row) {
        const m = /^(.*)@(\d+)$/.exec(selector);
        const label = m ? m[1]! : selector;
        row = (
          m
            ? this.db.prepare('SELECT v.* FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.label = ? AND v.version = ?').get(label, Number(m[2]))
            : this.db.prepare('SELECT v.* FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.label = ? ORDER BY v.version DESC LIMIT 1').get(label)
        ) as VersionRow | undefined;
      }
      if (!row) {
        throw archiveError('ARCHIVE_RECORD_NOT_FOUND', `The archive has no key version "${selector.slice(0, 140)}".`, 'Search the archive (custos archive search) and use the version id or LABEL@VERSION it shows.');
      }
      return row;
    });
  }

  private keyRow(id: string): KeyRow {
    const k = this.q(() => this.db.prepare('SELECT * FROM keys WHERE id = ?').get(id) as KeyRow | undefined);
    if (!k) throw archiveError('ARCHIVE_RECORD_NOT_FOUND', 'The key of this version is missing from the archive.', 'Run `custos archive verify`.');
    return k;
  }

  private summary(versionId: string): VersionSummary {
    const r = this.q(() => this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE v.id = ?`).get(versionId) as SummaryRow);
    return summaryOf(r);
  }

  /** Everything an Archive screen shows for one version. */
  version(selector: string): VersionDetail {
    const v = this.resolveVersion(selector);
    const k = this.keyRow(v.key_id);
    const versions = this.q(() =>
      (this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE v.key_id = ? ORDER BY v.version DESC`).all(v.key_id) as SummaryRow[]).map(summaryOf),
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
      history: this.history(v.id),
      allowedActions: allowedActions(v.state),
    };
  }

  /** The state history of a version, from the audit log (each change is an audit entry). */
  history(versionId: string): StateChange[] {
    const out: StateChange[] = [];
    for (const e of this.q(() => this.audit.about('version', versionId))) {
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
  auditTrail(filter: { keyId?: string; objectType?: string; objectId?: string; action?: string; limit?: number; beforeSeq?: number } = {}): AuditPage {
    return this.q(() => this.audit.page(filter));
  }

  // ===========================================================================================
  // Archiving keys (HSM)

  async add(items: AddItem[], actor: string): Promise<AddResult[]> {
    const store = this.requireStore();
    const b = this.requireHsm();
    if (items.length === 0) return [];
    const activating = new Set<string>();
    for (const it of items) {
      const p = labelProblem(it.key.label);
      if (p) invalid(p);
      if (it.key.purpose !== undefined && !isPurpose(it.key.purpose)) invalid(`"${String(it.key.purpose)}" is not a purpose.`, `Use one of: ${Object.keys(DEFAULT_POLICIES).join(', ')}.`);
      for (const t of normalizeTags(it.key.tags ?? [])) {
        const tp = tagProblem(t);
        if (tp) invalid(tp);
      }
      if (it.key.description !== undefined) {
        const dp = textProblem('The description', it.key.description);
        if (dp) invalid(dp);
      }
      if (it.key.policy) {
        const pp = checkPolicyMonths(it.key.policy.originatorUsageMonths, it.key.policy.recipientExtraMonths);
        if (pp) invalid(pp);
      }
      if (it.activationDate !== undefined) {
        if (!it.activate) invalid('An activation date needs the version to be activated.', 'Add --activate, or leave the date out.');
        if (!isIsoDate(it.activationDate) || it.activationDate > nowIso() || it.activationDate < '1970-01-01T00:00:00.000Z') {
          invalid('The activation date must be an ISO 8601 UTC time in the past.', 'For example 2024-03-01T00:00:00.000Z.');
        }
      }
      if (it.activate) {
        if (activating.has(it.key.label)) invalid(`Two versions of "${it.key.label}" would become active in one step.`, 'Activate one version per key at a time.');
        activating.add(it.key.label);
      }
    }

    // 1. What the HSM says about each key (one look-up per distinct key object).
    const seen = new Map<string, Promise<InspectedKey>>();
    const inspected = await Promise.all(
      items.map((it) => {
        const k = JSON.stringify([it.hsm.label ?? null, it.hsm.idHex ?? null, it.hsm.kind ?? null]);
        if (!seen.has(k)) seen.set(k, inspectKey(b, it.hsm));
        return seen.get(k)!;
      }),
    );
    if (inspected.some((k) => k.kind === 'private')) {
      const probe = await b.hsm.call('probeWrap', { path: b.module, token: b.token });
      if (probe.aesKwp?.wrap !== 'any') {
        throw new CustosError({
          code: 'WRAP_MECHANISM_UNTRUSTED',
          message:
            "This token's AES key wrap with padding is standard (RFC 5649) only for key data that is a multiple of 8 bytes. A private key (PKCS#8) has no such length, so its archived form could only be read back by this kind of token, not with OpenSSL or another HSM.",
          action:
            'Archive private keys on an HSM whose AES-KWP passes the RFC 5649 vectors for any length, or keep them in the HSM and back them up with the vendor\'s tools. AES, TDES and HMAC keys can be archived here.',
          details: { notes: probe.notes.join('; ').slice(0, 300) },
        });
      }
    }

    // 2. Wrap every version's material under the Archive KEK, inside the HSM (batched).
    const wrapped = await this.wrapAll(inspected.map((k) => k.ref));

    // 3. Rows, MACs, audit entries, checkpoint: one transaction.
    let results: AddResult[] = [];
    await store.commit(() => {
      const now = nowIso();
      const rows: RowWrite[] = [];
      const audit: AuditDraft[] = [];
      results = [];
      const keyByLabel = this.db.prepare('SELECT * FROM keys WHERE label = ?');
      const maxVersion = this.db.prepare('SELECT coalesce(max(version), 0) AS v FROM key_versions WHERE key_id = ?');
      const activeOf = this.db.prepare("SELECT * FROM key_versions WHERE key_id = ? AND state = 'active'");
      const planned = new Map<string, { key: Record<string, unknown>; next: number; fresh: boolean }>();
      items.forEach((it, i) => {
        const info = inspected[i]!;
        let entry = planned.get(it.key.label);
        if (!entry) {
          const existing = keyByLabel.get(it.key.label) as KeyRow | undefined;
          if (existing) {
            if (it.key.purpose && it.key.purpose !== existing.purpose) {
              invalid(`The key "${it.key.label}" is archived with purpose ${existing.purpose}, not ${it.key.purpose}.`, 'A new version keeps the purpose of its key; leave --purpose out or use another label.');
            }
            const { mac: _m, ...keyValues } = existing;
            entry = { key: keyValues, next: (maxVersion.get(existing.id) as { v: number }).v + 1, fresh: false };
          } else {
            const purpose = it.key.purpose ?? invalid(`"${it.key.label}" is a new key: its purpose is needed.`, `Pass --purpose (one of: ${Object.keys(DEFAULT_POLICIES).join(', ')}).`);
            const policy = DEFAULT_POLICIES[purpose];
            const key = {
              id: newId(),
              label: it.key.label,
              purpose,
              algorithm: info.algorithm,
              policy_id: it.key.policy ? 'custom' : policy.id,
              oup_months: it.key.policy?.originatorUsageMonths ?? policy.originatorUsageMonths,
              rup_extra_months: it.key.policy?.recipientExtraMonths ?? policy.recipientExtraMonths,
              tags: JSON.stringify(normalizeTags(it.key.tags ?? [])),
              custodians: JSON.stringify([...new Set(it.key.custodians ?? [])].sort()),
              description: it.key.description ?? null,
              created_at: now,
              origin_archive: this.archiveId,
              revision: 1,
              updated_at: now,
            };
            rows.push({ spec: RECORDS.key, op: 'insert', row: key });
            audit.push({ actor, action: 'key.create', row: rows.length - 1, keyId: key.id, details: { label: key.label, purpose, policy: key.policy_id, oupMonths: key.oup_months, tags: JSON.parse(key.tags) as string[] } });
            entry = { key, next: 1, fresh: true };
          }
          planned.set(it.key.label, entry);
        }
        const key = entry.key as unknown as KeyRow;
        const versionNumber = entry.next++;
        let state: KeyState = 'pre-active';
        let dates: LifecycleDates = { activationDate: null, protectStopDate: null, processStopDate: null, deactivationDate: null, compromiseDate: null, destroyedDate: null };
        let rotationDue: string | null = null;
        if (it.activate) {
          const at = it.activationDate ?? now;
          if (!entry.fresh) {
            const old = activeOf.get(key.id) as VersionRow | undefined;
            if (old) {
              if (old.activation_date !== null && old.activation_date > at) {
                invalid(`Version ${versionNumber} of "${key.label}" cannot become active before version ${old.version} did (${old.activation_date}).`, 'Check the activation date.');
              }
              const w = this.transitionWrite(old, 'deactivate', at, key);
              rows.push(w.write);
              audit.push({ actor, action: 'version.deactivate', row: rows.length - 1, keyId: key.id, details: { label: key.label, version: old.version, from: 'active', to: 'deactivated', reason: 'rotation' } });
            }
          }
          const p = plannedDates(at, { originatorUsageMonths: key.oup_months, recipientExtraMonths: key.rup_extra_months });
          dates = datesAfter('pre-active', 'active', dates, at, p);
          rotationDue = p.rotationDue;
          state = 'active';
        }
        const v = {
          id: newId(),
          key_id: key.id,
          version: versionNumber,
          algorithm: info.algorithm,
          kind: info.kind,
          purpose: key.purpose,
          state,
          source_uri: it.sourceUri ?? null,
          check_method: info.checkMethod,
          check_value: info.checkValue,
          check_legacy: info.checkLegacy,
          fingerprint: info.fingerprint,
          public_spki: info.publicSpki,
          wrap_mechanism: WRAP_MECHANISM_KWP,
          kek_check: this.ws.kek_check,
          wrapped: wrapped[i]!,
          created_at: now,
          ...datesRow(dates),
          rotation_due: rotationDue,
          ceremony_id: it.ceremonyId ?? null,
          origin_archive: this.archiveId,
          revision: 1,
          updated_at: now,
        };
        rows.push({ spec: RECORDS.version, op: 'insert', row: v });
        audit.push({
          actor,
          action: 'version.add',
          row: rows.length - 1,
          keyId: key.id,
          details: {
            label: key.label,
            version: versionNumber,
            algorithm: info.algorithm,
            from: null,
            to: state,
            check: info.checkValue,
            checkMethod: info.checkMethod,
            fingerprint: info.fingerprint,
            kek: this.ws.kek_check,
            source: it.sourceUri ?? null,
            hsmObject: { label: info.object.label, id: info.object.idHex },
          },
        });
        results.push({ versionId: v.id, keyId: key.id, label: key.label, version: versionNumber, algorithm: info.algorithm, state, checkValue: info.checkValue, fingerprint: info.fingerprint });
      });
      return { rows, audit };
    });
    return results;
  }

  private async wrapAll(refs: ObjectRef[]): Promise<Uint8Array[]> {
    if (!this.crypto) needsHsm();
    try {
      return await this.crypto.wrap(refs);
    } catch (e) {
      if (e instanceof CustosError && e.appError.code === 'KEY_USAGE_NOT_PERMITTED') {
        throw new CustosError({ ...e.appError, message: 'The HSM refused to wrap the key under the Archive KEK (the key or the KEK does not permit it).', action: 'Check that the key is extractable and that the Archive KEK is the one this archive was made with (custos archive verify).' });
      }
      throw e;
    }
  }

  private transitionWrite(v: VersionRow, action: LifecycleAction, at: string, key: KeyRow): { write: RowWrite; to: KeyState } {
    const to = transitionFor(v.state, action);
    if (!to) {
      throw archiveError(
        'LIFECYCLE_TRANSITION_INVALID',
        `Version ${v.version} of this key is ${v.state}; it cannot be ${pastTense(action)}.`,
        `From ${v.state} the possible steps are: ${allowedActions(v.state).join(', ') || 'none (final state)'}.`,
        { from: v.state, action },
      );
    }
    const p = to === 'active' && v.state === 'pre-active' ? plannedDates(at, { originatorUsageMonths: key.oup_months, recipientExtraMonths: key.rup_extra_months }) : null;
    const dates = datesAfter(v.state, to, datesOf(v), at, p);
    const { mac, ...values } = v;
    const row: Record<string, unknown> = {
      ...values,
      state: to,
      ...datesRow(dates),
      rotation_due: p ? p.rotationDue : v.rotation_due,
      revision: v.revision + 1,
      updated_at: nowIso(),
    };
    // Destruction shreds the archived material; the metadata stays (SP 800-57 §8.3.4).
    if (MATERIAL_GONE.includes(to)) row.wrapped = null;
    return { write: { spec: RECORDS.version, op: 'update', row, expectMac: mac }, to };
  }

  /**
   * A lifecycle step on one version. Activating a version while another version of the same key
   * is active is a rotation: the old one is deactivated in the same transaction.
   */
  async transition(selector: string, action: LifecycleAction, opts: { actor: string; reason?: string }): Promise<VersionSummary> {
    const store = this.requireStore();
    if (!isLifecycleAction(action)) invalid(`"${String(action)}" is not a lifecycle action.`, 'Use activate, suspend, resume, deactivate, compromise or destroy.');
    if (opts.reason !== undefined) {
      const p = textProblem('The reason', opts.reason);
      if (p) invalid(p);
    }
    const target = this.resolveVersion(selector);
    let shredded = false;
    await store.commit(() => {
      const v = this.db.prepare('SELECT * FROM key_versions WHERE id = ?').get(target.id) as VersionRow;
      const key = this.keyRow(v.key_id);
      const now = nowIso();
      const rows: RowWrite[] = [];
      const audit: AuditDraft[] = [];
      if (action === 'activate' || action === 'resume') {
        const other = this.db.prepare("SELECT * FROM key_versions WHERE key_id = ? AND state = 'active' AND id <> ?").get(v.key_id, v.id) as VersionRow | undefined;
        if (other && action === 'resume') {
          throw archiveError(
            'ARCHIVE_CONFLICT',
            `Version ${other.version} of "${key.label}" became active while version ${v.version} was suspended; only one version may be active.`,
            `Deactivate version ${v.version} instead, or deactivate version ${other.version} first.`,
          );
        }
        if (other) {
          rows.push(this.transitionWrite(other, 'deactivate', now, key).write);
          audit.push({ actor: opts.actor, action: 'version.deactivate', row: 0, keyId: key.id, details: { label: key.label, version: other.version, from: 'active', to: 'deactivated', reason: `rotation to version ${v.version}` } });
        }
      }
      const { write, to } = this.transitionWrite(v, action, now, key);
      shredded = MATERIAL_GONE.includes(to) && v.wrapped !== null;
      rows.push(write);
      audit.push({ actor: opts.actor, action: `version.${action}`, row: rows.length - 1, keyId: key.id, details: { label: key.label, version: v.version, from: v.state, to, reason: opts.reason ?? null, ...(shredded ? { shredded: true } : {}) } });
      return { rows, audit };
    });
    if (shredded) {
      // secure_delete zeroed the freed space in the database pages; the old page images are still in
      // the WAL until a checkpoint copies the new pages back and truncates it.
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        /* a reader holds an old snapshot; the next checkpoint does it */
      }
    }
    return this.summary(target.id);
  }

  // ===========================================================================================
  // Retrieval: unwrap an archived version into an HSM (audited), checking its check value.

  async restore(selector: string, template: RestoreTemplate, actor: string): Promise<{ object: RawObject; checked: boolean; note?: string }> {
    const store = this.requireStore();
    const b = this.requireHsm();
    const v = this.resolveVersion(selector);
    if (!v.wrapped) throw archiveError('ARCHIVE_RECORD_NOT_FOUND', `Version ${v.version} was destroyed; its material was shredded and cannot be restored.`, 'Only the metadata of a destroyed version remains.');
    if (v.kek_check !== this.ws.kek_check) {
      throw archiveError(
        'WRAPPED_KEY_INVALID',
        `This version was wrapped under another archive's KEK (check value ${v.kek_check}), not this archive's (${this.ws.kek_check}).`,
        'Restore that KEK into the HSM first (from its backup shares), or retrieve the key on the workstation that archived it.',
      );
    }
    // The row must still carry its MAC: a swapped or edited blob is refused before it reaches the HSM.
    const [mac] = await this.crypto!.mac([store.macInput(RECORDS.version, v as unknown as Record<string, unknown>)]);
    if (!Buffer.from(mac!).equals(v.mac)) {
      throw archiveError('ARCHIVE_TAMPERED', `The archive row of version ${v.version} does not match its MAC: it was altered or moved.`, 'Do not use it. Run `custos archive verify` and restore the archive from a trusted copy.', { versionId: v.id });
    }
    const p = labelProblem(template.label);
    if (p) invalid(p);
    const keyType = v.algorithm.startsWith('aes-') ? 'aes' : v.algorithm.startsWith('hmac-') ? 'generic-secret' : v.algorithm === 'tdes' ? 'tdes' : v.algorithm.startsWith('rsa-') ? 'rsa' : v.algorithm.startsWith('ec-') ? 'ec' : 'ed25519';
    const tmpl: UnwrapTemplate = {
      kind: v.kind,
      keyType,
      label: template.label,
      idHex: template.idHex ?? randomBytes(16).toString('hex'),
      usages: template.usages,
      extractable: template.extractable ?? false,
      onToken: template.onToken ?? true,
    };
    const object = await b.hsm.call('unwrap', { path: b.module, token: b.token, unwrapping: { ...this.keyRefs.kek, kind: 'secret' }, wrapped: v.wrapped, mechanism: 'aes-kwp', template: tmpl });
    const ref: ObjectRef = { label: object.label, idHex: object.idHex, kind: v.kind };
    let checked = false;
    let note: string | undefined;
    try {
      if (v.check_method === 'aes-cmac' || v.check_method === 'tdes-ecb') {
        const cv = await hsmCheckValues(scopeOf(b), ref);
        const got = v.check_method === 'aes-cmac' ? cv.cmac : cv.legacy;
        if (got !== v.check_value) throw archiveError('CHECK_VALUE_MISMATCH', 'The restored key\'s check value differs from the archived one; the restored copy was destroyed.', 'Do not use this version. Run `custos archive verify`.');
        checked = true;
      } else if (v.check_method === 'hmac-sha256-zeros' && template.usages.includes('sign')) {
        if ((await hsmHmacCheck(scopeOf(b), ref)) !== v.check_value) {
          throw archiveError('CHECK_VALUE_MISMATCH', 'The restored key\'s check value differs from the archived one; the restored copy was destroyed.', 'Do not use this version. Run `custos archive verify`.');
        }
        checked = true;
      } else if (v.kind === 'private' && v.public_spki && template.usages.includes('sign')) {
        // Prove the pair: sign a fresh challenge in the HSM and verify it with the archived public key.
        const challenge = randomBytes(32);
        const ec = v.algorithm.startsWith('ec-');
        const mech = ec ? 'ecdsa-sha256' : v.algorithm === 'ed25519' ? 'ed25519' : 'rsa-pkcs1-sha256';
        const [sig] = await b.hsm.call('sign', { path: b.module, token: b.token, ref, mechanism: mech, data: [challenge] });
        const key = createPublicKey({ key: v.public_spki, format: 'der', type: 'spki' });
        const ok = nodeVerify(mech === 'ed25519' ? null : 'sha256', challenge, ec ? { key, dsaEncoding: 'ieee-p1363' } : key, sig!);
        if (!ok) throw archiveError('CHECK_VALUE_MISMATCH', 'The restored private key does not match the archived public key; the restored copy was destroyed.', 'Do not use this version.');
        checked = true;
      } else {
        note = 'No check value could be compared for this key with the usages given (the unwrap itself passed the RFC 5649 integrity check).';
      }
    } catch (e) {
      try {
        await b.hsm.call('destroy', { path: b.module, token: b.token, ref });
      } catch {
        /* reported below either way */
      }
      throw e;
    }
    await store.commit(() => ({
      rows: [],
      audit: [
        {
          actor,
          action: 'version.retrieve',
          objectType: 'version',
          objectId: v.id,
          objectMac: v.mac,
          keyId: v.key_id,
          details: { version: v.version, into: { label: object.label, id: object.idHex, onToken: tmpl.onToken, extractable: tmpl.extractable }, checked },
        },
      ],
    }));
    return note ? { object, checked, note } : { object, checked };
  }

  // ===========================================================================================
  // Verification

  /**
   * Checks everything that can be checked: SQLite's structure, the audit chain and every
   * checkpoint signature (no HSM needed), and with the HSM: every row's MAC, that each row is the
   * one its latest audit entry recorded (no row replaced by an older, validly MACed copy; no row
   * deleted), and that the HSM's keys are the archive's. Names the first bad audit entry.
   */
  async verify(opts: { withHsm?: boolean; quickCheck?: boolean; threads?: number } = {}): Promise<VerifyVerdict> {
    const started = performance.now();
    const problems: VerifyProblem[] = [];
    const withHsm = opts.withHsm ?? this.crypto !== null;
    if (withHsm && !this.crypto) needsHsm();
    if (opts.quickCheck !== false) {
      try {
        const rows = this.db.pragma('quick_check(20)') as Array<{ quick_check: string }>;
        for (const r of rows) if (r.quick_check !== 'ok') problems.push({ check: 'sqlite', message: `SQLite: ${r.quick_check}` });
      } catch (e) {
        const mapped = fromSqlite(e, this.path);
        problems.push({ check: 'sqlite', message: mapped instanceof Error ? mapped.message : 'SQLite could not check the file.' });
      }
    }
    const anchor = this.anchors?.get(this.archiveId) ?? null;
    let chain;
    try {
      chain = await this.audit.verify(this.ws.audit_spki, { expect: anchor, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) });
    } catch (e) {
      throw fromSqlite(e, this.path);
    }
    problems.push(...chain.problems);
    let rows = 0;
    if (withHsm) {
      const b = this.binding;
      if (b) {
        // The HSM must hold this archive's audit key (same public key) and KEK (same check value).
        try {
          const pub = await hsmPublicKey(scopeOf(b), this.keyRefs.audit);
          if (!pub.spki.equals(this.ws.audit_spki)) problems.push({ check: 'identity', message: "The HSM's audit key is not the one recorded in the archive." });
          const kcv = await hsmCheckValues(scopeOf(b), this.keyRefs.kek);
          if (kcv.cmac !== this.ws.kek_check) problems.push({ check: 'identity', message: "The HSM's Archive KEK does not have the check value recorded in the archive." });
        } catch (e) {
          if (!(e instanceof CustosError)) throw e;
          problems.push({ check: 'identity', message: `The archive's keys could not be checked in the HSM: ${e.appError.message}` });
        }
      }
      const [check] = await this.crypto!.mac([HMAC_CHECK_DATA]);
      if (hmacCheckOf(check!) !== this.ws.mac_check) problems.push({ check: 'identity', message: 'The Archive MAC key in the HSM is not the one recorded in the archive.' });
      const r = await verifyRows(this.db, this.path, this.archiveId, this.crypto!);
      rows = r.rows;
      problems.push(...r.problems);
    }
    problems.push(...this.q(() => invariants(this.db)));
    const max = 100;
    return {
      ok: problems.length === 0,
      archiveId: this.archiveId,
      withHsm,
      entries: chain.entries,
      checkpoints: chain.checkpoints,
      lastCheckpoint: chain.lastCheckpoint ? { seq: chain.lastCheckpoint.seq, at: chain.lastCheckpoint.at } : null,
      rows,
      firstBadEntry: chain.firstBadEntry,
      problems: problems.slice(0, max),
      moreProblems: Math.max(0, problems.length - max),
      tookMs: Math.round(performance.now() - started),
    };
  }

  /** JSON Lines + checkpoint signatures + the audit public key (docs/FORMAT.md); read-only. */
  exportAudit(dir: string): { dir: string; entries: number; checkpoints: number; files: Record<string, string> } {
    return this.q(() => this.audit.export(dir, this.ws.audit_spki));
  }

  /** Raw access for the bundle module and tests of this package. */
  get internals(): { db: Db; audit: AuditLog; store: ArchiveStore | null; crypto: ArchiveCrypto | null; binding: HsmBinding | null } {
    return { db: this.db, audit: this.audit, store: this.store, crypto: this.crypto, binding: this.binding };
  }

  // ===========================================================================================
  // Custodians, share sets, ceremonies — records other services write through the same engine.

  async saveCustodian(input: { id?: string; name: string; roles: string[]; publicSpki?: Uint8Array | null; status?: string }, actor: string): Promise<string> {
    const p = textProblem('The custodian name', input.name, 100);
    if (p || input.name.trim() === '') invalid(p ?? 'A custodian needs a name.');
    const fp = input.publicSpki ? spkiFingerprint(input.publicSpki).hex : null;
    return this.saveExchangeable(RECORDS.custodian, input.id, actor, 'custodian.save', (now) => ({
      name: input.name.trim(),
      roles: JSON.stringify([...new Set(input.roles)].sort()),
      public_spki: input.publicSpki ? Buffer.from(input.publicSpki) : null,
      fingerprint: fp,
      status: input.status ?? 'active',
      created_at: now,
    }), (row) => ({ name: row.name as string, roles: JSON.parse(row.roles as string) as string[], fingerprint: fp, status: row.status as string }));
  }

  /** Share-set metadata only: scheme, threshold, holders, fingerprints — never a share. */
  async saveShareSet(
    input: { id?: string; keyId?: string | null; scheme: string; threshold: number; shareCount: number; groups?: unknown; holders: unknown; fingerprint: string; ceremonyId?: string | null; status?: string },
    actor: string,
  ): Promise<string> {
    if (!Number.isInteger(input.threshold) || !Number.isInteger(input.shareCount) || input.threshold < 1 || input.threshold > input.shareCount) invalid('The threshold must be between 1 and the number of shares.');
    return this.saveExchangeable(RECORDS['share-set'], input.id, actor, 'share-set.save', (now) => ({
      key_id: input.keyId ?? null,
      scheme: input.scheme,
      threshold: input.threshold,
      share_count: input.shareCount,
      groups: input.groups === undefined ? null : JSON.stringify(input.groups),
      holders: JSON.stringify(input.holders),
      fingerprint: input.fingerprint,
      ceremony_id: input.ceremonyId ?? null,
      status: input.status ?? 'active',
      created_at: now,
    }), (row) => ({ scheme: row.scheme as string, threshold: row.threshold as number, shareCount: row.share_count as number, fingerprint: row.fingerprint as string, status: row.status as string }));
  }

  private async saveExchangeable(
    spec: RecordSpec,
    id: string | undefined,
    actor: string,
    action: string,
    values: (now: string) => Record<string, unknown>,
    summary: (row: Record<string, unknown>) => Record<string, DetailValue>,
  ): Promise<string> {
    const store = this.requireStore();
    const rowIdValue = id ?? newId();
    await store.commit(() => {
      const now = nowIso();
      const existing = this.db.prepare(`SELECT * FROM ${spec.table} WHERE id = ?`).get(rowIdValue) as (Record<string, unknown> & { mac: Buffer; revision: number; created_at: string }) | undefined;
      const v = values(now);
      if (existing) {
        const { mac, ...old } = existing;
        const row = { ...old, ...v, created_at: existing.created_at, revision: existing.revision + 1, updated_at: now };
        return { rows: [{ spec, op: 'update', row, expectMac: mac }], audit: [{ actor, action, row: 0, details: summary(row) }] };
      }
      const row = { id: rowIdValue, ...v, origin_archive: this.archiveId, revision: 1, updated_at: now };
      return { rows: [{ spec, op: 'insert', row }], audit: [{ actor, action, row: 0, details: summary(row) }] };
    });
    return rowIdValue;
  }

  async startCeremony(input: { scriptId: string; scriptVersion: number; fingerprint: string; parameters: Record<string, DetailValue> }, actor: string): Promise<string> {
    const store = this.requireStore();
    const id = newId();
    await store.commit(() => {
      const now = nowIso();
      const row = { id, script_id: input.scriptId, script_version: input.scriptVersion, fingerprint: input.fingerprint, parameters: JSON.stringify(input.parameters), status: 'running', started_at: now, ended_at: null, revision: 1, updated_at: now };
      return { rows: [{ spec: RECORDS.ceremony, op: 'insert', row }], audit: [{ actor, action: 'ceremony.start', row: 0, details: { script: input.scriptId, version: input.scriptVersion, fingerprint: input.fingerprint } }] };
    });
    return id;
  }

  /** One journal step (append-only); a crash after it returns keeps the step. */
  async journal(ceremonyId: string, step: { action: string; details: Record<string, DetailValue> }, actor: string): Promise<number> {
    const store = this.requireStore();
    let n = 0;
    await store.commit(() => {
      n = ((this.db.prepare('SELECT coalesce(max(step), 0) AS s FROM ceremony_journal WHERE ceremony_id = ?').get(ceremonyId) as { s: number }).s ?? 0) + 1;
      const row = { ceremony_id: ceremonyId, step: n, at: nowIso(), actor, action: step.action, details: JSON.stringify(step.details) };
      return { rows: [{ spec: RECORDS.journal, op: 'insert', row }], audit: [{ actor, action: `ceremony.step`, row: 0, details: { ceremony: ceremonyId, step: n, action: step.action } }] };
    });
    return n;
  }

  async recordApproval(input: { ceremonyId: string; custodianId: string; decision: 'approve' | 'reject'; proof?: Uint8Array | null }, actor: string): Promise<string> {
    const store = this.requireStore();
    const id = newId();
    await store.commit(() => {
      const row = { id, ceremony_id: input.ceremonyId, custodian_id: input.custodianId, decision: input.decision, at: nowIso(), proof: input.proof ? Buffer.from(input.proof) : null };
      return { rows: [{ spec: RECORDS.approval, op: 'insert', row }], audit: [{ actor, action: 'ceremony.approval', row: 0, details: { ceremony: input.ceremonyId, custodian: input.custodianId, decision: input.decision } }] };
    });
    return id;
  }

  async finishCeremony(ceremonyId: string, status: 'completed' | 'aborted', actor: string): Promise<void> {
    const store = this.requireStore();
    await store.commit(() => {
      const c = this.db.prepare('SELECT * FROM ceremonies WHERE id = ?').get(ceremonyId) as (Record<string, unknown> & { mac: Buffer; revision: number }) | undefined;
      if (!c) throw archiveError('ARCHIVE_RECORD_NOT_FOUND', 'There is no such ceremony in the archive.', 'Check the ceremony id.');
      const { mac, ...old } = c;
      const now = nowIso();
      const row = { ...old, status, ended_at: now, revision: c.revision + 1, updated_at: now };
      return { rows: [{ spec: RECORDS.ceremony, op: 'update', row, expectMac: mac }], audit: [{ actor, action: `ceremony.${status}`, row: 0, details: { ceremony: ceremonyId } }] };
    });
  }

  /** Runs a mutation through the store (used by the bundle module). */
  commit(plan: () => Mutation) {
    return this.requireStore().commit(plan);
  }
}

// ---------------------------------------------------------------------------------------------

function scopeOf(b: HsmBinding): HsmScope {
  return { hsm: b.hsm, path: b.module, token: b.token };
}

function refsOf(ws: WorkstationRow): ArchiveKeyRefs {
  return { kek: { label: ws.kek_label, idHex: ws.kek_id }, mac: { label: ws.mac_label, idHex: ws.mac_id }, audit: { label: ws.audit_label, idHex: ws.audit_id } };
}

function datesOf(v: VersionRow): LifecycleDates {
  return {
    activationDate: v.activation_date,
    protectStopDate: v.protect_stop_date,
    processStopDate: v.process_stop_date,
    deactivationDate: v.deactivation_date,
    compromiseDate: v.compromise_date,
    destroyedDate: v.destroyed_date,
  };
}

function datesRow(d: LifecycleDates) {
  return {
    activation_date: d.activationDate,
    protect_stop_date: d.protectStopDate,
    process_stop_date: d.processStopDate,
    deactivation_date: d.deactivationDate,
    compromise_date: d.compromiseDate,
    destroyed_date: d.destroyedDate,
  };
}

export function keyDetail(k: KeyRow): KeyDetail {
  return {
    keyId: k.id,
    label: k.label,
    purpose: k.purpose,
    algorithm: k.algorithm,
    policy: { id: k.policy_id, originatorUsageMonths: k.oup_months, recipientExtraMonths: k.rup_extra_months },
    tags: JSON.parse(k.tags) as string[],
    custodians: JSON.parse(k.custodians) as string[],
    description: k.description,
    createdAt: k.created_at,
    originArchive: k.origin_archive,
    revision: k.revision,
  };
}

function pastTense(a: LifecycleAction): string {
  return { activate: 'activated', suspend: 'suspended', resume: 'resumed', deactivate: 'deactivated', compromise: 'marked compromised', destroy: 'destroyed' }[a];
}

/** Domain rules the schema cannot state. */
function invariants(db: Db): VerifyProblem[] {
  const out: VerifyProblem[] = [];
  for (const r of db.prepare('SELECT v.id FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE v.purpose <> k.purpose LIMIT 20').all() as Array<{ id: string }>) {
    out.push({ check: 'invariant', table: 'key_versions', id: r.id, message: `Version ${r.id} has a purpose different from its key's.` });
  }
  const drift = db
    .prepare(
      `SELECT count(*) AS n FROM (
         SELECT t.key_id, t.tag FROM key_tags t WHERE NOT EXISTS (SELECT 1 FROM keys k, json_each(k.tags) j WHERE k.id = t.key_id AND k.label = t.label AND j.value = t.tag)
         UNION ALL
         SELECT k.id, j.value FROM keys k, json_each(k.tags) j WHERE NOT EXISTS (SELECT 1 FROM key_tags t WHERE t.tag = j.value AND t.label = k.label AND t.key_id = k.id))`,
    )
    .get() as { n: number };
  if (drift.n > 0) out.push({ check: 'invariant', table: 'key_tags', message: `${drift.n} tag index entr${drift.n === 1 ? 'y does' : 'ies do'} not match the keys' tags.` });
  for (const r of db.prepare("SELECT id FROM key_versions WHERE state IN ('active', 'suspended', 'deactivated') AND activation_date IS NULL LIMIT 20").all() as Array<{ id: string }>) {
    out.push({ check: 'invariant', table: 'key_versions', id: r.id, message: `Version ${r.id} is in use but has no activation date.` });
  }
  return out;
}
