// Cryptoperiod policies. Defaults are NIST SP 800-57 Part 1 Rev. 5, §5.3.6, Table 1 ("Suggested
// cryptoperiods for key types"), taking the upper end of each range. An organisation's policy may be
// shorter; a key records the months it was given, so a later change of defaults never rewrites
// the dates of keys already archived.
//
// Vocabulary (SP 800-57 §5.3.4–5.3.5): the originator-usage period (OUP) is the time a key may
// apply protection (encrypt, sign, wrap, MAC); the recipient-usage period (RUP) is the time it may
// still process protected data (decrypt, verify, unwrap). For symmetric keys Table 1 gives
// "RUP ≤ OUP + 3 years" — the key may be used to process for up to 3 years after its OUP ends.

export const PURPOSES = [
  'data-encryption',
  'key-wrapping',
  'authentication',
  'signature',
  'key-transport',
  'key-agreement',
  'master-key',
  'authorization',
] as const;
export type Purpose = (typeof PURPOSES)[number];

export interface CryptoperiodPolicy {
  id: string;
  purpose: Purpose;
  /** Originator-usage period: months from activation until the version must stop protecting (rotation due). */
  originatorUsageMonths: number;
  /** Months after the OUP ends during which the version may still process (0: process-stop = protect-stop). */
  recipientExtraMonths: number;
  /** The Table 1 row(s) the default comes from. */
  source: string;
}

const T1 = 'NIST SP 800-57 Pt 1 Rev 5, Table 1';

/** Table 1 defaults by purpose. */
export const DEFAULT_POLICIES: Readonly<Record<Purpose, CryptoperiodPolicy>> = Object.freeze({
  'data-encryption': {
    id: 'sp800-57r5/data-encryption',
    purpose: 'data-encryption',
    originatorUsageMonths: 24,
    recipientExtraMonths: 36,
    source: `${T1} row 6 (symmetric data-encryption key): OUP ≤ 2 years, RUP ≤ OUP + 3 years`,
  },
  'key-wrapping': {
    id: 'sp800-57r5/key-wrapping',
    purpose: 'key-wrapping',
    originatorUsageMonths: 24,
    recipientExtraMonths: 36,
    source: `${T1} row 7 (symmetric key-wrapping key): OUP ≤ 2 years, RUP ≤ OUP + 3 years`,
  },
  authentication: {
    id: 'sp800-57r5/authentication',
    purpose: 'authentication',
    originatorUsageMonths: 24,
    recipientExtraMonths: 36,
    source: `${T1} row 3 (symmetric authentication key): OUP ≤ 2 years, RUP ≤ OUP + 3 years; rows 4–5 (asymmetric authentication keys): 1–2 years`,
  },
  signature: {
    id: 'sp800-57r5/signature',
    purpose: 'signature',
    originatorUsageMonths: 36,
    recipientExtraMonths: 0,
    source: `${T1} row 1 (private signature key): 1–3 years; the public key verifies for longer (row 2), and stays in the archive`,
  },
  'key-transport': {
    id: 'sp800-57r5/key-transport',
    purpose: 'key-transport',
    originatorUsageMonths: 24,
    recipientExtraMonths: 0,
    source: `${T1} row 10 (private key-transport key): ≤ 2 years`,
  },
  'key-agreement': {
    id: 'sp800-57r5/key-agreement',
    purpose: 'key-agreement',
    originatorUsageMonths: 24,
    recipientExtraMonths: 0,
    source: `${T1} rows 12–13 (symmetric and private static key-agreement keys): 1–2 years`,
  },
  'master-key': {
    id: 'sp800-57r5/master-key',
    purpose: 'master-key',
    originatorUsageMonths: 12,
    recipientExtraMonths: 0,
    source: `${T1} row 9 (symmetric master key / key-derivation key): about 1 year`,
  },
  authorization: {
    id: 'sp800-57r5/authorization',
    purpose: 'authorization',
    originatorUsageMonths: 24,
    recipientExtraMonths: 0,
    source: `${T1} rows 17–18 (symmetric and private authorization keys): ≤ 2 years`,
  },
});

export function isPurpose(value: unknown): value is Purpose {
  return typeof value === 'string' && (PURPOSES as readonly string[]).includes(value);
}

// ---------------------------------------------------------------------------------------------
// Dates: ISO 8601 in UTC with milliseconds, one fixed width ("2026-03-01T09:30:00.000Z"), so that
// string order is time order in SQLite indexes and in the canonical encoding.

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/;

export function isIsoDate(value: unknown): value is string {
  if (typeof value !== 'string' || !ISO.test(value)) return false;
  const d = new Date(value);
  return !Number.isNaN(d.getTime()) && d.toISOString() === value;
}

export function toIso(d: Date): string {
  return d.toISOString();
}

/**
 * Accepts what a person types — "2026-03-01", "2026-03-01T09:30Z", a full ISO string — and returns
 * the canonical form, or null. A date without a time is the start of that day, UTC.
 */
export function normalizeDate(text: string): string | null {
  const t = text.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(t);
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', ms = '0', zone = 'Z'] = m;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms.padEnd(3, '0')}${zone === 'Z' ? 'Z' : zone}`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  // Reject roll-overs such as 2026-02-31 (Date would silently make it 3 March).
  if (zone === 'Z' && date.toISOString().slice(0, 10) !== `${y}-${mo}-${d}`) return null;
  return date.toISOString();
}

/** Calendar months added in UTC; the day is clamped to the end of a shorter month (31 Jan + 1 → 28/29 Feb). */
export function addMonths(iso: string, months: number): string {
  const d = new Date(iso);
  const day = d.getUTCDate();
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return target.toISOString();
}

export interface PlannedDates {
  /** When the version should be replaced: activation + OUP. */
  rotationDue: string;
  protectStopDate: string;
  processStopDate: string;
}

/** The dates a cryptoperiod gives a version activated at `activation`. */
export function plannedDates(activation: string, p: { originatorUsageMonths: number; recipientExtraMonths: number }): PlannedDates {
  const protectStop = addMonths(activation, p.originatorUsageMonths);
  return { rotationDue: protectStop, protectStopDate: protectStop, processStopDate: addMonths(protectStop, p.recipientExtraMonths) };
}

/** Bounds on custom cryptoperiods: longer than 10 years is not a cryptoperiod any standard suggests. */
export const MAX_POLICY_MONTHS = 120;

export function checkPolicyMonths(oup: number, extra: number): string | null {
  if (!Number.isInteger(oup) || oup < 1 || oup > MAX_POLICY_MONTHS) return `The originator-usage period must be 1 to ${MAX_POLICY_MONTHS} whole months.`;
  if (!Number.isInteger(extra) || extra < 0 || extra > MAX_POLICY_MONTHS) return `The extra recipient-usage period must be 0 to ${MAX_POLICY_MONTHS} whole months.`;
  return null;
}
