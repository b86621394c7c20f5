// One C_Login with the PIN-tries warnings (shared/pin-tries.ts): the workstation login, the
// ceremony's operator login and every card proof go through here, so a card that is about to lock
// warns as the workstation token does. A wrong PIN is never retried.
import { matchesSelector } from '../../shared/pkcs11-uri';
import { afterWrongPin, type PinHolder, type PinRole } from '../../shared/pin-tries';
import { CustosError } from '../../shared/result';
import type { HsmClient } from '../hsm/client';
import type { RawSlot } from '../hsm/protocol';

/** The raw CK_TOKEN_INFO flags of the one token `token` names, or null (absent, ambiguous, unreadable). */
export async function tokenFlagsNow(hsm: HsmClient, path: string, token: string): Promise<number | null> {
  try {
    const found = (await hsm.call('slots', { path })).filter((s) => s.token && matchesSelector(token, s.token));
    return found.length === 1 ? found[0]!.token!.flags : null;
  } catch {
    return null; // the warning is a courtesy; the PIN error itself stands
  }
}

export async function loginWarned(hsm: HsmClient, t: { path: string; token: string; role: PinRole; pin: string }, holder: PinHolder = 'token'): Promise<RawSlot> {
  try {
    return await hsm.call('login', { path: t.path, token: t.token, role: t.role, pin: t.pin });
  } catch (e) {
    if (!(e instanceof CustosError) || e.appError.code !== 'PIN_INCORRECT') throw e;
    // Tokens update their counters on the failed C_Login (PKCS#11 §3.2): read them now.
    const flags = await tokenFlagsNow(hsm, t.path, t.token);
    throw flags === null ? e : new CustosError(afterWrongPin(e.appError, flags, t.role, holder));
  }
}
