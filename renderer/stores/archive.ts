import { create } from 'zustand';
import type { LifecycleAction } from '../../shared/archive/lifecycle';
import type { AuditEntryView, SearchPage, VerifyVerdict, VersionDetail, VersionSummary } from '../../shared/archive/types';
import type { AddedVersion, ArchiveStatus, AuditExport, MethodInput, SlotEntry, TokenListing } from '../../shared/contract';
import type { TokenRef } from '../../shared/keys';
import { parsePkcs11Uri, uriMatchesToken } from '../../shared/pkcs11-uri';
import type { AppError, Result } from '../../shared/result';
import { api, call } from '../api';

// The Archive and Audit screens' state: the archive's status, the last search and its page, the
// version being looked at, and the audit log's page, verdict and export. Nothing secret is held:
// the archive answers with check values, fingerprints and "material present", never material.

export type ArchiveQuery = MethodInput<'archive.search'>;
export type ArchiveTask = 'search' | 'add';
export const PAGE_SIZE = 20;
export const AUDIT_PAGE = 25;

/** Where the archive's keys are and whether they can be used now. */
export type HsmReadiness =
  | { state: 'ready'; ref: TokenRef; label: string }
  | { state: 'login'; label: string; slot: SlotEntry }
  | { state: 'absent'; label: string }
  | { state: 'unknown' };

/** The token holding the archive's keys, matched by its recorded PKCS#11 URI. */
export function archiveHsm(status: ArchiveStatus | null, listing: TokenListing | null): HsmReadiness {
  if (!status?.exists || !status.token) return { state: 'unknown' };
  const label = status.token.label ?? status.token.uri;
  let parsed;
  try {
    parsed = parsePkcs11Uri(status.token.uri);
  } catch {
    return { state: 'absent', label };
  }
  const slot = listing?.slots.find((s) => s.token && uriMatchesToken(parsed, s.token));
  if (!slot?.token) return { state: 'absent', label };
  if (slot.token.loggedIn !== 'user') return { state: 'login', label, slot };
  return { state: 'ready', ref: { module: slot.module, token: slot.token.uri }, label };
}

const notReady: AppError = { code: 'NOT_LOGGED_IN', message: 'The token holding the archive keys is not logged in.', action: 'Log in to it as user on the Tokens screen.' };

interface ArchiveState {
  status: ArchiveStatus | null;
  statusError: AppError | null;
  task: ArchiveTask;

  query: ArchiveQuery | null;
  /** In words: what the last search asked, for the results' caption. */
  queryWords: string;
  page: SearchPage | null;
  searchError: AppError | null;
  searching: boolean;

  /** The version being looked at (the search stays behind it). */
  versionId: string | null;
  detail: VersionDetail | null;
  detailError: AppError | null;
  keyTrail: AuditEntryView[] | null;
  /** Shown once after a lifecycle step, until another version is opened. */
  lastStep: VersionSummary | null;
  lastAdded: AddedVersion | null;

  audit: { entries: AuditEntryView[]; hasMore: boolean; before: number[] } | null;
  auditError: AppError | null;
  auditLoading: boolean;
  verdict: VerifyVerdict | null;
  exported: AuditExport | null;

  setTask(task: ArchiveTask): void;
  load(): Promise<void>;
  init(ref: TokenRef, name: string): Promise<Result<ArchiveStatus>>;
  search(query: ArchiveQuery, words: string): Promise<void>;
  page_(offset: number): Promise<void>;
  open(versionId: string): Promise<void>;
  close(): void;
  add(input: MethodInput<'archive.add'>): Promise<Result<AddedVersion>>;
  transition(ref: TokenRef | null, action: LifecycleAction, reason: string): Promise<Result<VersionSummary>>;
  loadAudit(beforeSeq?: number, back?: boolean): Promise<void>;
  verify(): Promise<Result<VerifyVerdict>>;
  exportAudit(): Promise<Result<AuditExport>>;
}

export const useArchive = create<ArchiveState>((set, get) => ({
  status: null,
  statusError: null,
  task: 'search',
  query: null,
  queryWords: '',
  page: null,
  searchError: null,
  searching: false,
  versionId: null,
  detail: null,
  detailError: null,
  keyTrail: null,
  lastStep: null,
  lastAdded: null,
  audit: null,
  auditError: null,
  auditLoading: false,
  verdict: null,
  exported: null,

  setTask(task) {
    set({ task, versionId: null, detail: null, detailError: null, keyTrail: null });
  },

  async load() {
    const r = await call(api['archive.status']({}));
    set(r.ok ? { status: r.value, statusError: null } : { statusError: r.error });
  },

  async init(ref, name) {
    const r = await call(api['archive.init']({ ...ref, name }));
    if (r.ok) set({ status: r.value, statusError: null });
    return r;
  },

  async search(query, words) {
    set({ searching: true, query, queryWords: words, versionId: null, detail: null });
    const r = await call(api['archive.search']({ ...query, limit: PAGE_SIZE, offset: query.offset ?? 0, countTotal: true }));
    set(r.ok ? { page: r.value, searchError: null, searching: false } : { searchError: r.error, page: null, searching: false });
  },

  async page_(offset) {
    const q = get().query;
    if (!q) return;
    await get().search({ ...q, offset }, get().queryWords);
  },

  async open(versionId) {
    set({ versionId, detail: null, detailError: null, keyTrail: null, lastStep: null });
    const r = await call(api['archive.version']({ versionId }));
    if (get().versionId !== versionId) return;
    if (!r.ok) return set({ detailError: r.error });
    set({ detail: r.value });
    const t = await call(api['audit.trail']({ keyId: r.value.key.keyId, limit: 50 }));
    if (get().versionId === versionId) set({ keyTrail: t.ok ? t.value.entries : [] });
  },

  close() {
    set({ versionId: null, detail: null, detailError: null, keyTrail: null, lastStep: null });
  },

  async add(input) {
    const r = await call(api['archive.add'](input));
    if (r.ok) {
      set({ lastAdded: r.value });
      void get().load();
    }
    return r;
  },

  async transition(ref, action, reason) {
    const id = get().versionId;
    if (!id) return { ok: false, error: { code: 'ARCHIVE_RECORD_NOT_FOUND', message: 'No version is open.', action: 'Open a version first.' } };
    if (!ref) return { ok: false, error: notReady };
    const r = await call(api['archive.transition']({ ...ref, versionId: id, action, ...(reason.trim() ? { reason: reason.trim() } : {}) }));
    if (r.ok) {
      await get().open(id);
      set({ lastStep: r.value });
      const q = get().query;
      if (q) {
        const again = await call(api['archive.search']({ ...q, limit: PAGE_SIZE, offset: q.offset ?? 0, countTotal: true }));
        if (again.ok) set({ page: again.value });
      }
    }
    return r;
  },

  async loadAudit(beforeSeq, back) {
    set({ auditLoading: true });
    const r = await call(api['audit.trail']({ limit: AUDIT_PAGE, ...(beforeSeq ? { beforeSeq } : {}) }));
    if (!r.ok) return set({ auditError: r.error, auditLoading: false });
    const prev = get().audit?.before ?? [];
    // `before` is the stack of page starts, so "Newer entries" can go back one page.
    const before = beforeSeq === undefined ? [] : back ? prev.slice(0, -1) : [...prev, beforeSeq];
    set({ audit: { entries: r.value.entries, hasMore: r.value.hasMore, before }, auditError: null, auditLoading: false });
  },

  async verify() {
    set({ verdict: null });
    const r = await call(api['audit.verify']({}));
    if (r.ok) set({ verdict: r.value });
    return r;
  },

  async exportAudit() {
    const r = await call(api['audit.export']({}));
    if (r.ok) set({ exported: r.value });
    return r;
  },
}));
