// What the ceremony engine needs of the workstation record (the archive file): the people and
// their credentials, the policy, the runs with their journals, the evidence-bundle chain, and one
// way to append to a journal — a single commit that writes the journal entries, their effects
// (people enrolled, a policy, a bundle) and their audit entries, MACed and checkpointed in the HSM
// (archive/store.ts). The implementation is archive/ceremonies.ts; the engine sees only this.
import type { CeremonyDefinition } from '../../../shared/ceremony/definition';
import type { Policy } from '../../../shared/ceremony/policy';
import type { Role } from '../../../shared/ceremony/roles';
import type { JournalEntry, JournalEvent, Actor } from '../../../shared/ceremony/run';
import type { CredentialRecord } from './credentials';
import type { AuditSigner } from './evidence';

export interface PersonRecord {
  id: string;
  name: string;
  roles: Role[];
  status: 'active' | 'retired';
  credential: CredentialRecord | null;
  createdAt: string;
  /** The run that enrolled (or last changed) the person. */
  ceremony: string | null;
}

export interface RunSummary {
  run: string;
  type: string;
  title: string;
  status: 'running' | 'aborted' | 'completed';
  practice: boolean;
  startedAt: string;
  endedAt: string | null;
  fingerprint: string;
}

export interface StoredRun {
  definition: CeremonyDefinition;
  entries: Array<JournalEntry & { hash: string }>;
}

/** What appending an event changes beside the journal, in the same transaction. */
export interface RunEffects {
  people?: PersonRecord[];
  policy?: Policy;
  bundle?: { hash: string; name: string; subjects: string[]; previous: string | null; practice: boolean };
  /** The run's row: status and fingerprint as of these events. */
  status?: RunSummary['status'];
  /** Set-up only: whether the new record is a practice record. */
  profile?: { practice: boolean };
  /** A backup's share set (its public record; never a share). */
  shareSet?: { id: string; scheme: string; threshold: number; shareCount: number; holders: Array<{ person: string; name: string }>; fingerprint: string; groups: string | null };
  /** A Backup Key rotation: journal entries (of any run) with the old blobs' bytes left out (docs/FORMAT.md "Shredded blobs"). */
  redact?: Array<{ run: string; seq: number; details: string }>;
}

export interface RecordInfo {
  archiveId: string;
  name: string;
  practice: boolean;
  /** The workstation token as recorded (URI), and the module path it was opened with. */
  token: string;
  module: string;
  auditKey: { fingerprint: string; retired?: string[] };
  kek: { label: string; idHex: string };
  mac: { label: string; idHex: string };
}

export interface CeremonyRecord {
  readonly info: RecordInfo;
  policy(): Policy;
  people(): PersonRecord[];
  /** Credential by fingerprint, active or not (old approvals still verify). */
  credential(fingerprint: string): CredentialRecord | null;
  runs(): RunSummary[];
  loadRun(run: string): StoredRun | null;
  /** Hash of the newest evidence bundle whose subjects include `subject`. */
  lastBundle(subject: string): string | null;
  /** Creates the run with its first entries (run.planned, …). */
  createRun(definition: CeremonyDefinition, events: Array<{ actor: Actor; event: JournalEvent; at?: string }>, effects?: RunEffects): Promise<Array<JournalEntry & { hash: string }>>;
  /**
   * Appends events after entry `afterSeq`; refuses with CEREMONY_STEP_BLOCKED if another writer
   * appended first (the caller re-reads the run and decides again).
   */
  append(run: string, afterSeq: number, events: Array<{ actor: Actor; event: JournalEvent }>, effects?: RunEffects): Promise<Array<JournalEntry & { hash: string }>>;
  /** The audit key, to sign evidence bundles inside the HSM. */
  signer(): AuditSigner;
  close(): void;
}
