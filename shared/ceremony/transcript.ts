// The ceremony transcript (format "custos.ceremony-transcript", version 1; docs/FORMAT.md
// "Evidence bundle"): everything a witness or auditor needs to check a finished ceremony without
// Custos — who took part in which role with which credential, every step's outcome, every approval
// with the exact message that was signed and its signature, the check values, and the exceptions.
// The journal itself goes beside it, one canonical entry per line (journal.jsonl), so that its
// hash chain is checked by hashing stored lines, never by re-serialising. It is deterministic: the same journal gives the same bytes
// (`transcriptText`), and the printed record is drawn from it alone.
import { approvalMessage } from './approval';
import { canonicalJsonPretty, fingerprintGroups, fingerprintWords } from './canonical';
import type { CeremonyDefinition } from './definition';
import { approvalsFor, type JournalEntry, type RunState } from './run';
import { ROLE_TITLES, type CredentialKind, type Role } from './roles';

export const TRANSCRIPT_FORMAT = 'custos.ceremony-transcript';
export const TRANSCRIPT_VERSION = 1;

export interface TranscriptCredential {
  fingerprint: string;
  kind: CredentialKind;
  algorithm: 'ecdsa-p256-sha256' | 'ed25519';
  /** SubjectPublicKeyInfo DER, hex. */
  spki: string;
  card: { serial: string; model: string; manufacturer: string; label: string; keyIdHex: string } | null;
  /** Passphrase credentials: the scrypt salt and cost (public; the passphrase is not). */
  scrypt: { saltHex: string; logN: number; r: number; p: number } | null;
}

export interface Transcript {
  format: typeof TRANSCRIPT_FORMAT;
  version: typeof TRANSCRIPT_VERSION;
  practice: boolean;
  record: { name: string; archiveId: string | null; auditKey: string | null };
  run: string;
  status: RunState['status'];
  startedAt: string;
  endedAt: string | null;
  definition: { id: string; revision: number; type: string; title: string; hash: string; body: CeremonyDefinition };
  fingerprint: { hex: string; groups: string; words: string[] };
  params: Record<string, unknown>;
  previousBundle: string | null;
  participants: Array<{ person: string; name: string; roles: Role[]; roleTitles: string[]; credential: TranscriptCredential | null }>;
  steps: Array<{
    index: number;
    id: string;
    kind: string;
    title: string;
    actor: Role;
    status: string;
    quorum: { role: Role; threshold: number } | null;
    witnessTick: { person: string; name: string } | null;
    outcome: Record<string, unknown> | null;
    progress: Array<Record<string, unknown>>;
  }>;
  approvals: Array<{ step: string; person: string; name: string; role: Role; credential: string; counter: number; nonce: string; at: string; message: string; signature: string }>;
  exceptions: Array<{
    id: string;
    step: string | null;
    expected: string;
    happened: string;
    raisedBy: string;
    at: string;
    decision: { text: string; by: string; at: string } | null;
    acknowledged: { by: string; at: string } | null;
  }>;
  /** The journal is beside the transcript, one canonical entry per line (journal.jsonl); here its size and head. */
  journal: { file: 'journal.jsonl'; entries: number; head: string };
}

export interface TranscriptInput {
  state: RunState;
  definition: CeremonyDefinition;
  journal: Array<JournalEntry & { hash: string }>;
  credentials: ReadonlyMap<string, TranscriptCredential>;
  record: Transcript['record'];
}

export function buildTranscript(x: TranscriptInput): Transcript {
  const s = x.state;
  const plan = s.plan;
  const nameOf = (id: string) => plan.participants.find((p) => p.person === id)?.name ?? id;
  const approvals: Transcript['approvals'] = [];
  for (const step of s.steps) {
    for (const a of approvalsFor(s, step.id)) {
      approvals.push({
        step: a.step,
        person: a.person,
        name: nameOf(a.person),
        role: a.role,
        credential: a.credential,
        counter: a.counter,
        nonce: a.nonce,
        at: a.at,
        message: approvalMessage({ purpose: 'approve', run: plan.run, fingerprint: plan.fingerprint, step: a.step, counter: a.counter, nonce: a.nonce, person: a.person, credential: a.credential }),
        signature: a.signature,
      });
    }
    // A re-share's attestations that old shares are destroyed: signed like approvals (purpose
    // "attest"), so the bundle's verifier checks them against the same enrolled credentials.
    if (step.kind === 'attest-destroyed') {
      for (const p of s.step[step.id]!.progress) {
        if (p.destroyed !== true || typeof p.signature !== 'string') continue;
        const person = String(p.holder);
        const credential = String(p.credential);
        const counter = Number(p.counter);
        const nonce = String(p.nonce);
        approvals.push({
          step: step.id,
          person,
          name: nameOf(person),
          role: 'custodian',
          credential,
          counter,
          nonce,
          at: String(p.at ?? ''),
          message: approvalMessage({ purpose: 'attest', run: plan.run, fingerprint: plan.fingerprint, step: step.id, counter, nonce, person, credential }),
          signature: p.signature,
        });
      }
    }
  }
  return {
    format: TRANSCRIPT_FORMAT,
    version: TRANSCRIPT_VERSION,
    practice: plan.practice,
    record: x.record,
    run: plan.run,
    status: s.status,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    definition: { ...plan.definition, body: x.definition },
    fingerprint: { hex: plan.fingerprint, groups: fingerprintGroups(plan.fingerprint), words: fingerprintWords(plan.fingerprint) },
    params: plan.params,
    previousBundle: plan.previousBundle,
    participants: plan.participants.map((p) => ({
      person: p.person,
      name: p.name,
      roles: p.roles,
      roleTitles: p.roles.map((r) => ROLE_TITLES[r]),
      credential: p.credential ? (x.credentials.get(p.credential.fingerprint) ?? null) : null,
    })),
    steps: s.steps.map((st) => {
      const state = s.step[st.id]!;
      return {
        index: st.index,
        id: st.id,
        kind: st.kind,
        title: st.title,
        actor: st.actor,
        status: state.status,
        quorum: st.quorum,
        witnessTick: state.ticked ? { person: state.ticked, name: nameOf(state.ticked) } : null,
        outcome: state.outcome,
        progress: state.progress,
      };
    }),
    approvals,
    exceptions: s.exceptions.map((e) => ({
      id: e.id,
      step: e.step,
      expected: e.expected,
      happened: e.happened,
      raisedBy: e.raisedBy.name,
      at: e.at,
      decision: e.decision ? { text: e.decision.text, by: e.decision.by.name, at: e.decision.at } : null,
      acknowledged: e.acknowledged ? { by: e.acknowledged.by.name, at: e.acknowledged.at } : null,
    })),
    journal: { file: 'journal.jsonl', entries: x.journal.length, head: x.journal.at(-1)?.hash ?? '0'.repeat(64) },
  };
}

/** The transcript file's text: canonical JSON (sorted keys) indented with two spaces, and a final newline. */
export function transcriptText(t: Transcript): string {
  return canonicalJsonPretty(t) + '\n';
}
