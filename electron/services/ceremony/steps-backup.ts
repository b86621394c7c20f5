// Split-knowledge backup of the archive's keys (and of keys extractable under wrap).
//
//   check            the targets exist and may leave the HSM wrapped; whether the token enforces
//                    trusted wrapping (CKA_WRAP_WITH_TRUSTED) — if not, an exception is recorded
//   make-backup-key  32 bytes from the token's RNG, kept in this process's memory only
//   split            SLIP-39 shares (t of n) or XOR components, one per holder; the share-set
//                    record (no share in it) goes to the journal
//   hand-over        one holder at a time: only that holder's share is shown
//   verify-shares    every holder re-enters their share; each is checked on its own, a wrong one
//                    is named by its position and holder
//   commit-backup    only now: the SO creates the Backup Key in the HSM as a trusted key (a second
//                    host process, logged in as SO), the user session wraps the targets under it
//                    (AES-KWP, RFC 5649) and destroys it; the blobs go to the journal and the
//                    bundle, the Backup Key is zeroised, the share set is recorded
//
// Cancelling (or a crash) before the commit leaves every earlier backup as it was: nothing of the
// new one exists outside this process's memory.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { BackupParams } from '../../../shared/ceremony/params';
import { currentStep, SYSTEM, type RunState } from '../../../shared/ceremony/run';
import { splitKey } from '../../../shared/components/xor';
import { createShareSetRecord, serializeShareSetRecord } from '../../../shared/shares/record';
import { decodeMnemonic, splitSecret, webCryptoSlip39 } from '../../../shared/slip39';
import { CustosError, fail } from '../../../shared/result';
import type { ObjectRef } from '../../hsm/protocol';
import { hsmKeyCheck } from '../hsm-kcv';
import { keyCheckValues, secretCheckValue } from '../kcv';
import { append, requireNotInterrupted, requireRunnable, requireRunning } from './engine';
import { blobSha256 } from './journal-chain';
import { withFingerprint } from './plan';
import type { SealKdf } from '../../hsm/protocol';
import type { SealedShare } from '../shares/sealed';
import type { BackupSecret } from './secrets';
import { checkTokenPin, complete, journaled } from './steps-common';
import { stepActor, type StepContext } from './step-context';

export interface Target {
  name: string;
  label: string;
  idHex: string;
  kind: 'secret' | 'private';
  keyType: string | null;
  wrapWithTrusted: boolean | null;
  /** The key's check value when it was backed up (CMAC for AES, HMAC of zeros for HMAC keys). */
  checkValue: string | null;
  checkMethod: 'aes-cmac' | 'hmac-sha256-zeros' | 'spki-sha256' | null;
}

type ResolvedBackup = Omit<BackupParams, 'holders' | 'targets'> & {
  holders: Array<{ person: string; name: string }>;
  targets: Array<{ name: string; archiveKey: boolean }>;
  iterationExponent: number;
};

const params = (s: RunState) => s.plan.params as unknown as ResolvedBackup;
const tok = (ctx: StepContext) => ({ path: ctx.session.module, token: ctx.session.token });

function outcomeOf(s: RunState, kind: string): Record<string, unknown> {
  const step = s.steps.find((x) => x.kind === kind);
  const o = step ? s.step[step.id]!.outcome : null;
  if (!o) fail('CEREMONY_STEP_BLOCKED', `The “${kind}” step has not run yet.`, 'Run the steps in order.');
  return o;
}

export function secretOf(ctx: StepContext): BackupSecret {
  const sec = ctx.secrets.get(ctx.run.state.plan.run);
  if (!sec) fail('CEREMONY_INTERRUPTED', 'The Backup Key and its shares are not in this process: they were lost when the process that made them stopped.', 'Resume the ceremony: the share set is voided and a new one is made.');
  return sec;
}

// ---- check ------------------------------------------------------------------------------------

export async function runCheckBackup(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const actor = stepActor(ctx, 'administrator');
  const p = params(ctx.run.state);
  const info = ctx.record.info;
  const targets: Target[] = [];
  for (const t of p.targets) {
    const ref: ObjectRef = t.name === 'archive-kek' ? { label: info.kek.label, idHex: info.kek.idHex, kind: 'secret' } : t.name === 'archive-mac' ? { label: info.mac.label, idHex: info.mac.idHex, kind: 'secret' } : { label: t.name };
    const found = (await ctx.services.hsm.call('objects', { ...tok(ctx), ref })).filter((o) => o.kind === 'secret' || o.kind === 'private');
    if (found.length !== 1) fail(found.length ? 'OBJECT_AMBIGUOUS' : 'OBJECT_NOT_FOUND', `${found.length ? 'Several keys match' : 'There is no key'} “${t.name}” on the workstation token.`, 'Abort, and plan the backup again with the right targets.');
    const o = found[0]!;
    if (o.extractable !== true) fail('KEY_NOT_EXTRACTABLE', `“${o.label}” is not extractable, so it cannot be backed up.`, 'Only keys generated extractable under wrap can be backed up; abort and remove it from the targets.');
    // The check value recorded now is what a restore compares the unwrapped key with.
    const cv = await hsmKeyCheck({ hsm: ctx.services.hsm, ...tok(ctx) }, { ref: { idHex: o.idHex, kind: o.kind as 'secret' | 'private' }, kind: o.kind as 'secret' | 'private', keyType: o.keyType, canSign: o.usage.sign }, { hmac: true });
    const checkValue = cv.hmac ?? cv.checkValues?.cmac ?? cv.publicKey?.fingerprint.hex ?? null;
    const checkMethod = cv.hmac ? 'hmac-sha256-zeros' : cv.checkValues?.cmac ? 'aes-cmac' : cv.publicKey ? 'spki-sha256' : null;
    targets.push({ name: t.name, label: o.label, idHex: o.idHex, kind: o.kind as 'secret' | 'private', keyType: o.keyType, wrapWithTrusted: o.wrapWithTrusted, checkValue, checkMethod });
  }
  const archiveTargets = targets.filter((t) => t.name === 'archive-kek' || t.name === 'archive-mac');
  const unprotected = archiveTargets.filter((t) => t.wrapWithTrusted !== true);
  const before = unprotected.length
    ? [
        {
          type: 'exception.raised' as const,
          id: crypto.randomUUID(),
          step: currentStep(ctx.run.state)!.id,
          expected: 'The archive’s keys carry CKA_WRAP_WITH_TRUSTED, so the token lets only a key the SO trusted wrap them.',
          happened: `${unprotected.map((t) => t.label).join(', ')} ${unprotected.length === 1 ? 'does' : 'do'} not (an archive made before Custos set it, or a token that does not keep it): anyone with the user PIN can wrap ${unprotected.length === 1 ? 'it' : 'them'} out of the HSM.`,
        },
      ]
    : [];
  // The fingerprint read aloud next must cover what will be wrapped: the targets' labels, ids and
  // key types, not only the names given at planning.
  const s = ctx.run.state;
  const { fingerprint: _old, ...rest } = s.plan;
  void _old;
  const resolved = targets.map((t) => ({ name: t.name, archiveKey: t.name === 'archive-kek' || t.name === 'archive-mac', label: t.label, idHex: t.idHex, keyType: t.keyType, checkValue: t.checkValue }));
  const plan = withFingerprint({ ...rest, params: { ...s.plan.params, targets: resolved }, amendment: s.plan.amendment + 1 });
  ctx.run = await append(ctx, ctx.run, [
    ...before.map((event) => ({ actor: SYSTEM, event })),
    { actor, event: { type: 'step.completed', step: currentStep(ctx.run.state)!.id, outcome: { targets, trustedWrap: unprotected.length === 0 } } },
    { actor: SYSTEM, event: { type: 'run.amended', plan, reason: 'The targets were found on the token: their labels, ids and key types are now part of the fingerprint.' } },
  ]);
}

// ---- make-backup-key, split -------------------------------------------------------------------

export async function runMakeBackupKey(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const actor = stepActor(ctx, 'operator');
  const random = await ctx.services.hsm.call('random', { ...tok(ctx), length: 32 });
  const bk = Buffer.from(random);
  Buffer.from(random.buffer, random.byteOffset, random.byteLength).fill(0);
  ctx.secrets.set(ctx.run.state.plan.run, { bk, shares: new Map(), shareBytes: new Map(), facts: {} });
  const kcv = keyCheckValues('AES', bk);
  await complete(ctx, actor, { bytes: 32, source: 'the token’s random number generator', checkValue: kcv.cmac });
}

export async function runSplit(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const actor = stepActor(ctx, 'operator');
  const s = ctx.run.state;
  const p = params(s);
  const sec = secretOf(ctx);
  const n = p.holders.length;
  if (p.scheme === 'xor') {
    const parts = splitKey(sec.bk, n, 'AES', (k) => randomBytes(k));
    const components: Array<{ holder: string; name: string; index: number; checkValue: string }> = [];
    parts.forEach((c, i) => {
      const h = p.holders[i]!;
      sec.shareBytes.set(h.person, Buffer.from(c));
      sec.shares.set(h.person, Buffer.from(c).toString('hex').toUpperCase().match(/.{4}/g)!.join(' '));
      components.push({ holder: h.person, name: h.name, index: i + 1, checkValue: keyCheckValues('AES', c).cmac });
      c.fill(0);
    });
    await complete(ctx, actor, { scheme: 'xor', components, threshold: n, count: n });
    return;
  }
  // "sealed": the same SLIP-39 shares, each then sealed to its holder's card at the hand-over (steps-backup-sealed.ts).
  const [mnemonics] = await splitSecret({ secret: sec.bk, groupThreshold: 1, groups: [{ threshold: p.threshold, count: n }], iterationExponent: p.iterationExponent }, webCryptoSlip39(globalThis.crypto));
  const record = await createShareSetRecord({
    mnemonics: [mnemonics!],
    holders: p.holders.map((h) => h.name),
    createdAt: s.startedAt,
    ceremonyId: s.plan.run,
    label: `${s.plan.practice ? 'PRACTICE — ' : ''}Backup Key (${p.targets.map((t) => t.name).join(', ')})`,
    secretCheck: secretCheckValue(sec.bk),
  });
  mnemonics!.forEach((m, i) => {
    const h = p.holders[i]!;
    sec.shares.set(h.person, m);
    sec.shareBytes.set(h.person, Buffer.from(m.trim().toLowerCase().split(/\s+/).join(' '), 'utf8'));
  });
  const text = serializeShareSetRecord(record);
  sec.facts.record = text;
  await complete(ctx, actor, {
    scheme: p.scheme,
    threshold: p.threshold,
    count: n,
    identifier: record.set.identifier,
    shares: record.shares.map((x, i) => ({ holder: p.holders[i]!.person, name: p.holders[i]!.name, index: i + 1, fingerprint: x.fingerprint })),
    shareSetRecord: JSON.parse(text) as unknown,
  });
}

// ---- hand-over and the verification round -----------------------------------------------------

export function holderSteps(ctx: StepContext, kind: 'hand-over' | 'verify-shares') {
  requireRunning(ctx.run);
  requireNotInterrupted(ctx, ctx.run);
  const s = ctx.run.state;
  const step = currentStep(s);
  if (!step || step.kind !== kind) fail('CEREMONY_STEP_BLOCKED', `The ceremony is not at the ${kind === 'hand-over' ? 'hand-over' : 'verification round'}.`, 'Follow the steps in order.');
  const done = s.step[step.id]!.holders;
  const holders = params(s).holders;
  return { step, holders, done, next: holders.find((h) => !done.includes(h.person)) ?? null };
}

/** The share of the holder whose turn it is — and nobody else's. Not journaled: the share is the secret. */
export function reveal(ctx: StepContext, holder: string): { holder: string; name: string; index: number; of: number; scheme: string; share: string; checkValue: string | null; fingerprint: string | null } {
  const { holders, next } = holderSteps(ctx, 'hand-over');
  refuseSealed(ctx);
  if (!next) fail('CEREMONY_STEP_BLOCKED', 'Every share has been handed over.', 'Go on to the verification round.');
  const h = holders.find((x) => x.person === holder || x.name.toLowerCase() === holder.toLowerCase());
  if (!h) fail('PERSON_NOT_FOUND', `“${holder}” holds no share in this backup.`, 'Choose one of the holders.');
  if (h.person !== next.person) fail('CEREMONY_STEP_BLOCKED', `It is ${next.name}’s turn, not ${h.name}’s: one holder at a time, in order.`, `${next.name} comes to the screen; everyone else looks away.`);
  const sec = secretOf(ctx);
  const split = outcomeOf(ctx.run.state, 'split');
  const index = holders.indexOf(h) + 1;
  const facts = (split.shares ?? split.components) as Array<{ holder: string; fingerprint?: string; checkValue?: string }>;
  const f = facts.find((x) => x.holder === h.person);
  return { holder: h.person, name: h.name, index, of: holders.length, scheme: String(split.scheme), share: sec.shares.get(h.person)!, checkValue: f?.checkValue ?? null, fingerprint: f?.fingerprint ?? null };
}

export async function handedOver(ctx: StepContext, holder: string): Promise<void> {
  const { step, holders, next } = holderSteps(ctx, 'hand-over');
  refuseSealed(ctx);
  const h = holders.find((x) => x.person === holder || x.name.toLowerCase() === holder.toLowerCase());
  if (!h || !next || h.person !== next.person) fail('CEREMONY_STEP_BLOCKED', `It is ${next?.name ?? 'nobody'}’s turn.`, 'Hand the shares over one holder at a time, in order.');
  const index = holders.indexOf(h) + 1;
  // The last holder's entry closes the step in the same write (the holder, not whoever else is named, acts).
  const actor = { person: h.person, name: h.name, role: 'custodian' as const };
  ctx.run = await append(ctx, ctx.run, [
    { actor, event: { type: 'step.progress', step: step.id, holder: h.person, outcome: { holder: h.person, name: h.name, index, written: true } } },
    ...(index === holders.length ? [{ actor, event: { type: 'step.completed' as const, step: step.id, outcome: { handedOver: holders.length } } }] : []),
  ]);
}

/** What the record keeps of the card key a share was sealed to (hand-over progress, commit outcome). */
export interface SealedToFacts {
  keyType: 'rsa' | 'ec-p256';
  alg: SealedShare['alg'];
  kdf: SealKdf | null;
  spkiSha256: string;
  keyId: string;
  keyLabel: string;
  tokenLabel: string;
  tokenSerial: string;
  /** True when the ceremony made the sealing key on the card; false when it was there already. */
  generated: boolean;
  /** The holder's credential key signed `message` (sealingKeyBinding) inside the same card. */
  binding: { credential: string; message: string; signature: string };
  envelopeSha256: string;
}

/** The card key and file each holder's share went to, from the hand-over's journal (for the commit's outcome). */
export function sealedFacts(ctx: StepContext): Array<SealedToFacts & { holder: string; name: string; index: number }> {
  const s = ctx.run.state;
  const st = s.steps.find((x) => x.kind === 'hand-over');
  if (!st) return [];
  return s.step[st.id]!.progress.filter((x) => x.sealed === true && x.sealedTo).map((x) => ({ holder: String(x.holder), name: String(x.name), index: Number(x.index), ...(x.sealedTo as SealedToFacts) }));
}

/** A sealed share's words are never shown, typed or written down: its holder's card takes them. */
function refuseSealed(ctx: StepContext): void {
  if (params(ctx.run.state).scheme === 'sealed') fail('CEREMONY_STEP_BLOCKED', 'This backup seals each share to its holder’s card: the words are never shown or typed.', 'The holder whose turn it is inserts their card and types its PIN (seal the share; in the verification round, open the saved envelope).');
}

const canonicalWords = (m: string) => m.trim().toLowerCase().split(/\s+/).join(' ');

/** One holder re-enters their share; it must be exactly the share handed to them. */
export async function verifyShare(ctx: StepContext, holder: string, text: string): Promise<{ ok: true; index: number }> {
  const { step, holders, done } = holderSteps(ctx, 'verify-shares');
  refuseSealed(ctx);
  const h = holders.find((x) => x.person === holder || x.name.toLowerCase() === holder.toLowerCase());
  if (!h) fail('PERSON_NOT_FOUND', `“${holder}” holds no share in this backup.`, 'Choose one of the holders.');
  if (done.includes(h.person)) fail('INVALID_INPUT', `${h.name}’s share was already verified.`, 'Go on with the next holder.');
  const sec = secretOf(ctx);
  const split = outcomeOf(ctx.run.state, 'split');
  const index = holders.indexOf(h) + 1;
  let entered: Buffer;
  if (split.scheme === 'xor') {
    const hex = text.replace(/\s+/g, '');
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) fail('COMPONENT_INVALID', 'A component of this backup is 64 hexadecimal digits (16 groups of 4).', 'Type the component again from your sheet.');
    entered = Buffer.from(hex, 'hex');
  } else {
    try {
      decodeMnemonic(text);
    } catch (e) {
      await recordFailure(ctx, step.id, h, index, (e as { code?: string }).code ?? 'SHARE_INVALID');
      throw slip39Error(e);
    }
    entered = Buffer.from(canonicalWords(text), 'utf8');
  }
  try {
    const mine = sec.shareBytes.get(h.person)!;
    if (mine.length === entered.length && timingSafeEqual(mine, entered)) {
      const actor = { person: h.person, name: h.name, role: 'custodian' as const };
      ctx.run = await append(ctx, ctx.run, [
        { actor, event: { type: 'step.progress', step: step.id, holder: h.person, outcome: { holder: h.person, name: h.name, index, verified: true } } },
        ...(done.length + 1 === holders.length ? [{ actor, event: { type: 'step.completed' as const, step: step.id, outcome: { verified: holders.length } } }] : []),
      ]);
      return { ok: true, index };
    }
    // Whose share is it, if not this holder's? Named by position, so the ceremony can correct it.
    const other = holders.find((x) => {
      const b = sec.shareBytes.get(x.person)!;
      return b.length === entered.length && timingSafeEqual(b, entered);
    });
    if (other) {
      await recordFailure(ctx, step.id, h, index, 'SHARE_WRONG_HOLDER');
      fail('SHARE_WRONG_HOLDER', `This is share ${holders.indexOf(other) + 1} (${other.name}’s), not ${h.name}’s share ${index}.`, `${h.name} types their own share.`);
    }
    await recordFailure(ctx, step.id, h, index, 'SHARE_SET_MISMATCH');
    fail(
      'SHARE_SET_MISMATCH',
      `Share ${index} as entered is not the one handed to ${h.name}${split.scheme === 'slip39' ? ' (it may be from another set, or a word was copied wrongly)' : ''}.`,
      `${h.name} checks what they wrote down against the screen when it is shown again; if it cannot be corrected, abort and make a new share set.`,
    );
  } finally {
    entered.fill(0);
  }
}

async function recordFailure(ctx: StepContext, step: string, h: { person: string; name: string }, index: number, code: string): Promise<void> {
  // No `holder` on the event: a failed entry does not count as verified.
  ctx.run = await append(ctx, ctx.run, [{ actor: { person: h.person, name: h.name, role: 'custodian' }, event: { type: 'step.progress', step, outcome: { holder: h.person, name: h.name, index, verified: false, error: code } } }]).catch(() => ctx.run);
}

function slip39Error(e: unknown): CustosError {
  if (e instanceof CustosError) return e;
  const code = (e as { code?: string }).code;
  const map: Record<string, 'SHARE_UNKNOWN_WORD' | 'SHARE_WORD_COUNT' | 'SHARE_CHECKSUM' | 'SHARE_INVALID'> = { UNKNOWN_WORD: 'SHARE_UNKNOWN_WORD', WORD_COUNT: 'SHARE_WORD_COUNT', CHECKSUM: 'SHARE_CHECKSUM' };
  return new CustosError({ code: map[code ?? ''] ?? 'SHARE_INVALID', message: 'The share as entered is not a valid SLIP-39 share (a word is misspelt, missing, or out of order).', action: 'Type the share again from your sheet; each word is checked as you type.' });
}

// ---- commit ------------------------------------------------------------------------------------

/**
 * All shares verified and the quorum approved: the SO makes the Backup Key a trusted key in the
 * HSM, the targets are wrapped under it, and it is destroyed. `soPin` null: the token or the
 * ceremony has no SO — the Backup Key is imported as a plain session key and an exception records
 * that the token did not enforce the dual control (refused if a target needs a trusted wrapper).
 */
export async function runCommitBackup(ctx: StepContext, soPin: string | null): Promise<void> {
  const s = ctx.run.state;
  const check = outcomeOf(s, 'check');
  const targets = check.targets as Target[];
  const sec = secretOf(ctx);
  const actor = stepActor(ctx, 'operator');
  const bkId = createHash('sha256').update(`custos-bk/${s.plan.run}`).digest('hex').slice(0, 32);
  const label = `custos-backup-key/${s.plan.run}`;
  const needsTrust = targets.some((t) => t.wrapWithTrusted === true);
  if (!soPin && needsTrust) fail('PIN_INVALID', 'The archive’s keys can be wrapped only by a key the SO trusts: the SO must enter the SO PIN for the commit.', 'The SO PIN holder enters the SO PIN. Nothing has been committed yet.');
  const p = params(s);
  const split = outcomeOf(s, 'split');
  const t = tok(ctx);
  await journaled(ctx, actor, { backupKeyId: bkId, trusted: !!soPin, targets: targets.map((x) => x.label) }, async () => {
    const value = Buffer.from(sec.bk);
    try {
      if (soPin) {
        const so = ctx.services.soHost();
        try {
          await checkTokenPin(so, t, soPin, 'The workstation token (SO PIN)');
          await so.call('login', { ...t, role: 'so', pin: soPin });
          try {
            await so.call('createTrustedKey', { ...t, value, label, idHex: bkId });
          } finally {
            await so.call('logout', t).catch(() => undefined);
          }
        } finally {
          await so.close();
        }
      } else {
        await ctx.services.hsm.call('importSecretPlain', { ...t, value, template: { kind: 'secret', keyType: 'aes', label, idHex: bkId, usages: ['wrap'], extractable: false, onToken: false } });
      }
    } finally {
      value.fill(0);
    }
    let wrapped: Uint8Array[];
    try {
      wrapped = await ctx.services.hsm.call('wrap', { ...t, wrapping: { idHex: bkId, kind: 'secret' }, targets: targets.map((x) => ({ idHex: x.idHex, kind: x.kind })), mechanism: 'aes-kwp' });
    } finally {
      await ctx.services.hsm.call('destroy', { ...t, ref: { idHex: bkId } }).catch(() => undefined);
    }
    const blobs = targets.map((x, i) => ({ target: x.name, label: x.label, idHex: x.idHex, kind: x.kind, keyType: x.keyType, checkValue: x.checkValue, checkMethod: x.checkMethod, wrapWithTrusted: x.wrapWithTrusted === true, mechanism: 'aes-256-kwp-rfc5649', wrapped: Buffer.from(wrapped[i]!).toString('hex'), wrappedSha256: blobSha256(Buffer.from(wrapped[i]!).toString('hex')) }));
    const record = sec.facts.record as string | undefined;
    const shareSetFingerprint = createHash('sha256').update(record ?? JSON.stringify(split)).digest('hex');
    ctx.secrets.wipe(s.plan.run);
    return {
      outcome: { blobs, backupKeyCheck: outcomeOf(s, 'make-backup-key').checkValue, trusted: !!soPin, shareSet: shareSetFingerprint, ...(p.scheme === 'sealed' ? { envelopes: sealedFacts(ctx) } : {}) },
      effects: { shareSet: shareSetEffect(s.plan.run, p, shareSetFingerprint, record) },
    };
  });
}

/** The share set a commit records (a backup's, or a re-share's for the same Backup Key): no share in it. */
export function shareSetEffect(run: string, p: { scheme: string; threshold: number; holders: Array<{ person: string; name: string }> }, fingerprint: string, record: string | null | undefined) {
  return {
    id: run,
    scheme: p.scheme,
    threshold: p.scheme === 'xor' ? p.holders.length : p.threshold,
    shareCount: p.holders.length,
    holders: p.holders,
    fingerprint,
    groups: record ? JSON.stringify((JSON.parse(record) as { groups: unknown }).groups) : null,
  };
}

/** Resume after a crash in the commit: the half-made Backup Key object is destroyed; the secrets are gone, so the share set is voided. */
export async function cleanUpCommit(ctx: StepContext): Promise<void> {
  const bkId = createHash('sha256').update(`custos-bk/${ctx.run.state.plan.run}`).digest('hex').slice(0, 32);
  await ctx.services.hsm.call('destroy', { ...tok(ctx), ref: { idHex: bkId } }).catch(() => undefined);
}
