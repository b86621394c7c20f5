// The archive's rows as SQLite returns them (docs/FORMAT.md "Tables"), and the conversions between
// them and what the rest of the service works with: key references, lifecycle dates, key details.
import type { KeyState, LifecycleDates } from '../../../shared/archive/lifecycle';
import type { Purpose } from '../../../shared/archive/policy';
import type { CheckMethod, KeyDetail } from '../../../shared/archive/types';
import type { ArchiveKeyRefs } from './crypto';

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

export function refsOf(ws: WorkstationRow): ArchiveKeyRefs {
  return { kek: { label: ws.kek_label, idHex: ws.kek_id }, mac: { label: ws.mac_label, idHex: ws.mac_id }, audit: { label: ws.audit_label, idHex: ws.audit_id } };
}

export function datesOf(v: VersionRow): LifecycleDates {
  return {
    activationDate: v.activation_date,
    protectStopDate: v.protect_stop_date,
    processStopDate: v.process_stop_date,
    deactivationDate: v.deactivation_date,
    compromiseDate: v.compromise_date,
    destroyedDate: v.destroyed_date,
  };
}

export function datesRow(d: LifecycleDates) {
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
