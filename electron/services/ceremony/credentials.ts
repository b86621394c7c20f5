// People's credentials: how a person proves presence and approves a ceremony step.
//
// A card credential is an EC P-256 key pair generated inside the person's own card or token
// (CKA_EXTRACTABLE false, CKA_SENSITIVE true, CKA_SIGN only). Enrolment records its SPKI, the
// card's serial, model and manufacturer, and the key's CKA_ID; presence and approvals are ECDSA
// signatures made inside the card over a message the engine built with a fresh nonce
// (shared/ceremony/approval.ts). The private key never leaves the card, so whoever approves must
// hold the card and know its PIN.
//
// A passphrase credential (for a person without a card, where the policy allows it) is an
// Ed25519 key pair derived from the passphrase with scrypt (RFC 7914; N = 2^17, r = 8, p = 1, the
// OWASP minimum for scrypt in 2026) and a random salt. The record keeps the public key and the
// salt; approvals are Ed25519 signatures anyone can verify later. It is weaker than a card — the
// record alone lets an attacker guess the passphrase offline — and is shown and recorded as such.
import { createHash, createPrivateKey, createPublicKey, randomBytes, scryptSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import type { CredentialKind } from '../../../shared/ceremony/roles';
import type { TranscriptCredential } from '../../../shared/ceremony/transcript';
import { matchesSelector, type TokenIdentity } from '../../../shared/pkcs11-uri';
import { checkPinLength } from '../../../shared/pin-length';
import { lockedBeforeLogin } from '../../../shared/pin-tries';
import { CustosError, fail } from '../../../shared/result';
import type { HsmClient } from '../../hsm/client';
import { loginWarned } from '../pin-login';
import { ecSpkiFromPkcs11 } from '../formats/publicKey';

export type CredentialAlgorithm = 'ecdsa-p256-sha256' | 'ed25519';

export interface CardIdentity {
  serial: string;
  model: string;
  manufacturer: string;
  label: string;
}

/** What the record keeps of a credential: never a private key, a PIN or a passphrase. */
export interface CredentialRecord {
  /** SHA-256 of the SPKI DER, lower-case hex: the credential's name everywhere. */
  fingerprint: string;
  kind: CredentialKind;
  algorithm: CredentialAlgorithm;
  spki: Buffer;
  /** Card credentials: the card it lives in and the key's CKA_ID. */
  card: (CardIdentity & { keyIdHex: string }) | null;
  /** Passphrase credentials: scrypt parameters. */
  scrypt: { saltHex: string; logN: number; r: number; p: number } | null;
}

/** A card as the operator names it: the PKCS#11 module, the token (label or URI), and its PIN. */
export interface CardAccess {
  module: string;
  token: string;
  pin: string;
}

export const credentialFingerprint = (spki: Uint8Array): string => createHash('sha256').update(spki).digest('hex');

/** Verifies a credential's signature over the UTF-8 bytes of `message`. Never throws for a bad signature. */
export function verifyCredential(c: Pick<CredentialRecord, 'algorithm' | 'spki'>, message: string, signatureHex: string): boolean {
  try {
    return verifyWithKey(c.algorithm, createPublicKey({ key: c.spki, format: 'der', type: 'spki' }), message, signatureHex);
  } catch {
    return false;
  }
}

/** The same, with the credential's public key already read (an evidence bundle checks many approvals). */
export function verifyWithKey(algorithm: CredentialAlgorithm, key: KeyObject, message: string, signatureHex: string): boolean {
  if (!/^[0-9a-f]{128}$/.test(signatureHex)) return false;
  const sig = Buffer.from(signatureHex, 'hex');
  try {
    if (algorithm === 'ed25519') return nodeVerify(null, Buffer.from(message, 'utf8'), key, sig);
    // Raw r‖s (IEEE P1363), as the card's CKM_ECDSA returns it.
    return nodeVerify('sha256', Buffer.from(message, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}

// ---- Passphrase credentials --------------------------------------------------------------------

const SCRYPT = { logN: 17, r: 8, p: 1 } as const;
/** RFC 8410 PKCS#8 prefix of an Ed25519 private key whose 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
export const MIN_PASSPHRASE_CHARS = 12;

function passphraseKey(passphrase: string, saltHex: string, p: { logN: number; r: number; p: number }): KeyObject {
  const seed = scryptSync(passphrase.normalize('NFKC'), Buffer.from(saltHex, 'hex'), 32, { N: 2 ** p.logN, r: p.r, p: p.p, maxmem: 256 * 1024 * 1024 });
  const der = Buffer.concat([ED25519_PKCS8_PREFIX, seed]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    seed.fill(0);
    der.fill(0);
  }
}

export function enrolPassphrase(passphrase: string): CredentialRecord {
  if ([...passphrase].length < MIN_PASSPHRASE_CHARS) {
    fail('INVALID_INPUT', `A passphrase credential needs at least ${MIN_PASSPHRASE_CHARS} characters.`, 'Choose a longer passphrase: several unrelated words are easy to remember and hard to guess.');
  }
  const scrypt = { saltHex: randomBytes(16).toString('hex'), ...SCRYPT };
  const spki = createPublicKey(passphraseKey(passphrase, scrypt.saltHex, scrypt)).export({ format: 'der', type: 'spki' });
  return { fingerprint: credentialFingerprint(spki), kind: 'passphrase', algorithm: 'ed25519', spki, card: null, scrypt };
}

/** Signs with a passphrase credential; a wrong passphrase gives PASSPHRASE_INCORRECT (nothing is signed). */
export function signWithPassphrase(c: CredentialRecord, passphrase: string, message: string): string {
  if (c.kind !== 'passphrase' || !c.scrypt) fail('CARD_WRONG', 'This person approves with a card, not a passphrase.', 'Insert the person’s card and enter its PIN.');
  const key = passphraseKey(passphrase, c.scrypt.saltHex, c.scrypt);
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  if (credentialFingerprint(spki) !== c.fingerprint) {
    fail('PASSPHRASE_INCORRECT', 'The passphrase is not the one this person enrolled.', 'Type the passphrase again, carefully. It is case-sensitive.');
  }
  return nodeSign(null, Buffer.from(message, 'utf8'), key).toString('hex');
}

// ---- Card credentials ---------------------------------------------------------------------------

const CARD_KEY_LABEL = 'Custos credential';

/**
 * A card named by its label or by its PKCS#11 URI (RFC 7512: every attribute the URI names must
 * match). Not by a substring of the URI: "serial=" is in every URI, so a token with an empty serial
 * (SoftHSM's free slot, an uninitialised card) would match them all, and serial 12 would match 123.
 */
export function isCard(selector: string, token: TokenIdentity): boolean {
  try {
    return matchesSelector(selector, token);
  } catch {
    return false; // a malformed URI names no card
  }
}

/** The card's identity (serial, model) as the token list reports it; refuses an absent or ambiguous card. */
async function cardIdentity(hsm: HsmClient, access: Pick<CardAccess, 'module' | 'token'>): Promise<CardIdentity & { minPin: number; maxPin: number; flags: number }> {
  await hsm.call('load', { path: access.module });
  const slots = await hsm.call('slots', { path: access.module });
  const want = access.token;
  const matches = slots.filter((s) => s.token && isCard(want, s.token));
  if (matches.length === 0) fail('TOKEN_NOT_FOUND', `No card "${want}" is present.`, 'Insert the card, wait a moment, and choose it again.');
  if (matches.length > 1) fail('TOKEN_AMBIGUOUS', `${matches.length} cards match "${want}".`, 'Remove the other cards, or name the card by its URI with its serial number.');
  const t = matches[0]!.token!;
  return { serial: t.serial, model: t.model, manufacturer: t.manufacturer, label: t.label, minPin: t.minPinLength, maxPin: t.maxPinLength, flags: t.flags };
}

/**
 * Runs `fn` logged in to the card as its user, and always logs out. One C_Login: a wrong PIN is never
 * retried. `expected` names the card wanted, for the refusal of another one (before the PIN is tried).
 */
export async function withCard<T>(hsm: HsmClient, access: CardAccess, expectSerial: string | null, fn: (card: CardIdentity) => Promise<T>, expected = 'the card this person enrolled'): Promise<T> {
  // The counters change with every login: they are read here, never kept with the card's identity.
  const { flags, ...card } = await cardIdentity(hsm, access);
  if (expectSerial !== null && card.serial !== expectSerial) {
    fail('CARD_WRONG', `This is card ${card.serial}, not ${expected} (${expectSerial}).`, `Insert ${expected}. No PIN attempt was used.`, { serial: card.serial });
  }
  // On a real card a PIN of the wrong length still costs a try: checked first (shared/pin-length.ts).
  checkPinLength(access.pin, { minPinLength: card.minPin, maxPinLength: card.maxPin }, 'This card');
  // A card that reports its PIN locked is not asked; after a wrong PIN its counters are read, and the
  // holder is warned of the final try or told it locked, as at the workstation login (shared/pin-tries.ts).
  const locked = lockedBeforeLogin(flags, 'user', 'card');
  if (locked) throw new CustosError(locked);
  await loginWarned(hsm, { path: access.module, token: access.token, role: 'user', pin: access.pin }, 'card');
  try {
    return await fn(card);
  } finally {
    await hsm.call('logout', { path: access.module, token: access.token }).catch(() => undefined);
  }
}

/**
 * Generates the person's key pair inside their card and proves it answers: the card signs
 * `proofMessage(fingerprint)` and the signature is checked against the new public key.
 */
export async function enrolCard(hsm: HsmClient, access: CardAccess, personId: string, proofMessage: (credential: string, card: CardIdentity) => string): Promise<{ credential: CredentialRecord; proof: { message: string; signature: string } }> {
  return withCard(hsm, access, null, async (card) => {
    const keyIdHex = randomBytes(16).toString('hex');
    const made = await hsm.call('generate', {
      path: access.module,
      token: access.token,
      spec: { type: 'ec-p256', label: `${CARD_KEY_LABEL} ${personId}`, idHex: keyIdHex, usages: ['sign'], extractable: false },
    });
    if (!made.some((o) => o.kind === 'private')) fail('INTERNAL', 'The card did not report the new key pair.', 'Try again; if it repeats, use another card.');
    const pub = await hsm.call('publicKey', { path: access.module, token: access.token, ref: { idHex: keyIdHex, kind: 'public' } });
    if (pub.keyType !== 'ec' || !pub.ecParams || !pub.ecPoint) fail('INTERNAL', 'The card returned no EC public key.', 'Use a card that supports EC P-256 keys.');
    const spki = ecSpkiFromPkcs11(pub.ecParams, pub.ecPoint);
    const credential: CredentialRecord = {
      fingerprint: credentialFingerprint(spki),
      kind: 'card',
      algorithm: 'ecdsa-p256-sha256',
      spki,
      card: { ...card, keyIdHex },
      scrypt: null,
    };
    const message = proofMessage(credential.fingerprint, card);
    const signature = await cardSign(hsm, access, keyIdHex, message);
    if (!verifyCredential(credential, message, signature)) fail('CARD_WRONG', 'The card’s signature does not match the key it just made.', 'The card may be faulty: use another card.');
    return { credential, proof: { message, signature } };
  });
}

/** Signs `message` with the credential key `keyIdHex` on a card already logged in (ECDSA P-256, raw r‖s hex). */
export async function cardSign(hsm: HsmClient, access: Pick<CardAccess, 'module' | 'token'>, keyIdHex: string, message: string): Promise<string> {
  const [sig] = await hsm.call('sign', {
    path: access.module,
    token: access.token,
    ref: { idHex: keyIdHex, kind: 'private' },
    mechanism: 'ecdsa-sha256',
    data: [Buffer.from(message, 'utf8')],
  });
  return Buffer.from(sig!).toString('hex');
}

/**
 * Signs `message` inside the person's card. Refuses another card before asking for the PIN, and
 * checks the signature against the enrolled public key (a card holding someone else's key fails).
 */
export async function signWithCard(hsm: HsmClient, c: CredentialRecord, access: CardAccess, message: string): Promise<string> {
  if (c.kind !== 'card' || !c.card) fail('CARD_WRONG', 'This person approves with a passphrase, not a card.', 'Have the person type their passphrase.');
  return withCard(hsm, access, c.card.serial, async () => {
    let signature: string;
    try {
      signature = await cardSign(hsm, access, c.card!.keyIdHex, message);
    } catch (e) {
      const code = (e as { appError?: { code?: string } }).appError?.code;
      if (code === 'OBJECT_NOT_FOUND') fail('CARD_WRONG', 'This card does not hold the person’s credential.', 'Insert the card the person enrolled with.');
      throw e;
    }
    if (!verifyCredential(c, message, signature)) fail('CARD_WRONG', 'The card’s signature does not match this person’s enrolled credential.', 'Insert the card the person enrolled with.');
    return signature;
  });
}

/** A credential's public facts as the journal and the transcript keep them (SPKI as hex). */
export function publicCredential(c: CredentialRecord): TranscriptCredential {
  return { fingerprint: c.fingerprint, kind: c.kind, algorithm: c.algorithm, spki: Buffer.from(c.spki).toString('hex'), card: c.card ? { ...c.card } : null, scrypt: c.scrypt ? { ...c.scrypt } : null };
}

export function credentialFromPublic(t: TranscriptCredential): CredentialRecord {
  return { fingerprint: t.fingerprint, kind: t.kind, algorithm: t.algorithm, spki: Buffer.from(t.spki, 'hex'), card: t.card ? { ...t.card } : null, scrypt: t.scrypt ? { ...t.scrypt } : null };
}
