// Key-version lifecycle (shared/archive/lifecycle.ts): every (state, action) and every
// (state, state) pair, checked against a table written out here by hand from NIST SP 800-57
// Part 1 Rev. 5 §7.4 and KMIP 2.1 §3.22.
import { describe, expect, it } from 'vitest';
import {
  allowedActions,
  canTransition,
  datesAfter,
  KEY_STATES,
  LIFECYCLE_ACTIONS,
  NO_DATES,
  reachable,
  reachablePairs,
  TRANSITIONS,
  transitionFor,
  USAGE_BY_STATE,
  type KeyState,
  type LifecycleAction,
} from '../../shared/archive/lifecycle';

// The whole table: state → action → resulting state (absent: refused).
const EXPECTED: Record<KeyState, Partial<Record<LifecycleAction, KeyState>>> = {
  'pre-active': { activate: 'active', compromise: 'compromised', destroy: 'destroyed' },
  active: { suspend: 'suspended', deactivate: 'deactivated', compromise: 'compromised' },
  suspended: { resume: 'active', deactivate: 'deactivated', compromise: 'compromised' },
  deactivated: { compromise: 'compromised', destroy: 'destroyed' },
  compromised: { destroy: 'destroyed-compromised' },
  destroyed: { compromise: 'destroyed-compromised' },
  'destroyed-compromised': {},
};

describe('lifecycle transitions', () => {
  it('has exactly the legal transitions: all 7 × 6 (state, action) pairs', () => {
    let legal = 0;
    for (const s of KEY_STATES) {
      for (const a of LIFECYCLE_ACTIONS) {
        expect(transitionFor(s, a), `${s} --${a}-->`).toBe(EXPECTED[s][a] ?? null);
        if (EXPECTED[s][a]) legal++;
      }
    }
    expect(legal).toBe(TRANSITIONS.length);
    expect(TRANSITIONS.length).toBe(13);
  });

  it('canTransition matches the table for all 7 × 7 (state, state) pairs', () => {
    for (const from of KEY_STATES) {
      const targets = new Set(Object.values(EXPECTED[from]));
      for (const to of KEY_STATES) expect(canTransition(from, to), `${from} → ${to}`).toBe(targets.has(to));
    }
  });

  it('never goes back: nothing returns to pre-active, nothing leaves the destroyed states except to record a compromise', () => {
    for (const from of KEY_STATES) expect(canTransition(from, 'pre-active')).toBe(false);
    for (const to of KEY_STATES) {
      expect(canTransition('destroyed-compromised', to)).toBe(false);
      if (to !== 'destroyed-compromised') expect(canTransition('destroyed', to)).toBe(false);
    }
    // An active key is never destroyed without being deactivated (or found compromised) first.
    expect(canTransition('active', 'destroyed')).toBe(false);
    expect(canTransition('suspended', 'destroyed')).toBe(false);
  });

  it('reachable is the transitive closure, and the database trigger gets exactly its pairs', () => {
    expect(reachable('pre-active', 'destroyed-compromised')).toBe(true);
    expect(reachable('active', 'destroyed')).toBe(true);
    expect(reachable('deactivated', 'active')).toBe(false);
    expect(reachable('compromised', 'destroyed')).toBe(false);
    const pairs = new Set(reachablePairs().map(([a, b]) => `${a}>${b}`));
    for (const from of KEY_STATES) for (const to of KEY_STATES) expect(pairs.has(`${from}>${to}`)).toBe(from !== to && reachable(from, to));
    for (const t of TRANSITIONS) expect(pairs.has(`${t.from}>${t.to}`)).toBe(true);
  });

  it('every transition names its source; allowedActions lists the table row', () => {
    for (const t of TRANSITIONS) expect(t.source).toMatch(/SP 800-57|KMIP/);
    for (const s of KEY_STATES) expect(allowedActions(s).sort()).toEqual(Object.keys(EXPECTED[s]).sort());
  });

  it('only an active version may apply protection; destroyed ones do nothing', () => {
    for (const s of KEY_STATES) expect(USAGE_BY_STATE[s].apply).toBe(s === 'active');
    expect(USAGE_BY_STATE.destroyed).toEqual({ apply: false, process: false });
    expect(USAGE_BY_STATE.deactivated).toEqual({ apply: false, process: true });
  });
});

describe('lifecycle dates', () => {
  const planned = { protectStopDate: '2028-01-01T00:00:00.000Z', processStopDate: '2031-01-01T00:00:00.000Z' };
  const t = (d: string) => `${d}T00:00:00.000Z`;

  it('activation sets the activation date and the planned protect-stop and process-stop dates', () => {
    expect(datesAfter('pre-active', 'active', NO_DATES, t('2026-01-01'), planned)).toEqual({ ...NO_DATES, activationDate: t('2026-01-01'), ...planned });
  });

  it('deactivation ends protection early but keeps processing to the planned date', () => {
    const active = datesAfter('pre-active', 'active', NO_DATES, t('2026-01-01'), planned);
    const d = datesAfter('active', 'deactivated', active, t('2027-01-01'), null);
    expect(d).toMatchObject({ deactivationDate: t('2027-01-01'), protectStopDate: t('2027-01-01'), processStopDate: planned.processStopDate });
    // Suspension keeps the version in use; leaving "suspended" for "deactivated" also records the date.
    const s = datesAfter('active', 'suspended', active, t('2026-06-01'), null);
    expect(s.deactivationDate).toBeNull();
    expect(datesAfter('suspended', 'deactivated', s, t('2026-07-01'), null).deactivationDate).toBe(t('2026-07-01'));
  });

  it('a compromise stops protection at once and keeps the first compromise date', () => {
    const active = datesAfter('pre-active', 'active', NO_DATES, t('2026-01-01'), planned);
    const c = datesAfter('active', 'compromised', active, t('2026-05-01'), null);
    expect(c).toMatchObject({ compromiseDate: t('2026-05-01'), deactivationDate: t('2026-05-01'), protectStopDate: t('2026-05-01') });
    const dc = datesAfter('compromised', 'destroyed-compromised', c, t('2026-06-01'), null);
    expect(dc).toMatchObject({ compromiseDate: t('2026-05-01'), destroyedDate: t('2026-06-01'), processStopDate: t('2026-06-01') });
  });

  it('destruction ends processing; a compromise found later keeps the destruction date', () => {
    const dd = datesAfter('pre-active', 'destroyed', NO_DATES, t('2026-02-01'), null);
    expect(dd).toMatchObject({ destroyedDate: t('2026-02-01'), protectStopDate: t('2026-02-01'), processStopDate: t('2026-02-01'), activationDate: null });
    const later = datesAfter('destroyed', 'destroyed-compromised', dd, t('2026-09-01'), null);
    expect(later).toMatchObject({ destroyedDate: t('2026-02-01'), compromiseDate: t('2026-09-01') });
  });
});
