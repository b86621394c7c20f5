// Shares sealed to custodians' cards, on the card side: finding the custodian key on a token,
// sealing to it (with the KDF the card can compute), and opening an envelope inside the card
// (electron/hsm/sealing.ts): the card's private key recovers the content key into a session key
// and the token decrypts; only the share comes back, checked against the share-set record before
// anyone uses it. The envelope format itself is in sealed.ts.
import { randomBytes } from 'node:crypto';
import type { TokenRef } from '../../../shared/keys';
import { parsePkcs11Uri } from '../../../shared/pkcs11-uri';
import { CustosError, fail } from '../../../shared/result';
import { shareCheckError, sharePosition, verifyShareAgainstRecord, type ShareRecordEntry, type ShareSetRecord } from '../../../shared/shares';
import type { HsmClient } from '../../hsm/client';
import type { ObjectRef, RawObject, SealKdf } from '../../hsm/protocol';
import { CKM } from '../../hsm/protocol/constants';
import { parseKeyRef } from '../key-refs';
import { describeRecipient, envelopeRecordEntry, publicKeys, recipientKind, sealedPayload, sealShare, sealToPublicKey, type Recipient, type SealedShare, type SealInput } from './sealed';

export interface UnsealResult {
  /** The share's words. Shown only on explicit request; the caller drops it as soon as it is used. */
  mnemonic: string;
  entry: ShareRecordEntry;
  fingerprint: string;
  position: string;
  /** One sentence: which share it is, whose, and that it matches the record. */
  message: string;
}

type Hsm = Pick<HsmClient, 'call'>;

/** The CKA_LABEL of the sealing key a backup ceremony finds or makes on a holder's card (docs/FORMAT.md). */
export const sealingKeyLabel = (person: string): string => `Custos sealing key ${person}`;

/**
 * The kind of sealing key a card can make and later use to open a share, from its mechanism list:
 * EC P-256 with ECDH where it can (a small key, fast on a card), else RSA-3072 with OAEP; both also
 * need AES-GCM, which decrypts the share inside the card. Null: this card can do neither.
 */
export function sealingKeyType(mechanisms: ReadonlySet<number>): 'ec-p256' | 'rsa-3072' | null {
  if (!mechanisms.has(CKM.AES_GCM)) return null;
  if (mechanisms.has(CKM.EC_KEY_PAIR_GEN) && mechanisms.has(CKM.ECDH1_DERIVE)) return 'ec-p256';
  if (mechanisms.has(CKM.RSA_PKCS_KEY_PAIR_GEN) && mechanisms.has(CKM.RSA_PKCS_OAEP)) return 'rsa-3072';
  return null;
}

/** A sealing key on a card: its public half as a recipient, and whether it was made just now. */
export interface SealingKey {
  recipient: Recipient & { keyId: string; keyLabel: string };
  keyType: 'rsa' | 'ec-p256';
  generated: boolean;
}

export class CardShareService {
  constructor(private readonly hsm: Hsm) {}

  private tok(t: TokenRef) {
    return { path: t.module, token: t.token };
  }

  /** Label and serial of a token from its URI (the listing's URIs carry both). */
  private tokenIdentity(t: TokenRef): { label: string | null; serial: string | null } {
    try {
      const p = t.token.toLowerCase().startsWith('pkcs11:') ? parsePkcs11Uri(t.token).path : { token: t.token };
      return { label: p.token ?? null, serial: p.serial ?? null };
    } catch {
      return { label: null, serial: null };
    }
  }

  private async spkiOf(t: TokenRef, idHex: string): Promise<Buffer> {
    const a = await this.hsm.call('publicKey', { ...this.tok(t), ref: { idHex, kind: 'public' } });
    const { ecSpkiFromPkcs11, rsaSpkiFromPkcs11 } = await publicKeys();
    return a.keyType === 'rsa' ? rsaSpkiFromPkcs11(a.modulus!, a.publicExponent!) : ecSpkiFromPkcs11(a.ecParams!, a.ecPoint!);
  }

  /** The custodian key on a token, by label or PKCS#11 URI: its public half, checked for a usage that can open shares. */
  async recipientFromToken(t: TokenRef, selector: string): Promise<Recipient> {
    const ref = parseKeyRef(selector);
    const objs = await this.hsm.call('objects', { ...this.tok(t), ref: { ...ref, kind: 'public' } });
    if (objs.length === 0) {
      fail('OBJECT_NOT_FOUND', `There is no public key "${selector}" on this token.`, 'Check the label or URI (custos key list); the custodian key pair must have its public half on the card.');
    }
    if (objs.length > 1) fail('OBJECT_AMBIGUOUS', `${objs.length} public keys match "${selector}".`, 'Name the key by its PKCS#11 URI, which includes its id.');
    const pub: RawObject = objs[0]!;
    const usable = pub.keyType === 'rsa' ? pub.usage.wrap || pub.usage.encrypt : pub.keyType === 'ec' ? pub.usage.derive : true;
    if (!usable) {
      fail(
        'KEY_USAGE_NOT_PERMITTED',
        pub.keyType === 'rsa' ? `The key "${pub.label}" may neither wrap nor encrypt, so it cannot receive a sealed share.` : `The key "${pub.label}" was created without the derive usage, so it cannot do ECDH.`,
        'Use the custodian key generated for share encryption (RSA with usage wrap or encrypt, or EC P-256 with usage derive).',
      );
    }
    const spki = await this.spkiOf(t, pub.idHex);
    const token = this.tokenIdentity(t);
    return { spki, keyId: pub.idHex || null, keyLabel: pub.label || null, tokenLabel: token.label, tokenSerial: token.serial };
  }

  /**
   * Seals a share to the custodian key on a token. kdf "auto" (EC only) uses the X9.63 KDF when the
   * card's ECDH computes it correctly (probed with throw-away session keys), else the raw secret.
   */
  async sealToToken(t: TokenRef, selector: string, input: Omit<SealInput, 'recipient' | 'kdf'> & { kdf?: SealKdf | 'auto' }): Promise<SealedShare> {
    const recipient = await this.recipientFromToken(t, selector);
    let kdf: SealKdf = 'none';
    if (input.kdf === 'auto' || input.kdf === undefined) {
      if ((await recipientKind(recipient.spki)).keyType === 'ec-p256') {
        try {
          kdf = (await this.hsm.call('probeSealing', this.tok(t))).ecdhX963Sha256 ? 'x963-sha256' : 'none';
        } catch {
          kdf = 'none';
        }
      }
    } else {
      kdf = input.kdf;
    }
    return sealShare({ ...input, recipient, kdf });
  }

  /**
   * The sealing key labelled `label` on the logged-in card, or — if there is none — one made there
   * now: a token key pair whose private half is sensitive, never extractable, and can only derive
   * (EC P-256, ECDH) or unwrap (RSA, OAEP). A key under that label that could be read out of the card,
   * or cannot open a share, is refused rather than used. `card` names the card in the recipient.
   */
  async sealingKey(t: TokenRef, label: string, card: { label: string; serial: string }): Promise<SealingKey> {
    const found = await this.hsm.call('objects', { ...this.tok(t), ref: { label, kind: 'private' } });
    if (found.length > 1) fail('OBJECT_AMBIGUOUS', `This card holds ${found.length} keys labelled "${label}".`, 'Delete all but one of them on the card (its owner, with its PIN), then try again.');
    let generated = false;
    let key = found[0];
    if (key) {
      const opens = key.keyType === 'ec' ? key.usage.derive && key.curve === 'P-256' : key.keyType === 'rsa' ? key.usage.unwrap || key.usage.decrypt : false;
      if (!opens) fail('KEY_USAGE_NOT_PERMITTED', `The key "${label}" on this card can neither derive (EC P-256) nor decrypt or unwrap (RSA), so no share can be sealed to it.`, 'Delete that key on the card, then try again: a new sealing key is made.');
      if (key.extractable === true || key.sensitive === false) fail('KEY_USAGE_NOT_PERMITTED', `The key "${label}" on this card can be read out of it (extractable or not sensitive), so it may not hold a share.`, 'Delete that key on the card, then try again: a new sealing key is made.');
    } else {
      const type = sealingKeyType(new Set((await this.hsm.call('mechanisms', this.tok(t))).map((m) => m.type)));
      if (!type) fail('MECHANISM_UNSUPPORTED', `Card "${card.label}" (serial ${card.serial}) can make neither an EC P-256 key with ECDH nor an RSA key with OAEP, with AES-GCM to open a share.`, 'Use a card that supports ECDH on P-256 or RSA-OAEP, and AES-GCM; or plan the backup with SLIP-39 shares written down.');
      const idHex = randomBytes(16).toString('hex');
      const made = await this.hsm.call('generate', { ...this.tok(t), spec: { type, label, idHex, usages: [type === 'ec-p256' ? 'derive' : 'wrap'], extractable: false } });
      key = made.find((o) => o.kind === 'private');
      if (!key) fail('INTERNAL', 'The card did not report the new sealing key.', 'Try again; if it repeats, use another card.');
      generated = true;
    }
    const spki = await this.spkiOf(t, key.idHex);
    return { recipient: { spki, keyId: key.idHex, keyLabel: label, tokenLabel: card.label, tokenSerial: card.serial }, keyType: key.keyType === 'rsa' ? 'rsa' : 'ec-p256', generated };
  }

  /** Seals a share to a public key given as PEM or JWK (offline: no card attached). */
  sealToPublicKey(publicKeyText: string, input: Omit<SealInput, 'recipient'>): Promise<SealedShare> {
    return sealToPublicKey(publicKeyText, input);
  }

  /** The private key on this token whose public key is the envelope's recipient, found by id and SPKI. */
  async findRecipientKey(t: TokenRef, env: SealedShare): Promise<ObjectRef> {
    const want = env.recipient.spkiSha256;
    const { spkiFingerprint } = await publicKeys();
    const tried = new Set<string>();
    const matches = async (o: RawObject): Promise<boolean> => {
      if (tried.has(o.idHex)) return false;
      tried.add(o.idHex);
      if (env.recipient.keyType === 'rsa' ? o.keyType !== 'rsa' : o.keyType !== 'ec') return false;
      try {
        return spkiFingerprint(await this.spkiOf(t, o.idHex)).hex === want;
      } catch {
        return false;
      }
    };
    const candidates: RawObject[] = [];
    if (env.recipient.keyId) candidates.push(...(await this.hsm.call('objects', { ...this.tok(t), ref: { idHex: env.recipient.keyId, kind: 'public' } })));
    candidates.push(...(await this.hsm.call('objects', { ...this.tok(t), ref: { kind: 'public' } })));
    for (const o of candidates) {
      if (await matches(o)) {
        const priv = await this.hsm.call('objects', { ...this.tok(t), ref: { idHex: o.idHex, kind: 'private' } });
        if (priv.length === 0) {
          fail('NOT_LOGGED_IN', `This card holds the public half of the key the share was sealed to, but its private key is not visible.`, 'Log in to the card with its PIN, then try again.');
        }
        return { idHex: o.idHex, kind: 'private' };
      }
    }
    const here = this.tokenIdentity(t);
    return fail(
      'SEALED_SHARE_WRONG_RECIPIENT',
      `This share was sealed to ${describeRecipient(env)}; the card "${here.label ?? t.token}"${here.serial ? ` (serial ${here.serial})` : ''} holds no such key.`,
      'Insert the card named in the envelope (or choose it with --token) and try again.',
      { expectedSpkiSha256: want, ...(env.recipient.tokenSerial ? { expectedSerial: env.recipient.tokenSerial } : {}) },
    );
  }

  /**
   * Opens a sealed share on the logged-in card: its words, unchecked. The caller checks them (against
   * a share-set record here, against a backup's record in a ceremony) before anything uses them.
   */
  async open(t: TokenRef, env: SealedShare): Promise<string> {
    const ref = await this.findRecipientKey(t, env);
    const { plaintext } = await this.hsm.call('unsealShare', { ...this.tok(t), ref, payload: sealedPayload(env) });
    try {
      return Buffer.from(plaintext).toString('utf8');
    } finally {
      plaintext.fill(0);
    }
  }

  /**
   * Opens a sealed share on the logged-in card and checks it against the record. The share never
   * appears in an error: failures name positions, sets, holders and fingerprints only.
   */
  async unseal(t: TokenRef, env: SealedShare, record: ShareSetRecord): Promise<UnsealResult> {
    const entry = envelopeRecordEntry(env, record);
    const mnemonic = await this.open(t, env);
    const check = await verifyShareAgainstRecord(mnemonic, record, entry.holder === null ? {} : { holder: entry.holder });
    if (!check.ok) {
      const e = shareCheckError(check);
      throw new CustosError({ ...e, message: `The share inside the envelope does not pass the record check: ${e.message}` });
    }
    if (check.entry.groupIndex !== entry.groupIndex || check.entry.memberIndex !== entry.memberIndex) {
      fail('SEALED_SHARE_INVALID', 'The share inside the envelope is not the one its header names.', 'Do not use this envelope; report it to the key owner.');
    }
    return { mnemonic, entry: check.entry, fingerprint: check.fingerprint, position: sharePosition(record, entry.groupIndex, entry.memberIndex), message: check.message };
  }
}
