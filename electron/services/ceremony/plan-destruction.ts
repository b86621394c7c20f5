// Planning a destruction (issue #10 part 5). Archived versions are resolved now, from the archive:
// label, version, algorithm, check value, state, and whether it must be deactivated first. Token
// keys are resolved by the check step (after the login: private objects are invisible before it),
// which amends the plan so that the fingerprint read aloud covers every label, CKA_ID, algorithm and
// check value, with the reason.
import type { DestructionParams } from '../../../shared/ceremony/params';
import { fail } from '../../../shared/result';
import type { VersionDetail } from '../../../shared/archive/types';

/** An archived version as the plan names it. */
export interface PlannedVersion {
  id: string;
  keyId: string;
  label: string;
  version: number;
  algorithm: string;
  kind: 'secret' | 'private';
  state: string;
  checkValue: string | null;
  checkMethod: string | null;
  fingerprint: string | null;
  /** The version is active or suspended: the destroy step deactivates it first (deactivateActive). */
  deactivateFirst: boolean;
}

/** A token key as the check step found it (the plan holds only the selector until then). */
export interface ResolvedTokenKey {
  selector: string;
  label: string;
  idHex: string;
  /** "secret", or "pair" (private and public together), or "private"/"public" alone. */
  objects: 'secret' | 'pair' | 'private' | 'public';
  algorithm: string;
  checkValue: string | null;
  checkMethod: 'aes-cmac' | 'tdes-ecb' | 'hmac-sha256-zeros' | 'spki-sha256' | null;
  /** One of the workstation's own keys (Archive KEK, MAC key, audit key, a Backup Key). */
  workstationKey: string | null;
}

export interface DestructionPlan {
  keys: Array<{ selector: string } | ResolvedTokenKey>;
  versions: PlannedVersion[];
  reason: string;
  deactivateActive: boolean;
  /** True once the check step resolved the token keys (amendment). */
  resolved: boolean;
}

const DEACTIVATE_FROM = ['active', 'suspended'];

export function resolveDestruction(p: DestructionParams, ctx: { lookupVersion?: (selector: string) => VersionDetail }): Record<string, unknown> {
  if (p.versions.length && !ctx.lookupVersion) fail('RECORD_MISSING', 'The archive is not open.', 'Log in to the workstation token and plan again.');
  const versions: PlannedVersion[] = p.versions.map((sel) => {
    const d = ctx.lookupVersion!(sel);
    const v = d.summary;
    if (!v.hasMaterial) fail('INVALID_INPUT', `Version ${v.version} of “${v.label}” is already destroyed: its material was shredded on ${d.destroyedDate?.slice(0, 10) ?? 'an earlier date'}; only its metadata remains.`, 'Leave it out of the ceremony; nothing was changed.');
    const deactivateFirst = DEACTIVATE_FROM.includes(v.state);
    if (deactivateFirst && !p.deactivateActive) {
      fail(
        'LIFECYCLE_TRANSITION_INVALID',
        `Version ${v.version} of “${v.label}” is ${v.state}: an ${v.state} version cannot be destroyed (NIST SP 800-57 Pt 1 §7: deactivate first).`,
        'Deactivate it in the archive first, or plan the destruction with "deactivateActive: true" so the ceremony deactivates it as a recorded step. Nothing was changed.',
      );
    }
    return { id: v.versionId, keyId: v.keyId, label: v.label, version: v.version, algorithm: v.algorithm, kind: d.kind, state: v.state, checkValue: v.checkValue, checkMethod: d.checkMethod, fingerprint: v.fingerprint, deactivateFirst };
  });
  if (new Set(versions.map((v) => v.id)).size !== versions.length) fail('INVALID_INPUT', 'The same version is named twice (by id and by LABEL@N).', 'Name each version once.');
  const plan: DestructionPlan = { keys: p.keys.map((selector) => ({ selector })), versions, reason: p.reason, deactivateActive: p.deactivateActive ?? false, resolved: false };
  return plan as unknown as Record<string, unknown>;
}

/** The evidence chain's subject: what was destroyed (token keys by selector, versions by id). */
export function destructionSubject(params: Record<string, unknown>): string {
  const p = params as unknown as DestructionPlan;
  // The selectors as planned (not the ids found later): the subject is the same at planning and at sign-off.
  const keys = p.keys.map((k) => k.selector).sort();
  const versions = p.versions.map((v) => v.id).sort();
  return `destroy:${[...keys.map((k) => `key=${k}`), ...versions.map((v) => `version=${v}`)].join(',')}`.slice(0, 1000);
}
