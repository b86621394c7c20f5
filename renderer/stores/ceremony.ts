import { create } from 'zustand';
import type { CustosEvent } from '../../shared/api';
import type { ActView, BundleVerdictView, DefinitionView, RecordView, RunSummaryView } from '../../shared/ceremony/contract';
import type { RunView } from '../../shared/ceremony/view';
import type { MethodInput, SlotEntry, TokenListing } from '../../shared/contract';
import type { TokenRef } from '../../shared/keys';
import { parsePkcs11Uri, uriMatchesToken } from '../../shared/pkcs11-uri';
import type { AppError, Result } from '../../shared/result';
import { api, call } from '../api';

// The Ceremonies screen's state: the workstation record (people, policy), the definitions, the
// runs, and the one run being looked at, as main's RunView. Nothing secret ever enters this store:
// PINs, passphrases and share words live in the component of the step that asks for them, go to
// main as the argument of one act() call and are forgotten there; a revealed share comes back in
// act()'s answer to that component and never passes through here.

/**
 * Values a plan form starts with when another screen leads to it (not secret): the backup a drill is
 * for (its ceremony id, from the drill dashboard), the archived version to retrieve (LABEL@N, from
 * the Archive screen).
 */
export interface PlanPrefill {
  backup?: string;
  version?: string;
  /** Destruction: a token key (its label) or an archived version (LABEL@N) to destroy. */
  destroyKey?: string;
  destroyVersion?: string;
  /** Rotation: the archived key's label (from the version view or the rotation dashboard). */
  key?: string;
}

export type CeremonyPane = { kind: 'list' } | { kind: 'plan'; definition: string; prefill?: PlanPrefill } | { kind: 'run'; run: string };

/** The built-in definitions another screen leads to. */
export const DEFINITION = { drill: 'custos/restore-drill', restore: 'custos/restore', retrieval: 'custos/retrieval', reshare: 'custos/reshare', audit: 'custos/share-audit', destruction: 'custos/destruction', rotation: 'custos/rotation' } as const;

export type PlanInput = MethodInput<'ceremony.plan'>;
/** An action without the token: the store adds the workstation token the run belongs to. */
export type ActInput = Omit<MethodInput<'ceremony.act'>, 'module' | 'token'>;

/** Where the workstation token is and whether ceremonies can act on it now. */
export type WorkstationToken =
  | { state: 'ready'; ref: TokenRef; label: string; slot: SlotEntry }
  | { state: 'login'; label: string; slot: SlotEntry }
  | { state: 'absent'; label: string }
  | { state: 'unknown' };

/** The token named by `uri` in the listing (matched by label, serial, model, manufacturer), and whether it is logged in as user. */
export function tokenReadiness(uri: string | null, listing: TokenListing | null): WorkstationToken {
  if (!uri) return { state: 'unknown' };
  let parsed;
  try {
    parsed = parsePkcs11Uri(uri);
  } catch {
    return { state: 'absent', label: uri };
  }
  const label = parsed.path.token ?? uri;
  const slot = listing?.slots.find((s) => s.token && uriMatchesToken(parsed, s.token));
  if (!slot?.token) return { state: 'absent', label };
  if (slot.token.loggedIn !== 'user') return { state: 'login', label: slot.token.label, slot };
  return { state: 'ready', ref: { module: slot.module, token: slot.token.uri }, label: slot.token.label, slot };
}

export interface Progress {
  step: string;
  done: number;
  total: number;
  message: string;
}

interface CeremonyState {
  record: RecordView | null;
  recordError: AppError | null;
  definitions: DefinitionView[] | null;
  runs: RunSummaryView[] | null;
  /** Running runs whose view says they were cut off (a crash): the list marks them. */
  interrupted: Record<string, boolean>;
  listError: AppError | null;
  pane: CeremonyPane;
  view: RunView | null;
  viewError: AppError | null;
  /** The last progress event for the run shown (long work in main), cleared when the run changes. */
  progress: Progress | null;
  /** The workstation token chosen for a set-up, until the record exists and names it (not secret). */
  setupToken: TokenRef | null;
  /** The people a set-up plans to enrol, with their credential kinds (not secret): the enrol panel's default. */
  setupCredentials: Record<string, 'card' | 'passphrase'>;
  /** The card (serial) each person last used here: the default next time, before the register knows it (not secret). */
  cards: Record<string, string>;
  /** Where the evidence bundle of the run shown was written, when this window signed it off. */
  bundlePath: { run: string; path: string; hash: string } | null;
  verdict: { run: string; value: BundleVerdictView } | null;
  /** Actions out now: a background refresh waits, so that it cannot show an older state over a newer one. */
  acting: number;

  load(): Promise<void>;
  loadRuns(): Promise<void>;
  show(pane: CeremonyPane): void;
  openRun(run: string): Promise<void>;
  refreshView(quiet?: boolean): Promise<void>;
  plan(input: PlanInput): Promise<Result<RunView>>;
  act(session: TokenRef, input: ActInput): Promise<Result<ActView>>;
  verifyBundle(run: string): Promise<Result<BundleVerdictView>>;
  handleEvent(event: CustosEvent): void;
  /** After a set-up is planned: its token and the credential kinds planned (nothing secret). */
  rememberSetup(token: TokenRef, credentials: Record<string, 'card' | 'passphrase'>): void;
  rememberCard(person: string, serial: string): void;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
let viewTicket = 0;

export const useCeremony = create<CeremonyState>((set, get) => ({
  record: null,
  recordError: null,
  definitions: null,
  runs: null,
  interrupted: {},
  listError: null,
  pane: { kind: 'list' },
  view: null,
  viewError: null,
  progress: null,
  setupToken: null,
  setupCredentials: {},
  cards: {},
  bundlePath: null,
  verdict: null,
  acting: 0,

  async load() {
    const [record, definitions] = await Promise.all([call(api['ceremony.record']({})), call(api['ceremony.definitions']({}))]);
    set({
      record: record.ok ? record.value : get().record,
      recordError: record.ok ? (definitions.ok ? null : definitions.error) : record.error,
      definitions: definitions.ok ? definitions.value : get().definitions,
    });
    await get().loadRuns();
  },

  async loadRuns() {
    const r = await call(api['ceremony.list']({}));
    if (!r.ok) {
      set({ listError: r.error });
      return;
    }
    // A run the record calls running may have been cut off: only its view can say (nothing is stored for it).
    const running = r.value.filter((x) => x.status === 'running');
    const views = await Promise.all(running.map((x) => call(api['ceremony.view']({ run: x.run }))));
    const interrupted: Record<string, boolean> = {};
    running.forEach((x, i) => {
      const v = views[i];
      if (v?.ok && v.value.status === 'interrupted') interrupted[x.run] = true;
    });
    set({ runs: r.value, interrupted, listError: null });
  },

  show(pane) {
    if (pane.kind !== 'run') set({ pane, view: null, viewError: null, progress: null, verdict: null });
    else set({ pane });
  },

  async openRun(run) {
    set({ pane: { kind: 'run', run }, view: get().view?.run === run ? get().view : null, viewError: null, progress: null, verdict: null });
    await get().refreshView();
  },

  async refreshView(quiet = false) {
    const pane = get().pane;
    if (pane.kind !== 'run') return;
    if (quiet && get().acting > 0) return;
    const ticket = ++viewTicket;
    const r = await call(api['ceremony.view']({ run: pane.run }));
    const now = get().pane;
    // Only the newest answer for the run still shown counts.
    if (ticket !== viewTicket || now.kind !== 'run' || now.run !== pane.run) return;
    if (r.ok) {
      if (!same(r.value, get().view)) set({ view: r.value, viewError: null });
      else if (get().viewError) set({ viewError: null });
    } else if (!quiet || !get().view) {
      set({ viewError: r.error });
    }
  },

  async plan(input) {
    const r = await call(api['ceremony.plan'](input));
    if (r.ok) {
      viewTicket++;
      set({ pane: { kind: 'run', run: r.value.run }, view: r.value, viewError: null, progress: null, verdict: null, bundlePath: null });
      void get().loadRuns();
    }
    return r;
  },

  async act(session, input) {
    set({ acting: get().acting + 1 });
    let r: Result<ActView>;
    try {
      r = await call(api['ceremony.act']({ ...input, module: session.module, token: session.token }));
    } finally {
      set({ acting: get().acting - 1 });
    }
    const pane = get().pane;
    if (pane.kind === 'run' && pane.run === input.run) {
      viewTicket++;
      if (r.ok) {
        set({ view: r.value.view, viewError: null, ...(r.value.bundle ? { bundlePath: { run: input.run, ...r.value.bundle } } : {}) });
      } else {
        // A refused action may still have been journaled (a failed step, a wrong share): show what main holds now.
        void get().refreshView();
      }
    }
    // A created record (set-up) changes the register and what the list shows.
    if (r.ok && (r.value.view.status !== 'running' || !get().record?.exists)) void get().load();
    return r;
  },

  async verifyBundle(run) {
    const r = await call(api['ceremony.bundle']({ run }));
    if (r.ok) set({ verdict: { run, value: r.value } });
    return r;
  },

  rememberSetup(token, credentials) {
    set({ setupToken: token, setupCredentials: credentials });
  },

  rememberCard(person, serial) {
    set({ cards: { ...get().cards, [person]: serial } });
  },

  handleEvent(event) {
    const pane = get().pane;
    if (event.type === 'progress') {
      if (pane.kind === 'run' && pane.run === event.run) set({ progress: { step: event.step, done: event.done, total: event.total, message: event.message } });
      return;
    }
    // ceremony.changed: a step was done here or elsewhere; read the run (and the list) again.
    if (pane.kind === 'run' && pane.run === event.run) {
      set({ progress: null });
      void get().refreshView(true);
    }
    // A run finished elsewhere (a drill from the command line) changes the record too: the drill dashboard.
    if (pane.kind === 'list') void (event.status === 'completed' ? get().load() : get().loadRuns());
  },
}));
