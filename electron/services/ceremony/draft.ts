// A workstation set-up before its record exists: the run's first entries (the plan, the roll call,
// the login) are kept here and written as the new record's first journal entries the moment the
// create-record step has made it. Between commands (the CLI runs one step per call) they wait in
// the data folder as a draft file (mode 0600) — the journal holds no secret, so neither does the
// draft. A crash before create-record leaves at most the draft, and nothing half-made: the archive
// is created all or nothing (archive/init.ts).
import { canonicalJson } from '../../../shared/ceremony/canonical';
import type { CeremonyDefinition } from '../../../shared/ceremony/definition';
import type { Policy } from '../../../shared/ceremony/policy';
import type { Actor, JournalEntry, JournalEvent, RunPlan } from '../../../shared/ceremony/run';
import { fail } from '../../../shared/result';
import type { CredentialRecord } from './credentials';
import type { AuditSigner } from './evidence';
import { journalEntryHash, JOURNAL_GENESIS } from './journal-chain';
import type { CeremonyRecord, PersonRecord, RecordInfo, RunEffects, RunSummary, StoredRun } from './record';

export const DRAFT_FORMAT = 'custos.setup-draft/1';

export interface DraftFile {
  format: typeof DRAFT_FORMAT;
  definition: CeremonyDefinition;
  policy: Policy;
  module: string;
  entries: Array<{ at: string; actor: Actor; event: JournalEvent }>;
}

export class DraftRecord implements CeremonyRecord {
  readonly info: RecordInfo;
  readonly entries: Array<JournalEntry & { hash: string }> = [];
  readonly events: Array<{ actor: Actor; event: JournalEvent }> = [];

  constructor(
    readonly definition: CeremonyDefinition,
    plan: RunPlan,
    private readonly proposed: Policy,
    module: string,
  ) {
    this.info = {
      archiveId: '',
      name: plan.workstation.name,
      practice: plan.practice,
      token: plan.workstation.token.uri,
      module,
      auditKey: { fingerprint: '' },
      kek: { label: '', idHex: '' },
      mac: { label: '', idHex: '' },
    };
  }

  get run(): string {
    return (this.events[0]!.event as Extract<JournalEvent, { type: 'run.planned' }>).plan.run;
  }

  policy(): Policy {
    return this.proposed;
  }

  people(): PersonRecord[] {
    return [];
  }

  credential(): CredentialRecord | null {
    return null;
  }

  runs(): RunSummary[] {
    const plan = (this.events[0]!.event as Extract<JournalEvent, { type: 'run.planned' }>).plan;
    return [{ run: plan.run, type: plan.definition.type, title: plan.definition.title, status: 'running', practice: plan.practice, startedAt: this.entries[0]!.at, endedAt: null, fingerprint: plan.fingerprint }];
  }

  loadRun(run: string): StoredRun | null {
    return run === this.run ? { definition: this.definition, entries: [...this.entries] } : null;
  }

  lastBundle(): string | null {
    return null;
  }

  private push(events: Array<{ actor: Actor; event: JournalEvent; at?: string }>): Array<JournalEntry & { hash: string }> {
    const out: Array<JournalEntry & { hash: string }> = [];
    for (const x of events) {
      const prev = this.entries.at(-1)?.hash ?? JOURNAL_GENESIS;
      const e: JournalEntry = { seq: this.entries.length + 1, at: x.at ?? new Date().toISOString(), actor: x.actor, event: JSON.parse(canonicalJson(x.event)) as JournalEvent, prev };
      const entry = { ...e, hash: journalEntryHash(e) };
      this.entries.push(entry);
      this.events.push({ actor: x.actor, event: x.event });
      out.push(entry);
    }
    return out;
  }

  async createRun(_definition: CeremonyDefinition, events: Array<{ actor: Actor; event: JournalEvent }>): Promise<Array<JournalEntry & { hash: string }>> {
    return this.push(events);
  }

  async append(run: string, afterSeq: number, events: Array<{ actor: Actor; event: JournalEvent }>, effects?: RunEffects): Promise<Array<JournalEntry & { hash: string }>> {
    if (run !== this.run || afterSeq !== this.entries.length) fail('CEREMONY_STEP_BLOCKED', 'The set-up moved on in the meantime.', 'Look at the ceremony again.');
    if (effects && (effects.people || effects.policy || effects.bundle || effects.shareSet)) fail('RECORD_MISSING', 'This step needs the workstation record, which is not made yet.', 'Run the create-record step first.');
    return this.push(events);
  }

  /** What is kept on disk between commands (no secret: the same entries the record will hold). */
  saved(): DraftFile {
    return { format: DRAFT_FORMAT, definition: this.definition, policy: this.proposed, module: this.info.module, entries: this.entries.map((e) => ({ at: e.at, actor: e.actor, event: e.event })) };
  }

  static fromSaved(f: DraftFile): DraftRecord {
    const planned = f.entries[0]?.event;
    if (f.format !== DRAFT_FORMAT || !planned || planned.type !== 'run.planned') throw new Error('not a set-up draft');
    const d = new DraftRecord(f.definition, planned.plan, f.policy, f.module);
    d.push(f.entries);
    return d;
  }

  signer(): AuditSigner {
    return fail('RECORD_MISSING', 'The workstation record is not made yet, so there is no audit key to sign with.', 'Run the create-record step first.');
  }

  close(): void {
    /* nothing to close */
  }
}
