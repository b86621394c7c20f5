// Step tables (shared/steps.ts): the pure rules that decide which step of a flow can be entered,
// where "Next" and "Back" go, and which step a state stands on.
import { describe, expect, it } from 'vitest';
import { blocker, canEnter, currentStep, nextStep, previousStep, reachable, stepIndex, type StepTable } from '../../shared/steps';

interface Form {
  name: string;
  wantsExtra: boolean;
  extra: string;
  sent: boolean;
}

type Id = 'name' | 'extra' | 'confirm' | 'sent';

// A small flow with every kind of rule: a blocker, an optional step, and a step that state alone
// opens.
const TABLE: StepTable<Form, Id> = [
  { id: 'name', title: 'Name', blocker: (f) => (f.name.trim() ? null : 'Give a name.') },
  { id: 'extra', title: 'Extra', canEnter: (f) => f.wantsExtra, blocker: (f) => (f.extra ? null : 'Fill in the extra.') },
  { id: 'confirm', title: 'Confirm' },
  { id: 'sent', title: 'Sent', canEnter: (f) => f.sent },
];

const form = (f: Partial<Form> = {}): Form => ({ name: '', wantsExtra: false, extra: '', sent: false, ...f });

describe('reachable and canEnter', () => {
  it('the first step is open; nothing behind a blocked step is', () => {
    expect(reachable(TABLE, form())).toEqual([true, false, false, false]);
    expect(canEnter(TABLE, 'confirm', form())).toBe(false);
  });

  it('a step whose own prerequisite fails is passed over, and does not block what follows', () => {
    expect(reachable(TABLE, form({ name: 'A' }))).toEqual([true, false, true, false]);
    expect(canEnter(TABLE, 'extra', form({ name: 'A' }))).toBe(false);
  });

  it('an entered step that is still blocked closes every later step', () => {
    expect(reachable(TABLE, form({ name: 'A', wantsExtra: true }))).toEqual([true, true, false, false]);
    expect(reachable(TABLE, form({ name: 'A', wantsExtra: true, extra: 'x', sent: true }))).toEqual([true, true, true, true]);
  });

  it('an unknown id cannot be entered', () => {
    expect(canEnter(TABLE, 'nowhere' as Id, form({ name: 'A' }))).toBe(false);
    expect(stepIndex(TABLE, 'nowhere' as Id)).toBe(-1);
  });
});

describe('nextStep and previousStep', () => {
  it('refuses to move on with the blocker in words', () => {
    expect(nextStep(TABLE, 'name', form({ name: '  ' }))).toEqual({ ok: false, problem: 'Give a name.' });
    expect(blocker(TABLE, 'name', form())).toBe('Give a name.');
    expect(blocker(TABLE, 'confirm', form())).toBeNull();
  });

  it('goes to the next step that can be entered, skipping the optional one', () => {
    expect(nextStep(TABLE, 'name', form({ name: 'A' }))).toEqual({ ok: true, step: 'confirm' });
    expect(nextStep(TABLE, 'name', form({ name: 'A', wantsExtra: true }))).toEqual({ ok: true, step: 'extra' });
    expect(nextStep(TABLE, 'extra', form({ name: 'A', wantsExtra: true }))).toEqual({ ok: false, problem: 'Fill in the extra.' });
  });

  it('says when no later step can be entered', () => {
    expect(nextStep(TABLE, 'confirm', form({ name: 'A' }))).toEqual({ ok: true, step: null });
    expect(nextStep(TABLE, 'confirm', form({ name: 'A', sent: true }))).toEqual({ ok: true, step: 'sent' });
  });

  it('goes back to the nearest earlier step that can be entered', () => {
    expect(previousStep(TABLE, 'confirm', form({ name: 'A' }))).toBe('name');
    expect(previousStep(TABLE, 'confirm', form({ name: 'A', wantsExtra: true, extra: 'x' }))).toBe('extra');
    expect(previousStep(TABLE, 'name', form())).toBeNull();
  });
});

describe('currentStep', () => {
  it('is the furthest step the state reaches', () => {
    expect(currentStep(TABLE, form())).toBe('name');
    expect(currentStep(TABLE, form({ name: 'A' }))).toBe('confirm');
    expect(currentStep(TABLE, form({ name: 'A', wantsExtra: true }))).toBe('extra');
    expect(currentStep(TABLE, form({ name: 'A', sent: true }))).toBe('sent');
  });

  it('is the first step when the state reaches none, and an empty table is an error', () => {
    const closed: StepTable<Form, 'a' | 'b'> = [
      { id: 'a', title: 'A', canEnter: () => false },
      { id: 'b', title: 'B' },
    ];
    expect(currentStep(closed, form())).toBe('b');
    expect(currentStep([{ id: 'a', title: 'A', canEnter: () => false }] as StepTable<Form, 'a'>, form())).toBe('a');
    expect(() => currentStep([] as StepTable<Form, 'a'>, form())).toThrow();
  });
});
