// The built-in ceremony definitions. Each is an ordinary definition (the same schema and linter as
// an organisation's own file); `custos ceremony definitions --export DIR` writes them as YAML for
// an organisation to copy and tighten.
import { DEFINITION_FORMAT, DEFINITION_FORMAT_VERSION, type CeremonyDefinition, type CeremonyType } from './definition';

const base = { format: DEFINITION_FORMAT, formatVersion: DEFINITION_FORMAT_VERSION } as const;

export const BUILTIN_DEFINITIONS: readonly CeremonyDefinition[] = Object.freeze([
  {
    ...base,
    id: 'custos/workstation-setup',
    revision: 1,
    type: 'workstation-setup',
    title: 'Workstation set-up and custodian enrolment',
    summary:
      'Creates the workstation record and the archive’s keys in the HSM, enrols each person with a key pair made inside their own card, and sets the quorum policy. The new custodians approve the result; the witness signs off.',
    roles: { administrator: { min: 1, max: 1 }, operator: { min: 1, max: 1 }, custodian: { min: 2 }, witness: { min: 1 } },
    steps: [
      { id: 'roll-call', kind: 'roll-call', say: 'The administrator reads each name and role aloud; each person answers “present”. Nobody is enrolled yet, so the witness vouches for who is in the room.' },
      { id: 'login', kind: 'login' },
      { id: 'create-record', kind: 'create-record' },
      { id: 'enrol', kind: 'enrol' },
      { id: 'read-fingerprint', kind: 'read-fingerprint' },
      { id: 'set-policy', kind: 'set-policy', quorum: { role: 'custodian', threshold: 'policy' } },
      { id: 'sign-off', kind: 'sign-off' },
    ],
  },
  {
    ...base,
    id: 'custos/enrolment',
    revision: 1,
    type: 'enrolment',
    title: 'Custodian enrolment and policy change',
    summary: 'Adds people (each with a key pair made inside their own card), retires people, or changes the quorum policy — with the approval of the current quorum.',
    roles: { administrator: { min: 1, max: 1 }, operator: { min: 1, max: 1 }, custodian: { min: 1 }, witness: { min: 1 } },
    steps: [
      { id: 'roll-call', kind: 'roll-call' },
      { id: 'login', kind: 'login' },
      { id: 'enrol', kind: 'enrol', say: 'Each new person in turn inserts their card and enters its PIN; Custos generates their key pair inside the card. Nothing takes effect until the current custodians approve.' },
      { id: 'read-fingerprint', kind: 'read-fingerprint' },
      { id: 'set-policy', kind: 'set-policy', title: 'Approve the change', quorum: { role: 'custodian', threshold: 'policy' } },
      { id: 'sign-off', kind: 'sign-off' },
    ],
  },
  {
    ...base,
    id: 'custos/key-generation',
    revision: 1,
    type: 'key-generation',
    title: 'Key generation',
    summary: 'Generates a managed key inside the HSM with the quorum’s approval, reads its check value aloud, proves it works, archives it if it is extractable under wrap, and makes a CSR where asked.',
    roles: { administrator: { min: 1, max: 1 }, operator: { min: 1, max: 1 }, custodian: { min: 2 }, witness: { min: 1 } },
    steps: [
      { id: 'roll-call', kind: 'roll-call' },
      { id: 'login', kind: 'login' },
      { id: 'check', kind: 'check' },
      { id: 'read-fingerprint', kind: 'read-fingerprint' },
      { id: 'generate', kind: 'generate', quorum: { role: 'custodian', threshold: 'policy' } },
      { id: 'show-check-value', kind: 'show-check-value', witness: true },
      { id: 'test-operation', kind: 'test-operation', witness: true },
      { id: 'archive', kind: 'archive' },
      { id: 'csr', kind: 'csr' },
      { id: 'sign-off', kind: 'sign-off' },
    ],
  },
  {
    ...base,
    id: 'custos/backup',
    revision: 1,
    type: 'backup',
    title: 'Split-knowledge backup',
    summary:
      'Makes a Backup Key, splits it into one share per holder, shows each share to its holder alone, has every holder re-enter their share, and only then wraps the targets under the Backup Key inside the HSM.',
    roles: { administrator: { min: 1, max: 1 }, operator: { min: 1, max: 1 }, custodian: { min: 2 }, witness: { min: 1 } },
    steps: [
      { id: 'roll-call', kind: 'roll-call' },
      { id: 'login', kind: 'login' },
      { id: 'check', kind: 'check' },
      { id: 'read-fingerprint', kind: 'read-fingerprint' },
      { id: 'make-backup-key', kind: 'make-backup-key' },
      { id: 'split', kind: 'split' },
      { id: 'hand-over', kind: 'hand-over' },
      { id: 'verify-shares', kind: 'verify-shares' },
      { id: 'commit-backup', kind: 'commit-backup', quorum: { role: 'custodian', threshold: 'policy' } },
      { id: 'sign-off', kind: 'sign-off' },
    ],
  },
  {
    ...base,
    id: 'custos/restore',
    revision: 1,
    type: 'restore',
    title: 'Restore from a backup',
    summary:
      'Brings keys backed up by a split-knowledge backup back into an HSM: the quorum approves, the holders enter their shares one at a time, the Backup Key is rebuilt in memory and its check value compared, each key is unwrapped into the HSM and its check value compared with the one recorded at the backup.',
    roles: { administrator: { min: 1, max: 1 }, operator: { min: 1, max: 1 }, custodian: { min: 2 }, witness: { min: 1 } },
    steps: [
      { id: 'roll-call', kind: 'roll-call' },
      { id: 'login', kind: 'login' },
      { id: 'check', kind: 'check', say: 'Custos reads the backup from the record, and checks that the keys to restore are not already on the destination token.' },
      { id: 'read-fingerprint', kind: 'read-fingerprint' },
      { id: 'enter-shares', kind: 'enter-shares' },
      { id: 'rebuild-backup-key', kind: 'rebuild-backup-key' },
      { id: 'unwrap-targets', kind: 'unwrap-targets', quorum: { role: 'custodian', threshold: 'policy' } },
      { id: 'sign-off', kind: 'sign-off' },
    ],
  },
  {
    ...base,
    id: 'custos/restore-drill',
    revision: 1,
    type: 'restore-drill',
    title: 'Restore drill',
    summary:
      'Proves a backup still works without importing anything lasting: the holders enter their shares, the Backup Key is rebuilt, and each key is unwrapped into a session of the HSM (gone when it ends) and its check value compared with the one recorded at the backup.',
    roles: { administrator: { min: 1, max: 1 }, operator: { min: 1, max: 1 }, custodian: { min: 1 }, witness: { min: 1 } },
    steps: [
      { id: 'roll-call', kind: 'roll-call' },
      { id: 'login', kind: 'login' },
      { id: 'check', kind: 'check', say: 'Custos reads the backup from the record: its keys, its share set and the check values to expect.' },
      { id: 'read-fingerprint', kind: 'read-fingerprint' },
      { id: 'enter-shares', kind: 'enter-shares' },
      { id: 'rebuild-backup-key', kind: 'rebuild-backup-key' },
      { id: 'unwrap-targets', kind: 'unwrap-targets', title: 'Unwrap into a session and compare the check values', say: 'Each key is unwrapped into a session of the HSM only (nothing is stored on the token) and its check value compared with the one recorded at the backup; then the session keys and the Backup Key are destroyed.' },
      { id: 'sign-off', kind: 'sign-off' },
    ],
  },
  {
    ...base,
    id: 'custos/retrieval',
    revision: 1,
    type: 'retrieval',
    title: 'Archive retrieval',
    summary:
      'Brings one archived key version back into the HSM to open old data: the purpose is stated, the quorum approves that version for that purpose, the key is unwrapped under the Archive KEK and its check value compared with the archived one.',
    roles: { administrator: { min: 1, max: 1 }, operator: { min: 1, max: 1 }, custodian: { min: 2 }, witness: { min: 1 } },
    steps: [
      { id: 'roll-call', kind: 'roll-call' },
      { id: 'login', kind: 'login' },
      { id: 'check', kind: 'check', say: 'Custos finds the version in the archive and checks its row against its MAC in the HSM: its material is there and untouched.' },
      { id: 'read-fingerprint', kind: 'read-fingerprint', say: 'The administrator reads the fingerprint aloud; it covers the version, its check value, and the purpose stated for this retrieval.' },
      { id: 'retrieve', kind: 'retrieve', quorum: { role: 'custodian', threshold: 'policy' } },
      { id: 'sign-off', kind: 'sign-off' },
    ],
  },
  {
    ...base,
    id: 'custos/kek-rotation',
    revision: 1,
    type: 'kek-rotation',
    title: 'Archive KEK rotation',
    summary:
      'Replaces the Archive KEK: a new KEK is made inside the HSM, every archived version is re-wrapped under it there and checked, and only then is the old KEK retired (kept in the HSM, not destroyed). The fingerprint covers the old KEK’s check value and the number of versions; the quorum approves; the witness signs off.',
    roles: { administrator: { min: 1, max: 1 }, operator: { min: 1, max: 1 }, custodian: { min: 2 }, witness: { min: 1 } },
    steps: [
      { id: 'roll-call', kind: 'roll-call' },
      { id: 'login', kind: 'login' },
      { id: 'check', kind: 'check', say: 'Custos reads the Archive KEK’s check value in the HSM and counts the archived versions: both must be the numbers confirmed when the ceremony was planned.' },
      { id: 'read-fingerprint', kind: 'read-fingerprint', say: 'The administrator reads the fingerprint aloud; it covers the old KEK’s check value and the number of versions to re-wrap.' },
      { id: 'rotate-kek', kind: 'rotate-kek', quorum: { role: 'custodian', threshold: 'policy' } },
      { id: 'sign-off', kind: 'sign-off' },
    ],
  },
] satisfies CeremonyDefinition[]);

export function builtinDefinition(idOrType: string): CeremonyDefinition | undefined {
  return BUILTIN_DEFINITIONS.find((d) => d.id === idOrType || d.type === (idOrType as CeremonyType));
}
