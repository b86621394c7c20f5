// A share sealed to its holder's card (custos.sealedshare v1, docs/FORMAT.md), presented in a
// restore, a drill, a re-share or a share audit instead of typed words. The envelope's header is
// checked first, against the backup this run names — its set, the share recorded for this holder,
// the holder's enrolled card — so a wrong envelope is named before any card is touched or PIN tried.
// Then the holder's card opens it (the card's private key recovers the content key into a session
// key and the token decrypts: electron/hsm/host/sealing.ts), the card is logged out, and the words
// go through exactly the checks a typed share goes through (checkShare). The words stay in main:
// the window sends the envelope's text and the card's PIN, and gets back a verdict.
import { fail } from '../../../shared/result';
import { CardShareService } from '../shares/cards';
import { describeRecipient, parseSealedShareJson } from '../shares/sealed';
import { withCard, type CardAccess } from './credentials';
import type { StepContext } from './step-context';
import { refuseOtherShare, type Holder, type RestorePlan } from './steps-restore';

/** What a holder presents instead of typing: the envelope file's text, and their card with its PIN. */
export interface SealedSource {
  envelope: string;
  card: CardAccess;
}

/** Codes that say the card was not usable (absent, another card, PIN): not a verdict on the share itself. */
export const CARD_ACCESS_CODES: readonly string[] = ['TOKEN_NOT_FOUND', 'TOKEN_AMBIGUOUS', 'CARD_WRONG', 'PIN_INCORRECT', 'PIN_LOCKED', 'PIN_INVALID', 'PIN_LEN_RANGE', 'PIN_EXPIRED', 'NOT_LOGGED_IN'];

/**
 * The share's words, opened from the holder's envelope in their card. Not yet checked against the
 * record: the caller's checkShare does that, exactly as for typed words.
 */
export async function openSealedShare(ctx: StepContext, p: RestorePlan, h: Holder, done: readonly string[], source: SealedSource): Promise<string> {
  const env = parseSealedShareJson(source.envelope);
  if (p.backup.scheme === 'xor') fail('SEALED_SHARE_INVALID', 'This backup is split into XOR components, and only SLIP-39 shares are sealed to cards.', `${h.name} types their component from their sheet.`);
  if (p.backup.identifier !== null && env.share.setId !== p.backup.identifier) {
    fail('SHARE_SET_MISMATCH', `This envelope holds a share of set ${env.share.setId}, not of this backup’s set ${p.backup.identifier}.`, `${h.name} presents the envelope sealed from the backup of ${p.backup.run.slice(0, 8)}.`);
  }
  if (env.share.fingerprint !== h.fingerprint) refuseOtherShare(ctx, p, h, done, env.share.fingerprint, 'This envelope holds');
  // Whose card: the envelope names the card it was sealed to; a holder with an enrolled card must
  // present an envelope sealed to that card (a share moved onto someone else's card is refused).
  const enrolled = ctx.record.people().find((x) => x.id === h.person)?.credential?.card ?? null;
  const sealedTo = env.recipient.tokenSerial;
  if (enrolled && sealedTo && sealedTo !== enrolled.serial) {
    fail('SEALED_SHARE_WRONG_RECIPIENT', `This envelope was sealed to ${describeRecipient(env)}, not to ${h.name}’s enrolled card (serial ${enrolled.serial}).`, `${h.name} presents the envelope sealed to their own card; report this one to the key owner.`, { expectedSerial: enrolled.serial });
  }
  // A backup that sealed the shares itself recorded the card key of each: the envelope must name it.
  if (h.sealedTo && env.recipient.spkiSha256 !== h.sealedTo.spkiSha256) {
    fail('SEALED_SHARE_WRONG_RECIPIENT', `This envelope was sealed to ${describeRecipient(env)}, not to the key the backup sealed ${h.name}’s share to (on card ${h.sealedTo.tokenSerial}).`, `${h.name} presents the envelope written for them at the backup ceremony.`, { expectedSpkiSha256: h.sealedTo.spkiSha256, expectedSerial: h.sealedTo.tokenSerial });
  }
  const want = sealedTo ?? h.sealedTo?.tokenSerial ?? enrolled?.serial ?? null;
  // The card named in the envelope (or the holder's own): another card is refused before its PIN is tried.
  return withCard(ctx.services.hsm, source.card, want, () => new CardShareService(ctx.services.hsm).open({ module: source.card.module, token: source.card.token }, env), `the card this share was sealed to`);
}
