// Quorum planning (shared/shares/plan.ts): the plan a restore drill proposes, why a choice is not
// exactly a quorum, and changing who takes part or whose turn it is.
import { describe, expect, it } from 'vitest';
import { choose, defaultPlan, planProblem, samePos, standIns, takeTurn, type QuorumRecord, type SharePos } from '../../shared/shares/plan';

/** A record shape: `groups` as [member threshold, member count], shares in the record's order. */
function rec(groupThreshold: number, groups: Array<[number, number]>): QuorumRecord {
  return {
    groupThreshold,
    groupCount: groups.length,
    groups: groups.map(([memberThreshold, memberCount], groupIndex) => ({ groupIndex, memberThreshold, memberCount })),
    shares: groups.flatMap(([, count], groupIndex) => Array.from({ length: count }, (_, memberIndex) => ({ groupIndex, memberIndex }))),
  };
}
const at = (groupIndex: number, memberIndex: number): SharePos => ({ groupIndex, memberIndex });

const oneOfOne = rec(1, [[1, 1]]);
const twoOfThree = rec(1, [[2, 3]]);
const threeOfThree = rec(1, [[3, 3]]);
// Two of three groups: group 1 is 2-of-3, group 2 is 1-of-1, group 3 is 3-of-5.
const groups = rec(2, [
  [2, 3],
  [1, 1],
  [3, 5],
]);

describe('defaultPlan', () => {
  it('takes the first shares of the first groups, exactly a quorum', () => {
    expect(defaultPlan(oneOfOne)).toEqual([at(0, 0)]);
    expect(defaultPlan(twoOfThree)).toEqual([at(0, 0), at(0, 1)]);
    expect(defaultPlan(threeOfThree)).toEqual([at(0, 0), at(0, 1), at(0, 2)]);
    expect(defaultPlan(groups)).toEqual([at(0, 0), at(0, 1), at(1, 0)]);
  });

  it('is always a plan that planProblem accepts', () => {
    for (const r of [oneOfOne, twoOfThree, threeOfThree, groups, rec(3, [[2, 3], [1, 1], [3, 5]]), rec(1, [[1, 1], [2, 2]])]) {
      expect(planProblem(r, defaultPlan(r))).toBeNull();
    }
  });

  it('copies positions, so the plan never shares objects with the record', () => {
    const plan = defaultPlan(twoOfThree);
    expect(plan[0]).not.toBe(twoOfThree.shares[0]);
  });
});

describe('planProblem', () => {
  it('asks for participants when none is chosen', () => {
    expect(planProblem(twoOfThree, [])).toBe('Choose who takes part.');
  });

  it('threshold 1 of 1: the one share is a quorum', () => {
    expect(planProblem(oneOfOne, [at(0, 0)])).toBeNull();
  });

  it('one group: too few and too many shares, in words, singular and plural', () => {
    expect(planProblem(twoOfThree, [at(0, 1)])).toBe('Recovery needs exactly 2 of its 3 shares; 1 is chosen.');
    expect(planProblem(twoOfThree, [at(0, 0), at(0, 1), at(0, 2)])).toBe('Recovery needs exactly 2 of its 3 shares; 3 are chosen.');
    expect(planProblem(twoOfThree, [at(0, 2), at(0, 0)])).toBeNull();
  });

  it('threshold N of N: every share, and one missing is named', () => {
    expect(planProblem(threeOfThree, [at(0, 0), at(0, 1), at(0, 2)])).toBeNull();
    expect(planProblem(threeOfThree, [at(0, 0), at(0, 2)])).toBe('Recovery needs exactly 3 of its 3 shares; 2 are chosen.');
  });

  it('groups: a group with the wrong count is named by its number, before the count of groups', () => {
    expect(planProblem(groups, [at(0, 0), at(1, 0)])).toBe('Group 1 needs exactly 2 of its 3 shares; 1 is chosen.');
    expect(planProblem(groups, [at(0, 0), at(0, 1), at(2, 0)])).toBe('Group 3 needs exactly 3 of its 5 shares; 1 is chosen.');
  });

  it('groups: too few and too many groups', () => {
    expect(planProblem(groups, [at(0, 0), at(0, 1)])).toBe('Shares of exactly 2 of the 3 groups are needed; 1 group is chosen.');
    expect(planProblem(groups, [at(0, 0), at(0, 1), at(1, 0), at(2, 0), at(2, 1), at(2, 2)])).toBe(
      'Shares of exactly 2 of the 3 groups are needed; 3 groups are chosen.',
    );
    expect(planProblem(groups, [at(1, 0), at(2, 4), at(2, 1), at(2, 3)])).toBeNull();
  });

  it('ignores positions that are in no group of the record', () => {
    expect(planProblem(twoOfThree, [at(0, 0), at(0, 1), at(5, 0)])).toBeNull();
    expect(planProblem(twoOfThree, [at(5, 0)])).toBe('Shares of exactly 1 of the 1 groups are needed; 0 groups are chosen.');
  });
});

describe('choose', () => {
  it('ticks a share in or out, and the plan follows the record order', () => {
    expect(choose(twoOfThree, [at(0, 2)], at(0, 0), true)).toEqual([at(0, 0), at(0, 2)]);
    expect(choose(twoOfThree, [at(0, 0), at(0, 2)], at(0, 0), false)).toEqual([at(0, 2)]);
    expect(choose(twoOfThree, [at(0, 1)], at(0, 1), true)).toEqual([at(0, 1)]);
  });
});

describe('standIns and takeTurn', () => {
  const people = groups.shares.map((s) => ({ ...s, holder: `H${s.groupIndex}.${s.memberIndex}` }));

  it('offers only the same group, never the expected holder nor a share already in', () => {
    expect(standIns(people, [at(0, 0)], at(0, 1)).map((s) => s.holder)).toEqual(['H0.2']);
    expect(standIns(people, [], at(1, 0))).toEqual([]);
    expect(standIns(people, [at(2, 0)], at(2, 1)).map((s) => s.holder)).toEqual(['H2.2', 'H2.3', 'H2.4']);
  });

  it('puts the stand-in on the turn', () => {
    expect(takeTurn([at(0, 0), at(0, 1), at(1, 0)], 1, at(0, 2))).toEqual([at(0, 0), at(0, 2), at(1, 0)]);
  });

  it('swaps two turns when the stand-in was to come later anyway', () => {
    const plan = [at(1, 0), at(2, 0), at(2, 1), at(2, 2)];
    const swapped = takeTurn(plan, 1, at(2, 2));
    expect(swapped).toEqual([at(1, 0), at(2, 2), at(2, 1), at(2, 0)]);
    expect(planProblem(groups, swapped)).toBeNull();
    expect(plan).toEqual([at(1, 0), at(2, 0), at(2, 1), at(2, 2)]); // the old plan is left as it was
  });

  it('samePos compares positions only', () => {
    expect(samePos({ ...at(1, 2), holder: 'x' } as SharePos, at(1, 2))).toBe(true);
    expect(samePos(at(1, 2), at(2, 1))).toBe(false);
  });
});
