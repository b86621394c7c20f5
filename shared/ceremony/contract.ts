// The ceremony part of the renderer ↔ main contract (shared/contract.ts includes it): input schemas
// for every ceremony method and the shapes that come back. PINs, passphrases and share words cross
// here once per request and are never sent back; the engine in main checks every action against
// the run's journal (roles, quorum, freshness) — these schemas only check the shape.
import { z } from 'zod';
import type { Policy } from './policy';
import type { CredentialKind, Role } from './roles';
import { ROLES } from './roles';
import type { RunView } from './view';

const secretText = (max: number, what: string) =>
  z
    .string()
    .min(1, `Enter the ${what}.`)
    .max(max, `The ${what} is at most ${max} characters.`)
    .refine((s) => !s.includes('\0'), `The ${what} cannot contain a NUL character.`);

const modulePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => s.startsWith('/'), 'Give the absolute path of the PKCS#11 module (.so file).');
const tokenSelector = z.string().min(1).max(1024);
const ref = z.string().trim().min(1).max(128);
const runId = z.string().regex(/^[0-9a-f-]{36}$/, 'This is not a ceremony id.');
const words = (max: number) => z.string().trim().min(1).max(max);

const cardSchema = z.strictObject({ module: modulePath, token: tokenSelector, pin: secretText(255, 'card PIN') });
export const proofSchema = z.union([
  z.strictObject({ card: cardSchema }),
  z.strictObject({ passphrase: secretText(1024, 'passphrase') }),
]);

export const actionSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('run') }),
  z.strictObject({ kind: z.literal('login'), pin: secretText(255, 'PIN').nullable() }),
  z.strictObject({ kind: z.literal('present'), person: ref, proof: proofSchema }),
  z.strictObject({ kind: z.literal('confirm-fingerprint'), fingerprint: z.string().regex(/^[0-9a-f]{64}$/) }),
  z.strictObject({ kind: z.literal('enrol'), person: ref, proof: proofSchema }),
  z.strictObject({ kind: z.literal('approve'), step: ref, person: ref, proof: proofSchema }),
  z.strictObject({
    kind: z.literal('approve-signed'),
    step: ref,
    person: ref,
    counter: z.number().int().min(1).max(1_000_000),
    nonce: z.string().regex(/^[0-9a-f]{32}$/),
    fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
    signature: z.string().regex(/^[0-9a-f]{128}$/),
  }),
  z.strictObject({ kind: z.literal('challenge'), step: ref }),
  z.strictObject({ kind: z.literal('reveal'), holder: ref }),
  z.strictObject({ kind: z.literal('handed-over'), holder: ref }),
  z.strictObject({ kind: z.literal('verify-share'), holder: ref, share: secretText(2000, 'share') }),
  /** A sealed backup's hand-over: the holder's share sealed to their own card (main only sees the words); then its file is saved. */
  z.strictObject({ kind: z.literal('seal-share'), holder: ref, card: cardSchema }),
  z.strictObject({ kind: z.literal('envelope-saved'), holder: ref }),
  z.strictObject({ kind: z.literal('commit'), soPin: secretText(255, 'SO PIN').nullable() }),
  /** Restore and drill: one holder's share (SLIP-39 words or an XOR component), checked in main as it is entered. */
  z.strictObject({ kind: z.literal('enter-share'), holder: ref, share: secretText(2000, 'share') }),
  /** Restore, drill, re-share, share audit: a share sealed to the holder's card (the envelope file's text), opened in that card in main. */
  z.strictObject({ kind: z.literal('unseal-share'), holder: ref, envelope: z.string().min(2).max(16_384), card: cardSchema }),
  /** Restore and drill: unwrap the keys; the destination token's user PIN when it is not logged in already. */
  z.strictObject({ kind: z.literal('unwrap'), destPin: secretText(255, 'destination token PIN').nullable() }),
  /** Re-share: an old holder attests, signing with their card, that their old share is destroyed. */
  z.strictObject({ kind: z.literal('attest'), person: ref, proof: proofSchema }),
  /** Share audit: one holder's share, checked in main against the record, never kept. */
  z.strictObject({ kind: z.literal('audit-share'), holder: ref, share: secretText(2000, 'share') }),
  /** Forming a key: one holder's XOR component (hex), checked in main against its printed check value. */
  z.strictObject({ kind: z.literal('enter-component'), holder: ref, component: secretText(200, 'component') }),
  /** Creating components: the holder has their printed sheet; then the check value read from it and the envelope's serial. */
  z.strictObject({ kind: z.literal('component-printed'), holder: ref }),
  z.strictObject({ kind: z.literal('seal-component'), holder: ref, checkValue: secretText(200, 'check value'), envelope: z.string().max(200) }),
  z.strictObject({ kind: z.literal('tick'), step: ref.optional() }),
  z.strictObject({ kind: z.literal('exception'), role: z.enum(ROLES), step: ref.nullable(), expected: words(1000), happened: words(1000) }),
  z.strictObject({ kind: z.literal('decide'), id: ref, decision: words(1000) }),
  z.strictObject({ kind: z.literal('acknowledge'), id: ref }),
  z.strictObject({ kind: z.literal('abort'), reason: words(500) }),
  z.strictObject({ kind: z.literal('resume') }),
]);
export type CeremonyActionInput = z.infer<typeof actionSchema>;

export const planSchema = z.strictObject({
  module: modulePath,
  token: tokenSelector,
  /** A built-in definition's id, or a definition file's text (YAML or JSON). */
  definition: z.union([z.string().min(1).max(96), z.strictObject({ text: z.string().min(1).max(200_000) })]),
  /** Checked in main against the ceremony type's parameter schema (shared/ceremony/params.ts). */
  params: z.record(z.string().max(40), z.unknown()),
  participants: z.array(z.strictObject({ person: ref, roles: z.array(z.enum(ROLES)).min(1).max(ROLES.length) })).max(32),
});

export const actSchema = z.strictObject({
  module: modulePath,
  token: tokenSelector,
  run: runId,
  /** Who does it (register id or name); null: the one participant with the step's role. */
  by: ref.nullable(),
  action: actionSchema,
});

export const runRefSchema = z.strictObject({ run: runId });

export interface RecordView {
  exists: boolean;
  name: string | null;
  practice: boolean;
  token: string | null;
  policy: Policy;
  /** Completed backups with their drill status: the last drill, when the next is due, and whether it is overdue. */
  /** A re-share is listed as a backup of its own (the same Backup Key, its new share set); `reshareOf` names the set it replaced, `resharedBy` the re-shares of this one. */
  backups: Array<{ run: string; at: string; targets: string[]; scheme: string; threshold: number; holders: string[]; lastDrill: string | null; drillDue: string; overdue: boolean; reshareOf: string | null; resharedBy: string[]; lastAudit: string | null }>;
  people: Array<{ id: string; name: string; roles: Role[]; status: string; credential: { kind: CredentialKind | string; fingerprint: string; card: { serial: string; model: string } | null } | null }>;
}

export interface DefinitionView {
  id: string;
  revision: number;
  type: string;
  title: string;
  summary: string | null;
  steps: Array<{ id: string; kind: string; title: string }>;
}

export interface RunSummaryView {
  run: string;
  type: string;
  title: string;
  status: 'running' | 'aborted' | 'completed';
  practice: boolean;
  startedAt: string;
  endedAt: string | null;
  fingerprint: string;
}

export interface RevealView {
  holder: string;
  name: string;
  index: number;
  of: number;
  scheme: string;
  share: string;
  checkValue: string | null;
  fingerprint: string | null;
}

/** A sealed backup's hand-over: where the holder's share was sealed (no secret; the envelope itself is saved by main). */
export interface SealedView {
  holder: string;
  name: string;
  index: number;
  of: number;
  fileName: string;
  sealedTo: { keyType: string; spkiSha256: string; keyLabel: string; tokenLabel: string; tokenSerial: string; generated: boolean; envelopeSha256: string };
}

export interface ActView {
  view: RunView;
  reveal?: RevealView;
  sealed?: SealedView;
  bundle?: { path: string; hash: string };
  challenge?: { run: string; fingerprint: string; step: string; counter: number; nonce: string };
}

export interface BundleVerdictView {
  ok: boolean;
  path: string;
  hash: string | null;
  pinned: boolean;
  checks: Array<{ check: string; ok: boolean; detail?: string }>;
}

/** Events main sends to the renderer (shared/api.ts onEvent): a run changed; progress of long work. */
export type CeremonyEvent = { type: 'ceremony.changed'; run: string; status: string; step: string | null } | { type: 'progress'; run: string; step: string; done: number; total: number; message: string };

/**
 * The events' schema. Main is trusted, but the page checks every event against it before any
 * listener sees it (shared/api.ts), as main checks every request: a channel that the page listens
 * on is still input, and a malformed event must be dropped, not half-handled.
 */
export const ceremonyEventSchema: z.ZodType<CeremonyEvent> = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ceremony.changed'), run: runId, status: z.string().min(1).max(32), step: z.string().min(1).max(128).nullable() }),
  z.strictObject({
    type: z.literal('progress'),
    run: runId,
    step: z.string().min(1).max(128),
    done: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    total: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    message: z.string().max(500),
  }),
]);
