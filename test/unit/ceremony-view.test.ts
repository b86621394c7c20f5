// What the screens show of a run (shared/ceremony/view.ts), folded from a journal by hand: the
// enrolment step names only the people still to enrol, one by one, as the engine records them.
import { describe, expect, it } from 'vitest';
import { builtinDefinition } from '../../shared/ceremony/builtin';
import { resolveSteps } from '../../shared/ceremony/definition';
import { foldJournal, SYSTEM, type JournalEntry, type JournalEvent, type RunPlan } from '../../shared/ceremony/run';
import { runView } from '../../shared/ceremony/view';

const people = ['Ada', 'Otto', 'Ann', 'Ben', 'Wes'];
const roles = { Ada: 'administrator', Otto: 'operator', Ann: 'custodian', Ben: 'custodian', Wes: 'witness' } as const;
const plan = {
  run: '0f8fad5b-d9cb-469f-a165-70867728950e',
  definition: { id: 'custos/workstation-setup', revision: 1, type: 'workstation-setup', title: 'Set-up', hash: '0'.repeat(64) },
  app: 'test',
  practice: false,
  workstation: { archiveId: null, name: 'Test', token: { uri: 'pkcs11:token=WS', label: 'WS', serial: '1', model: 'm', manufacturer: 'x' } },
  params: {},
  participants: people.map((p) => ({ person: `id-${p}`, name: p, roles: [roles[p as keyof typeof roles]], credential: null })),
  previousBundle: null,
  amendment: 0,
  fingerprint: 'ab'.repeat(32),
} as unknown as RunPlan;

function journal(events: JournalEvent[]): JournalEntry[] {
  return [{ type: 'run.planned', plan } as JournalEvent, ...events].map((event, i) => ({ seq: i + 1, at: `2026-12-05T10:00:${String(i).padStart(2, '0')}.000Z`, actor: SYSTEM, event, prev: '0'.repeat(64) }));
}
const steps = resolveSteps(builtinDefinition('custos/workstation-setup')!, () => 2);
const done = (step: string): JournalEvent => ({ type: 'step.completed', step, outcome: {} });
const enrolled = (who: string): JournalEvent => ({ type: 'step.progress', step: 'enrol', holder: `id-${who}`, outcome: { person: `id-${who}`, name: who } });
const view = (events: JournalEvent[]) => runView(foldJournal(journal(events), steps), { record: 'Test', secretsHere: false });
const before = [done('roll-call'), done('login'), done('create-record'), { type: 'witness.ticked', step: 'create-record', person: 'id-Wes' } as JournalEvent];

describe('the enrolment step, as the screens show it', () => {
  it('asks everyone to enrol at first, the first person acting', () => {
    const v = view(before);
    expect(v.current!.input).toEqual({ kind: 'enrol', persons: people.map((p) => `id-${p}`) });
    expect(v.current!.actors[0]!.name).toBe('Ada');
  });

  it('drops each person from the list once they have enrolled, and runs the step when nobody is left', () => {
    let v = view([...before, enrolled('Ada')]);
    expect(v.current!.input).toEqual({ kind: 'enrol', persons: ['id-Otto', 'id-Ann', 'id-Ben', 'id-Wes'] });
    expect(v.current!.actors.map((a) => a.name)).toEqual(['Otto', 'Ann', 'Ben', 'Wes']);
    v = view([...before, ...people.map(enrolled)]);
    expect(v.current!.input).toEqual({ kind: 'run' });
    expect(v.current!.actors.map((a) => a.name)).toEqual(['Ada']);
  });
});
