// The parameters of each ceremony type, as given at plan time (CLI options, a parameters file, or
// the app's form) and checked here. The engine resolves them (people named → register entries with
// their credential fingerprints, token → serial and model) and the resolved form goes into the
// ceremony fingerprint, so that every value a participant approves is a value they read aloud.
import { z } from 'zod';
import { PURPOSES } from '../archive/policy';
import { labelProblem, tagProblem, textProblem } from '../archive/validate';
import { KEY_TYPES, type KeyTypeName, type KeyUsageName } from '../keys';
import type { CeremonyType } from './definition';
import { policySchema } from './policy';
import { CREDENTIAL_KINDS, ROLES } from './roles';

const KEY_TYPE_NAMES = KEY_TYPES.map((k) => k.type) as [KeyTypeName, ...KeyTypeName[]];
const USAGES = ['encrypt', 'sign', 'wrap', 'derive'] as const satisfies readonly KeyUsageName[];

const fromProblem = (problem: (v: unknown) => string | null) => (v: unknown, ctx: z.RefinementCtx) => {
  const p = problem(v);
  if (p) ctx.addIssue({ code: 'custom', message: p });
};

/** A person's name as custodians say it: 1–64 characters, no control characters. */
export const personName = z
  .string()
  .trim()
  .min(1, 'Give the person’s name.')
  .max(64, 'A name has at most 64 characters.')
  .superRefine(fromProblem((v) => textProblem('A name', v, 64)));

/** A person in the register, named by id or by name (names are unique in a register). */
export const personRef = z.string().trim().min(1).max(64);

export const keyLabelParam = z.string().superRefine(fromProblem(labelProblem));
const tag = z.string().superRefine(fromProblem(tagProblem));

export const personInputSchema = z.strictObject({
  name: personName,
  roles: z.array(z.enum(ROLES)).min(1).max(ROLES.length),
  credential: z.enum(CREDENTIAL_KINDS),
});
export type PersonInput = z.infer<typeof personInputSchema>;

export const setupParamsSchema = z.strictObject({
  /** The record's name, shown on every report (e.g. "Payments HSM, London"). */
  recordName: z.string().trim().min(1).max(120),
  /** PKCS#11 URI of the workstation token. */
  token: z.string().min(7).max(1024).startsWith('pkcs11:'),
  /** Practice record: its bundles and share sets are marked as practice and refused by production records. */
  practice: z.boolean(),
  people: z.array(personInputSchema).min(1).max(32),
  /** The quorum policy the people approve; the default policy when absent. */
  policy: policySchema.optional(),
});
export type SetupParams = z.infer<typeof setupParamsSchema>;

export const enrolmentParamsSchema = z.strictObject({
  add: z.array(personInputSchema).max(32),
  /** People whose enrolment ends (their credentials can approve nothing afterwards). */
  retire: z.array(personRef).max(32),
  /** A new policy; the current one stays when absent. */
  policy: policySchema.optional(),
});
export type EnrolmentParams = z.infer<typeof enrolmentParamsSchema>;

export const keyGenerationParamsSchema = z.strictObject({
  keyType: z.enum(KEY_TYPE_NAMES),
  label: keyLabelParam,
  usages: z.array(z.enum(USAGES)).min(1).max(USAGES.length),
  /** Extractable under wrap only (so it can be archived and backed up); otherwise it never leaves the HSM. */
  extractable: z.boolean(),
  purpose: z.enum(PURPOSES),
  tags: z.array(tag).max(20),
  /** The custodians responsible for the key (names or ids in the register). */
  custodians: z.array(personRef).max(16),
  description: z.string().trim().max(500).optional(),
  /** A PKCS#10 request is made for an asymmetric key when a subject is given ("CN=…,O=…,C=…"). */
  csrSubject: z.string().trim().min(3).max(1024).optional(),
});
export type KeyGenerationParams = z.infer<typeof keyGenerationParamsSchema>;

/** The archive's own keys, named as backup targets. */
export const ARCHIVE_TARGETS = ['archive-kek', 'archive-mac'] as const;

export const backupParamsSchema = z.strictObject({
  /** "archive-kek", "archive-mac", or the labels of keys generated extractable under wrap. */
  targets: z.array(z.string().trim().min(1).max(128)).min(1).max(32),
  /** SLIP-39 shares written down, XOR components, or SLIP-39 shares sealed to each holder's card. */
  scheme: z.enum(['slip39', 'xor', 'sealed']),
  /** Shares needed to restore (XOR: always every component). */
  threshold: z.number().int().min(1).max(16),
  /** One share per holder, in this order. */
  holders: z.array(personRef).min(1).max(16),
  /** SLIP-39 iteration exponent (PBKDF2 rounds = 10000 × 2^e); default 1. */
  iterationExponent: z.number().int().min(0).max(15).optional(),
});
export type BackupParams = z.infer<typeof backupParamsSchema>;

/** Restore and restore drill: which backup, which of its keys, who enters shares, into which token. */
export const restoreParamsSchema = z.strictObject({
  /** The backup ceremony (its run id in this record) whose blobs and share set are used. */
  backup: z.string().regex(/^[0-9a-f-]{36}$/, 'Name the backup by its ceremony id (custos ceremony list).'),
  /** Target names of that backup to restore (default: all of them). */
  targets: z.array(z.string().trim().min(1).max(128)).max(32).optional(),
  /** The holders who will enter their shares, in the order they come to the keyboard (at least the threshold). */
  holders: z.array(personRef).min(1).max(16),
  /** Restore only: the token to restore into (default: the workstation token). */
  destination: z.strictObject({ module: z.string().min(1).max(4096).optional(), token: z.string().min(1).max(1024) }).optional(),
});
export type RestoreParams = z.infer<typeof restoreParamsSchema>;

/** Archive retrieval: which archived version, why, and into what. */
export const retrievalParamsSchema = z.strictObject({
  /** The version: its id, or "LABEL@N" (archive search finds it, by label, tag, or "active for purpose P on date D"). */
  version: z.string().trim().min(1).max(200),
  /** Why it is retrieved — what old data it is to open; part of what the quorum approves. */
  purpose: z.string().trim().min(10, 'Say why the key is retrieved (what data, for whom), in a sentence.').max(500),
  /** A session object (gone when the session ends), a token object, or exported wrapped for another system. */
  into: z.enum(['session', 'token', 'export']),
  /** The label of the retrieved object (default: "LABEL (retrieved)"). */
  label: keyLabelParam.optional(),
  /** What the retrieved key may do (session, token); decrypt/verify/unwrap only is usual for old data. */
  usages: z.array(z.enum(USAGES)).min(1).max(USAGES.length).optional(),
  /** A token object's end date (CKA_START_DATE today, CKA_END_DATE) in days from now; Custos's own operations refuse it after. */
  validDays: z.number().int().min(1).max(3650).optional(),
  /** How many operations Custos's own key commands may do with the retrieved key (counted by Custos, not the token). */
  maxUses: z.number().int().min(1).max(1_000_000).optional(),
  /** Export only: AES-KWP under a KEK on the token, or RSA-OAEP + AES-KWP to a public key (PEM). */
  // allowWeaker: the receiver accepts no wrapping key as strong as the key (cloud KMS import keys are RSA-2048 to 4096).
  wrap: z.union([z.strictObject({ kek: z.string().trim().min(1).max(2048), allowWeaker: z.boolean().optional() }), z.strictObject({ publicKey: z.string().min(60).max(16_384), profile: z.string().trim().min(1).max(100).optional(), allowWeaker: z.boolean().optional() })]).optional(),
});
export type RetrievalParams = z.infer<typeof retrievalParamsSchema>;

/** Re-share: the same Backup Key, new holders or a new threshold; the wrapped keys stay as they are. */
export const reshareParamsSchema = z.strictObject({
  /** The backup (its ceremony id; a backup or an earlier re-share) whose share set is replaced. */
  backup: z.string().regex(/^[0-9a-f-]{36}$/, 'Name the backup by its ceremony id (custos ceremony list).'),
  /** Old holders who enter their shares, in the order they come to the keyboard (at least the old threshold). */
  from: z.array(personRef).min(1).max(16),
  /** SLIP-39 shares written down, or XOR components, for the new set. */
  scheme: z.enum(['slip39', 'xor']),
  /** New shares needed to restore (XOR: every component). */
  threshold: z.number().int().min(1).max(16),
  /** One new share per holder, in this order. */
  holders: z.array(personRef).min(1).max(16),
  /** SLIP-39 iteration exponent for the new shares; default 1. */
  iterationExponent: z.number().int().min(0).max(15).optional(),
  /** Rotate the Backup Key: a new one is split, the keys are re-wrapped under it in the HSM, and the old set (and the old backup) stops being restorable. */
  rotateBackupKey: z.boolean().optional(),
});
export type ReshareParams = z.infer<typeof reshareParamsSchema>;

/** Share audit: which backup's shares, and which holders check theirs (any of them; nothing is rebuilt). */
export const shareAuditParamsSchema = z.strictObject({
  /** The backup (or re-share) whose share set is checked. */
  backup: z.string().regex(/^[0-9a-f-]{36}$/, 'Name the backup by its ceremony id (custos ceremony list).'),
  /** Holders who check their share, in the order they come to the keyboard. */
  holders: z.array(personRef).min(1).max(16),
});
export type ShareAuditParams = z.infer<typeof shareAuditParamsSchema>;

/**
 * Destruction under dual control: what goes, and why. Token keys are named as the Keys screen shows
 * them (a label, or "id:HEX" for a CKA_ID); a key pair goes together. Archived versions are named by
 * id or "LABEL@N". The check step resolves each to its label, id, algorithm and check value, and
 * those go into the fingerprint with the reason.
 */
export const destructionParamsSchema = z.strictObject({
  keys: z.array(z.string().trim().min(1).max(200)).max(16),
  versions: z.array(z.string().trim().min(1).max(200)).max(16),
  /** Why the keys are destroyed; read aloud, approved with the fingerprint, on the certificate. */
  reason: z.string().trim().min(10, 'Say why the keys are destroyed, in a sentence (for example “end of the cryptoperiod; data re-keyed under DEK 2027”).').max(500),
  /** An active (or suspended) version is deactivated first, as a recorded part of the destroy step. Without it, such a version is refused. */
  deactivateActive: z.boolean().optional(),
});
export type DestructionParams = z.infer<typeof destructionParamsSchema>;
/**
 * Rotation of a managed key: which archived key. The new version's algorithm and usages are not
 * typed again: they are planned from the archived key (its algorithm, and the usages of the
 * ceremony that made its active version), so a rotation cannot quietly change what the key is.
 */
export const rotationParamsSchema = z.strictObject({
  /** The archived key: its label, or LABEL@N / the version id of its active version. */
  key: z.string().trim().min(1, 'Name the key to rotate (its label in the archive).').max(200),
  /** The new object's label on the token (default: "LABEL vN", N the new version's number). */
  label: keyLabelParam.optional(),
  /** Only for a key archived outside a ceremony (the archive does not know its usages); must match when it does. */
  usages: z.array(z.enum(USAGES)).min(1).max(USAGES.length).optional(),
});
export type RotationParams = z.infer<typeof rotationParamsSchema>;
const checkValueParam = z
  .string()
  .trim()
  .regex(/^([0-9A-Fa-f]{2}\s?){2,8}$/, 'A check value is 4 to 16 hexadecimal digits, as printed (e.g. 08D7B4).');

/** Forming a key from XOR components: the key to form, and one holder per component with the check value printed for it. */
export const componentFormParamsSchema = z.strictObject({
  label: keyLabelParam,
  algorithm: z.enum(['AES', 'TDES']),
  /** What the formed key may do (AES: encrypt, wrap, sign as CMAC; TDES: encrypt, wrap). */
  usages: z.array(z.enum(['encrypt', 'wrap', 'sign'])).min(1).max(3),
  /** Extractable under wrap (so it can be archived or backed up); never in plaintext. Default false. */
  extractable: z.boolean().optional(),
  /** One holder per component, in component order (2 to 9). */
  holders: z.array(personRef).min(2).max(9),
  /** The check value printed with each component, in the same order. */
  componentCheckValues: z.array(checkValueParam).min(2).max(9),
  /** The check value of the whole key, when the sending party gave one. */
  keyCheckValue: checkValueParam.optional(),
  /** The serial number of each component's sealed envelope, as recorded when it was sealed (a component-creation record), same order. */
  envelopes: z.array(z.string().trim().min(1).max(64)).min(2).max(9).optional(),
});
export type ComponentFormParams = z.infer<typeof componentFormParamsSchema>;
/** The keys a component-creation ceremony makes: AES, or TDES as PCI key components often are (2-key K1‖K2 or 3-key). */
export const COMPONENT_KEY_TYPES = ['aes-128', 'aes-192', 'aes-256', 'tdes-2key', 'tdes-3key'] as const;

/** Creating a key as XOR components: the key, one holder per component (2 to 9), and what the key is for. */
export const componentCreationParamsSchema = z.strictObject({
  label: keyLabelParam,
  algorithm: z.enum(COMPONENT_KEY_TYPES),
  /** What the key may do (AES: encrypt, wrap, sign as CMAC; TDES: encrypt, wrap). */
  usages: z.array(z.enum(['encrypt', 'wrap', 'sign'])).min(1).max(3),
  /** Extractable under wrap (so it is archived, and can be backed up); never in plaintext. Default false. */
  extractable: z.boolean().optional(),
  /** One holder per component, in component order. */
  holders: z.array(personRef).min(2).max(9),
  purpose: z.enum(PURPOSES),
  description: z.string().trim().max(500).optional(),
});
export type ComponentCreationParams = z.infer<typeof componentCreationParamsSchema>;
/**
 * Archive KEK rotation: no choices, only the confirmation of what the rotation will touch — the
 * current KEK's check value and the number of archived versions — as the planner read them on the
 * screen. Both must match the archive when the plan is made and again at the check step.
 */
export const kekRotationParamsSchema = z.strictObject({
  kekCheck: z.string({ error: 'Give the Archive KEK’s check value in quotes, as the archive shows it ("60e86def94"): unquoted, YAML may read a hex value as a number.' }).regex(/^[0-9a-f]{6,64}$/, 'Give the Archive KEK’s check value as the archive shows it (hex).'),
  versions: z.number().int().min(0).max(100_000_000),
});
export type KekRotationParams = z.infer<typeof kekRotationParamsSchema>;

/**
 * Rotation of one of the workstation's own keys: which one, and the confirmation of the key being
 * replaced as the planner read it from `custos archive info` (the audit key's fingerprint, or the
 * MAC key's check value). It must match the archive when the plan is made and again at the check step.
 */
export const workstationKeyRotationParamsSchema = z.discriminatedUnion('key', [
  z.strictObject({
    key: z.literal('audit'),
    current: z.string().regex(/^[0-9a-f]{64}$/, 'Give the audit key’s fingerprint as `custos archive info` shows it (64 hex digits).'),
  }),
  z.strictObject({ key: z.literal('mac'), current: z.string().regex(/^[0-9a-f]{10}$/, 'Give the MAC key’s check value as `custos archive info` shows it (10 hex digits).') }),
]);
export type WorkstationKeyRotationParams = z.infer<typeof workstationKeyRotationParamsSchema>;

export const PARAM_SCHEMAS = {
  'workstation-setup': setupParamsSchema,
  enrolment: enrolmentParamsSchema,
  'key-generation': keyGenerationParamsSchema,
  backup: backupParamsSchema,
  restore: restoreParamsSchema,
  'restore-drill': restoreParamsSchema.omit({ destination: true }),
  retrieval: retrievalParamsSchema,
  reshare: reshareParamsSchema,
  'share-audit': shareAuditParamsSchema,
  destruction: destructionParamsSchema,
  rotation: rotationParamsSchema,
  'component-form': componentFormParamsSchema,
  'kek-rotation': kekRotationParamsSchema,
  'component-creation': componentCreationParamsSchema,
  'workstation-key-rotation': workstationKeyRotationParamsSchema,
} as const satisfies Record<CeremonyType, z.ZodType>;

export type CeremonyParams = {
  'workstation-setup': SetupParams;
  enrolment: EnrolmentParams;
  'key-generation': KeyGenerationParams;
  backup: BackupParams;
  restore: RestoreParams;
  'restore-drill': Omit<RestoreParams, 'destination'>;
  retrieval: RetrievalParams;
  reshare: ReshareParams;
  'share-audit': ShareAuditParams;
  destruction: DestructionParams;
  rotation: RotationParams;
  'component-form': ComponentFormParams;
  'kek-rotation': KekRotationParams;
  'component-creation': ComponentCreationParams;
  'workstation-key-rotation': WorkstationKeyRotationParams;
};

/** Type-specific rules a schema cannot say. Each problem is a sentence. */
export function paramProblems(type: CeremonyType, params: unknown): string[] {
  const problems: string[] = [];
  if (type === 'key-generation') {
    const p = params as KeyGenerationParams;
    const info = KEY_TYPES.find((k) => k.type === p.keyType)!;
    for (const u of p.usages) if (!info.usages.includes(u)) problems.push(`A ${info.title} key cannot be used for "${u}"; choose from ${info.usages.join(', ')}.`);
    if (p.csrSubject && info.family !== 'asymmetric') problems.push('A certificate signing request needs an asymmetric key (RSA, EC or Ed25519).');
    if (new Set(p.custodians).size !== p.custodians.length) problems.push('A responsible custodian is named twice.');
  }
  if (type === 'backup') {
    const p = params as BackupParams;
    if (new Set(p.holders).size !== p.holders.length) problems.push('A holder is named twice: each holder receives exactly one share.');
    if (new Set(p.targets).size !== p.targets.length) problems.push('A target is named twice.');
    if (p.threshold > p.holders.length) problems.push(`The threshold (${p.threshold}) is larger than the number of holders (${p.holders.length}).`);
    if (p.scheme === 'xor' && p.threshold !== p.holders.length) problems.push('XOR components need every component to restore: the threshold must equal the number of holders.');
    if (p.scheme !== 'xor' && p.holders.length < 2) problems.push('A split-knowledge backup needs at least two holders.');
    if (p.scheme === 'xor' && p.holders.length < 2) problems.push('XOR components need at least two holders.');
  }
  if (type === 'reshare') {
    const p = params as ReshareParams;
    if (new Set(p.holders).size !== p.holders.length) problems.push('A new holder is named twice: each holder receives exactly one share.');
    if (new Set(p.from).size !== p.from.length) problems.push('An old holder is named twice: each old share counts once.');
    if (p.threshold > p.holders.length) problems.push(`The threshold (${p.threshold}) is larger than the number of new holders (${p.holders.length}).`);
    if (p.scheme === 'xor' && p.threshold !== p.holders.length) problems.push('XOR components need every component to restore: the threshold must equal the number of new holders.');
    if (p.holders.length < 2) problems.push('A split-knowledge backup needs at least two holders.');
  }
  if (type === 'component-form') {
    const p = params as ComponentFormParams;
    if (new Set(p.holders).size !== p.holders.length) problems.push('A holder is named twice: each component has its own holder (split knowledge).');
    if (p.componentCheckValues.length !== p.holders.length) problems.push(`${p.componentCheckValues.length} check values are given for ${p.holders.length} components: one check value per component, in order.`);
    if (p.algorithm === 'TDES' && p.usages.includes('sign')) problems.push('A TDES key formed here encrypts or wraps; it is not used for signing.');
    if (p.envelopes && p.envelopes.length !== p.holders.length) problems.push(`${p.envelopes.length} envelope serial numbers are given for ${p.holders.length} components: one per component, in order.`);
  }
  if (type === 'component-creation') {
    const p = params as ComponentCreationParams;
    if (new Set(p.holders).size !== p.holders.length) problems.push('A holder is named twice: each component has its own holder (split knowledge).');
    if (p.algorithm.startsWith('tdes') && p.usages.includes('sign')) problems.push('A TDES key made here encrypts or wraps; it is not used for signing.');
  }
  if (type === 'share-audit') {
    const p = params as ShareAuditParams;
    if (new Set(p.holders).size !== p.holders.length) problems.push('A holder is named twice: each holder checks their share once.');
  }
  if (type === 'restore' || type === 'restore-drill') {
    const p = params as RestoreParams;
    if (new Set(p.holders).size !== p.holders.length) problems.push('A holder is named twice: each share counts once.');
  }
  if (type === 'retrieval') {
    const p = params as RetrievalParams;
    if (p.into === 'export' && !p.wrap) problems.push('An export needs its target: a KEK on the token (wrap.kek) or the receiver’s RSA public key (wrap.publicKey).');
    if (p.into !== 'export' && p.wrap) problems.push('A wrap target is only for into: export.');
    if (p.into !== 'export' && !p.usages) problems.push('Say what the retrieved key may do (usages).');
    if (p.into === 'export' && (p.usages || p.validDays || p.maxUses || p.label)) problems.push('An export leaves nothing on the token: usages, validDays, maxUses and label are for session or token retrievals.');
  }
  if (type === 'destruction') {
    const p = params as DestructionParams;
    if (p.keys.length + p.versions.length === 0) problems.push('Name at least one key on the token or one archived version to destroy.');
    if (new Set(p.keys).size !== p.keys.length) problems.push('A key is named twice.');
    if (new Set(p.versions).size !== p.versions.length) problems.push('A version is named twice.');
  }
  if (type === 'workstation-setup') {
    const p = params as SetupParams;
    const names = p.people.map((x) => x.name.toLowerCase());
    if (new Set(names).size !== names.length) problems.push('Two people have the same name: names must tell people apart when read aloud.');
  }
  if (type === 'enrolment') {
    const p = params as EnrolmentParams;
    const names = p.add.map((x) => x.name.toLowerCase());
    if (new Set(names).size !== names.length) problems.push('Two new people have the same name.');
    if (p.add.length === 0 && p.retire.length === 0 && !p.policy) problems.push('Nothing to change: add people, retire people or give a new policy.');
  }
  return problems;
}
