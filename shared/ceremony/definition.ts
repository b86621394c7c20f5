// Ceremony definitions are data (format "custos.ceremony-definition", version 1; docs/FORMAT.md
// "Ceremony definitions"). A definition names the ceremony type, the people it needs by role, the
// parameters it fixes or defaults, and its steps, each chosen from a fixed vocabulary of step
// kinds. The engine (electron/services/ceremony) runs any definition that passes this schema and
// the linter (lint.ts), in the app and in the CLI alike; nothing in a definition is code.
//
// Both checks are pure and run before the first PKCS#11 call: a definition that is malformed or
// breaks the state model never reaches the HSM (Let's Encrypt's ceremony tool refuses a bad file
// before it opens a session; so does Custos).
import { z } from 'zod';
import { ROLES, type Role } from './roles';

export const DEFINITION_FORMAT = 'custos.ceremony-definition';
export const DEFINITION_FORMAT_VERSION = 1;

/** Ceremony types this version runs. */
export const CEREMONY_TYPES = ['workstation-setup', 'enrolment', 'key-generation', 'backup', 'restore', 'restore-drill', 'retrieval', 'reshare', 'share-audit', 'destruction', 'rotation', 'component-form', 'kek-rotation', 'component-creation', 'workstation-key-rotation'] as const;
export type CeremonyType = (typeof CEREMONY_TYPES)[number];

export const CEREMONY_TITLES: Readonly<Record<CeremonyType, string>> = Object.freeze({
  'workstation-setup': 'Workstation set-up and custodian enrolment',
  enrolment: 'Custodian enrolment and policy change',
  'key-generation': 'Key generation',
  backup: 'Split-knowledge backup',
  restore: 'Restore from a backup',
  'restore-drill': 'Restore drill',
  retrieval: 'Archive retrieval',
  reshare: 'Re-share and custodian change',
  'share-audit': 'Share audit',
  destruction: 'Destruction under dual control',
  rotation: 'Rotation of a managed key',
  'component-form': 'Form a key from XOR components',
  'kek-rotation': 'Archive KEK rotation',
  'component-creation': 'Create a key as XOR components',
  'workstation-key-rotation': 'Workstation key rotation',
});

/**
 * The step vocabulary. Each kind has a fixed meaning in the engine; a definition chooses and
 * orders them, names who acts and what is read aloud, and sets the quorum of the steps that change
 * something.
 */
/**
 * The name a run goes by: its definition's title, except a workstation key rotation of the MAC key
 * (the built-in definition is titled for the audit key, its first use; its hash stays as it is).
 */
export function runTitle(definition: { type: string; title: string }, params: unknown): string {
  return definition.type === 'workstation-key-rotation' && (params as { key?: unknown } | null)?.key === 'mac' ? 'MAC key rotation' : definition.title;
}

export const STEP_KINDS = [
  'roll-call',
  'read-fingerprint',
  'login',
  'check',
  'create-record',
  'enrol',
  'set-policy',
  'generate',
  'show-check-value',
  'test-operation',
  'archive',
  'csr',
  'make-backup-key',
  'split',
  'hand-over',
  'verify-shares',
  'commit-backup',
  'enter-shares',
  'rebuild-backup-key',
  'unwrap-targets',
  'retrieve',
  'commit-reshare',
  'attest-destroyed',
  'audit-shares',
  'destroy',
  'restrict-old',
  'enter-components',
  'form-key',
  'rotate-kek',
  'make-components',
  'print-components',
  'seal-components',
  'rotate-workstation-key',
  'print',
  'sign-off',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export interface StepKindInfo {
  title: string;
  /** Who acts by default. */
  actor: Role;
  /** Changes the HSM or the record (so it may carry a quorum, and must come after the fingerprint). */
  changes: boolean;
  /** Holds a secret in main-process memory between steps (shares, the Backup Key). */
  secret: boolean;
  /** Run once for each holder, one holder at a time. */
  perHolder: boolean;
  /** What the administrator reads aloud, unless the definition says otherwise. */
  say: string;
}

export const STEP_KIND_INFO: Readonly<Record<StepKind, StepKindInfo>> = Object.freeze({
  'roll-call': {
    title: 'Roll call',
    actor: 'administrator',
    changes: false,
    secret: false,
    perHolder: false,
    say: 'Each person named below proves they are present with their own card or passphrase.',
  },
  'read-fingerprint': {
    title: 'Read the ceremony fingerprint aloud',
    actor: 'administrator',
    changes: false,
    secret: false,
    perHolder: false,
    say: 'The administrator reads the fingerprint words aloud. Every participant compares them with their own screen or printed script and says “confirmed”.',
  },
  login: {
    title: 'Operator logs in to the workstation HSM',
    actor: 'operator',
    changes: false,
    secret: false,
    perHolder: false,
    say: 'The operator enters the HSM user PIN. Everyone else looks away from the keyboard.',
  },
  check: {
    title: 'Checks before any change',
    actor: 'administrator',
    changes: false,
    secret: false,
    perHolder: false,
    say: 'Custos checks the token, the labels and the mechanisms before anything is changed.',
  },
  'create-record': {
    title: 'Create the workstation record and its keys',
    actor: 'operator',
    changes: true,
    secret: false,
    perHolder: false,
    say: 'Custos generates the Archive KEK, the archive MAC key and the audit signing key inside the HSM and creates the workstation record.',
  },
  enrol: {
    title: 'Enrol the people',
    actor: 'administrator',
    changes: true,
    secret: false,
    perHolder: false,
    say: 'Each person in turn inserts their card and enters its PIN; Custos generates their key pair inside the card. A person without a card chooses a passphrase.',
  },
  'set-policy': {
    title: 'Set the quorum policy',
    actor: 'administrator',
    changes: true,
    secret: false,
    perHolder: false,
    say: 'The administrator reads the policy aloud: who may approve what, and how many approvals each ceremony needs.',
  },
  generate: {
    title: 'Generate the key inside the HSM',
    actor: 'operator',
    changes: true,
    secret: false,
    perHolder: false,
    say: 'With the quorum’s approval, the key is generated inside the HSM.',
  },
  'show-check-value': {
    title: 'Read the check value aloud',
    actor: 'administrator',
    changes: false,
    secret: false,
    perHolder: false,
    say: 'The administrator reads the check value (or public-key fingerprint) aloud; the witness writes it on the script.',
  },
  'test-operation': {
    title: 'Test the key',
    actor: 'operator',
    changes: false,
    secret: false,
    perHolder: false,
    say: 'Custos makes a round trip with the new key (sign and verify, or encrypt and decrypt) to prove it works.',
  },
  archive: {
    title: 'Archive the key',
    actor: 'operator',
    changes: true,
    secret: false,
    perHolder: false,
    say: 'The key is wrapped under the Archive KEK and stored in the archive as version 1.',
  },
  csr: {
    title: 'Make the certificate signing request',
    actor: 'operator',
    changes: false,
    secret: false,
    perHolder: false,
    say: 'Custos makes a PKCS#10 request signed inside the HSM.',
  },
  'make-backup-key': {
    title: 'Make the Backup Key',
    actor: 'operator',
    changes: false,
    secret: true,
    perHolder: false,
    say: 'A new Backup Key is drawn from the HSM’s random number generator. It exists only in this computer’s memory until the shares are verified.',
  },
  split: {
    title: 'Split the Backup Key into shares',
    actor: 'operator',
    changes: false,
    secret: true,
    perHolder: false,
    say: 'The Backup Key is split into one share per holder. Nothing is shown yet.',
  },
  'hand-over': {
    title: 'Hand each share to its holder',
    actor: 'custodian',
    changes: false,
    secret: true,
    perHolder: true,
    say: 'One holder at a time: only the named holder looks at the screen and writes their share down. Everyone else looks away.',
  },
  'verify-shares': {
    title: 'Verification round',
    actor: 'custodian',
    changes: false,
    secret: true,
    perHolder: true,
    say: 'One holder at a time re-enters their share from what they wrote down. Each share is checked on its own.',
  },
  'commit-backup': {
    title: 'Commit the backup',
    actor: 'operator',
    changes: true,
    secret: true,
    perHolder: false,
    say: 'All shares passed. The SO imports the Backup Key into the HSM as a trusted key, the targets are wrapped under it, and the Backup Key is destroyed.',
  },
  'enter-shares': {
    title: 'Enter the shares',
    actor: 'custodian',
    changes: false,
    secret: true,
    perHolder: true,
    say: 'One holder at a time enters their share, alone at the keyboard. Each share is checked as it is entered: against the backup’s record, and against the shares already entered.',
  },
  'rebuild-backup-key': {
    title: 'Rebuild the Backup Key',
    actor: 'operator',
    changes: false,
    secret: true,
    perHolder: false,
    say: 'The shares are combined in this computer’s memory; the Backup Key’s check value must be the one recorded at the backup.',
  },
  'unwrap-targets': {
    title: 'Unwrap the keys and compare their check values',
    actor: 'operator',
    changes: true,
    secret: true,
    perHolder: false,
    say: 'The Backup Key goes into the HSM for the moment it takes to unwrap each key; each key’s check value is compared with the one recorded at the backup. Then the Backup Key is destroyed.',
  },
  retrieve: {
    title: 'Retrieve the archived key',
    actor: 'operator',
    changes: true,
    secret: false,
    perHolder: false,
    say: 'With the quorum’s approval for this version and this purpose, the archived key is unwrapped under the Archive KEK inside the HSM and its check value compared with the one recorded when it was archived. Then, as planned, it stays in the HSM, or it is wrapped for its receiver and the unwrapped copy destroyed.',
  },
  'commit-reshare': {
    title: 'Commit the new share set',
    actor: 'operator',
    changes: true,
    secret: true,
    perHolder: false,
    say: 'Every new share passed the verification round. With the quorum’s approval the new share set is recorded for the same Backup Key; the wrapped keys do not change. When the re-share rotates the Backup Key, each key is first unwrapped from its old blob in the HSM, its check value compared, and re-wrapped under the new Backup Key. Then the Backup Keys are wiped from memory.',
  },
  'attest-destroyed': {
    title: 'Old holders attest that their shares are destroyed',
    actor: 'custodian',
    changes: true,
    secret: false,
    perHolder: true,
    say: 'Each holder of an old share who is present destroys it in front of the witness (shreds the sheet) and signs with their card that it is destroyed. An old share nobody attests stays able to rebuild the Backup Key, with the others of its set, until the Backup Key is rotated.',
  },
  'audit-shares': {
    title: 'Each holder checks their share',
    actor: 'custodian',
    changes: false,
    secret: false,
    perHolder: true,
    say: 'One holder at a time, alone at the keyboard, types their share. Custos checks it against the backup’s record — that it is of this set and is this holder’s own — without combining it with any other share. Nothing typed is kept; the record keeps only that the share was checked, and the result.',
  },
  destroy: {
    title: 'Destroy the keys',
    actor: 'operator',
    changes: true,
    secret: false,
    perHolder: false,
    say: 'With the quorum’s approval, each key named on the screen is destroyed: token objects with C_DestroyObject, archived material shredded (its metadata stays, marked destroyed). Then Custos looks for each again and records that nothing is found.',
  },
  'restrict-old': {
    title: 'Stop the old version protecting',
    actor: 'operator',
    changes: true,
    secret: false,
    perHolder: false,
    say: 'The old version stays on the token to decrypt and verify old data, but may no longer encrypt, sign or wrap: Custos turns those uses off on the token, where the token allows it.',
  },
  'enter-components': {
    title: 'Enter the components',
    actor: 'custodian',
    changes: false,
    secret: true,
    perHolder: true,
    say: 'One component holder at a time, alone at the keyboard, opens their sealed envelope and types their component. Each is checked at once against the check value printed for it; the components stay in this computer’s memory only.',
  },
  'form-key': {
    title: 'Form the key inside the HSM',
    actor: 'operator',
    changes: true,
    secret: true,
    perHolder: false,
    say: 'With the quorum’s approval the components are combined, the key enters the HSM wrapped under a transport key made inside it, and the HSM computes the key’s check value, which must be the expected one. Then the components are wiped from memory.',
  },
  'rotate-kek': {
    title: 'Rotate the Archive KEK',
    actor: 'operator',
    changes: true,
    secret: false,
    perHolder: false,
    say: 'With the quorum’s approval, a new Archive KEK is made inside the HSM and every archived key is re-wrapped under it there, in batches, each checked by unwrapping it again. Only when every version is re-wrapped and checked is the old KEK retired (kept, not destroyed). It can be cancelled and resumed.',
  },
  'make-components': {
    title: 'Make the components and form the key',
    actor: 'operator',
    changes: true,
    secret: true,
    perHolder: false,
    say: 'With the quorum’s approval the HSM’s random number generator gives one component per holder; the key they form enters the HSM wrapped under a transport key made inside it, and the HSM computes its check value. The components stay in this computer’s memory only, until each is printed for its holder.',
  },
  'print-components': {
    title: 'Print each holder’s component sheet',
    actor: 'custodian',
    changes: false,
    secret: true,
    perHolder: true,
    say: 'One holder at a time: their component is printed on its own sheet, which only they take from the printer. Nobody else looks at it.',
  },
  'seal-components': {
    title: 'Check each sheet and seal it',
    actor: 'custodian',
    changes: false,
    secret: true,
    perHolder: true,
    say: 'Each holder in turn types the check value printed on their sheet, so a misprint is caught now; then seals the sheet in a tamper-evident envelope and gives the envelope’s serial number, which goes into the record.',
  },
  'rotate-workstation-key': {
    title: 'Rotate the audit key',
    actor: 'operator',
    changes: true,
    secret: false,
    perHolder: false,
    say: 'With the quorum’s approval, a new audit key pair is made inside the HSM. The old key signs the handover, which names the new key and carries the new key’s own signature; from then on the new key signs. The old public key stays in the record, so everything it signed still verifies; the old private key is kept but may no longer sign.',
  },
  print: {
    title: 'Print',
    actor: 'administrator',
    changes: false,
    secret: false,
    perHolder: false,
    say: 'Print the ceremony record for signatures.',
  },
  'sign-off': {
    title: 'Sign-off',
    actor: 'witness',
    changes: true,
    secret: false,
    perHolder: false,
    say: 'The witness confirms every step was done as read, and that every exception has been decided. Then the evidence bundle is made.',
  },
});

const slug = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'Use lower-case letters, digits and hyphens (for example "generate-key").');
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    // eslint-disable-next-line no-control-regex -- control characters would garble the printed script
    .refine((s) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s), 'No control characters.');

const roleEnum = z.enum(ROLES);
const thresholdSchema = z.union([z.number().int().min(1).max(16), z.literal('policy')]);

export const quorumSchema = z.strictObject({
  role: roleEnum,
  /** A number, or "policy": the workstation policy's threshold for this ceremony type. */
  threshold: thresholdSchema,
});
export type QuorumSpec = z.infer<typeof quorumSchema>;

export const stepSchema = z.strictObject({
  id: slug,
  kind: z.enum(STEP_KINDS),
  title: text(120).optional(),
  actor: roleEnum.optional(),
  say: text(1000).optional(),
  quorum: quorumSchema.optional(),
  /** The witness must tick this step before the next one starts (default: true for steps that change something). */
  witness: z.boolean().optional(),
});
export type StepDefinition = z.infer<typeof stepSchema>;

const roleCount = z.strictObject({ min: z.number().int().min(0).max(16), max: z.number().int().min(1).max(16).optional() });

const parameterValue = z.union([z.string().max(1024), z.number(), z.boolean(), z.array(z.string().max(256)).max(64)]);

export const definitionSchema = z.strictObject({
  format: z.literal(DEFINITION_FORMAT),
  formatVersion: z.literal(DEFINITION_FORMAT_VERSION),
  id: z
    .string()
    .min(1)
    .max(96)
    .regex(/^[a-z0-9][a-z0-9./-]*$/, 'Use lower-case letters, digits, "/", "." and "-" (for example "acme/kek-generation").'),
  revision: z.number().int().min(1).max(1_000_000),
  type: z.enum(CEREMONY_TYPES),
  title: text(120),
  summary: text(2000).optional(),
  roles: z.partialRecord(roleEnum, roleCount),
  /** Values the definition fixes (cannot be changed at plan time) or defaults. */
  parameters: z
    .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9]*$/).max(40), z.strictObject({ fixed: parameterValue.optional(), default: parameterValue.optional() }))
    .optional(),
  /** Rules that may only tighten the workstation policy. */
  rules: z
    .strictObject({
      witnessMayBeCustodian: z.boolean().optional(),
      passphraseCredentials: z.enum(['allowed', 'forbidden']).optional(),
    })
    .optional(),
  steps: z.array(stepSchema).min(1).max(64),
});
export type CeremonyDefinition = z.infer<typeof definitionSchema>;

/** A step with every default filled in, as the engine and the screens use it. */
export interface ResolvedStep {
  index: number;
  id: string;
  kind: StepKind;
  title: string;
  actor: Role;
  say: string;
  quorum: { role: Role; threshold: number } | null;
  witness: boolean;
  changes: boolean;
  secret: boolean;
  perHolder: boolean;
}

/** Fills in the defaults of each step; `threshold` resolves "policy". */
export function resolveSteps(def: CeremonyDefinition, policyThreshold: (role: Role) => number): ResolvedStep[] {
  return def.steps.map((s, index) => {
    const info = STEP_KIND_INFO[s.kind];
    return {
      index,
      id: s.id,
      kind: s.kind,
      title: s.title ?? info.title,
      actor: s.actor ?? info.actor,
      say: s.say ?? info.say,
      quorum: s.quorum ? { role: s.quorum.role, threshold: s.quorum.threshold === 'policy' ? policyThreshold(s.quorum.role) : s.quorum.threshold } : null,
      witness: s.witness ?? info.changes,
      changes: info.changes,
      secret: info.secret,
      perHolder: info.perHolder,
    };
  });
}
