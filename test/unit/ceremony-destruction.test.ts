// The destruction ceremony's pure parts (issue #10 part 5): its definition's linter rules, its
// parameter rules, and the certificate drawn from a transcript.
import { describe, expect, it } from 'vitest';
import { builtinDefinition } from '../../shared/ceremony/builtin';
import type { CeremonyDefinition } from '../../shared/ceremony/definition';
import { destructionCertificate, destructionCertificateText } from '../../shared/ceremony/destruction-certificate';
import { checkDefinition } from '../../shared/ceremony/lint';
import { destructionParamsSchema, paramProblems } from '../../shared/ceremony/params';
import { defaultPolicy } from '../../shared/ceremony/policy';
import type { Transcript } from '../../shared/ceremony/transcript';

const def = (): CeremonyDefinition => JSON.parse(JSON.stringify(builtinDefinition('custos/destruction'))) as CeremonyDefinition;
const messages = (d: unknown) => {
  const r = checkDefinition(d, defaultPolicy());
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
};

describe('the destruction definition', () => {
  it('passes as built in, with a quorum and a witness tick at the destroy step', () => {
    expect(messages(def())).toEqual([]);
    expect(def().steps.find((s) => s.kind === 'destroy')).toMatchObject({ quorum: { role: 'custodian', threshold: 'policy' }, witness: true });
  });
  it('is refused without the check step, without a quorum, without a witness, or with the witness tick turned off', () => {
    const noCheck = def();
    noCheck.steps = noCheck.steps.filter((s) => s.kind !== 'check');
    expect(messages(noCheck).join('\n')).toMatch(/needs a "check" step/);
    const noQuorum = def();
    delete noQuorum.steps.find((s) => s.kind === 'destroy')!.quorum;
    expect(messages(noQuorum).join('\n')).toMatch(/"destroy" step needs a quorum of custodians/);
    const noWitness = def();
    delete noWitness.roles.witness;
    expect(messages(noWitness).join('\n')).toMatch(/A destruction needs a witness/);
    const noTick = def();
    noTick.steps.find((s) => s.kind === 'destroy')!.witness = false;
    expect(messages(noTick).join('\n')).toMatch(/witness ticks the destruction/);
    const early = def();
    const i = early.steps.findIndex((s) => s.kind === 'destroy');
    const [destroy] = early.steps.splice(i, 1);
    early.steps.splice(2, 0, destroy!);
    expect(messages(early).join('\n')).toMatch(/after the fingerprint was read aloud/);
  });
});

describe('destruction parameters', () => {
  it('need something to destroy, a reason in a sentence, and each item once', () => {
    expect(destructionParamsSchema.safeParse({ keys: ['K'], versions: [], reason: 'short' }).success).toBe(false);
    expect(paramProblems('destruction', { keys: [], versions: [], reason: 'A reason long enough.' }).join()).toMatch(/at least one/);
    expect(paramProblems('destruction', { keys: ['K', 'K'], versions: [], reason: 'A reason long enough.' }).join()).toMatch(/named twice/);
    expect(paramProblems('destruction', { keys: ['K'], versions: ['K@1'], reason: 'A reason long enough.' })).toEqual([]);
  });
});

describe('the destruction certificate', () => {
  const transcript = (destroyed: unknown[] | null): Transcript =>
    ({
      format: 'custos.ceremony-transcript',
      version: 1,
      practice: false,
      record: { name: 'WS', archiveId: 'a1', auditKey: 'f'.repeat(64) },
      run: 'r1',
      status: 'completed',
      startedAt: '2026-12-05T05:00:00.000Z',
      endedAt: '2026-12-05T05:10:00.000Z',
      definition: { id: 'custos/destruction', revision: 1, type: 'destruction', title: 'Destruction under dual control', hash: 'h', body: def() },
      fingerprint: { hex: 'ab'.repeat(32), groups: '', words: [] },
      params: { reason: 'Retired (change 1).' },
      previousBundle: null,
      participants: [{ person: 'w', name: 'Wes Witness', roles: ['witness'], roleTitles: ['Witness'], credential: null }],
      steps: [
        { index: 0, id: 'check', kind: 'check', title: 'Checks', actor: 'administrator', status: 'done', quorum: null, witnessTick: null, progress: [], outcome: { items: [{ item: 'key K', label: 'K', idHex: '01', versionId: null, algorithm: 'aes-256', checkValue: 'AABBCCDDEE', checkMethod: 'aes-cmac', state: null, copies: [], stops: null }] } },
        { index: 1, id: 'destroy', kind: 'destroy', title: 'Destroy', actor: 'operator', status: destroyed ? 'done' : 'pending', quorum: { role: 'custodian', threshold: 2 }, witnessTick: { person: 'w', name: 'Wes Witness' }, progress: [], outcome: destroyed ? { destroyed } : null },
      ],
      approvals: [{ step: 'destroy', person: 'c1', name: 'Ann Archer', role: 'custodian', credential: 'cf', counter: 3, nonce: 'n', at: '2026-12-05T05:05:00.000Z', message: '{}', signature: 's' }],
      exceptions: [{ id: 'e1', step: 'check', expected: 'x', happened: 'last copy', raisedBy: 'Custos', at: 't', decision: { text: 'Accepted', by: 'Ada Admin', at: 't' }, acknowledged: { by: 'Wes Witness', at: 't' } }],
      journal: { file: 'journal.jsonl', entries: 20, head: '0'.repeat(64) },
    }) as Transcript;

  it('lists each destroyed item with what the check step knew of it, the approvers, the witness and the decided exceptions', () => {
    const c = destructionCertificate(transcript([{ item: 'key K', where: 'token', label: 'K', idHex: '01', versionId: null, how: 'C_DestroyObject', at: '2026-12-05T05:06:00.000Z', proof: 'finds 0 key objects' }]))!;
    expect(c.items).toEqual([expect.objectContaining({ label: 'K', idHex: '01', algorithm: 'aes-256', checkValue: 'AABBCCDDEE', how: 'C_DestroyObject', copiesRemaining: [], proof: 'finds 0 key objects' })]);
    expect(c.approvals.map((a) => a.name)).toEqual(['Ann Archer']);
    expect(c.witness).toEqual({ name: 'Wes Witness', person: 'w' });
    expect(c.exceptions).toEqual([{ happened: 'last copy', decision: 'Accepted', decidedBy: 'Ada Admin', acknowledgedBy: 'Wes Witness' }]);
    // Deterministic: the verifier rebuilds the same bytes from the same transcript.
    expect(destructionCertificateText(c)).toBe(destructionCertificateText(destructionCertificate(transcript([{ item: 'key K', where: 'token', label: 'K', idHex: '01', versionId: null, how: 'C_DestroyObject', at: '2026-12-05T05:06:00.000Z', proof: 'finds 0 key objects' }]))!));
  });
  it('is absent when nothing was destroyed, or for another ceremony type', () => {
    expect(destructionCertificate(transcript(null))).toBeNull();
    const other = transcript([]);
    expect(destructionCertificate({ ...other, definition: { ...other.definition, type: 'retrieval' } })).toBeNull();
  });
});
