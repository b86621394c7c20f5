/**
 * Restore drills (DESIGN.md, ceremony 5), in the main process: a quorum proves that the shares
 * still recover the secret, importing nothing. A drill is a session in this process's memory:
 * shares arrive one at a time, each checked against the record (and against whose turn it is);
 * when enough are in, they are combined (SLIP-39, with the passphrase if any), and only the
 * secret's check value leaves: compared with the one in the record. The secret is wiped at once.
 *
 * What is held, and for how long: the decoded share values (byte arrays, wiped when the drill
 * ends: finished, cancelled, idle for 30 minutes, or the app closing), never the typed words.
 * JavaScript strings cannot be wiped, so share mnemonics exist only transiently (the IPC payload,
 * and re-encodings while combining) and are left to the garbage collector.
 *
 * Every message and error names positions, holders, set numbers and fingerprints, never a word
 * of a share, a share value, the passphrase or the secret.
 */

import { randomUUID } from 'node:crypto';
import type { DrillGroupProgress, DrillResult, DrillState, ShareSetView, ShareView } from '../../../shared/contract';
import { CustosError, fail } from '../../../shared/result';
import { shareCheckError, verifyShareAgainstRecord, type ShareSetRecord } from '../../../shared/shares';
import { combineProgress, decodeMnemonic, encodeMnemonic, type Share, type Slip39Crypto } from '../../../shared/slip39';
import { plural, readRecord, recordView, shareView } from './records';
import { nodeSha256, nodeSlip39Crypto, recoverSecret } from './secret';

/** A drill ends by itself after this long without any request. */
export const DRILL_IDLE_MS = 30 * 60 * 1000;
/** At most this many drills at once (each holds shares in memory). */
export const MAX_DRILLS = 4;

// ---- Drills ---------------------------------------------------------------------------------

interface Drill {
  id: string;
  record: ShareSetRecord;
  view: ShareSetView;
  /** Decoded shares in the order they were entered; values wiped when the drill ends. */
  shares: Share[];
  lastUsed: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** Requests on one drill run one after another (finishing takes a while). */
  queue: Promise<unknown>;
}

export interface DrillServiceOptions {
  idleMs?: number;
  maxDrills?: number;
  /** Clock, for tests. */
  now?(): number;
  crypto?: Slip39Crypto;
  log?(line: string): void;
}

function wipe(shares: readonly Share[]): void {
  for (const s of shares) s.value.fill(0);
}

export class DrillService {
  private readonly drills = new Map<string, Drill>();
  private readonly idleMs: number;
  private readonly maxDrills: number;
  private readonly now: () => number;
  private readonly crypto: Slip39Crypto;
  private readonly log: (line: string) => void;

  constructor(opts: DrillServiceOptions = {}) {
    this.idleMs = opts.idleMs ?? DRILL_IDLE_MS;
    this.maxDrills = opts.maxDrills ?? MAX_DRILLS;
    this.now = opts.now ?? Date.now;
    this.crypto = opts.crypto ?? nodeSlip39Crypto;
    this.log = opts.log ?? (() => undefined);
  }

  /** Drills open now (after ending the idle ones). */
  get open(): number {
    this.sweep();
    return this.drills.size;
  }

  start(recordJson: string): DrillState {
    const record = readRecord(recordJson);
    this.sweep();
    if (this.drills.size >= this.maxDrills) {
      fail(
        'SESSION_LIMIT',
        `${plural(this.drills.size, 'restore drill is', 'restore drills are')} already open; at most ${this.maxDrills} can be open at once.`,
        'Finish or cancel a drill that is open (drills also end by themselves after 30 minutes without activity).',
      );
    }
    const drill: Drill = { id: randomUUID(), record, view: recordView(record), shares: [], lastUsed: this.now(), timer: null, queue: Promise.resolve() };
    this.drills.set(drill.id, drill);
    this.arm(drill);
    this.log(`drill ${drill.id} started for set ${record.set.identifier}`);
    return this.state(drill);
  }

  addShare(drillId: string, mnemonic: string, expected?: { groupIndex: number; memberIndex: number }): Promise<DrillState> {
    return this.run(drillId, async (d) => {
      const r = d.record;
      const n = d.shares.length + 1;
      if (this.progress(d).ready) {
        fail(
          'INVALID_INPUT',
          `Enough shares are already in to recover the secret, so this share was not needed and was not kept.`,
          'Go on to the result: enter the passphrase, if there is one, and recombine.',
          { drillShare: n },
        );
      }
      const check = await verifyShareAgainstRecord(mnemonic, r, { sha256: nodeSha256 });
      if (!check.ok) {
        const e = shareCheckError(check);
        throw new CustosError({ ...e, message: `${e.message} It was not added to the drill.`, details: { ...e.details, drillShare: n } });
      }
      const who = shareView(r, check.entry);
      const name = (v: ShareView) => `${v.position}${v.holder ? ` (${v.holder})` : ''}`;
      const earlier = d.shares.findIndex((s) => s.groupIndex === who.groupIndex && s.memberIndex === who.memberIndex);
      if (earlier >= 0) {
        fail(
          'SHARE_DUPLICATE',
          `This is ${name(who)}, which was already entered as share ${earlier + 1} of this drill. A share counts only once; it was not added again.`,
          expected ? 'The custodian whose turn it is should enter their own share.' : 'The next custodian should enter a different share.',
          { drillShare: n, sameAs: earlier + 1 },
        );
      }
      if (expected && (expected.groupIndex !== who.groupIndex || expected.memberIndex !== who.memberIndex)) {
        const want = shareView(r, expected);
        fail(
          'SHARE_WRONG_HOLDER',
          `This is ${name(who)}, not ${name(want)}, whose turn it is. It was not added to the drill.`,
          `${want.holder ?? `The holder of ${want.position}`} should enter their own share. If shares were swapped between custodians, ` +
            'stop and tell the key owner; if another custodian is taking this turn, change the turn first.',
          { drillShare: n },
        );
      }
      const group = r.groups[who.groupIndex]!;
      if (d.shares.filter((s) => s.groupIndex === who.groupIndex).length >= group.memberThreshold) {
        fail(
          'INVALID_INPUT',
          `Group ${who.groupIndex + 1} already has the ${plural(group.memberThreshold, 'share', 'shares')} it needs, so ${name(who)} is not needed. It was not kept.`,
          r.set.groupCount > 1 ? 'Enter a share of a group that is still incomplete.' : 'Go on to the result.',
          { drillShare: n },
        );
      }
      d.shares.push(decodeMnemonic(mnemonic));
      this.log(`drill ${d.id}: share ${n} accepted`);
      return this.state(d);
    });
  }

  /** Recombines, compares the check value, wipes the secret. The drill ends unless the check value mismatched. */
  finish(drillId: string, passphrase?: string): Promise<DrillResult> {
    return this.run(drillId, async (d) => {
      const p = this.progress(d);
      if (!p.ready || !p.selection) {
        fail('QUORUM_NOT_MET', `Not enough shares have been entered yet. ${p.summary}`, 'Have the remaining custodians enter their shares first.');
      }
      const mnemonics = p.selection.map((i) => encodeMnemonic(d.shares[i]!));
      const used = p.selection.map((i) => shareView(d.record, d.shares[i]!));
      const pass = new TextEncoder().encode(passphrase ?? '');
      let recovered: Awaited<ReturnType<typeof recoverSecret>> | undefined;
      let result: DrillResult;
      try {
        const recorded = d.record.secretCheck;
        recovered = await recoverSecret(mnemonics, pass, recorded, this.crypto);
        const { checkValue, legacyCheckValue, matches } = recovered;
        result = {
          set: d.record.set.identifier,
          used,
          secretBytes: recovered.secret.length,
          checkValue,
          ...(legacyCheckValue ? { legacyCheckValue } : {}),
          recorded,
          matches,
          passphraseGiven: pass.length > 0,
          drillOpen: matches === false,
        };
      } finally {
        recovered?.secret.fill(0);
        pass.fill(0);
      }
      this.log(`drill ${d.id}: recombined, ${result.matches === null ? 'no recorded check value' : result.matches ? 'check value matches' : 'check value differs'}`);
      if (!result.drillOpen) this.end(d, 'finished');
      return result;
    });
  }

  cancel(drillId: string): Promise<{ cancelled: boolean }> {
    this.sweep();
    const d = this.drills.get(drillId);
    if (!d) return Promise.resolve({ cancelled: false });
    // Behind whatever is running on it, so a recombination in progress is not cut short mid-way.
    const done = d.queue.then(
      () => undefined,
      () => undefined,
    );
    return done.then(() => {
      const still = this.drills.get(drillId);
      if (still) this.end(still, 'cancelled');
      return { cancelled: !!still };
    });
  }

  /** Ends every drill (the app is closing). */
  close(): void {
    for (const d of [...this.drills.values()]) this.end(d, 'closed');
  }

  // -- internals --

  private run<T>(drillId: string, fn: (d: Drill) => Promise<T>): Promise<T> {
    this.sweep();
    const d = this.drills.get(drillId);
    if (!d) {
      return Promise.reject(
        new CustosError({
          code: 'SESSION_CLOSED',
          message: 'This restore drill has ended: it was finished or cancelled, or nothing happened for 30 minutes. Its shares were wiped.',
          action: 'Start the drill again from the record.',
        }),
      );
    }
    this.touch(d);
    const next = d.queue.then(
      () => this.runOn(d, fn),
      () => this.runOn(d, fn),
    );
    d.queue = next.catch(() => undefined);
    return next;
  }

  private async runOn<T>(d: Drill, fn: (d: Drill) => Promise<T>): Promise<T> {
    if (this.drills.get(d.id) !== d) {
      throw new CustosError({ code: 'SESSION_CLOSED', message: 'This restore drill ended while the request waited. Its shares were wiped.', action: 'Start the drill again from the record.' });
    }
    try {
      return await fn(d);
    } finally {
      if (this.drills.get(d.id) === d) this.touch(d);
    }
  }

  private progress(d: Drill) {
    return combineProgress(d.shares.map((s) => encodeMnemonic(s)));
  }

  private state(d: Drill): DrillState {
    const p = this.progress(d);
    const r = d.record;
    const groups: DrillGroupProgress[] = r.groups.map((g) => {
      const entered = d.shares.filter((s) => s.groupIndex === g.groupIndex).length;
      return {
        groupIndex: g.groupIndex,
        memberThreshold: g.memberThreshold,
        memberCount: g.memberCount,
        entered,
        remaining: Math.max(0, g.memberThreshold - entered),
        complete: entered >= g.memberThreshold,
      };
    });
    const groupsComplete = groups.filter((g) => g.complete).length;
    const summary = d.shares.length === 0 ? `No share has been entered yet. ${d.view.quorum}` : p.summary;
    return {
      drillId: d.id,
      record: d.view,
      entered: d.shares.map((s) => shareView(r, s)),
      groups,
      groupsComplete,
      groupsRemaining: Math.max(0, r.set.groupThreshold - groupsComplete),
      ready: p.ready,
      summary,
      expiresAt: new Date(d.lastUsed + this.idleMs).toISOString(),
    };
  }

  private touch(d: Drill): void {
    d.lastUsed = this.now();
    this.arm(d);
  }

  private arm(d: Drill): void {
    if (d.timer) clearTimeout(d.timer);
    d.timer = setTimeout(() => {
      if (this.drills.get(d.id) === d) this.end(d, 'expired');
    }, this.idleMs);
    d.timer.unref?.();
  }

  /** Ends drills idle for too long by the (injectable) clock; the timers do it in real time. */
  private sweep(): void {
    const now = this.now();
    for (const d of [...this.drills.values()]) if (now - d.lastUsed >= this.idleMs) this.end(d, 'expired');
  }

  private end(d: Drill, why: string): void {
    if (d.timer) clearTimeout(d.timer);
    d.timer = null;
    wipe(d.shares);
    d.shares.length = 0;
    this.drills.delete(d.id);
    this.log(`drill ${d.id} ${why}; its shares were wiped`);
  }
}
