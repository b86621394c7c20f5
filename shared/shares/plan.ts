// Quorum planning for a SLIP-39 share set: who takes part in a recovery and in which order. A
// quorum is exactly the group threshold of groups, each with exactly its member threshold of
// shares (SLIP-0039 "Two level scheme"; shared/slip39 combines exactly such a set): fewer cannot
// recover and more is refused, so planning "at least" would only move the error to the end of the
// ceremony, after every custodian has typed their share.
// Pure, so that the restore drill screen, the CLI and the ceremony engine plan the same way; main
// still checks every share it is given, since a plan is only a proposal.

/** A share of a record, by position (the same in every copy of the record); 0-based indices. */
export interface SharePos {
  groupIndex: number;
  memberIndex: number;
}

/** What planning needs of a share-set record (ShareSetView has it). */
export interface QuorumRecord {
  groupThreshold: number;
  groupCount: number;
  groups: ReadonlyArray<{ groupIndex: number; memberThreshold: number; memberCount: number }>;
  /** Every recorded share, in the record's order. */
  shares: readonly SharePos[];
}

export const samePos = (a: SharePos, b: SharePos): boolean => a.groupIndex === b.groupIndex && a.memberIndex === b.memberIndex;

const pos = ({ groupIndex, memberIndex }: SharePos): SharePos => ({ groupIndex, memberIndex });

/** The recorded share at a position (with its holder and words for it), if the record has one. */
export const shareAt = <S extends SharePos>(shares: readonly S[], p: SharePos): S | undefined => shares.find((s) => samePos(s, p));

/**
 * The first quorum of a record, group by group: what a drill proposes before anyone changes it.
 * A quorum is exactly `groupThreshold` groups, each with exactly its member threshold.
 */
export function defaultPlan(r: QuorumRecord): SharePos[] {
  const plan: SharePos[] = [];
  for (const g of r.groups.slice(0, r.groupThreshold)) {
    plan.push(...r.shares.filter((s) => s.groupIndex === g.groupIndex).slice(0, g.memberThreshold).map(pos));
  }
  return plan;
}

/** Why a choice of participants is not exactly a quorum, in words; null when it is one. */
export function planProblem(r: QuorumRecord, plan: readonly SharePos[]): string | null {
  if (plan.length === 0) return 'Choose who takes part.';
  const perGroup = r.groups.map((g) => ({ g, n: plan.filter((p) => p.groupIndex === g.groupIndex).length }));
  const used = perGroup.filter((x) => x.n > 0);
  for (const { g, n } of used) {
    if (n !== g.memberThreshold) {
      const where = r.groupCount > 1 ? `Group ${g.groupIndex + 1} needs` : 'Recovery needs';
      return `${where} exactly ${g.memberThreshold} of its ${g.memberCount} shares; ${n} ${n === 1 ? 'is' : 'are'} chosen.`;
    }
  }
  if (used.length !== r.groupThreshold) {
    return `Shares of exactly ${r.groupThreshold} of the ${r.groupCount} groups are needed; ${used.length} ${used.length === 1 ? 'group is' : 'groups are'} chosen.`;
  }
  return null;
}

/** The plan with one share ticked in or out; the order becomes the record's order. */
export function choose(r: QuorumRecord, plan: readonly SharePos[], who: SharePos, on: boolean): SharePos[] {
  const chosen = (s: SharePos) => plan.some((p) => samePos(p, s));
  return r.shares.filter((s) => (samePos(s, who) ? on : chosen(s))).map(pos);
}

/**
 * Who may take a turn instead of the custodian expected: another holder of the same group (so the
 * quorum stays a quorum) whose share is not in yet.
 */
export function standIns<S extends SharePos>(shares: readonly S[], entered: readonly SharePos[], expected: SharePos): S[] {
  return shares.filter((s) => s.groupIndex === expected.groupIndex && !samePos(s, expected) && !entered.some((e) => samePos(e, s)));
}

/**
 * The plan with `who` taking turn `turn` (0-based). If they were to come later anyway, the two
 * swap turns, so nobody is planned twice and the count per group is unchanged.
 */
export function takeTurn(plan: readonly SharePos[], turn: number, who: SharePos): SharePos[] {
  const later = plan.findIndex((p, i) => i > turn && samePos(p, who));
  const out = plan.map(pos);
  if (later >= 0) out[later] = out[turn]!;
  out[turn] = pos(who);
  return out;
}
