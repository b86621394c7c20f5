// The destruction certificate (format "custos.destruction-certificate", version 1; docs/FORMAT.md
// "Destruction certificate"): one document listing each key a destruction ceremony destroyed —
// what it was (label, CKA_ID or version, algorithm, check value), where it was, how it went
// (C_DestroyObject, or the archive's shred), when, the proof that it is gone (a fresh lookup), the
// reason, the approvers and the witness. NIST SP 800-88 Rev. 1 §4.7 and its Appendix G sample ask
// for such a certificate for each sanitisation; ISO 27001:2022 A.7.14 asks for a record of disposal.
//
// It is a pure function of the transcript, which the bundle's signed SHA256SUMS covers: the bundle
// verifier rebuilds it from transcript.json and compares the bytes, so a certificate that says
// more (or less) than the journal recorded fails verification.
import { canonicalJsonPretty } from './canonical';
import type { Transcript } from './transcript';

export const DESTRUCTION_CERTIFICATE_FORMAT = 'custos.destruction-certificate';
export const DESTRUCTION_CERTIFICATE_VERSION = 1;
export const DESTRUCTION_CERTIFICATE_FILE = 'destruction-certificate.json';

export interface DestructionCertificate {
  format: typeof DESTRUCTION_CERTIFICATE_FORMAT;
  version: typeof DESTRUCTION_CERTIFICATE_VERSION;
  run: string;
  fingerprint: string;
  practice: boolean;
  workstation: { name: string; archiveId: string | null };
  reason: string;
  items: Array<{
    item: string;
    where: 'token' | 'archive';
    label: string;
    idHex: string | null;
    versionId: string | null;
    algorithm: string;
    checkValue: string | null;
    checkMethod: string | null;
    /** The lifecycle state before the destruction (archived versions). */
    stateBefore: string | null;
    how: string;
    deactivatedFirst: boolean;
    destroyedAt: string;
    proof: string;
    /** Other copies Custos saw at the check step (none: it was the last). */
    copiesRemaining: string[];
    /** What stopped working (the workstation's own keys). */
    consequence: string | null;
  }>;
  /** Exceptions decided before the destruction (last copies, workstation keys), with the administrator's decision. */
  exceptions: Array<{ happened: string; decision: string | null; decidedBy: string | null; acknowledgedBy: string | null }>;
  approvals: Array<{ name: string; person: string; credential: string; at: string }>;
  witness: { name: string; person: string } | null;
  signedOffAt: string | null;
}

type Checked = { item: string; label: string; idHex: string | null; versionId: string | null; algorithm: string; checkValue: string | null; checkMethod: string | null; state: string | null; copies: string[]; stops: string | null };
type Destroyed = { item: string; where: 'token' | 'archive'; label: string; idHex: string | null; versionId: string | null; how: string; deactivated?: boolean; at: string; proof: string };

/** The certificate of a completed destruction run, or null when its transcript has no destroy step that finished. */
export function destructionCertificate(t: Transcript): DestructionCertificate | null {
  if (t.definition.type !== 'destruction') return null;
  const check = t.steps.find((s) => s.kind === 'check');
  const destroy = t.steps.find((s) => s.kind === 'destroy');
  if (!destroy?.outcome || !Array.isArray(destroy.outcome.destroyed)) return null;
  const checked = (Array.isArray(check?.outcome?.items) ? check!.outcome!.items : []) as Checked[];
  const same = (a: { idHex: string | null; versionId: string | null }, b: { idHex: string | null; versionId: string | null }) => (a.versionId ? a.versionId === b.versionId : a.idHex === b.idHex);
  const items = (destroy.outcome.destroyed as Destroyed[]).map((d) => {
    const c = checked.find((x) => same(x, d));
    return {
      item: d.item,
      where: d.where,
      label: d.label,
      idHex: d.idHex,
      versionId: d.versionId,
      algorithm: c?.algorithm ?? 'unknown',
      checkValue: c?.checkValue ?? null,
      checkMethod: c?.checkMethod ?? null,
      stateBefore: c?.state ?? null,
      how: d.how,
      deactivatedFirst: d.deactivated === true,
      destroyedAt: d.at,
      proof: d.proof,
      copiesRemaining: c?.copies ?? [],
      consequence: c?.stops ?? null,
    };
  });
  const nameOf = (id: string) => t.participants.find((p) => p.person === id)?.name ?? id;
  return {
    format: DESTRUCTION_CERTIFICATE_FORMAT,
    version: DESTRUCTION_CERTIFICATE_VERSION,
    run: t.run,
    fingerprint: t.fingerprint.hex,
    practice: t.practice,
    workstation: { name: t.record.name, archiveId: t.record.archiveId },
    reason: String(t.params.reason ?? ''),
    items,
    exceptions: t.exceptions
      .filter((e) => e.step === check?.id || e.step === destroy.id)
      .map((e) => ({ happened: e.happened, decision: e.decision?.text ?? null, decidedBy: e.decision?.by ?? null, acknowledgedBy: e.acknowledged?.by ?? null })),
    approvals: t.approvals.filter((a) => a.step === destroy.id).map((a) => ({ name: a.name, person: a.person, credential: a.credential, at: a.at })),
    witness: destroy.witnessTick ? { name: destroy.witnessTick.name || nameOf(destroy.witnessTick.person), person: destroy.witnessTick.person } : null,
    signedOffAt: t.endedAt,
  };
}

/** The file's bytes: canonical, pretty, one trailing newline. */
export function destructionCertificateText(c: DestructionCertificate): string {
  return canonicalJsonPretty(c) + '\n';
}
