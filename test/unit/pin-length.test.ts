// The PIN length rule the CLI, the main process and the login form share (shared/pin-length.ts):
// PKCS#11 CK_TOKEN_INFO ulMinPinLen/ulMaxPinLen, in UTF-8 bytes, checked before C_Login.
import { describe, expect, it } from 'vitest';
import { checkPinLength, describePinLimits, pinLengthProblem } from '../../shared/pin-length';
import { CustosError } from '../../shared/result';

const softhsm = { minPinLength: 4, maxPinLength: 255 };

describe('pinLengthProblem', () => {
  it('accepts a PIN within the limits, and says what is wrong outside them', () => {
    expect(pinLengthProblem('1234', softhsm)).toBeNull();
    expect(pinLengthProblem('9'.repeat(255), softhsm)).toBeNull();
    expect(pinLengthProblem('123', softhsm)).toBe('This token takes a PIN of 4 to 255 characters; the one given has 3.');
    expect(pinLengthProblem('9'.repeat(300), softhsm)).toMatch(/has 300\.$/);
    expect(pinLengthProblem('12345', { minPinLength: 6, maxPinLength: 6 }, 'This card')).toBe('This card takes a PIN of 6 characters; the one given has 5.');
  });

  it('counts UTF-8 bytes, as C_Login receives them', () => {
    expect(pinLengthProblem('ääää', { minPinLength: 4, maxPinLength: 6 })).toMatch(/has 8/);
  });

  it('ignores limits a token does not report (0, or CK_UNAVAILABLE_INFORMATION)', () => {
    expect(pinLengthProblem('1', { minPinLength: 0, maxPinLength: 0 })).toBeNull();
    expect(pinLengthProblem('1'.repeat(5000), { minPinLength: 4, maxPinLength: 2 ** 32 - 1 })).toBeNull();
    expect(pinLengthProblem('12', { minPinLength: 4, maxPinLength: 2 ** 32 - 1 })).toMatch(/at least 4/);
  });

  it('checkPinLength throws PIN_LEN_RANGE saying no try was used', () => {
    try {
      checkPinLength('1', softhsm);
      throw new Error('expected a refusal');
    } catch (e) {
      expect(e).toBeInstanceOf(CustosError);
      expect((e as CustosError).appError).toMatchObject({ code: 'PIN_LEN_RANGE', action: expect.stringMatching(/No attempt was used/) });
    }
  });
});

describe('describePinLimits', () => {
  it('words the limits for the login form, or says nothing when the token reports none', () => {
    expect(describePinLimits(softhsm)).toBe('4 to 255 characters');
    expect(describePinLimits({ minPinLength: 8, maxPinLength: 8 })).toBe('8 characters');
    expect(describePinLimits({ minPinLength: 6, maxPinLength: 2 ** 32 - 1 })).toBe('at least 6 characters');
    expect(describePinLimits({ minPinLength: 0, maxPinLength: 0 })).toBeNull();
  });
});
