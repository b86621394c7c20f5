// Card proofs warn about PIN tries as the workstation login does (shared/pin-tries.ts): after a wrong
// PIN the card's counters are read, and the holder is told few tries remain, that the next wrong
// PIN locks the card, or that it locked (PIN_LOCKED); a card that already reports its PIN locked is
// refused before any PIN is sent. Real SoftHSM2 cards: SoftHSM2 sets CKF_USER_PIN_COUNT_LOW after a
// failed login by itself; the final-try and locked states are put into the card's persisted token
// flags (SoftHSM2 never reaches them on its own), which SoftHSM2 then reports. The NSS softoken,
// which keeps no counters, gives the plain PIN_INCORRECT.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HsmClient } from '../../electron/hsm/client';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import { enrolCard, signWithCard, type CredentialRecord } from '../../electron/services/ceremony/credentials';
import { failure } from '../helpers/hsm-ops';
import { NSS_DB_TOKEN, NSS_MODULE, nssAvailable } from '../helpers/nss';
import { HOST_SCRIPT, requireBuild, setSoftHsmTokenFlags, SOFTHSM_MODULE, softhsm, type SoftHsmFixture } from '../helpers/softhsm';

const CKF_USER_PIN_COUNT_LOW = 0x10000;
const CKF_USER_PIN_FINAL_TRY = 0x20000;
const CKF_USER_PIN_LOCKED = 0x40000;

let fx: SoftHsmFixture;
const cards = {
  low: { module: SOFTHSM_MODULE, token: 'Card Low', pin: '111111' },
  final: { module: SOFTHSM_MODULE, token: 'Card Final', pin: '222222' },
  locked: { module: SOFTHSM_MODULE, token: 'Card Locked', pin: '333333' },
};
const cred: Record<string, CredentialRecord> = {};
const host = () => new HsmClient(nodeHostSpawner(HOST_SCRIPT, fx.env));
async function flagsOf(hsm: HsmClient, label: string): Promise<number> {
  return (await hsm.call('slots', { path: SOFTHSM_MODULE })).find((s) => s.token?.label === label)!.token!.flags;
}

beforeAll(async () => {
  requireBuild();
  fx = softhsm('custos-card-pin-tries-');
  for (const c of Object.values(cards)) fx.initToken(c.token, { user: c.pin });
  const hsm = host();
  try {
    for (const [k, c] of Object.entries(cards)) cred[k] = (await enrolCard(hsm, c, `person-${k}`, (f) => `enrol ${f}`)).credential;
  } finally {
    await hsm.close();
  }
  // The states a real card reaches after wrong PINs, set while no host has the tokens open.
  setSoftHsmTokenFlags(fx, cards.final.token, CKF_USER_PIN_FINAL_TRY);
  setSoftHsmTokenFlags(fx, cards.locked.token, CKF_USER_PIN_LOCKED | CKF_USER_PIN_COUNT_LOW);
}, 60_000);

afterAll(() => fx?.cleanup());

describe('a card proof and the PIN tries left', () => {
  it('a wrong PIN: the card now reports few tries left, and the holder is told so (as at the workstation login)', async () => {
    const hsm = host();
    try {
      expect((await flagsOf(hsm, cards.low.token)) & CKF_USER_PIN_COUNT_LOW).toBe(0);
      const e = await failure(signWithCard(hsm, cred.low!, { ...cards.low, pin: '999999' }, 'approve'));
      expect(e).toMatchObject({ code: 'PIN_INCORRECT', details: { ckr: 'CKR_PIN_INCORRECT', triesLeft: 'low' } });
      expect(e.message).toMatch(/The card reports that few tries remain/);
      // The right PIN still signs.
      expect(await signWithCard(hsm, cred.low!, cards.low, 'approve')).toMatch(/^[0-9a-f]{128}$/);
    } finally {
      await hsm.close();
    }
  });

  it('a wrong PIN on a card at its final try: “one more wrong PIN will lock this card”', async () => {
    const hsm = host();
    try {
      expect((await flagsOf(hsm, cards.final.token)) & CKF_USER_PIN_FINAL_TRY).not.toBe(0);
      const e = await failure(signWithCard(hsm, cred.final!, { ...cards.final, pin: '999999' }, 'approve'));
      expect(e).toMatchObject({ code: 'PIN_INCORRECT', details: { triesLeft: 'final' } });
      expect(e.message).toMatch(/One more wrong PIN will lock this card/);
      expect(e.action).toMatch(/Stop and make sure of the PIN/);
    } finally {
      await hsm.close();
    }
  });

  it('a card that reports its PIN locked is refused with PIN_LOCKED before any PIN is sent, even the right one', async () => {
    const hsm = host();
    try {
      const e = await failure(signWithCard(hsm, cred.locked!, cards.locked, 'approve'));
      expect(e).toMatchObject({ code: 'PIN_LOCKED', details: { triesLeft: 0 } });
      expect(e.message).toMatch(/This card reports its PIN locked; no PIN was tried/);
      expect(e.action).toMatch(/security officer unlocks the PIN/);
      expect(JSON.stringify(e)).not.toContain(cards.locked.pin);
      // No C_Login reached the card: a successful one would have cleared SoftHSM2's count-low flag.
      expect((await flagsOf(hsm, cards.locked.token)) & CKF_USER_PIN_COUNT_LOW).not.toBe(0);
    } finally {
      await hsm.close();
    }
  });
});

describe.skipIf(!nssAvailable())('a card on the NSS softoken (no PIN counters)', () => {
  it('a wrong PIN is PIN_INCORRECT with no tries warning: NSS reports none, and none is made up', async () => {
    // A key database with a password (NSS's user PIN), as `certutil -N -f FILE` makes it.
    const dir = mkdtempSync(join(tmpdir(), 'custos-card-pin-nss-'));
    const pw = join(dir, 'pw.txt');
    writeFileSync(pw, 'nss-card-pin\n', { mode: 0o600 });
    execFileSync('certutil', ['-N', '-d', `sql:${dir}`, '-f', pw], { stdio: 'ignore', timeout: 30_000 });
    const hsm = new HsmClient(nodeHostSpawner(HOST_SCRIPT, { ...process.env, CUSTOS_NSS_CONFIGDIR: dir, CUSTOS_DATA_DIR: join(dir, 'data') }));
    try {
      const card = { module: NSS_MODULE, token: NSS_DB_TOKEN, pin: 'nss-card-pin' };
      const c = (await enrolCard(hsm, card, 'person-nss', (f) => `enrol ${f}`)).credential;
      const e = await failure(signWithCard(hsm, c, { ...card, pin: 'not-the-pin' }, 'approve'));
      expect(e.code).toBe('PIN_INCORRECT');
      expect(e.details?.triesLeft).toBeUndefined();
      expect(await signWithCard(hsm, c, card, 'approve')).toMatch(/^[0-9a-f]{128}$/);
    } finally {
      await hsm.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
