// Cryptoperiod policies (shared/archive/policy.ts): NIST SP 800-57 Part 1 Rev. 5 Table 1 defaults,
// calendar arithmetic for rotation-due dates, and date input.
import { describe, expect, it } from 'vitest';
import { addMonths, checkPolicyMonths, DEFAULT_POLICIES, isIsoDate, normalizeDate, plannedDates, PURPOSES } from '../../shared/archive/policy';

describe('cryptoperiod defaults (SP 800-57 Pt 1 Rev 5, Table 1)', () => {
  it('every purpose has a policy that cites its Table 1 row', () => {
    for (const p of PURPOSES) {
      expect(DEFAULT_POLICIES[p].purpose).toBe(p);
      expect(DEFAULT_POLICIES[p].source).toMatch(/SP 800-57 Pt 1 Rev 5, Table 1 rows? \d/);
    }
  });

  it('takes the upper end of each range', () => {
    // Row 6 / 7 / 3: symmetric data-encryption, key-wrapping, authentication: OUP ≤ 2 y, RUP ≤ OUP + 3 y.
    for (const p of ['data-encryption', 'key-wrapping', 'authentication'] as const) {
      expect(DEFAULT_POLICIES[p]).toMatchObject({ originatorUsageMonths: 24, recipientExtraMonths: 36 });
    }
    expect(DEFAULT_POLICIES.signature).toMatchObject({ originatorUsageMonths: 36, recipientExtraMonths: 0 }); // row 1: 1–3 y
    expect(DEFAULT_POLICIES['master-key']).toMatchObject({ originatorUsageMonths: 12 }); // row 9: about 1 y
    expect(DEFAULT_POLICIES['key-transport']).toMatchObject({ originatorUsageMonths: 24 }); // row 10: ≤ 2 y
  });

  it('gives each activated version its rotation-due, protect-stop and process-stop dates', () => {
    expect(plannedDates('2026-03-01T09:30:00.000Z', DEFAULT_POLICIES['data-encryption'])).toEqual({
      rotationDue: '2028-03-01T09:30:00.000Z',
      protectStopDate: '2028-03-01T09:30:00.000Z',
      processStopDate: '2031-03-01T09:30:00.000Z',
    });
    expect(plannedDates('2026-03-01T00:00:00.000Z', DEFAULT_POLICIES.signature).processStopDate).toBe('2029-03-01T00:00:00.000Z');
  });

  it('bounds custom periods', () => {
    expect(checkPolicyMonths(12, 0)).toBeNull();
    expect(checkPolicyMonths(0, 0)).toMatch(/1 to 120/);
    expect(checkPolicyMonths(121, 0)).toMatch(/1 to 120/);
    expect(checkPolicyMonths(12, -1)).toMatch(/0 to 120/);
    expect(checkPolicyMonths(1.5, 0)).not.toBeNull();
  });
});

describe('dates', () => {
  it('adds calendar months in UTC, clamping to the end of shorter months', () => {
    expect(addMonths('2026-01-31T12:00:00.000Z', 1)).toBe('2026-02-28T12:00:00.000Z');
    expect(addMonths('2024-01-31T00:00:00.000Z', 1)).toBe('2024-02-29T00:00:00.000Z');
    expect(addMonths('2026-08-31T00:00:00.000Z', 36)).toBe('2029-08-31T00:00:00.000Z');
    expect(addMonths('2026-12-15T23:59:59.999Z', 1)).toBe('2027-01-15T23:59:59.999Z');
    expect(addMonths('2028-02-29T00:00:00.000Z', 12)).toBe('2029-02-28T00:00:00.000Z');
  });

  it('normalises what people type, and refuses impossible dates', () => {
    expect(normalizeDate('2026-03-01')).toBe('2026-03-01T00:00:00.000Z');
    expect(normalizeDate('2026-03-01T09:30Z')).toBe('2026-03-01T09:30:00.000Z');
    expect(normalizeDate('2026-03-01 09:30:15.5')).toBe('2026-03-01T09:30:15.500Z');
    expect(normalizeDate('2026-03-01T09:30:00+02:00')).toBe('2026-03-01T07:30:00.000Z');
    expect(normalizeDate('2026-02-31')).toBeNull();
    expect(normalizeDate('yesterday')).toBeNull();
    expect(normalizeDate('2026-3-1')).toBeNull();
    expect(isIsoDate('2026-03-01T00:00:00.000Z')).toBe(true);
    expect(isIsoDate('2026-03-01T00:00:00Z')).toBe(false);
  });
});
