// The share flows' step tables (shared/shares/steps.ts): the share check's steps, which step main's
// answers put a restore drill on, and the drill's step list as people see it.
import { describe, expect, it } from 'vitest';
import type { ShareView } from '../../shared/contract';
import { CHECK_STEPS, checkStep, drillProgress, drillStep, type DrillView } from '../../shared/shares/steps';
import { nextStep, previousStep } from '../../shared/steps';

const share = (groupIndex: number, memberIndex: number, holder: string | null): ShareView => ({
  groupIndex,
  memberIndex,
  holder,
  position: `share ${memberIndex + 1} of 3`,
  fingerprint: '9F3A 01C2',
});
const shares = [share(0, 0, 'Alice Martin'), share(0, 1, null), share(0, 2, 'Carol Diaz')];
const record = { shares };
const plan = [
  { groupIndex: 0, memberIndex: 0 },
  { groupIndex: 0, memberIndex: 1 },
];
const view = (v: Partial<DrillView> = {}): DrillView => ({ record, plan, drill: null, result: null, ...v });

describe('drillStep', () => {
  it('starts at the record, with or without one loaded', () => {
    expect(drillStep(view({ record: null, plan: [] }))).toBe('record');
    expect(drillStep(view())).toBe('record');
  });

  it('follows main: shares while the drill is open, recombining once enough are in', () => {
    expect(drillStep(view({ drill: { ready: false, entered: [] } }))).toBe('share');
    expect(drillStep(view({ drill: { ready: false, entered: [shares[0]!] } }))).toBe('share');
    expect(drillStep(view({ drill: { ready: true, entered: [shares[0]!, shares[1]!] } }))).toBe('finish');
  });

  it('stays on recombining after a mismatch while main keeps the drill open', () => {
    expect(drillStep(view({ drill: { ready: true, entered: [shares[0]!, shares[1]!] }, result: { matches: false } }))).toBe('finish');
  });

  it('shows the result once the drill has ended with one, and not without the record', () => {
    expect(drillStep(view({ result: { matches: true } }))).toBe('done');
    expect(drillStep(view({ result: { matches: null } }))).toBe('done');
    expect(drillStep(view({ result: { matches: true }, record: null }))).toBe('record');
  });
});

describe('drillProgress', () => {
  const titles = (v: DrillView) => drillProgress(v).steps.map((s) => s.title);

  it('names each planned turn by holder, or by position when the record names nobody', () => {
    expect(titles(view())).toEqual(['Load record', 'Share 1: Alice Martin', 'Share 2: share 2 of 3', 'Result']);
  });

  it('has one "Shares" step before a plan exists', () => {
    expect(titles(view({ record: null, plan: [] }))).toEqual(['Load record', 'Shares', 'Result']);
    expect(titles(view({ plan: [] }))).toEqual(['Load record', 'Shares', 'Result']);
  });

  it('marks the turn being taken, then the result', () => {
    expect(drillProgress(view()).current).toBe(0);
    expect(drillProgress(view({ drill: { ready: false, entered: [] } })).current).toBe(1);
    expect(drillProgress(view({ drill: { ready: false, entered: [shares[0]!] } })).current).toBe(2);
    expect(drillProgress(view({ drill: { ready: true, entered: [shares[0]!, shares[1]!] } })).current).toBe(3);
  });

  it('ticks every step when the result matches or has nothing to compare with; a mismatch leaves the result open', () => {
    expect(drillProgress(view({ result: { matches: true } })).current).toBe(4);
    expect(drillProgress(view({ result: { matches: null } })).current).toBe(4);
    expect(drillProgress(view({ result: { matches: false } })).current).toBe(3);
  });
});

describe('CHECK_STEPS', () => {
  const verdict = { ok: true as const, share: shares[0]!, message: 'This is share 1 of 3, held by Alice Martin.' };

  it('shows the step asked for when the state allows it, else the record', () => {
    expect(checkStep('share', { record: null, verdict: null })).toBe('record');
    expect(checkStep('share', { record, verdict: null })).toBe('share');
    expect(checkStep('result', { record, verdict: null })).toBe('record');
    expect(checkStep('result', { record, verdict })).toBe('result');
    expect(checkStep('record', { record, verdict })).toBe('record');
  });

  it('moves from the record to the share only once a record is read, and back', () => {
    expect(nextStep(CHECK_STEPS, 'record', { record: null, verdict: null })).toEqual({ ok: false, problem: 'Load the share-set record first.' });
    expect(nextStep(CHECK_STEPS, 'record', { record, verdict: null })).toEqual({ ok: true, step: 'share' });
    expect(previousStep(CHECK_STEPS, 'share', { record, verdict: null })).toBe('record');
  });
});
