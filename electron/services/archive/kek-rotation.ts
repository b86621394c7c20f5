// Archive KEK rotation (issue #10 part 4; docs/ARCHITECTURE.md "Archive KEK rotation", FORMAT.md
// "archive_keks"). Three phases, each safe to kill:
//
//   begin     the new KEK is generated in the HSM (AES-256, CKA_WRAP_WITH_TRUSTED, as at init) and
//             committed to archive_keks as 'incoming' before any version is re-wrapped under it.
//             A kill between the two leaves an unrecorded key under a label only this archive's
//             next rotation uses: that rotation destroys it (it never wrapped anything).
//   rewrap    batches of versions still under the old KEK: the host re-wraps and verifies each
//             inside the HSM (host/rewrap.ts), then one transaction updates the batch's rows
//             (wrapped, kek_check, revision: MACed as every row) and appends one audit entry naming
//             the versions. A kill loses at most the batch in flight; every row names, by its
//             kek_check, a KEK the archive can find (identity row or archive_keks).
//   finish    once no version is left under the old KEK (checked inside the final transaction, so a
//             version added meanwhile by another program is not left behind), the identity row
//             moves to the new KEK and the old one is recorded 'retired' — deactivated, never
//             destroyed here (destruction is the destruction ceremony's).
//
// Threat addressed: a KEK suspected of exposure, or at the end of its cryptoperiod (NIST SP 800-57
// Pt 1 §5.3), must stop protecting the archive without the archived keys ever leaving the HSM.
import { randomBytes } from 'node:crypto';
import { RECORDS } from '../../../shared/archive/canonical';
import type { UnwrapTemplate } from '../../hsm/protocol';
import type { ObjectRef } from '../../hsm/protocol';
import { hsmCheckValues } from '../hsm-kcv';
import { guarded, requireHsm, requireStore, scopeOf, type ArchiveContext } from './context';
import { archiveError } from './errors';
import type { VersionRow, WorkstationRow } from './rows';
import { nowIso, type AuditDraft } from './store';

export interface KekRow {
  kek_check: string;
  kek_label: string;
  kek_id: string;
  kek_check_legacy: string | null;
  state: 'incoming' | 'current' | 'retired';
  created_at: string;
  ceremony_id: string | null;
  updated_at: string;
  mac: Buffer;
}

export interface KekProgress {
  /** Versions under the new KEK. */
  done: number;
  /** Versions with material when this run started (done + still to re-wrap). */
  total: number;
  /** Versions re-wrapped by this run, and its rate. */
  thisRun: number;
  perSecond: number;
}

export interface KekRotationState {
  current: { check: string; label: string; id: string };
  /** Set while a rotation is under way (begun, not finished). */
  incoming: { check: string; label: string; id: string; ceremonyId: string | null; createdAt: string } | null;
  /** Versions with material, and of them those still under the identity row's KEK. */
  versions: number;
  remaining: number;
}

/** Versions per host request and per transaction: 512 keeps a batch well under 1 s on SoftHSM2. */
export const KEK_BATCH = 512;

/** The next batch to re-wrap: versions after the cursor (a rowid) still under the old KEK, in rowid order. */
export const REWRAP_NEXT_SQL = 'SELECT rowid AS rid, * FROM key_versions WHERE rowid > ? AND wrapped IS NOT NULL AND +kek_check = ? ORDER BY rowid LIMIT ?';

/** What a re-wrap changes in a version's row (the MAC covers the rest, unchanged). */
const REWRAP_COLUMNS = ['wrapped', 'kek_check', 'revision', 'updated_at'] as const;

const kekLabel = (archiveId: string, n: number) => `custos-archive-kek/${archiveId}/${n}`;

export function kekRows(ctx: ArchiveContext): KekRow[] {
  return guarded(ctx, () => {
    // A schema-2 file opened read-only is not migrated: no table, so no KEK was ever rotated.
    if (!ctx.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'archive_keks'").get()) return [];
    return ctx.db.prepare('SELECT * FROM archive_keks ORDER BY created_at').all() as KekRow[];
  });
}

function incomingRow(ctx: ArchiveContext): KekRow | null {
  return kekRows(ctx).find((r) => r.state === 'incoming') ?? null;
}

/** The identity row as stored now (another program may have rotated since this one opened). */
function storedWs(ctx: ArchiveContext): WorkstationRow {
  return guarded(ctx, () => ctx.db.prepare('SELECT * FROM workstation').get() as WorkstationRow);
}

export function kekRotationState(ctx: ArchiveContext): KekRotationState {
  const ws = storedWs(ctx);
  const inc = incomingRow(ctx);
  const count = (sql: string, ...a: unknown[]) => guarded(ctx, () => ctx.db.prepare(sql).pluck().get(...a) as number);
  return {
    current: { check: ws.kek_check, label: ws.kek_label, id: ws.kek_id },
    incoming: inc ? { check: inc.kek_check, label: inc.kek_label, id: inc.kek_id, ceremonyId: inc.ceremony_id, createdAt: inc.created_at } : null,
    versions: count('SELECT count(*) FROM key_versions WHERE wrapped IS NOT NULL'),
    remaining: count('SELECT count(*) FROM key_versions WHERE wrapped IS NOT NULL AND kek_check = ?', ws.kek_check),
  };
}

/**
 * The KEK a version's material is wrapped under, by its recorded check value: the identity row's,
 * the incoming one during a rotation, or a retired one (still in the HSM: deactivated, not
 * destroyed). Null for a KEK this archive never had (material imported from another workstation).
 */
export function kekFor(ctx: ArchiveContext, kekCheck: string | null): ObjectRef | null {
  if (kekCheck === null) return null;
  const ws = storedWs(ctx);
  if (kekCheck === ws.kek_check) return { label: ws.kek_label, idHex: ws.kek_id };
  const r = kekRows(ctx).find((k) => k.kek_check === kekCheck);
  return r ? { label: r.kek_label, idHex: r.kek_id } : null;
}

/**
 * Phase 1: the new KEK, generated in the HSM and recorded as incoming. Resuming a begun rotation
 * returns its incoming KEK unchanged.
 */
export async function beginKekRotation(ctx: ArchiveContext, opts: { actor: string; ceremonyId?: string | null }): Promise<KekRow> {
  const store = requireStore(ctx);
  const b = requireHsm(ctx);
  const existing = incomingRow(ctx);
  if (existing) return existing;
  const ws = storedWs(ctx);
  const label = kekLabel(ctx.archiveId, kekRows(ctx).length + 2);
  const ref = { label, kind: 'secret' as const };
  // Leftover of a begin killed before its commit: it never wrapped anything (nothing is re-wrapped
  // before the incoming row is committed), so it is destroyed rather than adopted.
  const left = await b.hsm.call('objects', { path: b.module, token: b.token, ref });
  if (left.length) await b.hsm.call('destroy', { path: b.module, token: b.token, ref });
  const idHex = randomBytes(16).toString('hex');
  await b.hsm.call('generate', { path: b.module, token: b.token, spec: { type: 'aes-256', label, idHex, usages: ['wrap'], extractable: true, wrapWithTrusted: true } });
  killHook('begin');
  const kcv = await hsmCheckValues(scopeOf(b), { label, idHex });
  if (!kcv.cmac) throw archiveError('MECHANISM_UNSUPPORTED', 'The HSM cannot compute a CMAC check value for the new Archive KEK.', 'Use a token that supports CKM_AES_CMAC.');
  if (kcv.cmac === ws.kek_check) throw archiveError('CHECK_VALUE_MISMATCH', 'The new KEK has the same check value as the old one.', 'Run the rotation again; report the token if this repeats.');
  const now = nowIso();
  const row = { kek_check: kcv.cmac, kek_label: label, kek_id: idHex, kek_check_legacy: kcv.legacy, state: 'incoming', created_at: now, ceremony_id: opts.ceremonyId ?? null, updated_at: now };
  await store.commit(() => ({
    rows: [{ spec: RECORDS.kek, op: 'insert', row }],
    audit: [{ actor: opts.actor, action: 'archive.kek.begin', row: 0, details: { from: { label: ws.kek_label, id: ws.kek_id, check: ws.kek_check }, to: { label, id: idHex, check: kcv.cmac }, ceremony: opts.ceremonyId ?? null } }],
    guard: () => {
      if (ctx.db.prepare("SELECT 1 FROM archive_keks WHERE state = 'incoming'").get()) throw archiveError('ARCHIVE_BUSY', 'Another program began a KEK rotation of this archive at the same time.', 'Let it finish, or resume it.');
    },
  }));
  return incomingRow(ctx)!;
}

const keyTypeOf = (algorithm: string): UnwrapTemplate['keyType'] =>
  algorithm.startsWith('aes-') ? 'aes' : algorithm.startsWith('hmac-') ? 'generic-secret' : algorithm === 'tdes' ? 'tdes' : algorithm.startsWith('rsa-') ? 'rsa' : algorithm.startsWith('ec-') ? 'ec' : 'ed25519';

export interface RewrapOptions {
  actor: string;
  batchSize?: number;
  /** Checked between batches: a cancelled rotation stops after the batch in flight is committed. */
  signal?: AbortSignal;
  onProgress?: (p: KekProgress) => void;
}

/** Phase 2: re-wraps every version still under the old KEK. Returns how many this run re-wrapped. */
export async function rewrapVersions(ctx: ArchiveContext, opts: RewrapOptions): Promise<{ rewrapped: number; cancelled: boolean }> {
  const store = requireStore(ctx);
  const b = requireHsm(ctx);
  const inc = incomingRow(ctx);
  if (!inc) throw archiveError('INVALID_INPUT', 'No KEK rotation is under way in this archive.', 'Begin one with the kek-rotation ceremony.');
  const ws = storedWs(ctx);
  const from = { label: ws.kek_label, idHex: ws.kek_id };
  const to = { label: inc.kek_label, idHex: inc.kek_id };
  const maxSize = Math.max(1, Math.min(opts.batchSize ?? KEK_BATCH, 4096));
  // Batches shrink (down to 32 versions) when one took longer than PROGRESS_SLOW_MS between
  // progress events — a busy or slow machine — and grow back when quick, so that progress still
  // comes well within a second and a kill loses less.
  let size = maxSize;
  let lastEvent = Date.now();
  // Keyset pagination in rowid order — the table's own order, so that a batch's updates touch
  // neighbouring pages rather than one page per row — and the next batch read (and re-wrapped in
  // the HSM host) while this one is committed. A version archived meanwhile gets a higher rowid;
  // the final sweep from the start finds any other.
  // REWRAP_NEXT_SQL's `+kek_check` keeps SQLite off the key_versions_kek index: through it, each batch would read every
  // version still under the old KEK and sort them by rowid to take the first few (measured at
  // 1,000,000 versions: 176 µs of main's CPU per version, more than all the rest). The rowid range
  // reads only the batch, since the versions ahead of the cursor are still under the old KEK.
  const next = ctx.db.prepare(REWRAP_NEXT_SQL);
  const state = kekRotationState(ctx);
  const total = state.versions;
  const startDone = total - state.remaining;
  const started = Date.now();
  let thisRun = 0;
  // Test hook: the first multiple of N past this run's first batch (so that a resumed run moves on).
  const every = killEvery();
  const killAt = every ? (Math.floor((startDone + size) / every) + 1) * every : Infinity;
  let cursor = 0;
  /** The next batch after `cursor`, sent to the HSM host at once: it re-wraps while main commits. */
  type Ahead = { batch: VersionRow[]; rowids: number[]; blobs: Promise<Uint8Array[]> } | 'sweep' | null;
  const fetch = (): Ahead => {
    const read = guarded(ctx, () => next.all(cursor, ws.kek_check, size) as Array<VersionRow & { rid: number }>);
    // The sweep from the start waits until the batch in hand is committed (it would find it again).
    if (read.length === 0) return cursor === 0 ? null : 'sweep';
    cursor = read[read.length - 1]!.rid;
    const rowids = read.map((v) => v.rid);
    const batch = read.map(({ rid: _rid, ...v }) => v as VersionRow);
    const items = batch.map((v) => ({ wrapped: v.wrapped!, kind: v.kind, keyType: keyTypeOf(v.algorithm) }));
    const blobs = b.hsm.call('rewrap', { path: b.module, token: b.token, from, to, items }, { timeoutMs: 120_000 });
    // Awaited below; a failure of a batch fetched ahead is reported when its turn comes.
    blobs.catch(() => undefined);
    return { batch, rowids, blobs };
  };
  let ahead = fetch();
  for (;;) {
    if (ahead === 'sweep') {
      cursor = 0;
      ahead = fetch();
    }
    if (!ahead || ahead === 'sweep') return { rewrapped: thisRun, cancelled: false };
    if (opts.signal?.aborted) {
      await ahead.blobs.catch(() => undefined);
      return { rewrapped: thisRun, cancelled: true };
    }
    const { batch, rowids } = ahead;
    const blobs = await ahead.blobs;
    // The next batch goes to the host once this one's MACs and checkpoint signature are back.
    let fetched = false;
    const fetchNext = () => {
      if (!fetched) ahead = fetch();
      fetched = true;
    };
    const done = startDone + thisRun + batch.length;
    if (done >= killAt) killHook('rewrap', true);
    const now = nowIso();
    await store.commit(() => ({
      rows: batch.map((v, i) => {
        const { mac, ...row } = v;
        return { spec: RECORDS.version, op: 'update' as const, expectMac: mac, columns: REWRAP_COLUMNS, rowid: rowids[i], row: { ...row, wrapped: Buffer.from(blobs[i]!), kek_check: inc.kek_check, revision: v.revision + 1, updated_at: now } };
      }),
      // One entry per version, naming the row and its new MAC: verify's audit binding (every row is
      // the one its newest entry recorded) holds through a rotation as through any other change.
      audit: batch.map((v, i) => ({ actor: opts.actor, action: 'archive.kek.rewrap', row: i, keyId: v.key_id, details: { version: v.version, from: ws.kek_check, to: inc.kek_check, verified: 'wrap-back' } })),
    }), { signed: fetchNext });
    fetchNext();
    thisRun += batch.length;
    const at = Date.now();
    const secs = (at - started) / 1000;
    opts.onProgress?.({ done, total, thisRun, perSecond: secs > 0 ? Math.round(thisRun / secs) : 0 });
    const took = at - lastEvent;
    lastEvent = at;
    if (took > PROGRESS_SLOW_MS) size = Math.max(Math.min(32, maxSize), Math.floor(size / 2));
    else if (took < PROGRESS_SLOW_MS / 3) size = Math.min(maxSize, size * 2);
  }
}

/** A batch that took longer than this between progress events halves the next one's size. */
const PROGRESS_SLOW_MS = 400;

/** Phase 3: the identity row moves to the new KEK; the old one is retired (not destroyed). */
export async function finishKekRotation(ctx: ArchiveContext, opts: { actor: string }): Promise<WorkstationRow> {
  const store = requireStore(ctx);
  const inc = incomingRow(ctx);
  if (!inc) throw archiveError('INVALID_INPUT', 'No KEK rotation is under way in this archive.', 'Begin one with the kek-rotation ceremony.');
  const ws = storedWs(ctx);
  const now = nowIso();
  const prior = kekRows(ctx).find((r) => r.kek_check === ws.kek_check) ?? null;
  const retired = { kek_check: ws.kek_check, kek_label: ws.kek_label, kek_id: ws.kek_id, kek_check_legacy: ws.kek_check_legacy, state: 'retired', created_at: prior?.created_at ?? ws.created_at, ceremony_id: prior?.ceremony_id ?? null, updated_at: now };
  const { mac: wsMac, ...wsRow } = ws;
  const { mac: incMac, ...incRow } = inc;
  await store.commit(() => ({
    rows: [
      { spec: RECORDS.workstation, op: 'update', expectMac: wsMac, row: { ...wsRow, kek_label: inc.kek_label, kek_id: inc.kek_id, kek_check: inc.kek_check, kek_check_legacy: inc.kek_check_legacy } },
      { spec: RECORDS.kek, op: 'update', expectMac: incMac, row: { ...incRow, state: 'current', updated_at: now } },
      prior ? { spec: RECORDS.kek, op: 'update', expectMac: prior.mac, row: retired } : { spec: RECORDS.kek, op: 'insert', row: retired },
    ],
    audit: [
      { actor: opts.actor, action: 'archive.kek.rotated', row: 0, details: { from: { label: ws.kek_label, id: ws.kek_id, check: ws.kek_check, state: 'retired' }, to: { label: inc.kek_label, id: inc.kek_id, check: inc.kek_check } } } as AuditDraft,
      { actor: opts.actor, action: 'archive.kek.current', row: 1, details: { check: inc.kek_check } },
      { actor: opts.actor, action: 'archive.kek.retired', row: 2, details: { check: ws.kek_check } },
    ],
    guard: () => {
      const left = ctx.db.prepare('SELECT count(*) FROM key_versions WHERE wrapped IS NOT NULL AND kek_check = ?').pluck().get(ws.kek_check) as number;
      if (left > 0) throw archiveError('INVALID_INPUT', `${left} version(s) are still wrapped under the old KEK.`, 'Resume the rotation: it re-wraps them before the old KEK is retired.');
    },
  }));
  return storedWs(ctx);
}

function killEvery(): number | null {
  const m = /^kek:every:(\d+)$/.exec(process.env.CUSTOS_ARCHIVE_KILL_AT ?? '');
  return process.env.CUSTOS_ARCHIVE_TEST_HOOKS === '1' && m ? Number(m[1]) : null;
}

/**
 * Test hook for the kill-and-resume tests: with CUSTOS_ARCHIVE_TEST_HOOKS=1 the process kills
 * itself (SIGKILL) at CUSTOS_ARCHIVE_KILL_AT: kek:begin (new KEK generated, not yet recorded) or
 * kek:every:N (the batch that reaches the next multiple of N versions re-wrapped, after the HSM
 * re-wrapped it and before its commit: that batch is the work lost).
 */
function killHook(point: string, armed = false): void {
  if (process.env.CUSTOS_ARCHIVE_TEST_HOOKS !== '1') return;
  if (armed || process.env.CUSTOS_ARCHIVE_KILL_AT === `kek:${point}`) process.kill(process.pid, 'SIGKILL');
}
