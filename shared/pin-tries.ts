// What a token's PIN counters mean for the person at the keyboard, for every login Custos makes:
// the workstation login (TokenService, the ceremony's operator login) and a card proof (a holder's
// credential signature, a sealed share opened in its card). PKCS#11 v2.40 §3.2 CK_TOKEN_INFO flags;
// tokens set them after a failed C_Login, so they are read again after one. Pure.
import type { AppError } from './result';

/** PKCS#11 v2.40 §3.2: the PIN counter bits of CK_TOKEN_INFO.flags. */
export const PIN_FLAGS = {
  user: { low: 0x10000, final: 0x20000, locked: 0x40000 },
  so: { low: 0x100000, final: 0x200000, locked: 0x400000 },
} as const;

export type PinRole = keyof typeof PIN_FLAGS;
/** What holds the PIN, in the words the person reads: their card, or the workstation token. */
export type PinHolder = 'token' | 'card';

export interface PinCounters {
  low: boolean;
  final: boolean;
  locked: boolean;
}

export function pinCounters(flags: number, role: PinRole = 'user'): PinCounters {
  const b = PIN_FLAGS[role];
  return { low: (flags & b.low) !== 0, final: (flags & b.final) !== 0, locked: (flags & b.locked) !== 0 };
}

/**
 * The error to show after a wrong PIN, given the counters the token reports now: PIN_LOCKED once it
 * locked, the final-try warning before the last try, the few-tries warning when the count is low;
 * otherwise the error as it came. details.triesLeft says which (0, 'final', 'low').
 */
export function afterWrongPin(e: AppError, flags: number, role: PinRole = 'user', holder: PinHolder = 'token'): AppError {
  const c = pinCounters(flags, role);
  const unlock = role === 'so' ? 'The token must be re-initialised by its owner: the SO PIN cannot be unlocked.' : 'The security officer must unlock the PIN.';
  if (c.locked) return { ...e, code: 'PIN_LOCKED', message: `The PIN was wrong and the ${holder} has now locked it.`, action: `Do not try again. ${unlock}`, details: { ...e.details, triesLeft: 0 } };
  if (c.final) return { ...e, message: `The PIN is not correct. One more wrong PIN will lock this ${holder}.`, action: 'Stop and make sure of the PIN before trying again; ask the security officer if in doubt.', details: { ...e.details, triesLeft: 'final' } };
  if (c.low) return { ...e, message: `The PIN is not correct. The ${holder} reports that few tries remain before it locks.`, details: { ...e.details, triesLeft: 'low' } };
  return e;
}

/** A token that already reports its PIN locked is refused before any PIN is sent to it; null when it is not. */
export function lockedBeforeLogin(flags: number, role: PinRole = 'user', holder: PinHolder = 'token'): AppError | null {
  if (!pinCounters(flags, role).locked) return null;
  const unlock = role === 'so' ? 'The SO PIN cannot be unlocked: the token must be re-initialised by its owner.' : `The security officer unlocks the PIN (a new PIN is set with the SO PIN), then try again${holder === 'card' ? ' with this card' : ''}.`;
  return { code: 'PIN_LOCKED', message: `This ${holder} reports its ${role === 'so' ? 'SO ' : ''}PIN locked; no PIN was tried.`, action: unlock, details: { triesLeft: 0 } };
}
