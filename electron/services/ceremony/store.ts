// The ceremony record on an open archive: turns journal events into rows (archive/ceremonies.ts)
// and rows back into the typed journal, people and credentials the engine folds.
//
// A journal row keeps the entry exactly: `actor` is the actor's canonical JSON, `details` the
// canonical JSON of {event, prev}; the entry's hash (journal-chain.ts) is recomputed on every read,
// so the chain is checked each time a run is loaded.
import { canonicalJson } from '../../../shared/ceremony/canonical';
import { runTitle, type CeremonyDefinition } from '../../../shared/ceremony/definition';
import { defaultPolicy, policySchema, practicePolicy, type Policy } from '../../../shared/ceremony/policy';
import { ROLE_TITLES, type Role } from '../../../shared/ceremony/roles';
import type { Actor, JournalEntry, JournalEvent } from '../../../shared/ceremony/run';
import { fail } from '../../../shared/result';
import type { DetailValue } from '../audit/chain';
import type { ArchiveService } from '../archive/service';
import type { CredentialRow } from '../archive/ceremonies';
import type { CredentialRecord } from './credentials';
import type { AuditSigner } from './evidence';
import { journalEntryHash, verifyJournalChain, JOURNAL_GENESIS } from './journal-chain';
import { definitionHash } from './plan';
import type { CeremonyRecord, PersonRecord, RecordInfo, RunEffects, RunSummary, StoredRun } from './record';

/** How an actor is named in the audit log: the person and the role they acted in. */
export function auditActor(a: Actor): string {
  return a.role === 'system' ? 'Custos (ceremony engine)' : `${a.name} (${ROLE_TITLES[a.role as Role]})`;
}

/** Non-secret facts of an event for its audit entry (the journal row itself holds the rest). */
function auditDetails(e: JournalEvent): Record<string, DetailValue> {
  const d: Record<string, DetailValue> = {};
  if ('step' in e && typeof e.step === 'string') d.step = e.step;
  switch (e.type) {
    case 'run.planned':
    case 'run.amended':
      d.definition = `${e.plan.definition.id}@${e.plan.definition.revision}`;
      d.fingerprint = e.plan.fingerprint;
      d.practice = e.plan.practice;
      break;
    case 'approval.recorded':
      d.person = e.person;
      d.role = e.role;
      d.credential = e.credential;
      break;
    case 'presence.proved':
      d.person = e.person;
      d.credential = e.credential;
      break;
    case 'step.failed':
      d.error = e.error.code;
      break;
    case 'exception.raised':
    case 'exception.decided':
    case 'exception.acknowledged':
      d.exception = e.id;
      break;
    case 'run.completed':
      d.bundle = e.bundle.hash;
      break;
    case 'run.aborted':
      d.reason = e.reason.slice(0, 200);
      break;
    default:
      break;
  }
  return d;
}

export function credentialFromRow(r: CredentialRow): CredentialRecord {
  return {
    fingerprint: r.fingerprint,
    kind: r.kind as CredentialRecord['kind'],
    algorithm: r.algorithm as CredentialRecord['algorithm'],
    spki: r.spki,
    card: r.card ? { serial: String(r.card.serial), model: String(r.card.model), manufacturer: String(r.card.manufacturer), label: String(r.card.label), keyIdHex: String(r.card.keyIdHex) } : null,
    scrypt: r.scrypt ? { saltHex: String(r.scrypt.saltHex), logN: Number(r.scrypt.logN), r: Number(r.scrypt.r), p: Number(r.scrypt.p) } : null,
  };
}

function credentialToRow(c: CredentialRecord, personId: string): CredentialRow {
  return {
    fingerprint: c.fingerprint,
    personId,
    kind: c.kind,
    algorithm: c.algorithm,
    spki: Buffer.from(c.spki),
    card: c.card ? { ...c.card } : null,
    scrypt: c.scrypt ? { ...c.scrypt } : null,
    ceremonyId: null,
    createdAt: '',
  };
}

export class ArchiveCeremonyRecord implements CeremonyRecord {
  readonly info: RecordInfo;

  constructor(
    private readonly a: ArchiveService,
    module: string,
    private readonly osUser: string,
  ) {
    const ws = a.workstation;
    const profile = a.ceremonyRows.profile();
    this.info = {
      archiveId: a.archiveId,
      name: ws.name,
      practice: profile?.practice ?? false,
      token: ws.token_uri ?? '',
      module,
      auditKey: { fingerprint: ws.audit_fingerprint, retired: a.auditKeys().filter((k) => k.state === 'retired').map((k) => k.fingerprint) },
      kek: { label: ws.kek_label, idHex: ws.kek_id },
      mac: { label: ws.mac_label, idHex: ws.mac_id },
    };
  }

  policy(): Policy {
    const text = this.a.ceremonyRows.policy();
    if (!text) return this.info.practice ? practicePolicy() : defaultPolicy();
    const parsed = policySchema.safeParse(JSON.parse(text));
    if (!parsed.success) fail('ARCHIVE_CORRUPT', 'The quorum policy in the record cannot be read.', 'Run `custos archive verify`.');
    return parsed.data;
  }

  people(): PersonRecord[] {
    return this.a.ceremonyRows.people().map((p) => {
      const c = p.credential ? this.credential(p.credential) : null;
      return { id: p.id, name: p.name, roles: p.roles as Role[], status: p.status === 'active' ? 'active' : 'retired', credential: c, createdAt: p.createdAt, ceremony: null };
    });
  }

  credential(fingerprint: string): CredentialRecord | null {
    const r = this.a.ceremonyRows.credential(fingerprint);
    return r ? credentialFromRow(r) : null;
  }

  runs(): RunSummary[] {
    return this.a.ceremonyRows.runs().map((r) => ({
      run: r.id,
      type: String(r.parameters.type ?? ''),
      title: String(r.parameters.title ?? r.definitionId),
      status: r.status as RunSummary['status'],
      practice: r.parameters.practice === true,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      fingerprint: r.fingerprint,
    }));
  }

  loadRun(run: string): StoredRun | null {
    const r = this.a.ceremonyRows.run(run);
    if (!r) return null;
    if (!r.definition) fail('ARCHIVE_CORRUPT', `The definition of ceremony ${run} is missing from the record.`, 'Run `custos archive verify`.');
    const entries = r.journal.map((j) => {
      const details = JSON.parse(j.details) as { event: JournalEvent; prev: string };
      const e: JournalEntry = { seq: j.seq, at: j.at, actor: JSON.parse(j.actor) as Actor, event: details.event, prev: details.prev };
      return { ...e, hash: journalEntryHash(e) };
    });
    const chain = verifyJournalChain(entries);
    if (!chain.ok) fail('ARCHIVE_TAMPERED', `The journal of ceremony ${run} is broken: ${chain.problem}.`, 'Do not continue this ceremony. Run `custos archive verify`.');
    return { definition: JSON.parse(r.definition) as CeremonyDefinition, entries };
  }

  lastBundle(subject: string): string | null {
    return this.a.ceremonyRows.lastBundle(subject);
  }

  private entries(afterSeq: number, prev: string, events: Array<{ actor: Actor; event: JournalEvent; at?: string }>) {
    const out: Array<JournalEntry & { hash: string }> = [];
    for (const [i, x] of events.entries()) {
      // The event as it will be read back (canonical JSON drops undefined fields), so its hash is stable.
      const e: JournalEntry = { seq: afterSeq + i + 1, at: x.at ?? new Date().toISOString(), actor: x.actor, event: JSON.parse(canonicalJson(x.event)) as JournalEvent, prev };
      const hash = journalEntryHash(e);
      out.push({ ...e, hash });
      prev = hash;
    }
    return out;
  }

  private rows(entries: Array<JournalEntry & { hash: string }>) {
    return entries.map((e) => ({
      seq: e.seq,
      at: e.at,
      actor: canonicalJson(e.actor),
      action: e.event.type,
      details: canonicalJson({ event: e.event, prev: e.prev }),
      audit: { actor: auditActor(e.actor), details: auditDetails(e.event) },
    }));
  }

  private effects(effects: RunEffects | undefined) {
    return {
      ...(effects?.people ? { people: effects.people.map((p) => ({ id: p.id, name: p.name, roles: p.roles, status: p.status, credential: p.credential ? credentialToRow(p.credential, p.id) : null })) } : {}),
      ...(effects?.policy ? { policy: canonicalJson(effects.policy) } : {}),
      ...(effects?.bundle ? { bundle: effects.bundle } : {}),
      ...(effects?.shareSet ? { shareSet: effects.shareSet } : {}),
      ...(effects?.redact?.length ? { redact: effects.redact } : {}),
    };
  }

  async createRun(definition: CeremonyDefinition, events: Array<{ actor: Actor; event: JournalEvent; at?: string }>, effects?: RunEffects): Promise<Array<JournalEntry & { hash: string }>> {
    const first = events[0]?.event;
    if (!first || first.type !== 'run.planned') throw new Error('a run starts with run.planned');
    const plan = first.plan;
    const entries = this.entries(0, JOURNAL_GENESIS, events);
    await this.a.ceremonyRows.append({
      run: plan.run,
      create: {
        definition: { hash: definitionHash(definition), id: definition.id, revision: definition.revision, type: definition.type, body: canonicalJson(definition) },
        parameters: { definition: plan.definition.hash, type: plan.definition.type, title: runTitle(plan.definition, plan.params), practice: plan.practice },
        fingerprint: plan.fingerprint,
      },
      afterSeq: 0,
      entries: this.rows(entries),
      ...this.effects(effects),
      ...(effects?.profile ? { profile: effects.profile } : {}),
      osUser: this.osUser,
    });
    return entries;
  }

  async append(run: string, afterSeq: number, events: Array<{ actor: Actor; event: JournalEvent }>, effects?: RunEffects): Promise<Array<JournalEntry & { hash: string }>> {
    // Only the newest entry is read: an append costs the same however long the journal is. (Every
    // load of the run re-checks the whole chain.)
    const row = this.a.ceremonyRows.lastEntry(run);
    if (!row) fail('CEREMONY_NOT_FOUND', `There is no ceremony ${run} in this record.`, 'List the ceremonies and use one of their ids.');
    const details = JSON.parse(row.details) as { event: JournalEvent; prev: string };
    const lastEntry: JournalEntry = { seq: row.seq, at: row.at, actor: JSON.parse(row.actor) as Actor, event: details.event, prev: details.prev };
    const last = { ...lastEntry, hash: journalEntryHash(lastEntry) };
    if (last.seq !== afterSeq) {
      fail('CEREMONY_STEP_BLOCKED', 'Someone else acted on this ceremony at the same moment (in another window or the command line).', 'Look at the ceremony again and repeat the step if it is still needed.');
    }
    const entries = this.entries(afterSeq, last.hash, events);
    const amended = [...events].reverse().find((x) => x.event.type === 'run.amended')?.event as Extract<JournalEvent, { type: 'run.amended' }> | undefined;
    const status = effects?.status;
    await this.a.ceremonyRows.append({
      run,
      afterSeq,
      entries: this.rows(entries),
      ...(status || amended ? { runUpdate: { ...(status ? { status, ended: status !== 'running' } : {}), ...(amended ? { fingerprint: amended.plan.fingerprint } : {}) } } : {}),
      ...this.effects(effects),
      ...(effects?.profile ? { profile: effects.profile } : {}),
      osUser: this.osUser,
    });
    if (effects?.redact?.length) {
      // secure_delete zeroed the freed bytes in the database pages; the old page images stay in
      // the WAL until a checkpoint copies the new pages back and truncates it (as after a shred).
      try {
        this.a.internals.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        /* a reader holds an old snapshot; the next checkpoint does it */
      }
    }
    return entries;
  }

  signer(): AuditSigner {
    const { crypto } = this.a.internals;
    if (!crypto) fail('NOT_LOGGED_IN', 'Signing the evidence needs the workstation HSM, which is not logged in.', 'Log in to the workstation token and repeat the step.');
    const ws = this.a.workstation;
    return {
      spki: ws.audit_spki,
      fingerprint: ws.audit_fingerprint,
      sign: async (m) => (await crypto.sign([m]))[0]!,
    };
  }

  close(): void {
    this.a.close();
  }
}
