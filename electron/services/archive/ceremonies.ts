// The ceremony engine's rows in the workstation record (schema 2): people (the custodians table)
// and their credentials, the quorum policy, the definitions runs used, each run and its journal,
// the evidence-bundle chain, and the record's profile (practice or production).
//
// Every change goes through the one writer (store.ts): a run's journal entries, their effects and
// one audit entry per journal entry — naming the person and role who acted, with the OS user as a
// detail — are MACed, chained and checkpointed in a single transaction. The append names the last
// journal entry it follows (optimistic concurrency): if the app and the CLI act on one run at once,
// one of them is refused and re-reads the run.
//
// This module stores and reads rows; what they mean is the engine's (electron/services/ceremony).
import type { Statement } from 'better-sqlite3';
import { RECORDS } from '../../../shared/archive/canonical';
import type { DetailValue } from '../audit/chain';
import { guarded, requireStore, type ArchiveContext } from './context';
import { archiveError } from './errors';
import type { AuditDraft, Mutation, RowWrite } from './store';
import { nowIso } from './store';

type Row = Record<string, unknown>;

export interface PersonRow {
  id: string;
  name: string;
  roles: string[];
  status: string;
  credential: string | null;
  createdAt: string;
  revision: number;
}

export interface CredentialRow {
  fingerprint: string;
  personId: string;
  kind: string;
  algorithm: string;
  spki: Buffer;
  card: Record<string, string> | null;
  scrypt: Record<string, string | number> | null;
  ceremonyId: string | null;
  createdAt: string;
}

export interface RunRow {
  id: string;
  definitionId: string;
  revision: number;
  fingerprint: string;
  parameters: Record<string, unknown>;
  status: string;
  startedAt: string;
  endedAt: string | null;
}

export interface JournalRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  details: string;
}

export interface AppendRequest {
  run: string;
  /** A new run: its definition (stored once per hash) and its row. */
  create?: { definition: { hash: string; id: string; revision: number; type: string; body: string }; parameters: Record<string, DetailValue>; fingerprint: string };
  /** The journal entry the new ones follow (0 for a new run). */
  afterSeq: number;
  entries: Array<{ seq: number; at: string; actor: string; action: string; details: string; audit: { actor: string; details: Record<string, DetailValue> } }>;
  /** The run row's new status and fingerprint, when they change. */
  runUpdate?: { status?: string; fingerprint?: string; ended?: boolean };
  people?: Array<{ id: string; name: string; roles: string[]; status: string; credential: CredentialRow | null }>;
  policy?: string;
  bundle?: { hash: string; name: string; subjects: string[]; previous: string | null; practice: boolean };
  profile?: { practice: boolean };
  /** A backup's share set: its public record (never a share). */
  shareSet?: { id: string; scheme: string; threshold: number; shareCount: number; holders: Array<{ person: string; name: string }>; fingerprint: string; groups: string | null };
  /** Journal entries (of any run) whose shredded blob bytes are redacted, with their new details. */
  redact?: Array<{ run: string; seq: number; details: string }>;
  /** The OS user and front end, kept as a detail of every audit entry. */
  osUser: string;
}

/** Prepared statements, once per connection: a journal append runs the same few queries each time. */
const statements = new WeakMap<ArchiveContext['db'], Map<string, Statement<unknown[]>>>();
function stmt(ctx: ArchiveContext, sql: string): Statement<unknown[]> {
  let m = statements.get(ctx.db);
  if (!m) statements.set(ctx.db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = ctx.db.prepare(sql)));
  return s;
}

const hasTable = (ctx: ArchiveContext, name: string): boolean =>
  !!stmt(ctx, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);

// ---- Reading ----------------------------------------------------------------------------------

export function people(ctx: ArchiveContext): PersonRow[] {
  return guarded(ctx, () =>
    (stmt(ctx, 'SELECT id, name, roles, status, fingerprint, created_at, revision FROM custodians ORDER BY name, id').all() as Row[]).map((r) => ({
      id: r.id as string,
      name: r.name as string,
      roles: JSON.parse(r.roles as string) as string[],
      status: r.status as string,
      credential: (r.fingerprint as string | null) ?? null,
      createdAt: r.created_at as string,
      revision: r.revision as number,
    })),
  );
}

export function credential(ctx: ArchiveContext, fingerprint: string): CredentialRow | null {
  if (!hasTable(ctx, 'credentials')) return null;
  const r = guarded(ctx, () => stmt(ctx, 'SELECT * FROM credentials WHERE fingerprint = ?').get(fingerprint) as Row | undefined);
  if (!r) return null;
  return {
    fingerprint: r.fingerprint as string,
    personId: r.person_id as string,
    kind: r.kind as string,
    algorithm: r.algorithm as string,
    spki: r.public_spki as Buffer,
    card: r.card ? (JSON.parse(r.card as string) as Record<string, string>) : null,
    scrypt: r.scrypt ? (JSON.parse(r.scrypt as string) as Record<string, string | number>) : null,
    ceremonyId: (r.ceremony_id as string | null) ?? null,
    createdAt: r.created_at as string,
  };
}

/** The policy in force (JSON text), or null before any was set. */
export function policy(ctx: ArchiveContext): string | null {
  if (!hasTable(ctx, 'policies')) return null;
  const r = guarded(ctx, () => stmt(ctx, 'SELECT policy FROM policies ORDER BY revision DESC LIMIT 1').get() as { policy: string } | undefined);
  return r?.policy ?? null;
}

/** Practice or production; null for a record made before schema 2 (treated as production). */
export function profile(ctx: ArchiveContext): { practice: boolean } | null {
  if (!hasTable(ctx, 'record_profile')) return null;
  const r = guarded(ctx, () => stmt(ctx, 'SELECT practice FROM record_profile WHERE archive_id = ?').get(ctx.archiveId) as { practice: number } | undefined);
  return r ? { practice: r.practice === 1 } : null;
}

export function runs(ctx: ArchiveContext): RunRow[] {
  return guarded(ctx, () => (stmt(ctx, 'SELECT * FROM ceremonies ORDER BY started_at DESC, id').all() as Row[]).map(runRow));
}

function runRow(r: Row): RunRow {
  return {
    id: r.id as string,
    definitionId: r.script_id as string,
    revision: r.script_version as number,
    fingerprint: r.fingerprint as string,
    parameters: JSON.parse(r.parameters as string) as Record<string, unknown>,
    status: r.status as string,
    startedAt: r.started_at as string,
    endedAt: (r.ended_at as string | null) ?? null,
  };
}

export function run(ctx: ArchiveContext, id: string): { run: RunRow; definition: string | null; journal: JournalRow[] } | null {
  return guarded(ctx, () => {
    const r = stmt(ctx, 'SELECT * FROM ceremonies WHERE id = ?').get(id) as Row | undefined;
    if (!r) return null;
    const row = runRow(r);
    const hash = row.parameters.definition;
    const def = typeof hash === 'string' && hasTable(ctx, 'ceremony_definitions') ? (stmt(ctx, 'SELECT body FROM ceremony_definitions WHERE hash = ?').get(hash) as { body: string } | undefined) : undefined;
    const journal = stmt(ctx, 'SELECT step AS seq, at, actor, action, details FROM ceremony_journal WHERE ceremony_id = ? ORDER BY step').all(id) as JournalRow[];
    return { run: row, definition: def?.body ?? null, journal };
  });
}

/** The newest journal row of a run (what an append follows), without reading the rest. */
export function lastEntry(ctx: ArchiveContext, id: string): JournalRow | null {
  return guarded(ctx, () => (stmt(ctx, 'SELECT step AS seq, at, actor, action, details FROM ceremony_journal WHERE ceremony_id = ? ORDER BY step DESC LIMIT 1').get(id) as JournalRow | undefined) ?? null);
}

export function lastBundle(ctx: ArchiveContext, subject: string): string | null {
  if (!hasTable(ctx, 'evidence_bundles')) return null;
  const r = guarded(ctx, () =>
    stmt(ctx, 'SELECT b.hash FROM evidence_bundles b, json_each(b.subjects) s WHERE s.value = ? ORDER BY b.created_at DESC, b.rowid DESC LIMIT 1').get(subject) as { hash: string } | undefined,
  );
  return r?.hash ?? null;
}

// ---- Writing ----------------------------------------------------------------------------------

/** Appends journal entries and their effects in one commit; refuses if the journal moved on. */
export async function append(ctx: ArchiveContext, req: AppendRequest): Promise<void> {
  const store = requireStore(ctx);
  let lost = false;
  await store.commit(() => {
    const rows: RowWrite[] = [];
    const audit: AuditDraft[] = [];
    const now = nowIso();
    const auditFor = (row: number, actor: string, action: string, details: Record<string, DetailValue>) =>
      audit.push({ actor, action, row, details: { ...details, os_user: req.osUser } });

    if (req.create) {
      const d = req.create.definition;
      const known = stmt(ctx, 'SELECT 1 FROM ceremony_definitions WHERE hash = ?').get(d.hash);
      if (!known) {
        rows.push({ spec: RECORDS.definition, op: 'insert', row: { hash: d.hash, id: d.id, revision: d.revision, type: d.type, body: d.body, added_at: now } });
        auditFor(rows.length - 1, req.entries[0]?.audit.actor ?? 'Custos', 'ceremony.definition', { id: d.id, revision: d.revision, hash: d.hash });
      }
      rows.push({
        spec: RECORDS.ceremony,
        op: 'insert',
        row: { id: req.run, script_id: d.id, script_version: d.revision, fingerprint: req.create.fingerprint, parameters: JSON.stringify(req.create.parameters), status: 'running', started_at: req.entries[0]?.at ?? now, ended_at: null, revision: 1, updated_at: now },
      });
      // Every MACed row is named, with its MAC, by an audit entry: `archive verify` binds each row
      // to the signed log that way (a run row without one reads as "not written by Custos").
      auditFor(rows.length - 1, req.entries[0]?.audit.actor ?? 'Custos', 'ceremony.run', { ceremony: req.run, definition: d.id, revision: d.revision, fingerprint: req.create.fingerprint, status: 'running' });
    } else if (req.runUpdate) {
      const c = stmt(ctx, 'SELECT * FROM ceremonies WHERE id = ?').get(req.run) as (Row & { mac: Buffer; revision: number }) | undefined;
      if (!c) throw archiveError('ARCHIVE_RECORD_NOT_FOUND', 'There is no such ceremony in the record.', 'List the ceremonies and use one of their ids.');
      const { mac, ...old } = c;
      rows.push({
        spec: RECORDS.ceremony,
        op: 'update',
        row: { ...old, status: req.runUpdate.status ?? old.status, fingerprint: req.runUpdate.fingerprint ?? old.fingerprint, ended_at: req.runUpdate.ended ? now : old.ended_at, revision: c.revision + 1, updated_at: now },
        expectMac: mac,
      });
      const r = rows[rows.length - 1]!.row;
      auditFor(rows.length - 1, req.entries[0]?.audit.actor ?? 'Custos', 'ceremony.run', { ceremony: req.run, status: r.status as string, fingerprint: r.fingerprint as string });
    }
    for (const e of req.entries) {
      rows.push({ spec: RECORDS.journal, op: 'insert', row: { ceremony_id: req.run, step: e.seq, at: e.at, actor: e.actor, action: e.action, details: e.details } });
      auditFor(rows.length - 1, e.audit.actor, `ceremony.${e.action}`, { ceremony: req.run, seq: e.seq, ...e.audit.details });
    }
    for (const p of req.people ?? []) {
      const existing = stmt(ctx, 'SELECT * FROM custodians WHERE id = ?').get(p.id) as (Row & { mac: Buffer; revision: number; created_at: string }) | undefined;
      const values = {
        name: p.name,
        roles: JSON.stringify([...new Set(p.roles)].sort()),
        public_spki: p.credential ? p.credential.spki : existing ? (existing.public_spki as Buffer | null) : null,
        fingerprint: p.credential ? p.credential.fingerprint : existing ? (existing.fingerprint as string | null) : null,
        status: p.status,
      };
      if (existing) {
        const { mac, ...old } = existing;
        rows.push({ spec: RECORDS.custodian, op: 'update', row: { ...old, ...values, revision: existing.revision + 1, updated_at: now }, expectMac: mac });
      } else {
        rows.push({ spec: RECORDS.custodian, op: 'insert', row: { id: p.id, ...values, created_at: now, origin_archive: ctx.archiveId, revision: 1, updated_at: now } });
      }
      auditFor(rows.length - 1, req.entries[0]?.audit.actor ?? 'Custos', existing ? 'person.update' : 'person.enrol', { ceremony: req.run, name: p.name, roles: [...p.roles].sort(), status: p.status, credential: values.fingerprint });
      const c = p.credential;
      if (c && !stmt(ctx, 'SELECT 1 FROM credentials WHERE fingerprint = ?').get(c.fingerprint)) {
        rows.push({
          spec: RECORDS.credential,
          op: 'insert',
          row: { fingerprint: c.fingerprint, person_id: p.id, kind: c.kind, algorithm: c.algorithm, public_spki: c.spki, card: c.card ? JSON.stringify(c.card) : null, scrypt: c.scrypt ? JSON.stringify(c.scrypt) : null, ceremony_id: req.run, created_at: now },
        });
        auditFor(rows.length - 1, req.entries[0]?.audit.actor ?? 'Custos', 'credential.enrol', { ceremony: req.run, person: p.id, kind: c.kind, ...(c.card ? { card_serial: c.card.serial ?? '', card_model: c.card.model ?? '' } : {}) });
      }
    }
    if (req.policy !== undefined) {
      const last = stmt(ctx, 'SELECT coalesce(max(revision), 0) AS r FROM policies').get() as { r: number };
      rows.push({ spec: RECORDS.policy, op: 'insert', row: { revision: last.r + 1, policy: req.policy, ceremony_id: req.run, created_at: now } });
      auditFor(rows.length - 1, req.entries[0]?.audit.actor ?? 'Custos', 'policy.set', { ceremony: req.run, revision: last.r + 1 });
    }
    if (req.bundle) {
      const b = req.bundle;
      rows.push({ spec: RECORDS.evidence, op: 'insert', row: { hash: b.hash, ceremony_id: req.run, name: b.name, subjects: JSON.stringify([...b.subjects].sort()), previous: b.previous, practice: b.practice ? 1 : 0, created_at: now } });
      auditFor(rows.length - 1, req.entries[0]?.audit.actor ?? 'Custos', 'evidence.bundle', { ceremony: req.run, bundle: b.hash, name: b.name, previous: b.previous });
    }
    if (req.shareSet) {
      const x = req.shareSet;
      rows.push({
        spec: RECORDS['share-set'],
        op: 'insert',
        row: { id: x.id, key_id: null, scheme: x.scheme, threshold: x.threshold, share_count: x.shareCount, groups: x.groups, holders: JSON.stringify(x.holders), fingerprint: x.fingerprint, ceremony_id: req.run, status: 'active', created_at: now, origin_archive: ctx.archiveId, revision: 1, updated_at: now },
      });
      auditFor(rows.length - 1, req.entries[0]?.audit.actor ?? 'Custos', 'share-set.save', { ceremony: req.run, scheme: x.scheme, threshold: x.threshold, shares: x.shareCount, fingerprint: x.fingerprint });
    }
    for (const x of req.redact ?? []) {
      const j = stmt(ctx, 'SELECT ceremony_id, step, at, actor, action, details, mac FROM ceremony_journal WHERE ceremony_id = ? AND step = ?').get(x.run, x.seq) as (Row & { mac: Buffer }) | undefined;
      if (!j) throw archiveError('ARCHIVE_RECORD_NOT_FOUND', `There is no journal entry ${x.seq} of ceremony ${x.run} to redact.`, 'Run `custos archive verify`.');
      const { mac, ...old } = j;
      rows.push({ spec: RECORDS.journal, op: 'update', row: { ...old, details: x.details }, expectMac: mac });
      auditFor(rows.length - 1, req.entries[0]?.audit.actor ?? 'Custos', 'ceremony.journal-redact', { ceremony: x.run, seq: x.seq, by: req.run });
    }
    if (req.profile && !stmt(ctx, 'SELECT 1 FROM record_profile').get()) {
      rows.push({ spec: RECORDS.profile, op: 'insert', row: { archive_id: ctx.archiveId, practice: req.profile.practice ? 1 : 0, ceremony_id: req.run, created_at: now } });
      auditFor(rows.length - 1, req.entries[0]?.audit.actor ?? 'Custos', 'record.profile', { ceremony: req.run, practice: req.profile.practice });
    }
    return {
      rows,
      audit,
      // Inside the write transaction: nobody appended to this run since it was read.
      guard: () => {
        const last = stmt(ctx, 'SELECT coalesce(max(step), 0) AS s FROM ceremony_journal WHERE ceremony_id = ?').get(req.run) as { s: number };
        if (last.s !== req.afterSeq) {
          lost = true;
          throw new Error('journal moved');
        }
      },
    };
  }).catch((e) => {
    if (lost) {
      throw archiveError('CEREMONY_STEP_BLOCKED', 'Someone else acted on this ceremony at the same moment (in another window or the command line).', 'Look at the ceremony again and repeat the step if it is still needed.');
    }
    throw e;
  });
}

/**
 * A record's profile and first policy, when no ceremony made them: the practice record the demo
 * token path creates (its people are enrolled afterwards, by the enrolment ceremony).
 */
export async function initProfile(ctx: ArchiveContext, x: { practice: boolean; policy: string; actor: string; osUser: string }): Promise<void> {
  const store = requireStore(ctx);
  await store.commit((): Mutation => {
    const now = nowIso();
    const profileDetails: Record<string, DetailValue> = { practice: x.practice, os_user: x.osUser };
    const policyDetails: Record<string, DetailValue> = { revision: 1, os_user: x.osUser };
    return {
      rows: [
        { spec: RECORDS.profile, op: 'insert', row: { archive_id: ctx.archiveId, practice: x.practice ? 1 : 0, ceremony_id: null, created_at: now } },
        { spec: RECORDS.policy, op: 'insert', row: { revision: 1, policy: x.policy, ceremony_id: null, created_at: now } },
      ],
      audit: [
        { actor: x.actor, action: 'record.profile', row: 0, details: profileDetails },
        { actor: x.actor, action: 'policy.set', row: 1, details: policyDetails },
      ],
    };
  });
}
