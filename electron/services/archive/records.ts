// Custodians, share sets and ceremonies: the records a ceremony engine keeps in the archive. They
// are written through the same engine as key versions (store.ts: MACed rows, audit entries and a
// signed checkpoint in one transaction), so a ceremony's journal is as tamper-evident as the keys
// it made, and a step that returned survives a crash.
//
//   custodian   a person with roles and, optionally, the public key of their card (presence
//               proofs, sealed shares); exchanged between workstations in bundles
//   share set   the metadata of a split-knowledge backup: scheme, threshold, holders, fingerprint
//               (never a share); exchanged in bundles with its key
//   ceremony    one run of a ceremony script: its parameters' fingerprint, an append-only journal
//               of steps, and the custodians' approvals; local to this archive
import { RECORDS, type RecordSpec } from '../../../shared/archive/canonical';
import { textProblem } from '../../../shared/archive/validate';
import { invalidInput } from '../../../shared/result';
import type { DetailValue } from '../audit/chain';
import { spkiFingerprint } from '../formats/publicKey';
import { guarded, requireStore, type ArchiveContext } from './context';
import { archiveError, FIX_INPUT } from './errors';
import { newId, nowIso } from './store';

// ---------------------------------------------------------------------------------------------
// Shapes

export interface CustodianInput {
  /** Given to update a custodian (a new revision); left out to add one. */
  id?: string;
  name: string;
  roles: string[];
  /** SubjectPublicKeyInfo (DER) of the custodian's card key; its SHA-256 is recorded beside it. */
  publicSpki?: Uint8Array | null;
  /** Default "active". */
  status?: string;
}

export interface Custodian {
  id: string;
  name: string;
  roles: string[];
  publicSpki: Buffer | null;
  fingerprint: string | null;
  status: string;
  createdAt: string;
  originArchive: string;
  revision: number;
}

/** Share-set metadata only: scheme, threshold, holders, fingerprints — never a share. */
export interface ShareSetInput {
  id?: string;
  keyId?: string | null;
  /** For example "slip39" or "xor". */
  scheme: string;
  threshold: number;
  shareCount: number;
  /** SLIP-39 groups, as the share-set record states them. */
  groups?: unknown;
  holders: unknown;
  fingerprint: string;
  ceremonyId?: string | null;
  status?: string;
}

export interface ShareSet {
  id: string;
  keyId: string | null;
  scheme: string;
  threshold: number;
  shareCount: number;
  groups: unknown;
  holders: unknown;
  fingerprint: string;
  ceremonyId: string | null;
  status: string;
  createdAt: string;
  originArchive: string;
  revision: number;
}

export interface CeremonyStart {
  scriptId: string;
  scriptVersion: number;
  /** The fingerprint over every resolved parameter, as the participants read it aloud. */
  fingerprint: string;
  parameters: Record<string, DetailValue>;
}

export type CeremonyStatus = 'running' | 'completed' | 'aborted';
export type CeremonyEnd = Exclude<CeremonyStatus, 'running'>;

export interface JournalStep {
  action: string;
  details: Record<string, DetailValue>;
}

export interface JournalEntry extends JournalStep {
  /** 1, 2, …: the order steps were journaled in. */
  step: number;
  at: string;
  actor: string;
}

export interface ApprovalInput {
  ceremonyId: string;
  custodianId: string;
  decision: 'approve' | 'reject';
  /** The custodian's signature over what they approved, if their card made one. */
  proof?: Uint8Array | null;
}

export interface Approval {
  id: string;
  custodianId: string;
  decision: 'approve' | 'reject';
  at: string;
  proof: Buffer | null;
}

export interface Ceremony {
  id: string;
  scriptId: string;
  scriptVersion: number;
  fingerprint: string;
  parameters: Record<string, DetailValue>;
  status: CeremonyStatus;
  startedAt: string;
  endedAt: string | null;
  journal: JournalEntry[];
  approvals: Approval[];
}

type Row = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Writing

export async function saveCustodian(ctx: ArchiveContext, input: CustodianInput, actor: string): Promise<string> {
  const p = textProblem('The custodian name', input.name, 100);
  if (p || input.name.trim() === '') invalidInput(p ?? 'A custodian needs a name.', FIX_INPUT);
  const fp = input.publicSpki ? spkiFingerprint(input.publicSpki).hex : null;
  return saveExchangeable(ctx, RECORDS.custodian, input.id, actor, 'custodian.save', (now) => ({
    name: input.name.trim(),
    roles: JSON.stringify([...new Set(input.roles)].sort()),
    public_spki: input.publicSpki ? Buffer.from(input.publicSpki) : null,
    fingerprint: fp,
    status: input.status ?? 'active',
    created_at: now,
  }), (row) => ({ name: row.name as string, roles: JSON.parse(row.roles as string) as string[], fingerprint: fp, status: row.status as string }));
}

export async function saveShareSet(ctx: ArchiveContext, input: ShareSetInput, actor: string): Promise<string> {
  if (!Number.isInteger(input.threshold) || !Number.isInteger(input.shareCount) || input.threshold < 1 || input.threshold > input.shareCount) {
    invalidInput('The threshold must be between 1 and the number of shares.', FIX_INPUT);
  }
  return saveExchangeable(ctx, RECORDS['share-set'], input.id, actor, 'share-set.save', (now) => ({
    key_id: input.keyId ?? null,
    scheme: input.scheme,
    threshold: input.threshold,
    share_count: input.shareCount,
    groups: input.groups === undefined ? null : JSON.stringify(input.groups),
    holders: JSON.stringify(input.holders),
    fingerprint: input.fingerprint,
    ceremony_id: input.ceremonyId ?? null,
    status: input.status ?? 'active',
    created_at: now,
  }), (row) => ({ scheme: row.scheme as string, threshold: row.threshold as number, shareCount: row.share_count as number, fingerprint: row.fingerprint as string, status: row.status as string }));
}

/** Inserts a record owned by this archive, or writes the next revision of an existing one. */
async function saveExchangeable(
  ctx: ArchiveContext,
  spec: RecordSpec,
  id: string | undefined,
  actor: string,
  action: string,
  values: (now: string) => Row,
  summary: (row: Row) => Record<string, DetailValue>,
): Promise<string> {
  const store = requireStore(ctx);
  const rowIdValue = id ?? newId();
  await store.commit(() => {
    const now = nowIso();
    const existing = ctx.db.prepare(`SELECT * FROM ${spec.table} WHERE id = ?`).get(rowIdValue) as (Row & { mac: Buffer; revision: number; created_at: string }) | undefined;
    const v = values(now);
    if (existing) {
      const { mac, ...old } = existing;
      const row = { ...old, ...v, created_at: existing.created_at, revision: existing.revision + 1, updated_at: now };
      return { rows: [{ spec, op: 'update', row, expectMac: mac }], audit: [{ actor, action, row: 0, details: summary(row) }] };
    }
    const row = { id: rowIdValue, ...v, origin_archive: ctx.archiveId, revision: 1, updated_at: now };
    return { rows: [{ spec, op: 'insert', row }], audit: [{ actor, action, row: 0, details: summary(row) }] };
  });
  return rowIdValue;
}

export async function startCeremony(ctx: ArchiveContext, input: CeremonyStart, actor: string): Promise<string> {
  const store = requireStore(ctx);
  const id = newId();
  await store.commit(() => {
    const now = nowIso();
    const row = { id, script_id: input.scriptId, script_version: input.scriptVersion, fingerprint: input.fingerprint, parameters: JSON.stringify(input.parameters), status: 'running', started_at: now, ended_at: null, revision: 1, updated_at: now };
    return { rows: [{ spec: RECORDS.ceremony, op: 'insert', row }], audit: [{ actor, action: 'ceremony.start', row: 0, details: { script: input.scriptId, version: input.scriptVersion, fingerprint: input.fingerprint } }] };
  });
  return id;
}

/** One journal step (append-only); a crash after it returns keeps the step. Returns its number. */
export async function journal(ctx: ArchiveContext, ceremonyId: string, step: JournalStep, actor: string): Promise<number> {
  const store = requireStore(ctx);
  let n = 0;
  await store.commit(() => {
    n = ((ctx.db.prepare('SELECT coalesce(max(step), 0) AS s FROM ceremony_journal WHERE ceremony_id = ?').get(ceremonyId) as { s: number }).s ?? 0) + 1;
    const row = { ceremony_id: ceremonyId, step: n, at: nowIso(), actor, action: step.action, details: JSON.stringify(step.details) };
    return { rows: [{ spec: RECORDS.journal, op: 'insert', row }], audit: [{ actor, action: `ceremony.step`, row: 0, details: { ceremony: ceremonyId, step: n, action: step.action } }] };
  });
  return n;
}

export async function recordApproval(ctx: ArchiveContext, input: ApprovalInput, actor: string): Promise<string> {
  const store = requireStore(ctx);
  const id = newId();
  await store.commit(() => {
    const row = { id, ceremony_id: input.ceremonyId, custodian_id: input.custodianId, decision: input.decision, at: nowIso(), proof: input.proof ? Buffer.from(input.proof) : null };
    return { rows: [{ spec: RECORDS.approval, op: 'insert', row }], audit: [{ actor, action: 'ceremony.approval', row: 0, details: { ceremony: input.ceremonyId, custodian: input.custodianId, decision: input.decision } }] };
  });
  return id;
}

export async function finishCeremony(ctx: ArchiveContext, ceremonyId: string, status: CeremonyEnd, actor: string): Promise<void> {
  const store = requireStore(ctx);
  await store.commit(() => {
    const c = ctx.db.prepare('SELECT * FROM ceremonies WHERE id = ?').get(ceremonyId) as (Row & { mac: Buffer; revision: number }) | undefined;
    if (!c) throw archiveError('ARCHIVE_RECORD_NOT_FOUND', 'There is no such ceremony in the archive.', 'Check the ceremony id.');
    const { mac, ...old } = c;
    const now = nowIso();
    const row = { ...old, status, ended_at: now, revision: c.revision + 1, updated_at: now };
    return { rows: [{ spec: RECORDS.ceremony, op: 'update', row, expectMac: mac }], audit: [{ actor, action: `ceremony.${status}`, row: 0, details: { ceremony: ceremonyId } }] };
  });
}

// ---------------------------------------------------------------------------------------------
// Reading (no HSM): what a ceremony engine resumes from. Row MACs are `archive verify`'s job.

export function custodian(ctx: ArchiveContext, id: string): Custodian {
  const r = guarded(ctx, () => ctx.db.prepare('SELECT * FROM custodians WHERE id = ?').get(id) as Row | undefined) ?? notFound('custodian');
  return {
    id: r.id as string,
    name: r.name as string,
    roles: JSON.parse(r.roles as string) as string[],
    publicSpki: (r.public_spki as Buffer | null) ?? null,
    fingerprint: (r.fingerprint as string | null) ?? null,
    status: r.status as string,
    createdAt: r.created_at as string,
    originArchive: r.origin_archive as string,
    revision: r.revision as number,
  };
}

export function shareSet(ctx: ArchiveContext, id: string): ShareSet {
  const r = guarded(ctx, () => ctx.db.prepare('SELECT * FROM share_sets WHERE id = ?').get(id) as Row | undefined) ?? notFound('share set');
  return {
    id: r.id as string,
    keyId: (r.key_id as string | null) ?? null,
    scheme: r.scheme as string,
    threshold: r.threshold as number,
    shareCount: r.share_count as number,
    groups: r.groups === null ? null : (JSON.parse(r.groups as string) as unknown),
    holders: JSON.parse(r.holders as string) as unknown,
    fingerprint: r.fingerprint as string,
    ceremonyId: (r.ceremony_id as string | null) ?? null,
    status: r.status as string,
    createdAt: r.created_at as string,
    originArchive: r.origin_archive as string,
    revision: r.revision as number,
  };
}

/** A ceremony with its journal (in step order) and approvals (in the order given). */
export function ceremony(ctx: ArchiveContext, id: string): Ceremony {
  return guarded(ctx, () => {
    const c = (ctx.db.prepare('SELECT * FROM ceremonies WHERE id = ?').get(id) as Row | undefined) ?? notFound('ceremony');
    const journal = (ctx.db.prepare('SELECT step, at, actor, action, details FROM ceremony_journal WHERE ceremony_id = ? ORDER BY step').all(id) as Row[]).map((j) => ({
      step: j.step as number,
      at: j.at as string,
      actor: j.actor as string,
      action: j.action as string,
      details: JSON.parse(j.details as string) as Record<string, DetailValue>,
    }));
    const approvals = (ctx.db.prepare('SELECT id, custodian_id, decision, at, proof FROM approvals WHERE ceremony_id = ? ORDER BY rowid').all(id) as Row[]).map((a) => ({
      id: a.id as string,
      custodianId: a.custodian_id as string,
      decision: a.decision as 'approve' | 'reject',
      at: a.at as string,
      proof: (a.proof as Buffer | null) ?? null,
    }));
    return {
      id: c.id as string,
      scriptId: c.script_id as string,
      scriptVersion: c.script_version as number,
      fingerprint: c.fingerprint as string,
      parameters: JSON.parse(c.parameters as string) as Record<string, DetailValue>,
      status: c.status as CeremonyStatus,
      startedAt: c.started_at as string,
      endedAt: (c.ended_at as string | null) ?? null,
      journal,
      approvals,
    };
  });
}

function notFound(what: string): never {
  throw archiveError('ARCHIVE_RECORD_NOT_FOUND', `There is no such ${what} in the archive.`, `Check the ${what} id.`);
}
