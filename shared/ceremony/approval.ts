// What a person's card signs (docs/FORMAT.md "Approvals and presence proofs"). Each message is
// canonical JSON naming the run, the fingerprint of every resolved parameter, the step, a counter
// and a nonce the engine issued for this step: a signature cannot be moved to another run, another
// step or other parameters, and cannot be replayed (the nonce is used once and expires). This is the
// defence Vault's rekey nonce was added for (an approved operation cancelled and restarted with the
// attacker's parameters).
//
// Card credentials sign with ECDSA P-256 over SHA-256 of the message bytes (hashed on the host,
// signed with CKM_ECDSA inside the card; signature stored as raw r‖s hex). Passphrase credentials
// sign with Ed25519 (RFC 8032) under a key derived from the passphrase.
import { canonicalJson } from './canonical';

export type ApprovalPurpose = 'approve' | 'presence' | 'enrol' | 'attest';

export interface ApprovalMessage {
  v: 1;
  type: 'custos.ceremony-approval';
  purpose: ApprovalPurpose;
  run: string;
  fingerprint: string;
  step: string;
  counter: number;
  nonce: string;
  person: string;
  credential: string;
}

export function approvalMessage(m: Omit<ApprovalMessage, 'v' | 'type'>): string {
  const full: ApprovalMessage = { v: 1, type: 'custos.ceremony-approval', ...m };
  return canonicalJson(full);
}

/** What a card signs at enrolment: proof that the new key pair is in that card and answers now. */
export function enrolmentMessage(m: { run: string; person: string; name: string; credential: string; nonce: string; token: { serial: string; model: string } }): string {
  return canonicalJson({ v: 1, type: 'custos.credential-enrolment', ...m });
}
