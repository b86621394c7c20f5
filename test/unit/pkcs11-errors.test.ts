import { describe, expect, it } from 'vitest';
import { CKR_VALUES, ckrName, pkcs11Error } from '../../shared/pkcs11-errors';
import { ERROR_CODES } from '../../shared/result';

describe('PKCS#11 error mapping', () => {
  it('maps every known CKR to a code from the closed union with words and a next step', () => {
    for (const [name, value] of Object.entries(CKR_VALUES)) {
      const byName = pkcs11Error(name, 'C_Test');
      const byValue = pkcs11Error(value, 'C_Test');
      expect(byValue).toEqual(byName);
      expect(ERROR_CODES).toContain(byName.code);
      expect(byName.message).toMatch(/^[A-Z].*\.$/);
      expect(byName.action.length).toBeGreaterThan(10);
      expect(byName.message).not.toMatch(/CKR_|0x/);
      expect(byName.details).toEqual({ ckr: name, function: 'C_Test' });
    }
  });

  it.each([
    ['CKR_PIN_INCORRECT', 'PIN_INCORRECT'],
    ['CKR_PIN_LOCKED', 'PIN_LOCKED'],
    ['CKR_TOKEN_NOT_PRESENT', 'TOKEN_ABSENT'],
    ['CKR_DEVICE_REMOVED', 'TOKEN_ABSENT'],
    ['CKR_SESSION_HANDLE_INVALID', 'SESSION_CLOSED'],
    ['CKR_MECHANISM_INVALID', 'MECHANISM_UNSUPPORTED'],
    ['CKR_KEY_UNEXTRACTABLE', 'KEY_NOT_EXTRACTABLE'],
    ['CKR_ATTRIBUTE_SENSITIVE', 'ATTRIBUTE_SENSITIVE'],
    ['CKR_DEVICE_ERROR', 'DEVICE_ERROR'],
    ['CKR_USER_NOT_LOGGED_IN', 'NOT_LOGGED_IN'],
  ])('%s → %s', (ckr, code) => {
    expect(pkcs11Error(ckr).code).toBe(code);
  });

  it('names unknown vendor values in hex and still gives words', () => {
    expect(ckrName(0x80000123)).toBe('CKR_0x80000123');
    const e = pkcs11Error(0x80000123);
    expect(e.code).toBe('FUNCTION_FAILED');
    expect(e.details?.ckr).toBe('CKR_0x80000123');
    expect(e.message).toMatch(/refused/);
  });
});
