// The archive's audit key: the key stored in the file, the fingerprint this workstation pinned for
// the archive (anchors.ts), and the key the HSM holds (issue #11 part 2). Checkpoints, bundles and
// evidence are only as good as the key they are checked with, and the stored key is just bytes in
// a file that anyone can edit; the pin and the HSM are what say whose key it is.
import { createHash } from 'node:crypto';
import type { AuditKeyStatus, VerifyProblem } from '../../../shared/archive/types';
import { readHandovers } from '../audit/handover';
import { hsmPublicKey } from '../hsm-kcv';
import { scopeOf, type ArchiveContext } from './context';
import { refsOf } from './rows';

export const spkiSha256 = (spki: Uint8Array): string => createHash('sha256').update(spki).digest('hex');

export function auditKeyStatus(ctx: Pick<ArchiveContext, 'ws' | 'anchors' | 'archiveId' | 'db'>, hsmSpki: Uint8Array | null = null): AuditKeyStatus {
  const stored = spkiSha256(ctx.ws.audit_spki);
  const recorded = ctx.ws.audit_fingerprint;
  const pinned = ctx.anchors?.pinnedAuditKey(ctx.archiveId) ?? null;
  const hsm = hsmSpki ? spkiSha256(hsmSpki) : null;
  return {
    stored,
    recorded,
    pinned,
    matchesPin: pinned === null ? null : stored === recorded && (pinned === stored || handedOverTo(ctx, pinned, stored)),
    hsm,
    matchesHsm: hsm === null ? null : hsm === stored && hsm === recorded,
  };
}

/**
 * True when the log hands the audit key over from `pinned` to `stored`, each handover vouched for
 * by the key before it (audit/handover.ts): a workstation that pinned the key before a rotation.
 */
function handedOverTo(ctx: Pick<ArchiveContext, 'ws' | 'archiveId' | 'db'>, pinned: string, stored: string): boolean {
  try {
    const chain = readHandovers(ctx.db, ctx.archiveId, ctx.ws.audit_spki, { covering: true });
    return chain.problems.length === 0 && chain.keys.some((k) => k.fingerprint === pinned) && chain.keys[chain.keys.length - 1]!.fingerprint === stored;
  } catch {
    return false;
  }
}

/** The public half of the HSM's audit key for this archive (needs the archive's token). */
export async function hsmAuditSpki(ctx: ArchiveContext): Promise<Buffer | null> {
  if (!ctx.binding) return null;
  return (await hsmPublicKey(scopeOf(ctx.binding), refsOf(ctx.ws).audit)).spki;
}

/** Identity problems a verdict lists (the pinned key's mismatch is the chain's, verify.ts in audit/). */
export function auditKeyProblems(s: AuditKeyStatus): VerifyProblem[] {
  const out: VerifyProblem[] = [];
  if (s.stored !== s.recorded) {
    out.push({ check: 'identity', table: 'workstation', message: `The audit key stored in the archive has the fingerprint ${s.stored.slice(0, 16)}…, but the fingerprint recorded beside it is ${s.recorded.slice(0, 16)}…: the identity row was edited.` });
  }
  if (s.matchesHsm === false) {
    out.push({ check: 'identity', message: `The HSM's audit key (fingerprint ${s.hsm!.slice(0, 16)}…) is not the one stored in the archive (${s.stored.slice(0, 16)}…): the stored key was swapped.` });
  }
  return out;
}
