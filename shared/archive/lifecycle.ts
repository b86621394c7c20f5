// Key-version lifecycle: the states of NIST SP 800-57 Part 1 Rev. 5 §7 (Figure 5) with KMIP's
// names for the two destroyed states (KMIP 1.4 / 2.1 "State" enumeration, §3.22 transitions).
//
//   pre-active ──activate──► active ──suspend──► suspended ──resume──► active
//       │                      │                     │
//       │                      ├──deactivate─────────┴──deactivate──► deactivated
//       │                      │                                          │
//       ├──compromise──► compromised ◄──compromise── (active, suspended, deactivated)
//       │                      │
//       │                      └──destroy──► destroyed-compromised
//       └──destroy──► destroyed ──compromise──► destroyed-compromised
//                         ▲
//   deactivated ──destroy─┘
//
// Only the transitions in TRANSITIONS exist. Everything else — going back to pre-active, reviving
// a destroyed key, destroying an active key without deactivating it first — is refused, both here
// (the service asks transitionFor) and in the database (a trigger refuses state changes that are
// not reachable, see electron/services/archive/schema.ts).
//
// Pure TypeScript: used by the main process, the CLI and (for labels and allowed actions) the UI.

export const KEY_STATES = ['pre-active', 'active', 'suspended', 'deactivated', 'compromised', 'destroyed', 'destroyed-compromised'] as const;
export type KeyState = (typeof KEY_STATES)[number];

export const LIFECYCLE_ACTIONS = ['activate', 'suspend', 'resume', 'deactivate', 'compromise', 'destroy'] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

export interface Transition {
  from: KeyState;
  action: LifecycleAction;
  to: KeyState;
  /** Where the transition comes from. */
  source: string;
}

const SP = 'NIST SP 800-57 Pt 1 Rev 5 §7.4';
const KMIP = 'KMIP 2.1 §3.22 (State)';

/** Every legal transition; tested exhaustively against all 7×6 (state, action) pairs. */
export const TRANSITIONS: readonly Transition[] = Object.freeze([
  { from: 'pre-active', action: 'activate', to: 'active', source: `${SP} (pre-activation → active); ${KMIP} T5` },
  { from: 'pre-active', action: 'compromise', to: 'compromised', source: `${SP} (pre-activation → compromised); ${KMIP} T4` },
  { from: 'pre-active', action: 'destroy', to: 'destroyed', source: `${SP} (pre-activation → destroyed); ${KMIP} T3` },
  { from: 'active', action: 'suspend', to: 'suspended', source: `${SP} (active → suspended)` },
  { from: 'active', action: 'deactivate', to: 'deactivated', source: `${SP} (active → deactivated); ${KMIP} T6` },
  { from: 'active', action: 'compromise', to: 'compromised', source: `${SP} (active → compromised); ${KMIP} T7` },
  { from: 'suspended', action: 'resume', to: 'active', source: `${SP} (suspended → active)` },
  { from: 'suspended', action: 'deactivate', to: 'deactivated', source: `${SP} (suspended → deactivated)` },
  { from: 'suspended', action: 'compromise', to: 'compromised', source: `${SP} (suspended → compromised)` },
  { from: 'deactivated', action: 'compromise', to: 'compromised', source: `${SP} (deactivated → compromised); ${KMIP} T9` },
  { from: 'deactivated', action: 'destroy', to: 'destroyed', source: `${SP} (deactivated → destroyed); ${KMIP} T8` },
  // SP 800-57 Rev 5 ends a compromised key in "destroyed"; KMIP keeps the compromise visible in a
  // state of its own, which is what a recovery team needs to know years later.
  { from: 'compromised', action: 'destroy', to: 'destroyed-compromised', source: `${KMIP} T10` },
  { from: 'destroyed', action: 'compromise', to: 'destroyed-compromised', source: `${KMIP} T11` },
] as const satisfies readonly Transition[]);

export function isKeyState(value: unknown): value is KeyState {
  return typeof value === 'string' && (KEY_STATES as readonly string[]).includes(value);
}

export function isLifecycleAction(value: unknown): value is LifecycleAction {
  return typeof value === 'string' && (LIFECYCLE_ACTIONS as readonly string[]).includes(value);
}

/** The state an action leads to from `from`, or null if the action is not allowed there. */
export function transitionFor(from: KeyState, action: LifecycleAction): KeyState | null {
  return TRANSITIONS.find((t) => t.from === from && t.action === action)?.to ?? null;
}

/** True when one legal step leads from `from` to `to`. */
export function canTransition(from: KeyState, to: KeyState): boolean {
  return TRANSITIONS.some((t) => t.from === from && t.to === to);
}

/** The actions a custodian may take on a version in this state (for the UI's buttons). */
export function allowedActions(from: KeyState): LifecycleAction[] {
  return TRANSITIONS.filter((t) => t.from === from).map((t) => t.action);
}

/**
 * True when `to` can be reached from `from` by zero or more legal steps. Bundle imports use it: a
 * newer revision from the owning workstation may have taken several steps since the last exchange,
 * but never a step backwards.
 */
export function reachable(from: KeyState, to: KeyState): boolean {
  const seen = new Set<KeyState>([from]);
  const queue: KeyState[] = [from];
  while (queue.length) {
    const s = queue.shift()!;
    if (s === to) return true;
    for (const t of TRANSITIONS) {
      if (t.from === s && !seen.has(t.to)) {
        seen.add(t.to);
        queue.push(t.to);
      }
    }
  }
  return false;
}

/** Every (from, to) pair with `to` reachable from `from` in one or more steps, for the database trigger. */
export function reachablePairs(): Array<[KeyState, KeyState]> {
  const out: Array<[KeyState, KeyState]> = [];
  for (const from of KEY_STATES) {
    for (const to of KEY_STATES) {
      if (from !== to && reachable(from, to)) out.push([from, to]);
    }
  }
  return out;
}

export const TERMINAL_STATES: readonly KeyState[] = ['destroyed-compromised'];

/** States in which the archived material is shredded: nothing can be unwrapped any more. */
export const MATERIAL_GONE: readonly KeyState[] = ['destroyed', 'destroyed-compromised'];

/**
 * What a version may be used for in each state (SP 800-57 Pt 1 Rev 5 §7.2–7.3): "apply" protects
 * new data (encrypt, sign, wrap); "process" handles protected data (decrypt, verify, unwrap).
 * Compromised keys process only under the controlled conditions of §7.3.4 — the UI says so.
 */
export const USAGE_BY_STATE: Readonly<Record<KeyState, { apply: boolean; process: boolean }>> = Object.freeze({
  'pre-active': { apply: false, process: false },
  active: { apply: true, process: true },
  suspended: { apply: false, process: true },
  deactivated: { apply: false, process: true },
  compromised: { apply: false, process: true },
  destroyed: { apply: false, process: false },
  'destroyed-compromised': { apply: false, process: false },
});

/** The dates SP 800-57 Pt 1 Rev 5 §7 and KMIP attach to a version (ISO 8601 UTC, or null). */
export interface LifecycleDates {
  activationDate: string | null;
  /** End of the originator-usage period: planned at activation, moved earlier when the version stops protecting. */
  protectStopDate: string | null;
  /** End of the recipient-usage period: planned at activation, moved earlier on destruction. */
  processStopDate: string | null;
  /** When the version stopped being the one that applies protection (left active/suspended for any reason). */
  deactivationDate: string | null;
  compromiseDate: string | null;
  destroyedDate: string | null;
}

export const NO_DATES: LifecycleDates = Object.freeze({
  activationDate: null,
  protectStopDate: null,
  processStopDate: null,
  deactivationDate: null,
  compromiseDate: null,
  destroyedDate: null,
});

const earlier = (a: string | null, b: string): string => (a !== null && a < b ? a : b);

/**
 * The dates after a transition at time `at`. `planned` gives the protect-stop and process-stop
 * dates the cryptoperiod policy sets at activation (see policy.ts). ISO 8601 UTC strings of one
 * fixed width compare correctly as strings.
 */
export function datesAfter(
  from: KeyState,
  to: KeyState,
  dates: LifecycleDates,
  at: string,
  planned: { protectStopDate: string; processStopDate: string } | null,
): LifecycleDates {
  const next: LifecycleDates = { ...dates };
  if (to === 'active' && from === 'pre-active') {
    next.activationDate = at;
    if (planned) {
      next.protectStopDate = planned.protectStopDate;
      next.processStopDate = planned.processStopDate;
    }
  }
  const leavingUse = (from === 'active' || from === 'suspended') && to !== 'active' && to !== 'suspended';
  if (leavingUse) {
    next.deactivationDate = at;
    next.protectStopDate = earlier(next.protectStopDate, at);
  }
  if (to === 'compromised' || to === 'destroyed-compromised') {
    // §5.5 / §7.3.4: protection must stop at once; processing is under controlled conditions only.
    next.compromiseDate = dates.compromiseDate ?? at;
    next.protectStopDate = earlier(next.protectStopDate, at);
  }
  if ((to === 'destroyed' || to === 'destroyed-compromised') && from !== 'destroyed') {
    next.destroyedDate = at;
    next.protectStopDate = earlier(next.protectStopDate, at);
    next.processStopDate = earlier(next.processStopDate, at);
  }
  return next;
}
