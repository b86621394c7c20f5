// The PIN length a token accepts, checked before C_Login: on a real card a PIN of the wrong length
// still costs one of its few tries (issue #11). PKCS#11 v2.40 §3.2 CK_TOKEN_INFO gives the limits as
// ulMinPinLen and ulMaxPinLen, in bytes; C_Login takes the PIN as UTF-8 bytes (CK_UTF8CHAR), so the
// PIN is measured in UTF-8 bytes too. Pure: the main process (TokenService, card credentials) and the
// renderer's login form use the same rule.
import { fail } from './result';

/** Limits above this are taken as "not reported" (CK_UNAVAILABLE_INFORMATION is ~0). */
const NO_LIMIT = 1024;

export interface PinLimits {
  minPinLength: number;
  maxPinLength: number;
}

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

function bounds({ minPinLength: min, maxPinLength: max }: PinLimits): { min: number | null; max: number | null } {
  return { min: Number.isInteger(min) && min > 0 ? min : null, max: Number.isInteger(max) && max > 0 && max < NO_LIMIT ? max : null };
}

/** "4 to 255 characters", "6 characters", "at least 4 characters", or null when the token reports no limit. */
export function describePinLimits(limits: PinLimits): string | null {
  const { min, max } = bounds(limits);
  if (min !== null && max !== null) return `${min === max ? min : `${min} to ${max}`} characters`;
  if (min !== null) return `at least ${min} characters`;
  return max !== null ? `at most ${max} characters` : null;
}

/** The sentence for a PIN outside the token's limits, or null when its length is acceptable. */
export function pinLengthProblem(pin: string, limits: PinLimits, who = 'This token'): string | null {
  const { min, max } = bounds(limits);
  const n = utf8Length(pin);
  if ((min !== null && n < min) || (max !== null && n > max)) return `${who} takes a PIN of ${describePinLimits(limits)}; the one given has ${n}.`;
  return null;
}

/** Throws PIN_LEN_RANGE (nothing was sent to the token, so no try was used) for a PIN outside the limits. */
export function checkPinLength(pin: string, limits: PinLimits, who = 'This token'): void {
  const problem = pinLengthProblem(pin, limits, who);
  if (problem) fail('PIN_LEN_RANGE', problem, 'Check the PIN and enter it again. No attempt was used.', { minPinLength: limits.minPinLength, maxPinLength: limits.maxPinLength });
}
