// The two share flows as step tables. "Check my share": one custodian loads the record, types
// their share, reads the verdict; the screen keeps which step it is on and the table says which
// steps the state allows. The restore drill: main holds the drill (which shares are in, whether
// enough are to recombine, the result), so the step to show is never kept by the screen; it is
// the furthest step main's answers reach. The drill's step list names each planned custodian's turn.

import type { DrillResult, DrillState, ShareSetView, ShareVerdict } from '../contract';
import { canEnter, currentStep, type StepTable } from '../steps';
import { shareAt, type SharePos } from './plan';

/** What the share check knows: the record read and main's verdict on a share that matched it. */
export interface CheckView {
  record: Pick<ShareSetView, 'shares'> | null;
  verdict: Extract<ShareVerdict, { ok: true }> | null;
}

export type CheckStepId = 'record' | 'share' | 'result';

export const CHECK_STEPS: StepTable<CheckView, CheckStepId> = [
  { id: 'record', title: 'Load record', blocker: (v) => (v.record ? null : 'Load the share-set record first.') },
  { id: 'share', title: 'Enter the share' },
  { id: 'result', title: 'Result', canEnter: (v) => v.verdict !== null },
];

/** The step the check shows: the one asked for, if the state allows it; else back to the record. */
export const checkStep = (asked: CheckStepId, v: CheckView): CheckStepId => (canEnter(CHECK_STEPS, asked, v) ? asked : 'record');

/** What the drill screens know: the record read, the plan, and main's drill and result. */
export interface DrillView {
  record: Pick<ShareSetView, 'shares'> | null;
  plan: readonly SharePos[];
  drill: Pick<DrillState, 'ready' | 'entered'> | null;
  result: Pick<DrillResult, 'matches'> | null;
}

export type DrillStepId = 'record' | 'share' | 'finish' | 'done';

export const DRILL_STEPS: StepTable<DrillView, DrillStepId> = [
  // Loading the record and choosing who takes part: no drill is open in main yet.
  { id: 'record', title: 'Load record' },
  { id: 'share', title: 'Enter the shares', canEnter: (v) => v.drill !== null && !v.drill.ready },
  // Enough shares are in; after a mismatch main keeps the drill open here, so another passphrase can be tried.
  { id: 'finish', title: 'Recombine', canEnter: (v) => v.drill?.ready === true },
  { id: 'done', title: 'Result', canEnter: (v) => v.drill === null && v.result !== null && v.record !== null },
];

export const drillStep = (v: DrillView): DrillStepId => currentStep(DRILL_STEPS, v);

/**
 * The step list as people see it: the record, one step per planned turn (by the holder's name, or
 * the share's position when the record names nobody), then the result; and which one is current.
 */
export function drillProgress(v: DrillView): { steps: Array<{ id: string; title: string }>; current: number } {
  const { record, plan } = v;
  const turns =
    record && plan.length > 0
      ? plan.map((p, i) => {
          const s = shareAt(record.shares, p);
          return { id: `share-${i}`, title: `Share ${i + 1}${s ? `: ${s.holder ?? s.position}` : ''}` };
        })
      : [{ id: 'shares', title: 'Shares' }];
  const steps = [{ id: 'record', title: 'Load record' }, ...turns, { id: 'result', title: 'Result' }];
  const stage = drillStep(v);
  // A result that matches (or has nothing to compare with) ticks every step; a mismatch leaves "Result" open.
  const current =
    stage === 'record' ? 0 : stage === 'share' ? 1 + (v.drill?.entered.length ?? 0) : stage === 'done' && v.result?.matches !== false ? steps.length : steps.length - 1;
  return { steps, current };
}
