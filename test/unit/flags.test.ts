import { describe, expect, it } from 'vitest';
import { decodeTokenFlags } from '../../electron/services/tokens';

describe('token flags (PKCS#11 §3.2)', () => {
  it('decodes the SoftHSM flags seen for an initialised token', () => {
    const f = decodeTokenFlags(0x42d); // RNG | LOGIN_REQUIRED | USER_PIN_INITIALIZED | RESTORE_KEY_NOT_NEEDED | TOKEN_INITIALIZED
    expect(f).toMatchObject({ rng: true, loginRequired: true, userPinInitialized: true, initialized: true, userPinCountLow: false, userPinLocked: false });
  });
  it('decodes the PIN counters', () => {
    expect(decodeTokenFlags(0x10000).userPinCountLow).toBe(true);
    expect(decodeTokenFlags(0x20000).userPinFinalTry).toBe(true);
    expect(decodeTokenFlags(0x40000).userPinLocked).toBe(true);
    expect(decodeTokenFlags(0x400000).soPinLocked).toBe(true);
  });
});
