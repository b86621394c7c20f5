// The people in a ceremony and what each may do. Roles follow common key-ceremony practice (and the
// nShield / PCI PIN guidance the design notes cite): the administrator runs the script, the
// operator touches the equipment, custodians hold shares and approve, the witness observes and
// records exceptions, the auditor verifies afterwards. A person may hold several roles; where the
// policy says so, a witness may not also be a custodian in the same ceremony (separation of duties).

export const ROLES = ['administrator', 'operator', 'custodian', 'witness', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_TITLES: Readonly<Record<Role, string>> = Object.freeze({
  administrator: 'Ceremony administrator',
  operator: 'Operator',
  custodian: 'Custodian',
  witness: 'Witness',
  auditor: 'Auditor',
});

export const ROLE_DUTIES: Readonly<Record<Role, string>> = Object.freeze({
  administrator: 'Runs the script step by step, reads each step aloud, decides exceptions.',
  operator: 'Operates the workstation and the HSM: logs in, inserts and removes devices.',
  custodian: 'Holds a share or a card, approves operations that need the quorum.',
  witness: 'Watches every step, ticks each check, records exceptions and signs off.',
  auditor: 'Verifies the evidence afterwards; takes no part in the operations.',
});

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** How a person proves presence and approves: a key pair inside their own card, or a passphrase. */
export const CREDENTIAL_KINDS = ['card', 'passphrase'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

export const CREDENTIAL_STRENGTH: Readonly<Record<CredentialKind, string>> = Object.freeze({
  card: 'Card: a P-256 key pair generated inside the person’s own card; the private key never leaves it.',
  passphrase:
    'Passphrase (weaker): an Ed25519 key derived from the passphrase with scrypt. Anyone who copies the record can try to guess the passphrase offline.',
});
