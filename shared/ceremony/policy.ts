// The workstation's quorum policy: how many approvals, from which role, each ceremony type needs;
// whether a witness may also be a custodian; whether passphrase credentials are accepted. It lives
// in the workstation record and is changed only by a ceremony step approved by the current quorum.
import { z } from 'zod';
import { CEREMONY_TYPES, type CeremonyType } from './definition';

export const POLICY_FORMAT = 'custos.policy';
export const POLICY_VERSION = 1;

export const policySchema = z.strictObject({
  format: z.literal(POLICY_FORMAT),
  version: z.literal(POLICY_VERSION),
  /** Custodian approvals each ceremony type needs at its approval steps (at least this many). */
  // Types added after a policy was written take 2 (the record keeps the policy as written).
  approvals: z.strictObject(Object.fromEntries(CEREMONY_TYPES.map((t) => [t, z.number().int().min(1).max(16).default(2)])) as Record<CeremonyType, z.ZodDefault<z.ZodNumber>>),
  /** Ceremony types that must have a witness who signs off. */
  witnessRequired: z.array(z.enum(CEREMONY_TYPES)).max(CEREMONY_TYPES.length),
  /** Separation of duties: may one person be both witness and custodian in one ceremony? */
  witnessMayBeCustodian: z.boolean(),
  /** Passphrase credentials are weaker than cards; a policy may refuse them. */
  passphraseCredentials: z.enum(['allowed', 'forbidden']),
  /** Lowest threshold a split-knowledge backup may use (nShield guidance: make it large; keep N < 2K). */
  minimumShareThreshold: z.number().int().min(1).max(16),
  /** A backup's shares are drilled at least this often (a drill proves they still rebuild the key). */
  drillIntervalMonths: z.number().int().min(1).max(120).default(12),
});
export type Policy = z.infer<typeof policySchema>;

/**
 * The policy a new workstation starts with: two custodians approve every ceremony, a witness signs
 * off every ceremony and is not a custodian in it, passphrases are allowed (but shown as weaker),
 * backups need at least 2 shares to restore.
 */
export function defaultPolicy(): Policy {
  return {
    format: POLICY_FORMAT,
    version: POLICY_VERSION,
    approvals: { 'workstation-setup': 2, enrolment: 2, 'key-generation': 2, backup: 2, restore: 2, 'restore-drill': 2, retrieval: 2, reshare: 2, 'share-audit': 2, destruction: 2, rotation: 2, 'component-form': 2, 'kek-rotation': 2, 'component-creation': 2, 'workstation-key-rotation': 2 },
    witnessRequired: [...CEREMONY_TYPES],
    witnessMayBeCustodian: false,
    passphraseCredentials: 'allowed',
    minimumShareThreshold: 2,
    drillIntervalMonths: 12,
  };
}

/** A practice record (demo token): the same shape, but one approval is enough, to learn the steps alone. */
export function practicePolicy(): Policy {
  return { ...defaultPolicy(), approvals: { 'workstation-setup': 1, enrolment: 1, 'key-generation': 1, backup: 1, restore: 1, 'restore-drill': 1, retrieval: 1, reshare: 1, 'share-audit': 1, destruction: 1, rotation: 1, 'component-form': 1, 'kek-rotation': 1, 'component-creation': 1, 'workstation-key-rotation': 1 }, witnessMayBeCustodian: true };
}

/** Plain-language lines for the printed record and the policy step ("read aloud"). */
export function describePolicy(p: Policy): string[] {
  const lines = CEREMONY_TYPES.map((t) => `${t}: ${p.approvals[t]} custodian approval${p.approvals[t] === 1 ? '' : 's'}${p.witnessRequired.includes(t) ? ', witness required' : ''}`);
  lines.push(p.witnessMayBeCustodian ? 'A witness may also be a custodian in the same ceremony.' : 'A witness may not be a custodian in the same ceremony.');
  lines.push(p.passphraseCredentials === 'allowed' ? 'Passphrase credentials are allowed (weaker than cards).' : 'Passphrase credentials are not allowed: every person needs a card.');
  lines.push(`Backups need at least ${p.minimumShareThreshold} shares to restore.`);
  return lines;
}
