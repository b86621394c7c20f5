// Step tables: a flow written as data. Each step says, as pure functions of the flow's state, what
// it needs before it can be entered and what still keeps it from being left; the screen renders the
// step it is on, and the table, not an if-chain in a component, decides where "Next" and "Back" go.
// DESIGN.md asks for ceremonies as "a step table with pure prerequisite functions", shown by the UI
// and driven by the engine: the key wizard and the restore drill are the first tables, and ceremony
// scripts take the same shape so that main and the screens read one definition.
//
// The rule that ties the predicates together: a step can be entered when its own prerequisite holds
// and no step before it that can be entered is still blocked. So "Next" can never land on a step
// whose inputs are missing, and the furthest step the state reaches is the first one not finished.

export interface StepDef<S, Id extends string = string> {
  readonly id: Id;
  /** What the step list calls it. */
  readonly title: string;
  /** Prerequisites of its own, besides the earlier steps being finished. Absent: none. */
  readonly canEnter?: (state: S) => boolean;
  /** What still keeps the flow from moving past this step, in words; null when nothing does. Absent: nothing. */
  readonly blocker?: (state: S) => string | null;
}

export type StepTable<S, Id extends string = string> = readonly StepDef<S, Id>[];

/** Where "Next" goes: the next step (null: no later step can be entered), or why not yet. */
export type Advance<Id extends string> = { ok: true; step: Id | null } | { ok: false; problem: string };

export function stepIndex<S, Id extends string>(table: StepTable<S, Id>, id: Id): number {
  return table.findIndex((s) => s.id === id);
}

/** For each step of the table, whether the state lets it be entered (the rule above). */
export function reachable<S, Id extends string>(table: StepTable<S, Id>, state: S): boolean[] {
  let open = true;
  return table.map((s) => {
    const can = open && (s.canEnter?.(state) ?? true);
    if (can && (s.blocker?.(state) ?? null) !== null) open = false;
    return can;
  });
}

export function canEnter<S, Id extends string>(table: StepTable<S, Id>, id: Id, state: S): boolean {
  const i = stepIndex(table, id);
  return i >= 0 && reachable(table, state)[i] === true;
}

/** What keeps the flow on this step, in words; null when it may move on (or the step has no rule). */
export function blocker<S, Id extends string>(table: StepTable<S, Id>, id: Id, state: S): string | null {
  return table.find((s) => s.id === id)?.blocker?.(state) ?? null;
}

/**
 * The furthest step the state reaches: for a flow whose state lives elsewhere (main, a journal),
 * the step to show now. The first step when the state reaches none.
 */
export function currentStep<S, Id extends string>(table: StepTable<S, Id>, state: S): Id {
  const can = reachable(table, state);
  const last = can.lastIndexOf(true);
  const step = table[last >= 0 ? last : 0];
  if (!step) throw new Error('A step table needs at least one step.');
  return step.id;
}

/** "Next" from a step: refused with the step's blocker, else the first later step that can be entered. */
export function nextStep<S, Id extends string>(table: StepTable<S, Id>, from: Id, state: S): Advance<Id> {
  const problem = blocker(table, from, state);
  if (problem !== null) return { ok: false, problem };
  const can = reachable(table, state);
  const i = stepIndex(table, from);
  const to = table.findIndex((_, k) => k > i && can[k] === true);
  return { ok: true, step: to >= 0 ? table[to]!.id : null };
}

/** "Back" from a step: the nearest earlier step that can be entered; null from the first. */
export function previousStep<S, Id extends string>(table: StepTable<S, Id>, from: Id, state: S): Id | null {
  const can = reachable(table, state);
  for (let k = stepIndex(table, from) - 1; k >= 0; k--) if (can[k]) return table[k]!.id;
  return null;
}
