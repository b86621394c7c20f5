// A backup whose shares are sealed to the holders' cards (scheme "sealed"): the words of a share are
// never shown, written down or sent to the window. At the hand-over, one holder at a time:
//
//   seal-share      the holder inserts the card they enrolled with and types its PIN. Another card is
//                   refused by its serial before the PIN is tried. On that card Custos finds the
//                   holder's sealing key (label "Custos sealing key <person id>") or makes one there
//                   (a token key pair, private half sensitive and never extractable, derive-only EC
//                   P-256 or unwrap-only RSA-3072); the holder's credential key, on the same card,
//                   signs the sealing key's SPKI fingerprint (the binding, docs/FORMAT.md). The share
//                   is sealed here in main with the public key (sealed.ts), and opened once inside the
//                   card to prove it opens to exactly this share. The envelope stays in this process.
//   envelope-saved  the envelope was written to its file (the CLI's --envelope, the app's save): the
//                   card key, the binding and the file's SHA-256 go to the journal.
//
// The verification round opens each saved file in its holder's card again (unseal-share at
// verify-shares): the file must be the one written, and open to the share made for that holder.
// A crash before the commit voids the set as for written shares: envelopes already written hold
// shares of a set that is never committed, and a restore refuses them by their set identifier.
import { createHash, timingSafeEqual } from 'node:crypto';
import { fail } from '../../../shared/result';
import { parseShareSetRecordJson } from '../../../shared/shares';
import { CardShareService, sealingKeyLabel } from '../shares/cards';
import { parseSealedShareJson, publicKeys, sealShare, serializeSealedShare, type SealedShare } from '../shares/sealed';
import type { SealKdf } from '../../hsm/protocol';
import { cardSign, verifyCredential, withCard, type CardAccess } from './credentials';
import { append } from './engine';
import { holderSteps, secretOf, sealedFacts, type SealedToFacts } from './steps-backup';

export type { SealedToFacts };
import type { StepContext } from './step-context';

/** What a holder's turn hands back: the envelope (no secret in it) to write to the holder's file. */
export interface SealedHandOver {
  holder: string;
  name: string;
  index: number;
  of: number;
  fileName: string;
  /** custos.sealedshare v1 JSON text, as it is to be written. */
  envelope: string;
  sealedTo: SealedToFacts;
}

/**
 * The statement a holder's credential key signs for their sealing key (UTF-8, lines joined by LF):
 * whoever later checks the record can verify that the enrolled credential vouched for this key.
 */
export function sealingKeyBinding(x: { run: string; person: string; credential: string; serial: string; spkiSha256: string }): string {
  return ['custos.sealingkey.v1', `run ${x.run}`, `person ${x.person}`, `credential ${x.credential}`, `card ${x.serial}`, `sealing-key ${x.spkiSha256}`].join('\n');
}

type PlannedHolder = { person: string; name: string; card?: { serial: string; label: string } };

const sha256 = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');

function pendingOf(ctx: StepContext): Map<string, SealedHandOver> {
  const sec = secretOf(ctx);
  return ((sec.facts.envelopes as Map<string, SealedHandOver> | undefined) ?? (sec.facts.envelopes = new Map<string, SealedHandOver>())) as Map<string, SealedHandOver>;
}

function requireSealed(ctx: StepContext): void {
  if (ctx.run.state.plan.params.scheme !== 'sealed') fail('CEREMONY_STEP_BLOCKED', 'This backup’s shares are written down, not sealed to cards.', 'Show each holder their share (reveal), then confirm it was written down.');
}

/** The holder's enrolled card credential, which must be on the card the plan named for them. */
function enrolledCard(ctx: StepContext, h: PlannedHolder) {
  const cred = ctx.record.people().find((x) => x.id === h.person)?.credential;
  if (!cred?.card || !h.card) fail('CARD_WRONG', `${h.name} has no enrolled card, so no share can be sealed to one.`, 'Abort, and plan the backup again with SLIP-39 shares written down.');
  if (cred.card.serial !== h.card.serial) fail('CARD_WRONG', `${h.name}’s enrolled card is now ${cred.card.serial}, not card ${h.card.serial} named when the backup was planned.`, 'Abort, and plan the backup again.');
  return cred;
}

async function recordTry(ctx: StepContext, step: string, h: { person: string; name: string }, index: number, outcome: Record<string, unknown>): Promise<void> {
  // No `holder` on the event: a failed try does not count.
  ctx.run = await append(ctx, ctx.run, [{ actor: { person: h.person, name: h.name, role: 'custodian' }, event: { type: 'step.progress', step, outcome: { holder: h.person, name: h.name, index, ...outcome } } }]).catch(() => ctx.run);
}

const codeOf = (e: unknown) => (e as { appError?: { code?: string } }).appError?.code ?? 'INTERNAL';

/** Compares the words opened in the card with the holder's share, and forgets them. */
function sameShare(opened: string, mine: Buffer): boolean {
  const b = Buffer.from(opened.trim().toLowerCase().split(/\s+/).join(' '), 'utf8');
  try {
    return b.length === mine.length && timingSafeEqual(b, mine);
  } finally {
    b.fill(0);
  }
}

/** The holder whose turn it is seals their share to their own card; nothing is journaled until the file is saved. */
export async function sealToCard(ctx: StepContext, holder: string, card: CardAccess): Promise<SealedHandOver> {
  requireSealed(ctx);
  const { step, holders, next } = holderSteps(ctx, 'hand-over');
  if (!next) fail('CEREMONY_STEP_BLOCKED', 'Every share has been sealed.', 'Go on to the verification round.');
  const h = (holders as PlannedHolder[]).find((x) => x.person === holder || x.name.toLowerCase() === holder.toLowerCase());
  if (!h) fail('PERSON_NOT_FOUND', `“${holder}” holds no share in this backup.`, 'Choose one of the holders.');
  if (h.person !== next.person) fail('CEREMONY_STEP_BLOCKED', `It is ${next.name}’s turn, not ${h.name}’s: one holder at a time, in order.`, `${next.name} inserts their card.`);
  const cred = enrolledCard(ctx, h);
  const sec = secretOf(ctx);
  const index = holders.indexOf(h) + 1;
  const s = ctx.run.state;
  const record = parseShareSetRecordJson(String(sec.facts.record));
  const t = { module: card.module, token: card.token };
  const cards = new CardShareService(ctx.services.hsm);
  let made: { env: SealedShare; facts: Omit<SealedToFacts, 'envelopeSha256'> };
  try {
    made = await withCard(
      ctx.services.hsm,
      card,
      h.card!.serial,
      async (c) => {
        const key = await cards.sealingKey(t, sealingKeyLabel(h.person), c);
        const spkiSha256 = (await publicKeys()).spkiFingerprint(key.recipient.spki).hex;
        const message = sealingKeyBinding({ run: s.plan.run, person: h.person, credential: cred.fingerprint, serial: c.serial, spkiSha256 });
        let signature: string;
        try {
          signature = await cardSign(ctx.services.hsm, t, cred.card!.keyIdHex, message);
        } catch (e) {
          if (codeOf(e) === 'OBJECT_NOT_FOUND') fail('CARD_WRONG', `This card does not hold ${h.name}’s credential.`, `Insert the card ${h.name} enrolled with.`);
          throw e;
        }
        if (!verifyCredential(cred, message, signature)) fail('CARD_WRONG', `The card’s signature does not match ${h.name}’s enrolled credential.`, `Insert the card ${h.name} enrolled with.`);
        let kdf: SealKdf | null = null;
        if (key.keyType === 'ec-p256') kdf = (await ctx.services.hsm.call('probeSealing', { path: t.module, token: t.token }).catch(() => ({ ecdhX963Sha256: false }))).ecdhX963Sha256 ? 'x963-sha256' : 'none';
        const env = await sealShare({ mnemonic: sec.shares.get(h.person)!, record, holder: h.name, recipient: key.recipient, ...(kdf ? { kdf } : {}) });
        // Proof that it opens: inside the card, now, to exactly this holder's share.
        if (!sameShare(await cards.open(t, env), sec.shareBytes.get(h.person)!)) {
          fail('SEALED_SHARE_INVALID', `The envelope sealed for ${h.name} did not open to their share in the card.`, 'Try again; if it repeats, the card is faulty: abort the ceremony.');
        }
        return {
          env,
          facts: { keyType: key.keyType, alg: env.alg, kdf: env.kdf, spkiSha256, keyId: key.recipient.keyId, keyLabel: key.recipient.keyLabel, tokenLabel: c.label, tokenSerial: c.serial, generated: key.generated, binding: { credential: cred.fingerprint, message, signature } },
        };
      },
      `${h.name}’s enrolled card`,
    );
  } catch (e) {
    await recordTry(ctx, step.id, h, index, { sealed: false, error: codeOf(e) });
    throw e;
  }
  const envelope = serializeSealedShare(made.env);
  const slug = h.name.normalize('NFKD').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase() || 'holder';
  const out: SealedHandOver = { holder: h.person, name: h.name, index, of: holders.length, fileName: `sealed-share-${index}-of-${holders.length}-${slug}.json`, envelope, sealedTo: { ...made.facts, envelopeSha256: sha256(envelope) } };
  pendingOf(ctx).set(h.person, out);
  return out;
}

/** The envelope sealed at the holder's turn, again (for the app's save, which asks main for the bytes). */
export function sealedEnvelope(ctx: StepContext, holder: string): SealedHandOver {
  requireSealed(ctx);
  const { holders, next } = holderSteps(ctx, 'hand-over');
  const h = holders.find((x) => x.person === holder || x.name.toLowerCase() === holder.toLowerCase());
  const pending = h && next?.person === h.person ? pendingOf(ctx).get(h.person) : undefined;
  if (!pending) fail('CEREMONY_STEP_BLOCKED', `No envelope is waiting to be saved for ${h?.name ?? holder}.`, 'The holder whose turn it is inserts their card first (seal the share).');
  return pending;
}

/** The holder's envelope is in its file: the card key, the binding and the file's SHA-256 are journaled. */
export async function envelopeSaved(ctx: StepContext, holder: string): Promise<void> {
  const pending = sealedEnvelope(ctx, holder);
  const { step, holders } = holderSteps(ctx, 'hand-over');
  const actor = { person: pending.holder, name: pending.name, role: 'custodian' as const };
  ctx.run = await append(ctx, ctx.run, [
    { actor, event: { type: 'step.progress', step: step.id, holder: pending.holder, outcome: { holder: pending.holder, name: pending.name, index: pending.index, sealed: true, sealedTo: pending.sealedTo } } },
    ...(pending.index === holders.length ? [{ actor, event: { type: 'step.completed' as const, step: step.id, outcome: { handedOver: holders.length, sealed: true } } }] : []),
  ]);
}

/** The verification round for a sealed share: the saved file, opened in the holder's card, is their share. */
export async function verifySealedShare(ctx: StepContext, holder: string, envelopeText: string, card: CardAccess): Promise<{ ok: true; index: number }> {
  requireSealed(ctx);
  const { step, holders, done } = holderSteps(ctx, 'verify-shares');
  const h = holders.find((x) => x.person === holder || x.name.toLowerCase() === holder.toLowerCase());
  if (!h) fail('PERSON_NOT_FOUND', `“${holder}” holds no share in this backup.`, 'Choose one of the holders.');
  if (done.includes(h.person)) fail('INVALID_INPUT', `${h.name}’s envelope was already verified.`, 'Go on with the next holder.');
  const index = holders.indexOf(h) + 1;
  const facts = sealedFacts(ctx);
  const mine = facts.find((x) => x.holder === h.person)!;
  const sec = secretOf(ctx);
  try {
    const env = parseSealedShareJson(envelopeText);
    const digest = sha256(envelopeText);
    if (digest !== mine.envelopeSha256) {
      const other = facts.find((x) => x.envelopeSha256 === digest);
      if (other) fail('SHARE_WRONG_HOLDER', `This is ${other.name}’s envelope (share ${other.index}), not ${h.name}’s.`, `${h.name} presents the file written for them.`);
      fail('SEALED_SHARE_INVALID', `This is not the envelope file written for ${h.name} at the hand-over (its SHA-256 differs).`, `${h.name} presents the file exactly as it was written; if it was changed or lost, abort and make a new share set.`);
    }
    await withCard(
      ctx.services.hsm,
      card,
      mine.tokenSerial,
      async () => {
        if (!sameShare(await new CardShareService(ctx.services.hsm).open({ module: card.module, token: card.token }, env), sec.shareBytes.get(h.person)!)) {
          fail('SHARE_SET_MISMATCH', `${h.name}’s envelope opened in the card, but not to the share made for them.`, 'Abort, and make a new share set.');
        }
      },
      `${h.name}’s card (the one the share was sealed to)`,
    );
  } catch (e) {
    await recordTry(ctx, step.id, h, index, { verified: false, error: codeOf(e) });
    throw e;
  }
  const actor = { person: h.person, name: h.name, role: 'custodian' as const };
  ctx.run = await append(ctx, ctx.run, [
    { actor, event: { type: 'step.progress', step: step.id, holder: h.person, outcome: { holder: h.person, name: h.name, index, verified: true, opened: true } } },
    ...(done.length + 1 === holders.length ? [{ actor, event: { type: 'step.completed' as const, step: step.id, outcome: { verified: holders.length, opened: true } } }] : []),
  ]);
  return { ok: true, index };
}
