// The archive service: one open archive, and the API the CLI, the Archive and Audit screens and
// (next) the ceremony engine call. This class only opens the file and passes one context to the
// module that owns each topic:
//
//   init.ts          create an archive and its three HSM keys                          (HSM)
//   queries.ts       info, search, one version, history, audit trail                  (read-only)
//   versions.ts      add: archive key versions, wrapped under the Archive KEK         (HSM)
//   transitions.ts   lifecycle steps, rotation, destruction (shredding)               (HSM)
//   retrieval.ts     restore: unwrap a version into an HSM, checked                   (HSM)
//   verify.ts        verify: chain, checkpoints, invariants; with the HSM, row MACs   (either)
//   records.ts       custodians, share sets, ceremonies (journal, approvals)          (HSM to write)
//   bundle/          signed bundles between workstations, trust                       (HSM)
//
// Every write goes through store.ts commit(): rows, MACs, audit entries and a signed checkpoint
// in one transaction. The envelope of an archived version (docs/FORMAT.md "Archive envelope"):
//   wrapped = RFC 5649 AES-KWP(Archive KEK, key value)         computed by C_WrapKey in the HSM
//   mac     = HMAC-SHA256(Archive MAC key, canonical row)      computed by C_Sign in the HSM
// The canonical row holds the archive id, version id, key id, version number, algorithm and the
// wrapped bytes (and every other column), so a blob moved to another row, another key or another
// archive no longer matches its MAC. KWP has no associated data, which is why the binding is the
// MAC's job.
import type { LifecycleAction } from '../../../shared/archive/lifecycle';
import type { RecordSpec } from '../../../shared/archive/canonical';
import type { ArchiveInfo, AuditKeyStatus, AuditPage, SearchPage, StateChange, VerifyVerdict, VersionDetail, VersionSummary } from '../../../shared/archive/types';
import type { EntryDraft } from '../audit/chain';
import { readHandovers } from '../audit/handover';
import { AuditLog } from '../audit/log';
import type { AnchorStore } from './anchors';
import { guarded, requireStore, type ArchiveContext } from './context';
import { HsmArchiveCrypto, type ArchiveCrypto, type ArchiveKeyRefs, type HsmBinding } from './crypto';
import { archiveError, fromSqlite } from './errors';
import { auditKeyStatus, hsmAuditSpki } from './identity';
import { initArchive, type InitOptions } from './init';
import { openArchiveFile, type OpenOptions } from './open';
import * as ceremonyRows from './ceremonies';
import * as notes from './notes';
import * as queries from './queries';
import * as records from './records';
import { exportVersion, restoreVersion, type Exported, type ExportRequest, type Restored, type RestoreTemplate } from './retrieval';
import { refsOf, type VersionRow, type WorkstationRow } from './rows';
import type { Db } from './schema';
import { ArchiveStore, type Mutation } from './store';
import { transition } from './transitions';
import { beginKekRotation, finishKekRotation, kekRotationState, rewrapVersions, type KekRotationState, type RewrapOptions } from './kek-rotation';
import { verifyArchive, type VerifyOptions } from './verify';
import { beginMacRotation, finishMacRotation, macKeyRows, macRotationState, remacRows, rowMacValid, type MacKeyRow, type MacRotationState, type RemacOptions } from './mac-rotation';
import { auditKeyRows, rotateAuditKey, type AuditKeyRotated, type AuditKeyRow } from './audit-key-rotation';
import { addVersions, type AddItem, type AddResult } from './versions';

export type { AddItem, AddResult } from './versions';
export type { RestoreTemplate } from './retrieval';

export interface ArchiveOpenOptions extends OpenOptions {
  /** A logged-in token holding this archive's keys: needed for anything that writes or unwraps. */
  hsm?: HsmBinding | null;
  /** Overrides the HSM crypto (tests may pass a software stand-in). */
  crypto?: ArchiveCrypto | null;
}

export class ArchiveService {
  // Not readonly: a finished KEK or audit key rotation moves the identity row, and with it the crypto's keys.
  private ctx: ArchiveContext;

  private constructor(db: Db, opened: { path: string; archiveId: string; readonly: boolean }, binding: HsmBinding | null, crypto: ArchiveCrypto | null, anchors: AnchorStore | null) {
    const audit = new AuditLog(db, opened.archiveId);
    const ws = guarded(opened, () => db.prepare('SELECT * FROM workstation').get() as WorkstationRow);
    const store = crypto && !opened.readonly ? new ArchiveStore(db, opened.path, opened.archiveId, audit, crypto, ws.audit_fingerprint, anchors, ws.audit_spki) : null;
    this.ctx = { db, path: opened.path, archiveId: opened.archiveId, readonly: opened.readonly, audit, store, binding, crypto, anchors, ws };
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

  /** Creates an archive and its keys in the HSM (init.ts), then opens it bound to that token. */
  static async init(path: string, opts: InitOptions): Promise<ArchiveService> {
    await initArchive(path, opts);
    return ArchiveService.open(path, { hsm: opts.hsm, anchors: opts.anchors ?? null });
  }

  close(): void {
    if (this.ctx.db.open) this.ctx.db.close();
  }

  get path(): string {
    return this.ctx.path;
  }

  get archiveId(): string {
    return this.ctx.archiveId;
  }

  get readonly(): boolean {
    return this.ctx.readonly;
  }

  get workstation(): Readonly<WorkstationRow> {
    return this.ctx.ws;
  }

  get keyRefs(): ArchiveKeyRefs {
    return refsOf(this.ctx.ws);
  }

  /** Raw access for the bundle module and tests of this package. */
  get internals(): { db: Db; audit: AuditLog; store: ArchiveStore | null; crypto: ArchiveCrypto | null; binding: HsmBinding | null } {
    const { db, audit, store, crypto, binding } = this.ctx;
    return { db, audit, store, crypto, binding };
  }

  /** Runs a mutation through the store (used by the bundle module). */
  commit(plan: () => Mutation) {
    return requireStore(this.ctx).commit(plan);
  }

  // Reading (no HSM) ----------------------------------------------------------------------------

  info(): ArchiveInfo {
    return queries.info(this.ctx);
  }

  /**
   * The stored audit key against this workstation's pin and, when the archive is bound to its
   * token, against the HSM's key (`archive info --check-hsm`).
   */
  async checkAuditKey(): Promise<AuditKeyStatus> {
    return auditKeyStatus(this.ctx, await hsmAuditSpki(this.ctx));
  }

  search(query: unknown): SearchPage {
    return queries.searchVersions(this.ctx, query);
  }

  /** A version by id, or the newest version of a key by label ("label@3" for version 3). */
  resolveVersion(selector: string): VersionRow {
    return queries.resolveVersion(this.ctx, selector);
  }

  /** Everything an Archive screen shows for one version. */
  version(selector: string): VersionDetail {
    return queries.versionDetail(this.ctx, selector);
  }

  /** The state history of a version, from the audit log (each change is an audit entry). */
  history(versionId: string): StateChange[] {
    return queries.history(this.ctx, versionId);
  }

  /** Audit entries, newest first: for one key (keyId), one row (objectType + objectId), or all. */
  auditTrail(filter: { keyId?: string; objectType?: string; objectId?: string; action?: string; limit?: number; beforeSeq?: number } = {}): AuditPage {
    return queries.auditTrail(this.ctx, filter);
  }

  /** JSON Lines + checkpoint signatures + the audit public key (docs/FORMAT.md); read-only. */
  exportAudit(dir: string): { dir: string; entries: number; checkpoints: number; files: Record<string, string> } {
    return guarded(this.ctx, () => this.ctx.audit.export(dir, this.ctx.ws.audit_spki));
  }

  // Keys (HSM) ----------------------------------------------------------------------------------

  add(items: AddItem[], actor: string): Promise<AddResult[]> {
    return addVersions(this.ctx, items, actor);
  }

  /** A lifecycle step; activating while another version is active is a rotation. */
  transition(selector: string, action: LifecycleAction, opts: { actor: string; reason?: string }): Promise<VersionSummary> {
    return transition(this.ctx, selector, action, opts);
  }

  /** Unwraps an archived version into the HSM (audited) and compares it with what was archived. */
  restore(selector: string, template: RestoreTemplate, actor: string): Promise<Restored> {
    return restoreVersion(this.ctx, selector, template, actor);
  }

  /** Export for another system: unwrapped into a wrap-only session object, wrapped to the target, destroyed; audited. */
  exportWrapped(selector: string, req: ExportRequest, actor: string): Promise<Exported> {
    return exportVersion(this.ctx, selector, req, actor);
  }

  // Archive KEK rotation (kek-rotation.ts) ------------------------------------------------------

  kekRotationState(): KekRotationState {
    return kekRotationState(this.ctx);
  }

  /**
   * Begins (or resumes) a KEK rotation and runs it to the end: new KEK, every version re-wrapped
   * and verified in batches, then the old KEK retired. A cancelled run returns with
   * `finished: false` and the rotation resumable; the archive stays readable throughout.
   */
  async rotateKek(opts: RewrapOptions & { ceremonyId?: string | null }): Promise<{ finished: boolean; rewrapped: number; from: string; to: string }> {
    const from = kekRotationState(this.ctx).current.check;
    const inc = await beginKekRotation(this.ctx, opts);
    const { rewrapped, cancelled } = await rewrapVersions(this.ctx, opts);
    if (cancelled) return { finished: false, rewrapped, from, to: inc.kek_check };
    const ws = await finishKekRotation(this.ctx, opts);
    this.reloadIdentity(ws);
    return { finished: true, rewrapped, from, to: inc.kek_check };
  }

  // Audit key rotation (audit-key-rotation.ts) --------------------------------------------------

  /** Every audit key the archive has had (empty until the first rotation), oldest first. */
  auditKeys(): AuditKeyRow[] {
    return auditKeyRows(this.ctx);
  }

  /**
   * The audit keys the log hands over between, oldest first, when every handover checks out
   * (audit/handover.ts, covering checkpoints included); otherwise only the stored key. What a key
   * given by hand (`audit verify --public-key`) may be: the one written down at creation is the first.
   */
  auditKeyChain(): string[] {
    const chain = guarded(this.ctx, () => readHandovers(this.ctx.db, this.ctx.archiveId, this.ctx.ws.audit_spki, { covering: true }));
    return chain.problems.length === 0 ? chain.keys.map((k) => k.fingerprint) : [this.ctx.ws.audit_fingerprint];
  }

  /**
   * Hands the audit key over to a new one in one transaction; from then on checkpoints are signed
   * by the new key, and the old one's checkpoints still verify through the handover.
   */
  async rotateAuditKey(opts: { actor: string; ceremonyId?: string | null; expectFrom?: string }): Promise<AuditKeyRotated> {
    const { rotated, ws } = await rotateAuditKey(this.ctx, opts);
    this.reloadIdentity(ws);
    return rotated;
  }

  // MAC key rotation (mac-rotation.ts) -----------------------------------------------------------

  macRotationState(): MacRotationState {
    return macRotationState(this.ctx);
  }

  /** Every MAC key other than the identity row's (empty until the first rotation). */
  macKeys(): MacKeyRow[] {
    return macKeyRows(this.ctx);
  }

  /** True when a stored row's MAC verifies under the MAC key it names (mac_key). */
  rowMacValid(spec: RecordSpec, row: Record<string, unknown> & { mac: Uint8Array; mac_key?: string | null }): Promise<boolean> {
    const store = requireStore(this.ctx);
    return rowMacValid(this.ctx, store.macInput(spec, row), row);
  }

  /**
   * Begins (or resumes) a MAC key rotation and runs it to the end: new MAC key, every row verified
   * under the old key and re-MACed under the new in batches, then the handover. `expectFrom` is
   * the check value the quorum approved: another is refused, unless it is this ceremony's own
   * finished rotation (a resumed step), reported as done. A cancelled run returns unfinished.
   */
  async rotateMacKey(opts: RemacOptions & { ceremonyId?: string | null; expectFrom?: string }): Promise<{ finished: boolean; remaced: number; from: string; to: string; newLabel: string; handoverSeq: number | null; alreadyDone: boolean }> {
    const st = macRotationState(this.ctx);
    const ceremony = opts.ceremonyId ?? null;
    if (opts.expectFrom && st.current.check !== opts.expectFrom) {
      const keys = macKeyRows(this.ctx);
      const done = ceremony ? keys.find((k) => k.state === 'current' && k.ceremony_id === ceremony && k.mac_check === st.current.check) : undefined;
      if (done && keys.some((k) => k.state === 'retired' && k.mac_check === opts.expectFrom)) {
        const h = this.ctx.db.prepare("SELECT seq FROM audit_entries WHERE action = 'archive.mac.handover' AND json_extract(entry, '$.details.to.check') = ? ORDER BY seq DESC LIMIT 1").pluck().get(done.mac_check) as number | undefined;
        return { finished: true, remaced: 0, from: opts.expectFrom, to: done.mac_check, newLabel: done.mac_label, handoverSeq: h ?? null, alreadyDone: true };
      }
      throw archiveError('CHECK_VALUE_MISMATCH', `The archive's MAC key is no longer the one planned (check value ${st.current.check}, planned ${opts.expectFrom}).`, 'Abort this ceremony and plan it again with the check value `custos archive info` shows.');
    }
    if (st.incoming && st.incoming.ceremonyId !== ceremony && opts.expectFrom) {
      throw archiveError('INVALID_INPUT', 'Another MAC key rotation is under way in this archive.', 'Abort this ceremony and resume the other one.');
    }
    const inc = await beginMacRotation(this.ctx, opts);
    let remaced = 0;
    for (let sweep = 0; sweep < 5; sweep++) {
      const r = await remacRows(this.ctx, opts);
      remaced += r.remaced;
      if (r.cancelled) return { finished: false, remaced, from: st.current.check, to: inc.mac_check, newLabel: inc.mac_label, handoverSeq: null, alreadyDone: false };
      const done = await finishMacRotation(this.ctx, opts);
      if (done === 'rows-left') continue;
      this.reloadIdentity(done.ws);
      return { finished: true, remaced, from: st.current.check, to: inc.mac_check, newLabel: inc.mac_label, handoverSeq: done.handoverSeq, alreadyDone: false };
    }
    throw archiveError('ARCHIVE_BUSY', `The archive ${this.ctx.path} kept getting rows under the old MAC key while the rotation finished (another program is writing to it).`, 'Let the other program finish, then resume the rotation.');
  }

  /** After the identity row changed: new versions are wrapped under the KEK it now names. */
  private reloadIdentity(ws: WorkstationRow): void {
    const c = this.ctx;
    const crypto = c.crypto instanceof HsmArchiveCrypto && c.binding ? new HsmArchiveCrypto(c.binding, refsOf(ws)) : c.crypto;
    const store = crypto && !c.readonly ? new ArchiveStore(c.db, c.path, c.archiveId, c.audit, crypto, ws.audit_fingerprint, c.anchors, ws.audit_spki) : null;
    this.ctx = { ...c, ws, crypto, store };
  }

  /** Everything that can be checked (verify.ts); names the first bad audit entry. */
  verify(opts: VerifyOptions = {}): Promise<VerifyVerdict> {
    return verifyArchive(this.ctx, opts);
  }

  // Custodians, share sets, ceremonies (records.ts) ---------------------------------------------

  saveCustodian(input: records.CustodianInput, actor: string): Promise<string> {
    return records.saveCustodian(this.ctx, input, actor);
  }

  saveShareSet(input: records.ShareSetInput, actor: string): Promise<string> {
    return records.saveShareSet(this.ctx, input, actor);
  }

  startCeremony(input: records.CeremonyStart, actor: string): Promise<string> {
    return records.startCeremony(this.ctx, input, actor);
  }

  /** One journal step (append-only); a crash after it returns keeps the step. */
  journal(ceremonyId: string, step: records.JournalStep, actor: string): Promise<number> {
    return records.journal(this.ctx, ceremonyId, step, actor);
  }

  recordApproval(input: records.ApprovalInput, actor: string): Promise<string> {
    return records.recordApproval(this.ctx, input, actor);
  }

  finishCeremony(ceremonyId: string, status: records.CeremonyEnd, actor: string): Promise<void> {
    return records.finishCeremony(this.ctx, ceremonyId, status, actor);
  }

  custodian(id: string): records.Custodian {
    return records.custodian(this.ctx, id);
  }

  shareSet(id: string): records.ShareSet {
    return records.shareSet(this.ctx, id);
  }

  ceremony(id: string): records.Ceremony {
    return records.ceremony(this.ctx, id);
  }

  /** Audit entries about no archive row (what people did with tokens and keys), in one commit. */
  note(entries: EntryDraft[], guard?: () => void): Promise<number> {
    return notes.note(this.ctx, entries, guard);
  }

  /** True when the pending journal's entry `id` was already carried into the log. */
  hasPendingEntry(id: string): boolean {
    return notes.hasPendingEntry(this.ctx, id);
  }

  /** The ceremony engine's rows (schema 2): people, credentials, policy, runs and journals, bundles. */
  get ceremonyRows() {
    const ctx = this.ctx;
    return {
      people: () => ceremonyRows.people(ctx),
      credential: (fingerprint: string) => ceremonyRows.credential(ctx, fingerprint),
      policy: () => ceremonyRows.policy(ctx),
      profile: () => ceremonyRows.profile(ctx),
      runs: () => ceremonyRows.runs(ctx),
      run: (id: string) => ceremonyRows.run(ctx, id),
      lastEntry: (id: string) => ceremonyRows.lastEntry(ctx, id),
      lastBundle: (subject: string) => ceremonyRows.lastBundle(ctx, subject),
      append: (req: ceremonyRows.AppendRequest) => ceremonyRows.append(ctx, req),
      initProfile: (x: { practice: boolean; policy: string; actor: string; osUser: string }) => ceremonyRows.initProfile(ctx, x),
    };
  }
}
