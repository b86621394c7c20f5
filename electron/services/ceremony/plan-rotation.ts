// Planning a rotation of a managed key (issue #10 part 4): everything the new version will be is
// read from the archive, not typed again — the algorithm from the archived key, the usages from
// the ceremony that made the active version (or, for a key archived outside a ceremony, given once
// and recorded), the version number from the archive. The resolved values go into the ceremony
// fingerprint, so the custodians approve this key, this old version and its check value, and this
// new version's algorithm, usages and number, and nothing else.
import { randomBytes } from 'node:crypto';
import type { AuditPage, VersionDetail } from '../../../shared/archive/types';
import type { RotationParams } from '../../../shared/ceremony/params';
import { KEY_TYPES, type KeyTypeName, type KeyUsageName } from '../../../shared/keys';
import { fail } from '../../../shared/result';
import type { CeremonyRecord } from './record';

export interface RotationLookups {
  /** An archived version by id, LABEL@N or label (latest version), as the archive describes it. */
  lookupVersion?: (selector: string) => VersionDetail;
  /** The token object a version was archived from (its `version.add` audit entry), if recorded. */
  lookupHsmObject?: (versionId: string) => { label: string; idHex: string } | null;
}

/** What the steps of a rotation read from the plan (steps-rotation.ts; the generation steps read the same names). */
export interface RotationPlan {
  keyType: KeyTypeName;
  /** The new object's label on the token. */
  label: string;
  usages: KeyUsageName[];
  extractable: true;
  purpose: string;
  tags: string[];
  custodians: [];
  keyIdHex: string;
  key: { id: string; label: string; purpose: string; algorithm: string; policy: { id: string; originatorUsageMonths: number; recipientExtraMonths: number } };
  old: { versionId: string; version: number; checkValue: string | null; checkMethod: string | null; fingerprint: string | null; activationDate: string | null; rotationDue: string | null; object: { label: string; idHex: string } | null };
  next: { version: number; usagesFrom: string };
}

/**
 * The token object a version was archived from, read from its `version.add` audit entry (the
 * archive records the object's label and CKA_ID there; versions added before that have none).
 */
export function hsmObjectOf(archive: { version(sel: string): VersionDetail; auditTrail(f: { keyId?: string; action?: string; limit?: number }): AuditPage }, versionId: string): { label: string; idHex: string } | null {
  const v = archive.version(versionId).summary;
  const page = archive.auditTrail({ keyId: v.keyId, action: 'version.add', limit: 1000 });
  for (const e of page.entries) {
    const d = e.details as { version?: number; hsmObject?: { label?: string; id?: string } } | null;
    if (d?.version === v.version && d.hsmObject?.id) return { label: d.hsmObject.label ?? '', idHex: d.hsmObject.id };
  }
  return null;
}

export function resolveRotation(p: RotationParams, lookups: RotationLookups, record: CeremonyRecord): RotationPlan {
  if (!lookups.lookupVersion) fail('RECORD_MISSING', 'The archive is not open.', 'Log in to the workstation token and plan again.');
  const named = lookups.lookupVersion(p.key);
  const k = named.key;
  const active = named.versions.find((v) => v.state === 'active');
  if (!active) {
    const states = [...new Set(named.versions.map((v) => v.state))].join(', ');
    const compromised = named.versions.some((v) => v.state === 'compromised' || v.state === 'destroyed-compromised');
    fail('LIFECYCLE_TRANSITION_INVALID', `“${k.label}” has no active version (its versions are ${states}): there is nothing to rotate.`, compromised ? 'A compromised key is replaced by generating a new key (key generation ceremony) and revoking the old one, not by rotation.' : 'Activate a version first (custos archive activate), or generate a new key.');
  }
  // A version named (LABEL@N or its id) must be the active one: approving "rotate version 1" while
  // version 3 is active would replace a version nobody named.
  if (p.key !== k.label && named.summary.versionId !== active.versionId) {
    fail('INVALID_INPUT', `Version ${named.summary.version} of “${k.label}” is ${named.summary.state}, not the active version (${active.version}).`, `Name the key by its label, or its active version (${k.label}@${active.version}).`);
  }
  if (!active.hasMaterial) fail('KEY_NOT_EXTRACTABLE', `The active version of “${k.label}” has no archived material.`, 'Run `custos archive verify`.');
  const keyType = KEY_TYPES.find((t) => t.type === k.algorithm);
  if (!keyType) fail('MECHANISM_UNSUPPORTED', `“${k.label}” is a ${k.algorithm} key, which Custos cannot generate.`, `Rotation makes a new version of the same algorithm; Custos generates ${KEY_TYPES.map((t) => t.type).join(', ')}. Generate the new version with the vendor's tools and add it with custos archive add --activate.`);
  const detail = active.versionId === named.summary.versionId ? named : lookups.lookupVersion(active.versionId);

  // The usages: those of the ceremony that made the active version; a key archived outside a ceremony needs them given once.
  let usages: KeyUsageName[] | null = null;
  let usagesFrom = 'given when planning (the archive does not record what this key may do)';
  if (detail.ceremonyId) {
    const stored = record.loadRun(detail.ceremonyId);
    const planned = stored?.entries.find((e) => e.event.type === 'run.planned');
    const params = planned && planned.event.type === 'run.planned' ? (planned.event.plan.params as { usages?: KeyUsageName[] }) : null;
    if (params?.usages) {
      usages = [...params.usages];
      usagesFrom = `the ceremony that made version ${active.version} (${detail.ceremonyId})`;
    }
  }
  if (usages && p.usages && [...p.usages].sort().join() !== [...usages].sort().join()) {
    fail('INVALID_INPUT', `Version ${active.version} of “${k.label}” may ${usages.join(', ')}; a rotation keeps what the key may do.`, 'Leave the usages out: they are taken from the archive.');
  }
  usages ??= p.usages ? [...p.usages] : null;
  if (!usages) fail('INVALID_INPUT', `The archive does not record what “${k.label}” may do (it was archived outside a ceremony).`, `Give the usages once (--params with "usages", from: ${keyType.usages.join(', ')}); they are recorded with the new version.`);
  const bad = usages.filter((u) => !keyType.usages.includes(u));
  if (bad.length) fail('INVALID_INPUT', `A ${keyType.title} key cannot be used for ${bad.join(', ')}.`, `Choose from ${keyType.usages.join(', ')}.`);

  const next = Math.max(...named.versions.map((v) => v.version)) + 1;
  return {
    keyType: keyType.type,
    label: p.label ?? `${k.label} v${next}`,
    usages,
    extractable: true,
    purpose: k.purpose,
    tags: k.tags,
    custodians: [],
    // Fixed now: a generation cut off by a crash is found by this CKA_ID and adopted, never made twice.
    keyIdHex: randomBytes(16).toString('hex'),
    key: { id: k.keyId, label: k.label, purpose: k.purpose, algorithm: k.algorithm, policy: k.policy },
    old: {
      versionId: active.versionId,
      version: active.version,
      checkValue: active.checkValue,
      checkMethod: detail.checkMethod,
      fingerprint: active.fingerprint,
      activationDate: active.activationDate,
      rotationDue: active.rotationDue,
      object: lookups.lookupHsmObject?.(active.versionId) ?? null,
    },
    next: { version: next, usagesFrom },
  };
}
