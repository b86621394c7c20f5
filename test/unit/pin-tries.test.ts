// The PIN counters (PKCS#11 v2.40 §3.2 CK_TOKEN_INFO flags) read the same way for the workstation
// login and for a card proof (shared/pin-tries.ts): the flag values are the standard's, written out.
import { describe, expect, it } from 'vitest';
import { afterWrongPin, lockedBeforeLogin, pinCounters } from '../../shared/pin-tries';
import type { AppError } from '../../shared/result';

const SOFTHSM_INITIALISED = 0x42d; // RNG | LOGIN_REQUIRED | USER_PIN_INITIALIZED | RESTORE_KEY_NOT_NEEDED | TOKEN_INITIALIZED
const wrong: AppError = { code: 'PIN_INCORRECT', message: 'The PIN is not correct.', action: 'Type it again.', details: { ckr: 'CKR_PIN_INCORRECT' } };

describe('PIN counters', () => {
  it('reads the user and SO bits apart', () => {
    expect(pinCounters(SOFTHSM_INITIALISED)).toEqual({ low: false, final: false, locked: false });
    expect(pinCounters(0x10000 | 0x20000 | 0x40000)).toEqual({ low: true, final: true, locked: true });
    expect(pinCounters(0x10000 | 0x20000 | 0x40000, 'so')).toEqual({ low: false, final: false, locked: false });
    expect(pinCounters(0x400000, 'so')).toEqual({ low: false, final: false, locked: true });
    expect(pinCounters(0x400000)).toEqual({ low: false, final: false, locked: false });
  });

  it('after a wrong PIN: locked beats final beats low; no counter keeps the error as it came', () => {
    expect(afterWrongPin(wrong, SOFTHSM_INITIALISED)).toBe(wrong);
    expect(afterWrongPin(wrong, SOFTHSM_INITIALISED | 0x10000)).toMatchObject({ code: 'PIN_INCORRECT', message: 'The PIN is not correct. The token reports that few tries remain before it locks.', details: { ckr: 'CKR_PIN_INCORRECT', triesLeft: 'low' } });
    expect(afterWrongPin(wrong, 0x10000 | 0x20000, 'user', 'card')).toMatchObject({ code: 'PIN_INCORRECT', message: 'The PIN is not correct. One more wrong PIN will lock this card.', details: { triesLeft: 'final' } });
    expect(afterWrongPin(wrong, 0x10000 | 0x20000 | 0x40000, 'user', 'card')).toMatchObject({ code: 'PIN_LOCKED', message: 'The PIN was wrong and the card has now locked it.', action: expect.stringMatching(/^Do not try again/), details: { triesLeft: 0 } });
    // The SO counters do not speak for a user login, nor the user's for an SO login.
    expect(afterWrongPin(wrong, 0x400000)).toBe(wrong);
    expect(afterWrongPin(wrong, 0x40000, 'so')).toBe(wrong);
    expect(afterWrongPin(wrong, 0x200000, 'so').details).toMatchObject({ triesLeft: 'final' });
  });

  it('a token that reports its PIN locked is refused before a PIN is sent', () => {
    expect(lockedBeforeLogin(SOFTHSM_INITIALISED | 0x10000 | 0x20000)).toBeNull();
    expect(lockedBeforeLogin(0x40000, 'user', 'card')).toMatchObject({ code: 'PIN_LOCKED', message: 'This card reports its PIN locked; no PIN was tried.', details: { triesLeft: 0 } });
    expect(lockedBeforeLogin(0x40000, 'so')).toBeNull();
    expect(lockedBeforeLogin(0x400000, 'so')?.message).toMatch(/SO PIN locked/);
  });
});
