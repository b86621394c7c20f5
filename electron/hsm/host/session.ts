// Tokens, sessions and logins inside the HSM host process: finding a token by selector, the one
// long-lived session per token that key operations use (tokenContext), login, logout and PINs.
import * as pkcs11js from 'pkcs11js';
import { matchesSelector } from '../../../shared/pkcs11-uri';
import type { RawSlot, RawTokenInfo } from '../protocol';
import { fail, p11, p11Failure } from './failure';
import { closeSession, mod, openSession, trim, type LoadedModule } from './library';

export interface TokenContext {
  m: LoadedModule;
  slot: Buffer;
  token: RawTokenInfo;
  key: string;
  session: Buffer;
}

export const tokenKey = (t: { label: string; serial: string; model: string; manufacturer: string }) =>
  [t.manufacturer, t.model, t.serial, t.label].join('\u0001');

// CK_STATE values, PKCS#11 v2.40 §5.6.
const CKS_RO_USER_FUNCTIONS = 1;
const CKS_RW_USER_FUNCTIONS = 3;
const CKS_RW_SO_FUNCTIONS = 4;

export function sessionRole(m: LoadedModule, key: string): 'user' | 'so' | null {
  const session = m.sessions.get(key);
  if (!session) return null;
  try {
    const state = m.p11.C_GetSessionInfo(session).state;
    if (state === CKS_RO_USER_FUNCTIONS || state === CKS_RW_USER_FUNCTIONS) return 'user';
    if (state === CKS_RW_SO_FUNCTIONS) return 'so';
    return null;
  } catch {
    // The token went away or was reset: the session (and its login) are gone.
    m.sessions.delete(key);
    return null;
  }
}

export function tokenOf(m: LoadedModule, slot: Buffer): RawTokenInfo {
  const t = m.p11.C_GetTokenInfo(slot);
  const identity = {
    label: trim(t.label),
    manufacturer: trim(t.manufacturerID),
    model: trim(t.model),
    serial: trim(t.serialNumber),
  };
  return {
    ...identity,
    flags: t.flags,
    minPinLength: t.minPinLen,
    maxPinLength: t.maxPinLen,
    loggedIn: sessionRole(m, tokenKey(identity)),
  };
}

export function describeSlot(m: LoadedModule, slot: Buffer): RawSlot {
  const s = m.p11.C_GetSlotInfo(slot);
  const present = (s.flags & 0x1) !== 0; // CKF_TOKEN_PRESENT (missing from the typings)
  return {
    slotId: slot.toString('hex'),
    description: trim(s.slotDescription),
    manufacturer: trim(s.manufacturerID),
    flags: s.flags,
    token: present ? tokenOf(m, slot) : null,
  };
}

export function slots(path: string): RawSlot[] {
  const m = mod(path);
  const list = p11('C_GetSlotList', () => m.p11.C_GetSlotList(false));
  const out: RawSlot[] = [];
  for (const slot of list) {
    try {
      out.push(describeSlot(m, slot));
    } catch {
      // A token pulled out (or broken) while we list it: one bad slot must not hide the others.
      try {
        const info = m.p11.C_GetSlotInfo(slot);
        out.push({ slotId: slot.toString('hex'), description: trim(info.slotDescription), manufacturer: trim(info.manufacturerID), flags: info.flags & ~0x1, token: null });
      } catch {
        /* the slot itself is gone */
      }
    }
  }
  return out;
}

export function findToken(m: LoadedModule, selector: string): { slot: Buffer; token: RawTokenInfo } {
  const matches: Array<{ slot: Buffer; token: RawTokenInfo }> = [];
  const list = p11('C_GetSlotList', () => m.p11.C_GetSlotList(true));
  for (const slot of list) {
    try {
      const token = tokenOf(m, slot);
      if (matchesSelector(selector, token)) matches.push({ slot, token });
    } catch {
      /* removed while we looked: not a match */
    }
  }
  if (matches.length === 0) {
    return fail({
      code: 'TOKEN_ABSENT',
      message: 'That token is not present any more: it was removed or its reader disconnected.',
      action: 'Insert the token, wait until it shows in the list, then try again.',
      details: { selector },
    });
  }
  if (matches.length > 1) {
    return fail({
      code: 'TOKEN_AMBIGUOUS',
      message: `${matches.length} tokens match; the app will not guess which one you meant.`,
      action: 'Select the token by its full PKCS#11 URI (which includes its serial number).',
      details: { selector },
    });
  }
  return matches[0]!;
}

/** The token's session for key operations (opened if needed; logged in if the user logged in). */
export function tokenContext(path: string, selector: string): TokenContext {
  const m = mod(path);
  const hit = m.resolved.get(selector);
  if (hit) {
    const session = m.sessions.get(hit.key);
    if (session) {
      try {
        // A session survives only as long as its token stays in the slot (v2.40 §5.6): if it is
        // alive, the token is the one found before. One cheap call instead of listing every slot.
        const state = m.p11.C_GetSessionInfo(session).state;
        const loggedIn = state === CKS_RO_USER_FUNCTIONS || state === CKS_RW_USER_FUNCTIONS ? 'user' : state === CKS_RW_SO_FUNCTIONS ? 'so' : null;
        return { m, slot: hit.slot, token: { ...hit.token, loggedIn }, key: hit.key, session };
      } catch {
        m.sessions.delete(hit.key);
      }
    }
    m.resolved.delete(selector);
  }
  const { slot, token } = findToken(m, selector);
  const key = tokenKey(token);
  const session = openSession(m, slot, key);
  // Only a selector naming the token's serial can be cached: a label alone might match a second
  // token inserted later, which must be reported as ambiguous.
  if (/^pkcs11:.*\bserial=/.test(selector)) m.resolved.set(selector, { slot, token, key });
  return { m, slot, token, key, session };
}

export function login(path: string, selector: string, role: 'user' | 'so', pin: string): RawSlot {
  const m = mod(path);
  const { slot, token } = findToken(m, selector);
  const key = tokenKey(token);
  const session = openSession(m, slot, key);
  const userType = role === 'so' ? pkcs11js.CKU_SO : pkcs11js.CKU_USER;
  try {
    m.p11.C_Login(session, userType, pin);
  } catch (e) {
    const f = p11Failure(e, 'C_Login');
    if (f.details?.ckr !== 'CKR_USER_ALREADY_LOGGED_IN') {
      if (f.code !== 'ALREADY_LOGGED_IN') closeSession(m, key);
      return fail(f);
    }
    // Already logged in: tokens answer that before looking at the PIN, so a login used to prove
    // presence would accept any PIN. Log out and check this PIN for real.
    try {
      m.p11.C_Logout(session);
    } catch {
      /* already logged out */
    }
    try {
      m.p11.C_Login(session, userType, pin);
    } catch (e2) {
      closeSession(m, key);
      return fail(p11Failure(e2, 'C_Login'));
    }
  }
  return describeSlot(m, slot);
}

export function logout(path: string, selector: string): RawSlot {
  const m = mod(path);
  const { slot, token } = findToken(m, selector);
  const key = tokenKey(token);
  const session = m.sessions.get(key);
  if (session) {
    try {
      m.p11.C_Logout(session);
    } catch {
      /* not logged in any more: the goal state already holds */
    }
    closeSession(m, key);
  }
  return describeSlot(m, slot);
}

/** C_SetPIN on the logged-in session: changes the PIN of whoever is logged in (user or SO). */
export function changePin(path: string, selector: string, oldPin: string, newPin: string): RawSlot {
  const ctx = tokenContext(path, selector);
  if (!sessionRole(ctx.m, ctx.key)) {
    return fail({ code: 'NOT_LOGGED_IN', message: 'Log in first; the PIN is changed for whoever is logged in.', action: 'Log in with the current PIN, then change it.' });
  }
  p11('C_SetPIN', () => ctx.m.p11.C_SetPIN(ctx.session, oldPin, newPin));
  return describeSlot(ctx.m, ctx.slot);
}

export function initToken(path: string, slotId: string, soPin: string, label: string): RawSlot {
  const m = mod(path);
  const slot = Buffer.from(slotId, 'hex');
  const before = new Set(slots(path).flatMap((x) => (x.token && x.token.serial ? [x.token.serial] : [])));
  p11('C_InitToken', () => m.p11.C_InitToken(slot, soPin, label));
  // SoftHSM moves a freshly initialised token to a new slot id: find it again by label and a
  // serial number that was not there before (another token may carry the same label).
  const fresh = slots(path).filter((x) => x.token && x.token.label === label && !before.has(x.token.serial));
  if (fresh.length === 1) return fresh[0]!;
  return describeSlot(m, findToken(m, label).slot);
}

export function initUserPin(path: string, selector: string, soPin: string, userPin: string): RawSlot {
  const m = mod(path);
  const { slot, token } = findToken(m, selector);
  const key = tokenKey(token);
  const session = openSession(m, slot, key);
  try {
    m.p11.C_Login(session, pkcs11js.CKU_SO, soPin);
    m.p11.C_InitPIN(session, userPin);
  } catch (e) {
    closeSession(m, key);
    return fail(p11Failure(e, 'C_InitPIN'));
  }
  try {
    m.p11.C_Logout(session);
  } finally {
    closeSession(m, key);
  }
  return describeSlot(m, slot);
}
