// Over 400 lines because it is the one table of every method the window may call, each with the
// schema of its input: a security review reads the whole surface in one place.
import { z } from 'zod';
import type { GeneratedKey, KeyDetail, KeyEntry, TokenCapabilities } from './keys';
import type { AppError } from './result';
import { KEY_STATES, LIFECYCLE_ACTIONS, type KeyState } from './archive/lifecycle';
import { PURPOSES } from './archive/policy';
import type { ArchiveInfo, AuditPage, SearchPage, VerifyVerdict, VersionDetail, VersionSummary } from './archive/types';
import type { SecretCheckValue, ShareFailureReason } from './shares';
import { actSchema, planSchema, runRefSchema, type ActView, type BundleVerdictView, type DefinitionView, type RecordView, type RunSummaryView } from './ceremony/contract';
import type { RunView } from './ceremony/view';
import { artefactSchema, fileNameSchema, LOADABLE_KINDS, type OpenOutcome, type SaveOutcome, type SavePlace } from './files';

// The one contract between the renderer and the main process. Every operation is a named method
// with an input schema (checked in main: the renderer is untrusted) and an output type. The
// preload API, the main-process handlers and the preview shell's binding are all derived from
// this table, so there is no generic invoke(channel, anything) anywhere.

const pin = z
  .string()
  .min(1, 'Enter the PIN.')
  .max(255, 'A PIN is at most 255 characters.')
  .refine((s) => !s.includes('\0'), 'A PIN cannot contain a NUL character.');

const modulePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => s.startsWith('/'), 'Give the absolute path of the PKCS#11 module (.so file).')
  .refine((s) => !s.includes('\0'), 'The path contains a NUL character.');

const tokenUriInput = z.string().min(7).max(1024).startsWith('pkcs11:');

const none = z.strictObject({});

const tokenRef = { module: modulePath, token: tokenUriInput };
const keySelector = z.string().min(1).max(2048);
const keyLabel = z
  .string()
  .trim()
  .min(1, 'Give the key a label.')
  .max(128, 'A label is at most 128 characters.')
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  .refine((s) => !/[\u0000-\u001f]/.test(s), 'A label cannot contain control characters.');

export const tokenFlagsSchema = z.object({
  loginRequired: z.boolean(),
  initialized: z.boolean(),
  userPinInitialized: z.boolean(),
  protectedAuthenticationPath: z.boolean(),
  writeProtected: z.boolean(),
  rng: z.boolean(),
  userPinCountLow: z.boolean(),
  userPinFinalTry: z.boolean(),
  userPinLocked: z.boolean(),
  userPinToBeChanged: z.boolean(),
  soPinCountLow: z.boolean(),
  soPinFinalTry: z.boolean(),
  soPinLocked: z.boolean(),
});
export type TokenFlags = z.infer<typeof tokenFlagsSchema>;

export interface TokenInfo {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  uri: string;
  flags: TokenFlags;
  minPinLength: number;
  maxPinLength: number;
  /** Who this app is logged in as on the token, if anyone. */
  loggedIn: 'user' | 'so' | null;
  demo: boolean;
}

export interface SlotEntry {
  module: string;
  slotId: string;
  slotDescription: string;
  slotManufacturer: string;
  removable: boolean;
  hardware: boolean;
  token: TokenInfo | null;
}

export interface ModuleEntry {
  path: string;
  name: string;
  source: 'configured' | 'demo' | 'p11-kit';
  /** Configured modules are loaded; discovered ones are only offered. */
  enabled: boolean;
  status: 'loaded' | 'error' | 'not-loaded';
  error?: AppError;
  library?: { manufacturer: string; description: string; version: string; cryptokiVersion: string };
}

export interface TokenListing {
  modules: ModuleEntry[];
  slots: SlotEntry[];
}

export interface AppInfo {
  version: string;
  shell: 'electron' | 'preview';
  dataDir: string;
  demo: { available: boolean; exists: boolean; reason?: string; label: string };
}

export { DEMO_TOKEN_LABEL } from './demo';

/** A person who may act at this workstation outside ceremonies (operator or administrator). */
export interface OperatorView {
  person: string;
  name: string;
  roles: string[];
}

/**
 * What the workstation record says about who acts here: no record yet, a plain archive (no
 * register), a practice record, or a production record — where every security-relevant action
 * must name one of `people`.
 */
export interface OperatorPolicy {
  record: 'none' | 'plain' | 'practice' | 'production';
  required: boolean;
  people: OperatorView[];
}

// ---- Shares: checking one share against its record, and restore drills ----------------------
// Everything below is public: share-set records hold no share, word or secret, and drills answer
// with positions, holders, fingerprints and check values only. Share words cross IPC one share
// at a time (shares.verify, drill.addShare) and never come back.

/** One share of a recorded set, as people name it. */
export interface ShareView {
  /** 0-based, as stored; people see groupIndex + 1. */
  groupIndex: number;
  /** 0-based, as stored; people see memberIndex + 1. */
  memberIndex: number;
  holder: string | null;
  /** "share 2 of 3" or "group 1, share 2 of 3". */
  position: string;
  /** Recorded share fingerprint, grouped for reading aloud ("9F3A 01C2 …"). */
  fingerprint: string;
}

/** The public content of a share-set record (custos.shareset v1), checked by main. */
export interface ShareSetView {
  identifier: number;
  label: string | null;
  ceremonyId: string | null;
  createdAt: string;
  /** Words per share. */
  words: number;
  secretBytes: number;
  extendable: boolean;
  iterationExponent: number;
  groupThreshold: number;
  groupCount: number;
  groups: Array<{ groupIndex: number; memberThreshold: number; memberCount: number }>;
  shares: ShareView[];
  secretCheck: SecretCheckValue | null;
  /** What recovery needs, in one sentence. */
  quorum: string;
}

/** The verdict on one share checked against a record alone. */
export type ShareVerdict =
  | { ok: true; share: ShareView; message: string }
  | {
      ok: false;
      reason: ShareFailureReason;
      error: AppError;
      /** 1-based word number, when one word is at fault. */
      word?: number;
      /** The recorded share this one claims to be, when it says so. */
      share?: ShareView;
    };

export interface DrillGroupProgress {
  groupIndex: number;
  memberThreshold: number;
  memberCount: number;
  entered: number;
  remaining: number;
  complete: boolean;
}

/** A restore drill in progress: which shares are in (by position, never their words), what is missing. */
export interface DrillState {
  drillId: string;
  record: ShareSetView;
  /** Shares accepted so far, in the order they were entered. */
  entered: ShareView[];
  groups: DrillGroupProgress[];
  groupsComplete: number;
  groupsRemaining: number;
  /** Enough shares to recombine: drill.finish may be called. */
  ready: boolean;
  /** One or two sentences for the people in the room. */
  summary: string;
  /** When the drill ends by itself if nothing happens (ISO 8601); its shares are then wiped. */
  expiresAt: string;
}

/** What a finished drill proves. Never the secret: only its check value. */
export interface DrillResult {
  set: number;
  /** The shares that were combined. */
  used: ShareView[];
  secretBytes: number;
  checkValue: SecretCheckValue;
  /** AES secrets only: the legacy "encrypt zeros" check value (3 bytes, hex). */
  legacyCheckValue?: string;
  /** The check value written in the record at the ceremony, if any. */
  recorded: SecretCheckValue | null;
  /** true: the recovered secret is the recorded one; false: it is not; null: nothing to compare. */
  matches: boolean | null;
  passphraseGiven: boolean;
  /**
   * After a mismatch the drill stays open (its shares still held in main) so that another
   * passphrase can be tried without entering every share again; otherwise it has ended.
   */
  drillOpen: boolean;
}

const recordJson = z
  .string()
  .min(2, 'Paste the share-set record.')
  .max(65_536, 'A share-set record is at most 64 KB; this is not one.');
// Lowercase words separated by single spaces: the renderer normalises what was typed.
const mnemonic = z
  .string()
  .min(1, 'Enter the share.')
  .max(400, 'A share is at most 400 characters (44 words).')
  .regex(/^[a-z]+(?: [a-z]+)*$/, 'A share is words of letters a-z separated by single spaces.');
const drillId = z.uuid('This is not a drill identifier.');
const holderName = z.string().trim().min(1).max(64);
const sharePositionInput = z.strictObject({ groupIndex: z.number().int().min(0).max(15), memberIndex: z.number().int().min(0).max(15) });
const passphrase = z
  .string()
  .max(1024, 'A passphrase is at most 1024 characters.')
  .refine((s) => !s.includes('\0'), 'A passphrase cannot contain a NUL character.');

// ---- The key archive and its audit log ---------------------------------------------------------
// One archive per data folder (<data folder>/archive.sqlite). Reading (status, search, version,
// trail, verify, export) needs no HSM; init, add and transition need the token holding the
// archive keys, logged in as user. Nothing here ever carries key material: check values,
// fingerprints and "wrapped material present" only.

export type ArchiveStatus =
  | { exists: false; path: string }
  | {
      exists: true;
      path: string;
      info: ArchiveInfo;
      /** The token holding the archive's keys, as recorded at creation (null if not recorded). */
      token: { uri: string; label: string | null } | null;
    };

export interface AddedVersion {
  versionId: string;
  keyId: string;
  label: string;
  version: number;
  algorithm: string;
  state: KeyState;
  checkValue: string | null;
  fingerprint: string | null;
}

export interface AuditExport {
  dir: string;
  entries: number;
  checkpoints: number;
  /** The files written into `dir`, with their sizes and SHA-256 (as listed in the manifest). */
  files: Array<{ name: string; bytes: number; sha256: string | null }>;
}

const archiveId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'This is not an archive identifier.');
const archiveName = z
  .string()
  .trim()
  .min(1, 'Give the archive a name.')
  .max(100, 'A name is at most 100 characters.')
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  .refine((s) => !/[\u0000-\u001f]/.test(s), 'A name cannot contain control characters.');
const archiveDate = z.string().min(4).max(40);
const archiveTag = z.string().trim().min(1).max(64);
const purposeSchema = z.enum(PURPOSES);
const dateRange = z.strictObject({ from: archiveDate.optional(), to: archiveDate.optional() });
const archiveQuery = z.strictObject({
  label: z.string().min(1).max(129).optional(),
  tags: z.array(archiveTag).max(10).optional(),
  algorithm: z.array(z.string().regex(/^[a-z0-9-]{1,32}$/)).max(20).optional(),
  state: z.array(z.enum(KEY_STATES)).max(7).optional(),
  purpose: z.array(purposeSchema).max(8).optional(),
  created: dateRange.optional(),
  activated: dateRange.optional(),
  deactivated: dateRange.optional(),
  rotationDue: dateRange.optional(),
  activeFor: z.strictObject({ purpose: purposeSchema, on: archiveDate }).optional(),
  sort: z.enum(['label', 'created', 'activation', 'rotation-due']).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  limit: z.number().int().min(1).max(200).optional(),
  offset: z.number().int().min(0).max(10_000_000).optional(),
  countTotal: z.boolean().optional(),
});

// Curried so that the output type is given and the input type is inferred from the schema.
const method =
  <O>() =>
  <I extends z.ZodType>(input: I, description: string) => ({ input, description, output: undefined as unknown as O });

export const contract = {
  'app.info': method<AppInfo>()(none, 'Version, shell and data folder.'),
  'tokens.list': method<TokenListing>()(none, 'Modules, slots and tokens, with flags.'),
  'modules.add': method<ModuleEntry>()(
    z.strictObject({ path: modulePath }),
    'Configure a PKCS#11 module by path; it is loaded and checked before it is saved.',
  ),
  'modules.remove': method<{ removed: boolean }>()(z.strictObject({ path: modulePath }), 'Forget a configured module.'),
  'tokens.createDemo': method<SlotEntry>()(
    z.strictObject({ soPin: pin, userPin: pin }),
    'Create the SoftHSM2 demo token in the data folder.',
  ),
  'session.login': method<SlotEntry>()(
    z.strictObject({ module: modulePath, token: tokenUriInput, pin, role: z.enum(['user', 'so']), person: z.string().trim().min(1).max(200).optional() }),
    'Log in to a token with a PIN, as a person from the register (they act for what is done with it until logout).',
  ),
  'session.operators': method<OperatorPolicy>()(none, 'Who may act at this workstation (active operators and administrators), and whether one must be named.'),
  'session.logout': method<SlotEntry>()(
    z.strictObject({ module: modulePath, token: tokenUriInput }),
    'Log out of a token.',
  ),
  'keys.capabilities': method<TokenCapabilities>()(
    z.strictObject(tokenRef),
    'Mechanisms the token offers, and which key types, signatures and wraps Custos can use on it.',
  ),
  'keys.list': method<KeyEntry[]>()(z.strictObject(tokenRef), 'Keys on a token (pairs grouped).'),
  'keys.show': method<KeyDetail>()(z.strictObject({ ...tokenRef, key: keySelector }), 'One key with its check value or fingerprint.'),
  'keys.generate': method<GeneratedKey>()(
    z.strictObject({
      ...tokenRef,
      type: z.enum(['aes-128', 'aes-192', 'aes-256', 'hmac-256', 'tdes', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ec-p256', 'ec-p384', 'ed25519']),
      label: keyLabel,
      usages: z.array(z.enum(['encrypt', 'sign', 'wrap', 'derive'])).min(1, 'Choose at least one use.').max(4),
      extractable: z.boolean(),
    }),
    'Generate a key inside the token.',
  ),
  'keys.exportPublic': method<{ text: string }>()(
    z.strictObject({ ...tokenRef, key: keySelector, format: z.enum(['pem', 'jwk']) }),
    'The public key as PEM (SPKI) or JWK.',
  ),
  'keys.csr': method<{ pem: string }>()(
    z.strictObject({ ...tokenRef, key: keySelector, subject: z.string().min(3).max(1024) }),
    'A PKCS#10 certificate signing request signed by the key in the token.',
  ),
  'keys.destroy': method<{ destroyed: number }>()(
    z.strictObject({ ...tokenRef, key: keySelector, confirmLabel: z.string().max(128) }),
    'Destroy a key (both halves of a pair); the label must be typed again to confirm.',
  ),
  'shares.readRecord': method<ShareSetView>()(
    z.strictObject({ recordJson }),
    'Read and check a share-set record (custos.shareset v1): its set, groups, holders and fingerprints.',
  ),
  'shares.verify': method<ShareVerdict>()(
    z.strictObject({ recordJson, mnemonic, holder: holderName.optional() }),
    'Check ONE share against its share-set record alone: which share it is and who holds it, or exactly why not.',
  ),
  'drill.start': method<DrillState>()(
    z.strictObject({ recordJson }),
    'Open a restore drill for a recorded share set; its shares are held in main-process memory only.',
  ),
  'drill.addShare': method<DrillState>()(
    z.strictObject({ drillId, mnemonic, expected: sharePositionInput.optional() }),
    'Add one share to a drill (checked against the record, and against the expected holder if given).',
  ),
  'drill.finish': method<DrillResult>()(
    z.strictObject({ drillId, passphrase: passphrase.optional() }),
    "Recombine the drill's shares in main and compare the secret's check value with the record; the secret is wiped, never returned.",
  ),
  'drill.cancel': method<{ cancelled: boolean }>()(z.strictObject({ drillId }), "End a drill and wipe its shares."),
  'archive.status': method<ArchiveStatus>()(
    none,
    'Whether the data folder holds an archive; if so its name, counts, keys and the token that holds them (no HSM needed).',
  ),
  'archive.init': method<ArchiveStatus>()(
    z.strictObject({ ...tokenRef, name: archiveName }),
    'Create the archive in the data folder and its Archive KEK, MAC key and audit signing key in the HSM (log in first).',
  ),
  'archive.search': method<SearchPage>()(archiveQuery, 'Search archived key versions (read-only; no HSM needed).'),
  'archive.version': method<VersionDetail>()(
    z.strictObject({ versionId: archiveId }),
    'One archived version: state, dates, check value or fingerprint, history, allowed lifecycle steps. Never the material.',
  ),
  'archive.add': method<AddedVersion>()(
    z.strictObject({
      ...tokenRef,
      key: z.strictObject({ label: z.string().max(128), idHex: z.string().regex(/^[0-9a-f]{0,256}$/), kind: z.enum(['secret', 'private']) }),
      label: keyLabel,
      purpose: purposeSchema,
      tags: z.array(archiveTag).max(20),
      description: z.string().trim().max(500).optional(),
      activate: z.boolean(),
      activationDate: archiveDate.optional(),
    }),
    'Archive an extractable key from the token: wrapped under the Archive KEK inside the HSM, MACed and audited (log in first).',
  ),
  'archive.transition': method<VersionSummary>()(
    z.strictObject({ ...tokenRef, versionId: archiveId, action: z.enum(LIFECYCLE_ACTIONS), reason: z.string().trim().max(500).optional() }),
    'One lifecycle step on an archived version (only the steps the lifecycle allows; log in first).',
  ),
  'audit.trail': method<AuditPage>()(
    z.strictObject({ keyId: archiveId.optional(), limit: z.number().int().min(1).max(200), beforeSeq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional() }),
    'Audit entries, newest first: all, or those about one key (read-only).',
  ),
  'audit.verify': method<VerifyVerdict>()(none, 'Recompute the audit hash chain and check every checkpoint signature (no HSM needed).'),
  'audit.export': method<AuditExport>()(
    none,
    'Write the audit log for offline verification into a new folder under <data folder>/exports/ and list its files.',
  ),
  'ceremony.record': method<RecordView>()(none, 'The workstation record: whether it exists, practice or production, the people enrolled and the quorum policy (read-only).'),
  'ceremony.definitions': method<DefinitionView[]>()(none, 'The built-in ceremony definitions.'),
  'ceremony.list': method<RunSummaryView[]>()(none, 'Ceremonies planned, running, interrupted and finished (read-only).'),
  'ceremony.view': method<RunView>()(runRefSchema, 'One ceremony as the screens show it: steps, who acts now, what is needed, fingerprint, exceptions (read-only).'),
  'ceremony.plan': method<RunView>()(planSchema, 'Plan a ceremony: the definition is checked before the HSM is touched, then the parameters and the people; the fingerprint is computed over every resolved value.'),
  'ceremony.act': method<ActView>()(actSchema, 'One action in a ceremony by a named person; roles, quorum and freshness are checked in main against the journal.'),
  'ceremony.bundle': method<BundleVerdictView>()(runRefSchema, 'Verify the evidence bundle of a finished ceremony against the pinned audit key.'),
  'files.where': method<SavePlace>()(none, 'Where saves go: a save dialog (Electron), or the folder the preview shell was started with and the files in it.'),
  'files.save': method<SaveOutcome>()(
    z.strictObject({ artefact: artefactSchema, replace: z.boolean().optional() }),
    'Save a named artefact (public key, CSR, audit export, evidence bundle or its PDF) where the person chooses; main makes the bytes, writes atomically and audits the save.',
  ),
  'files.open': method<OpenOutcome>()(
    z.strictObject({ kind: z.enum(LOADABLE_KINDS), name: fileNameSchema.optional() }),
    'Load a share-set record or a sealed share (its envelope; only its card opens it, in main) from a file the person chooses: read bounded and checked by its schema.',
  ),
  'ceremony.cancel': method<{ cancelled: boolean }>()(runRefSchema, 'Ask the long step in flight (a KEK rotation) to stop after its current batch; the run can be resumed. False when nothing of that run can be cancelled.'),
} as const;

export type Contract = typeof contract;
export type MethodName = keyof Contract;
export type MethodInput<M extends MethodName> = z.infer<Contract[M]['input']>;
export type MethodOutput<M extends MethodName> = Contract[M]['output'];

export const METHOD_NAMES = Object.keys(contract) as MethodName[];

/** The API the renderer sees: one promise-returning function per contract method. */
export type CustosApi = {
  [M in MethodName]: (input: MethodInput<M>) => Promise<import('./result').Result<MethodOutput<M>>>;
};

/** IPC channel name for a method; the preload and main both derive it from here. */
export const channelOf = (m: MethodName): string => `custos:${m}`;
