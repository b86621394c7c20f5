import { create } from 'zustand';
import type { DrillResult, DrillState, ShareSetView, ShareVerdict, ShareView } from '../../shared/contract';
import type { AppError, Result } from '../../shared/result';
import { defaultPlan, samePos, type SharePos } from '../../shared/shares/plan';
import type { CheckStepId } from '../../shared/shares/steps';
import { api, call } from '../api';

// The Shares screen's state: the pasted share-set record (public by design), which share is being
// checked, who takes part in a drill and in which order, and main's answers. Share words and
// passphrases are NEVER kept here: they live in the form that collects them (React state that goes
// when the step is left) and cross to main one share at a time. Nothing here is persisted.

export type SharesTask = 'check' | 'drill';
export type CheckStage = CheckStepId;

/** "Bob Chen" or, when the record names nobody, "The holder of share 2 of 3". */
export const holderName = (s: Pick<ShareView, 'holder' | 'position'>): string => s.holder ?? `The holder of ${s.position}`;

/** Who is in the room, in words: "Bob Chen — share 2 of 3". */
export const whoLine = (s: Pick<ShareView, 'holder' | 'position'>): string => `${holderName(s)} — ${s.position}`;

interface SharesState {
  task: SharesTask;
  /** The record as pasted (JSON text; it holds no share and no secret). */
  recordText: string;
  record: ShareSetView | null;
  recordError: AppError | null;
  recordLoading: boolean;

  checkStage: CheckStage;
  /** Whose share is being checked; null: "not sure, tell me". */
  checkFor: SharePos | null;
  checkVerdict: Extract<ShareVerdict, { ok: true }> | null;

  /** Who takes part in the drill, in the order they enter their shares. */
  plan: SharePos[];
  drill: DrillState | null;
  drillResult: DrillResult | null;
  /** Why the drill that was open has gone (expired while idle): shown until another starts. */
  drillEnded: AppError | null;

  setTask(task: SharesTask): void;
  setRecordText(text: string): void;
  loadRecord(): Promise<boolean>;
  forgetRecord(): Promise<void>;

  setCheckFor(pos: SharePos | null): void;
  setCheckStage(stage: CheckStage): void;
  /** Sends one share to main; the caller's form holds the words and clears them. */
  verifyShare(mnemonic: string): Promise<Result<ShareVerdict>>;

  setPlan(plan: SharePos[]): void;
  startDrill(): Promise<Result<DrillState>>;
  addShare(mnemonic: string): Promise<Result<DrillState>>;
  finishDrill(passphrase: string): Promise<Result<DrillResult>>;
  cancelDrill(): Promise<void>;
  /** Back to the record, ready for another drill. */
  resetDrill(): void;
}

const noDrill: AppError = { code: 'SESSION_CLOSED', message: 'No restore drill is open.', action: 'Start the drill from the record.' };
const noRecord: AppError = { code: 'RECORD_INVALID', message: 'No share-set record is loaded.', action: 'Paste the record and read it first.' };

export const useShares = create<SharesState>((set, get) => {
  /** A drill that main no longer knows (ended, expired) is dropped here too. */
  const dropIfEnded = (r: Result<unknown>) => {
    if (!r.ok && r.error.code === 'SESSION_CLOSED') set({ drill: null, drillResult: null, drillEnded: r.error });
  };

  return {
    task: 'check',
    recordText: '',
    record: null,
    recordError: null,
    recordLoading: false,
    checkStage: 'record',
    checkFor: null,
    checkVerdict: null,
    plan: [],
    drill: null,
    drillResult: null,
    drillEnded: null,

    setTask(task) {
      set({ task });
    },

    setRecordText(text) {
      set({ recordText: text, recordError: null });
    },

    async loadRecord() {
      const text = get().recordText.trim();
      if (!text) {
        set({ recordError: { code: 'RECORD_INVALID', message: 'Nothing has been pasted yet.', action: 'Open the record file in a text editor, copy all of it, and paste it into the box.' } });
        return false;
      }
      set({ recordLoading: true, recordError: null });
      const r = await call(api['shares.readRecord']({ recordJson: text }));
      if (!r.ok) {
        set({ recordLoading: false, recordError: r.error, record: null });
        return false;
      }
      set({ recordLoading: false, record: r.value, plan: defaultPlan(r.value), checkFor: null, checkVerdict: null, checkStage: 'record', drillResult: null });
      return true;
    },

    async forgetRecord() {
      await get().cancelDrill();
      set({ record: null, recordText: '', recordError: null, plan: [], checkFor: null, checkVerdict: null, checkStage: 'record', drillResult: null });
    },

    setCheckFor(pos) {
      set({ checkFor: pos });
    },

    setCheckStage(stage) {
      set({ checkStage: stage, ...(stage !== 'result' ? { checkVerdict: null } : {}) });
    },

    async verifyShare(mnemonic) {
      const { record, recordText, checkFor } = get();
      if (!record) return { ok: false, error: noRecord };
      const holder = checkFor ? record.shares.find((s) => samePos(s, checkFor))?.holder : undefined;
      const r = await call(api['shares.verify']({ recordJson: recordText.trim(), mnemonic, ...(holder ? { holder } : {}) }));
      if (r.ok && r.value.ok) set({ checkVerdict: r.value, checkStage: 'result' });
      return r;
    },

    setPlan(plan) {
      set({ plan });
    },

    async startDrill() {
      const { recordText, drill } = get();
      // One drill at a time from this window: an earlier one is ended (and its shares wiped) first.
      if (drill) await call(api['drill.cancel']({ drillId: drill.drillId }));
      set({ drill: null, drillResult: null, drillEnded: null });
      const r = await call(api['drill.start']({ recordJson: recordText.trim() }));
      if (r.ok) set({ drill: r.value });
      return r;
    },

    async addShare(mnemonic) {
      const { drill, plan } = get();
      if (!drill) return { ok: false, error: noDrill };
      const expected = plan[drill.entered.length];
      const r = await call(
        api['drill.addShare']({ drillId: drill.drillId, mnemonic, ...(expected ? { expected: { groupIndex: expected.groupIndex, memberIndex: expected.memberIndex } } : {}) }),
      );
      if (r.ok && get().drill?.drillId === drill.drillId) set({ drill: r.value });
      dropIfEnded(r);
      return r;
    },

    async finishDrill(passphrase) {
      const { drill } = get();
      if (!drill) return { ok: false, error: noDrill };
      const r = await call(api['drill.finish']({ drillId: drill.drillId, ...(passphrase ? { passphrase } : {}) }));
      if (r.ok) set({ drillResult: r.value, ...(r.value.drillOpen ? {} : { drill: null }) });
      dropIfEnded(r);
      return r;
    },

    async cancelDrill() {
      const { drill } = get();
      if (!drill) return;
      set({ drill: null, drillResult: null });
      await call(api['drill.cancel']({ drillId: drill.drillId }));
    },

    resetDrill() {
      const { record } = get();
      set({ drill: null, drillResult: null, drillEnded: null, plan: record ? defaultPlan(record) : [] });
    },
  };
});
