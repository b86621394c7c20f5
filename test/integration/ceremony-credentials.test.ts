// People's credentials: a key pair made inside each person's own card (a separate SoftHSM2 token
// with its own PIN), signatures made inside it, and passphrase credentials. Every refusal is
// typed, and a wrong card is refused before its PIN is tried.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HsmClient } from '../../electron/hsm/client';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import { enrolCard, enrolPassphrase, isCard, signWithCard, signWithPassphrase, verifyCredential, type CredentialRecord } from '../../electron/services/ceremony/credentials';
import { tokenUri } from '../../shared/pkcs11-uri';
import { failure } from '../helpers/hsm-ops';
import { HOST_SCRIPT, requireBuild, SOFTHSM_MODULE, softhsm, type SoftHsmFixture } from '../helpers/softhsm';

let fx: SoftHsmFixture;
let hsm: HsmClient;
const ANN = { module: SOFTHSM_MODULE, token: 'Card Ann', pin: '111111' };
const BEN = { module: SOFTHSM_MODULE, token: 'Card Ben', pin: '222222' };
let ann: CredentialRecord;

beforeAll(async () => {
  requireBuild();
  fx = softhsm('custos-credentials-');
  fx.initToken(ANN.token, { user: ANN.pin });
  fx.initToken(BEN.token, { user: BEN.pin });
  hsm = new HsmClient(nodeHostSpawner(HOST_SCRIPT, fx.env));
  const made = await enrolCard(hsm, ANN, 'person-ann', (credential, card) => `enrol ${credential} ${card.serial}`);
  ann = made.credential;
  expect(verifyCredential(ann, made.proof.message, made.proof.signature)).toBe(true);
});

afterAll(async () => {
  await hsm?.close();
  fx?.cleanup();
});

describe('card credentials', () => {
  it('are made inside the card: non-extractable, sign only, and recorded with the card’s identity', async () => {
    expect(ann.kind).toBe('card');
    expect(ann.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(ann.card!.label).toBe('Card Ann');
    expect(ann.card!.serial).toMatch(/\S/);
    await hsm.call('login', { path: ANN.module, token: ANN.token, role: 'user', pin: ANN.pin });
    try {
      const objs = await hsm.call('objects', { path: ANN.module, token: ANN.token, ref: { idHex: ann.card!.keyIdHex } });
      const priv = objs.find((o) => o.kind === 'private')!;
      expect(priv.extractable).toBe(false);
      expect(priv.sensitive).toBe(true);
      expect(priv.usage.sign).toBe(true);
      expect(priv.usage.decrypt || priv.usage.unwrap || priv.usage.derive).toBe(false);
    } finally {
      await hsm.call('logout', { path: ANN.module, token: ANN.token });
    }
  });

  it('sign inside the card; the signature verifies against the enrolled key and nothing else', async () => {
    const sig = await signWithCard(hsm, ann, ANN, 'approve step generate');
    expect(verifyCredential(ann, 'approve step generate', sig)).toBe(true);
    expect(verifyCredential(ann, 'approve step generatE', sig)).toBe(false);
    expect(verifyCredential(ann, 'approve step generate', sig.replace(/^./, (c) => (c === '0' ? '1' : '0')))).toBe(false);
  });

  it('are found by their PKCS#11 URI as well as their label, and a URI never matches a token by a substring (SoftHSM’s free slot has an empty serial)', async () => {
    const slots = await hsm.call('slots', { path: SOFTHSM_MODULE });
    expect(slots.some((s) => s.token && s.token.serial === '')).toBe(true); // the free slot this used to match
    const t = slots.find((s) => s.token?.label === 'Card Ann')!.token!;
    const uri = tokenUri({ label: t.label, serial: t.serial, model: t.model, manufacturer: t.manufacturer });
    const sig = await signWithCard(hsm, ann, { ...ANN, token: uri }, 'approve by URI');
    expect(verifyCredential(ann, 'approve by URI', sig)).toBe(true);
    expect(isCard(uri, t)).toBe(true);
    expect(isCard(uri, { ...t, serial: '' })).toBe(false);
    expect(isCard(uri.replace(`serial=${t.serial}`, `serial=${t.serial.slice(0, -1)}`), t)).toBe(false);
    expect(isCard('pkcs11:serial=%zz', t)).toBe(false);
    expect(isCard('Card Ann', t)).toBe(true);
  });

  it('refuse another person’s card before its PIN is tried', async () => {
    const e = await failure(signWithCard(hsm, ann, { ...BEN, pin: 'wrong-pin' }, 'x'));
    expect(e.code).toBe('CARD_WRONG');
    expect(e.message).toMatch(/not the card this person enrolled/);
    // Ben's card was never logged in to: a correct login still works and the PIN count is untouched.
    const slots = await hsm.call('slots', { path: SOFTHSM_MODULE });
    const ben = slots.find((s) => s.token?.label === BEN.token)!.token!;
    const CKF_USER_PIN_COUNT_LOW = 0x10000; // SoftHSM sets it after a failed C_Login
    expect(ben.flags & CKF_USER_PIN_COUNT_LOW).toBe(0);
  });

  it('a wrong card PIN costs exactly one login and says so; a PIN of impossible length costs none', async () => {
    const e = await failure(signWithCard(hsm, ann, { ...ANN, pin: '999999' }, 'x'));
    expect(e.code).toBe('PIN_INCORRECT');
    const short = await failure(signWithCard(hsm, ann, { ...ANN, pin: '12' }, 'x'));
    expect(short.code).toBe('PIN_LEN_RANGE');
    expect(short.action).toMatch(/No attempt was used/);
    // And the right PIN still works afterwards (SoftHSM does not lock; the count is the card's business).
    expect(await signWithCard(hsm, ann, ANN, 'y')).toMatch(/^[0-9a-f]{128}$/);
  });

  it('a card whose credential key was removed is refused as the wrong card', async () => {
    const other = await enrolCard(hsm, BEN, 'person-ben', () => 'enrol ben');
    await hsm.call('login', { path: BEN.module, token: BEN.token, role: 'user', pin: BEN.pin });
    await hsm.call('destroy', { path: BEN.module, token: BEN.token, ref: { idHex: other.credential.card!.keyIdHex } });
    await hsm.call('logout', { path: BEN.module, token: BEN.token });
    const e = await failure(signWithCard(hsm, other.credential, BEN, 'x'));
    expect(e.code).toBe('CARD_WRONG');
  });
});

describe('passphrase credentials', () => {
  it('derive an Ed25519 key; a wrong passphrase signs nothing', () => {
    const c = enrolPassphrase('correct horse battery staple');
    expect(c.kind).toBe('passphrase');
    expect(c.scrypt!.logN).toBe(17);
    const sig = signWithPassphrase(c, 'correct horse battery staple', 'approve');
    expect(verifyCredential(c, 'approve', sig)).toBe(true);
    expect(() => signWithPassphrase(c, 'correct horse battery stapler', 'approve')).toThrow(/not the one this person enrolled/);
    expect(() => enrolPassphrase('short')).toThrow(/at least 12/);
  });
});
