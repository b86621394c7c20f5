// The shapes the archive and audit services return: what an Archive screen and an Audit screen
// show. Plain data (JSON-safe: no Buffers, dates as ISO 8601 strings), so they can cross IPC as-is.
import type { KeyState, LifecycleAction } from './lifecycle';
import type { Purpose } from './policy';

export const ARCHIVE_FORMAT_ID = 'custos.archive';
/** Schema version this code writes (PRAGMA user_version and meta.schema_version). */
export const ARCHIVE_SCHEMA_VERSION = 6;
export const BUNDLE_FORMAT_ID = 'custos.archive-bundle';
export const BUNDLE_FORMAT_VERSION = 1;
export const AUDIT_EXPORT_FORMAT_ID = 'custos.audit-export';

/** How the archived material was wrapped: RFC 5649 AES Key Wrap with Padding under the Archive KEK. */
export const WRAP_MECHANISM_KWP = 'aes-256-kwp-rfc5649';

export type CheckMethod = 'aes-cmac' | 'tdes-ecb' | 'hmac-sha256-zeros';

/**
 * Whose audit key the archive names, against what this workstation pinned and what the HSM holds
 * (issue #11 part 2). `stored` is SHA-256 of the stored SPKI: the key signatures are checked with.
 */
export interface AuditKeyStatus {
  stored: string;
  /** workstation.audit_fingerprint, the fingerprint stored beside the key (equal to `stored` unless edited). */
  recorded: string;
  /** The fingerprint this workstation pinned for the archive (its anchor); null when it has none. */
  pinned: string | null;
  /** null when nothing is pinned here: then compare `stored` with the fingerprint written down at init. */
  matchesPin: boolean | null;
  /** The fingerprint of the HSM's audit key, when the HSM was asked (verify with the HSM, info --check-hsm). */
  hsm: string | null;
  matchesHsm: boolean | null;
}

export interface ArchiveInfo {
  archiveId: string;
  name: string;
  path: string;
  formatId: string;
  schemaVersion: number;
  createdAt: string;
  tokenUri: string | null;
  keys: {
    /** `incoming`: the new KEK's check value while a KEK rotation is under way, else null. */
    kek: { label: string; idHex: string; check: string; checkLegacy: string | null; incoming: string | null };
    mac: { label: string; idHex: string; check: string };
    /** `retired`: keys an audit key rotation replaced, oldest first (handoverSeq: the handover entry). */
    audit: { label: string; idHex: string; fingerprint: string; publicKeyPem: string; retired: Array<{ label: string; idHex: string; fingerprint: string; publicKeyPem: string; handoverSeq: number }> };
  };
  /** `withMaterial`: versions whose wrapped key is still held (what a KEK rotation re-wraps). */
  counts: { keys: number; versions: number; withMaterial: number; auditEntries: number; checkpoints: number; trusted: number };
  lastCheckpoint: { seq: number; at: string; headHash: string } | null;
  auditKey: AuditKeyStatus;
}

export type SearchSort = 'label' | 'created' | 'activation' | 'rotation-due';

export interface DateRange {
  from?: string;
  /** Exclusive. */
  to?: string;
}

export interface SearchQuery {
  /** Exact key label; a trailing "*" makes it a prefix search. */
  label?: string;
  /** Every tag must be present (tags are lower-case). */
  tags?: string[];
  algorithm?: string[];
  state?: KeyState[];
  purpose?: Purpose[];
  /** Custodian id. */
  custodian?: string;
  created?: DateRange;
  activated?: DateRange;
  deactivated?: DateRange;
  rotationDue?: DateRange;
  /** The old-data question: the version that was active for this purpose on this date. */
  activeFor?: { purpose: Purpose; on: string };
  sort?: SearchSort;
  order?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
  /** Also count every match (costs a scan on broad queries). */
  countTotal?: boolean;
}

export interface VersionSummary {
  versionId: string;
  keyId: string;
  label: string;
  version: number;
  algorithm: string;
  purpose: Purpose;
  state: KeyState;
  tags: string[];
  createdAt: string;
  activationDate: string | null;
  deactivationDate: string | null;
  rotationDue: string | null;
  checkValue: string | null;
  fingerprint: string | null;
  /** False once the material was shredded (destroyed) — metadata stays. */
  hasMaterial: boolean;
}

export interface SearchPage {
  items: VersionSummary[];
  offset: number;
  limit: number;
  hasMore: boolean;
  total?: number;
}

export interface KeyDetail {
  keyId: string;
  label: string;
  purpose: Purpose;
  algorithm: string;
  policy: { id: string; originatorUsageMonths: number; recipientExtraMonths: number };
  tags: string[];
  custodians: string[];
  description: string | null;
  createdAt: string;
  originArchive: string;
  revision: number;
}

export interface StateChange {
  seq: number;
  at: string;
  actor: string;
  action: string;
  from: KeyState | null;
  to: KeyState;
  reason: string | null;
}

export interface VersionDetail {
  summary: VersionSummary;
  kind: 'secret' | 'private';
  sourceUri: string | null;
  checkMethod: CheckMethod | null;
  checkLegacy: string | null;
  publicKeyPem: string | null;
  wrapMechanism: string | null;
  kekCheck: string | null;
  wrappedBytes: number | null;
  protectStopDate: string | null;
  processStopDate: string | null;
  compromiseDate: string | null;
  destroyedDate: string | null;
  ceremonyId: string | null;
  originArchive: string;
  revision: number;
  updatedAt: string;
  key: KeyDetail;
  /** Every version of the same key, newest first. */
  versions: VersionSummary[];
  history: StateChange[];
  allowedActions: LifecycleAction[];
}

export interface AuditEntryView {
  seq: number;
  at: string;
  actor: string;
  action: string;
  objectType: string | null;
  objectId: string | null;
  keyId: string | null;
  details: unknown;
  hash: string;
}

export interface AuditPage {
  entries: AuditEntryView[];
  hasMore: boolean;
}

export interface VerifyProblem {
  /**
   * schema: the tables, indexes and triggers differ from what the migrations create; derived: an
   * index or guard table (key_tags, key_custodians, lifecycle_reachable) differs from what it is
   * rebuilt from; meta: the meta table differs from its audited copy or its rules.
   */
  check: 'format' | 'chain' | 'checkpoint' | 'truncation' | 'row-mac' | 'row-audit' | 'identity' | 'invariant' | 'sqlite' | 'schema' | 'derived' | 'meta';
  message: string;
  seq?: number;
  table?: string;
  id?: string;
}

export interface VerifyVerdict {
  ok: boolean;
  archiveId: string;
  /** Whether row MACs and the HSM's audit key were checked (they need the HSM). */
  withHsm: boolean;
  /** Whether SQLite's full integrity_check ran (index contents against tables), not only quick_check. */
  full: boolean;
  auditKey: AuditKeyStatus;
  entries: number;
  checkpoints: number;
  lastCheckpoint: { seq: number; at: string } | null;
  rows: number;
  /** The first audit entry that is missing, altered, out of place or not covered by a signed checkpoint. */
  firstBadEntry: number | null;
  problems: VerifyProblem[];
  /** Problems beyond the first 100 are counted here, not listed. */
  moreProblems: number;
  tookMs: number;
}

export interface ImportConflict {
  type: string;
  id: string;
  label?: string;
  reason: string;
}

export interface ImportReport {
  bundleArchiveId: string;
  bundleName: string;
  signedBy: string;
  records: number;
  inserted: number;
  updated: number;
  unchanged: number;
  conflicts: ImportConflict[];
  applied: boolean;
}

export interface BundleSummary {
  path: string;
  records: number;
  keys: number;
  versions: number;
  sha256: string;
}
