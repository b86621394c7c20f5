// Archive MAC key rotation (issue #10 part 4; docs/FORMAT.md "mac_keys", "MAC key handover").
// Three phases, each safe to kill, like the KEK rotation (kek-rotation.ts):
//
//   begin     a new HMAC key is generated in the HSM with the attributes of the archive's MAC key
//             at init (generic secret, sign/verify only, sensitive, extractable only under a
//             trusted wrapping key: the backup ceremony's), its check value computed there, and it
//             is committed to mac_keys as 'incoming' before any row is MACed under it. A key left
//             by a begin killed before its commit never MACed anything recorded, and is destroyed.
//   remac     batches of rows not yet under the new key (mac_key, schema 6: the check value of
//             the key a row's MAC is under), table by table in rowid order: each row's stored MAC is first recomputed under the
//             OLD key in the HSM and compared — a row that fails stops the rotation with
//             ARCHIVE_TAMPERED naming it, and nothing of its batch is written —; then one
//             transaction sets each row's new MAC (under the new key) and mac_key (the new key's
//             check value), with one audit entry per row recording the new MAC. Nothing else of a
//             row changes (the canonical row, and so the MAC input, is the same). A kill loses at
//             most the batch in flight; every row names the key its MAC is under.
//   finish    once no row is left under the old key (checked inside the final transaction: a row
//             written meanwhile by another program under the old key is swept first), one commit
//             MACed under the new key: the handover entry archive.mac.handover, the identity row
//             moved to the new key, the old key recorded 'retired'. The old key stays in the HSM
//             (no row is under it any more; an older copy of the archive file still verifies with
//             it): destroying it is the destruction ceremony's.
//
// Threat addressed: a MAC key at the end of its cryptoperiod or suspected of exposure (NIST SP
// 800-57 Pt 1 §5.3.6): whoever holds it could forge rows; after the rotation no row verifies
// under it, and every row was checked under it before it moved.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { CanonicalError, RECORDS, rowId, type RecordSpec } from '../../../shared/archive/canonical';
import { hsmHmacCheck } from '../hsm-kcv';
import { guarded, needsHsm, requireHsm, requireStore, scopeOf, type ArchiveContext } from './context';
import { HsmArchiveCrypto } from './crypto';
import { archiveError } from './errors';
import { refsOf, type WorkstationRow } from './rows';
import { nowIso, type AuditDraft, type RowWrite } from './store';

export interface MacKeyRow {
  mac_check: string;
  mac_label: string;
  mac_id: string;
  state: 'incoming' | 'current' | 'retired';
  created_at: string;
  ceremony_id: string | null;
  updated_at: string;
  mac: Buffer;
  mac_key: string | null;
}

export interface MacProgress {
  /** Rows under the new key. */
  done: number;
  /** MACed rows when this run started (done + still to re-MAC), the identity row not counted. */
  total: number;
  /** Rows re-MACed by this run, and its rate. */
  thisRun: number;
  perSecond: number;
}

export interface MacRotationState {
  current: { check: string; label: string; id: string };
  /** Set while a rotation is under way (begun, not finished). */
  incoming: { check: string; label: string; id: string; ceremonyId: string | null; createdAt: string } | null;
  /** MACed rows (the identity row not counted), and during a rotation those still under the old key (0 otherwise). */
  rows: number;
  remaining: number;
}

export interface RemacOptions {
  actor: string;
  batchSize?: number;
  /** Checked between batches: a cancelled rotation stops after the batch in flight is committed. */
  signal?: AbortSignal;
  onProgress?: (p: MacProgress) => void;
}

/** The audit action of the handover (docs/FORMAT.md "MAC key handover"). */
export const MAC_HANDOVER_ACTION = 'archive.mac.handover';

/** Rows per batch: two HMAC requests and one transaction, well under a second on SoftHSM2. */
export const MAC_BATCH = 1024;
/** A batch that took longer than this between progress events halves the next one's size. */
const PROGRESS_SLOW_MS = 400;

const macLabel = (archiveId: string, n: number) => `custos-archive-mac/${archiveId}/${n}`;

const hasTable = (ctx: ArchiveContext, name: string) => !!ctx.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);

/** The MACed tables the rotation moves: every record but the identity row (moved by the finish). */
function movable(ctx: ArchiveContext): RecordSpec[] {
  return Object.values(RECORDS).filter((s) => s !== RECORDS.workstation && hasTable(ctx, s.table));
}

export function macKeyRows(ctx: Pick<ArchiveContext, 'db' | 'path'>): MacKeyRow[] {
  return guarded(ctx, () => {
    // A schema-4 file opened read-only is not migrated: no table, so its MAC key was never rotated.
    if (!ctx.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'mac_keys'").get()) return [];
    return ctx.db.prepare('SELECT * FROM mac_keys ORDER BY created_at').all() as MacKeyRow[];
  });
}

const storedWs = (ctx: ArchiveContext) => guarded(ctx, () => ctx.db.prepare('SELECT * FROM workstation').get() as WorkstationRow);

function incomingRow(ctx: ArchiveContext): MacKeyRow | null {
  return macKeyRows(ctx).find((r) => r.state === 'incoming') ?? null;
}

/** Rows not yet under the incoming key (`?`): the rotation's work, and what the finish requires to be none. */
const NOT_MOVED = 'mac_key IS NOT ?';

export function macRotationState(ctx: ArchiveContext): MacRotationState {
  const ws = storedWs(ctx);
  const inc = incomingRow(ctx);
  let rows = 0;
  let remaining = 0;
  guarded(ctx, () => {
    for (const s of movable(ctx)) {
      rows += ctx.db.prepare(`SELECT count(*) FROM ${s.table}`).pluck().get() as number;
      if (inc) remaining += ctx.db.prepare(`SELECT count(*) FROM ${s.table} WHERE ${NOT_MOVED}`).pluck().get(inc.mac_check) as number;
    }
  });
  return {
    current: { check: ws.mac_check, label: ws.mac_label, id: ws.mac_id },
    incoming: inc ? { check: inc.mac_check, label: inc.mac_label, id: inc.mac_id, ceremonyId: inc.ceremony_id, createdAt: inc.created_at } : null,
    rows,
    remaining,
  };
}

/**
 * HMAC-SHA256 under the MAC key a row names by its mac_key: the identity row's, or one recorded in
 * mac_keys (the incoming key during a rotation, a retired one). Undefined (a schema-4 file read
 * as it is, without the column) is the identity row's. Null for a key this archive never
 * recorded, and for a row naming none (mac_key NULL: never written by Custos).
 */
export function macWithKey(ctx: ArchiveContext, macKey: string | null | undefined): ((inputs: Uint8Array[]) => Promise<Uint8Array[]>) | null {
  if (macKey === null) return null;
  const ws = storedWs(ctx);
  if (macKey === undefined || macKey === ws.mac_check) {
    // The identity row as stored now (another program may have finished a rotation since this one opened).
    if (ws.mac_check === ctx.ws.mac_check && ctx.crypto) return (x) => ctx.crypto!.mac(x);
    const b = ctx.binding ?? needsHsm();
    return (x) => new HsmArchiveCrypto(b, refsOf(ws)).mac(x);
  }
  const r = macKeyRows(ctx).find((k) => k.mac_check === macKey);
  if (!r) return null;
  const b = ctx.binding ?? needsHsm();
  return (x) => new HsmArchiveCrypto(b, { ...refsOf(ws), mac: { label: r.mac_label, idHex: r.mac_id } }).mac(x);
}

/** True when a stored row's MAC verifies under the key its mac_key names (retrieval, bundle reading). */
export async function rowMacValid(ctx: ArchiveContext, input: Uint8Array, row: { mac: Uint8Array; mac_key?: string | null }): Promise<boolean> {
  const fn = macWithKey(ctx, row.mac_key);
  if (!fn) return false;
  const [m] = await fn([input]);
  return equal(Buffer.from(m!), row.mac);
}

function equal(a: Buffer, b: Uint8Array | null | undefined): boolean {
  const bb = b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : Buffer.alloc(0);
  return a.length === bb.length && timingSafeEqual(a, bb);
}

/** Phase 1: the new MAC key, generated in the HSM and recorded as incoming. A begun rotation's key is returned unchanged. */
export async function beginMacRotation(ctx: ArchiveContext, opts: { actor: string; ceremonyId?: string | null }): Promise<MacKeyRow> {
  const store = requireStore(ctx);
  const b = requireHsm(ctx);
  const existing = incomingRow(ctx);
  if (existing) return existing;
  const ws = storedWs(ctx);
  const label = macLabel(ctx.archiveId, macKeyRows(ctx).length + 2);
  const ref = { label, kind: 'secret' as const };
  // Leftover of a begin killed before its commit: it never MACed anything recorded.
  const left = await b.hsm.call('objects', { path: b.module, token: b.token, ref });
  if (left.length) await b.hsm.call('destroy', { path: b.module, token: b.token, ref });
  const idHex = randomBytes(16).toString('hex');
  // As at init (init.ts): a generic secret that signs (HMAC) and verifies, sensitive, wrapped only by a trusted key (the backup ceremony's).
  await b.hsm.call('generate', { path: b.module, token: b.token, spec: { type: 'hmac-256', label, idHex, usages: ['sign'], extractable: true, wrapWithTrusted: true } });
  killHook('begin');
  const check = await hsmHmacCheck(scopeOf(b), { label, idHex });
  if (check === ws.mac_check) throw archiveError('CHECK_VALUE_MISMATCH', 'The new MAC key has the same check value as the old one.', 'Run the rotation again; report the token if this repeats.');
  const now = nowIso();
  const row = { mac_check: check, mac_label: label, mac_id: idHex, state: 'incoming', created_at: now, ceremony_id: opts.ceremonyId ?? null, updated_at: now };
  await store.commit(() => ({
    rows: [{ spec: RECORDS['mac-key'], op: 'insert', row }],
    audit: [{ actor: opts.actor, action: 'archive.mac.begin', row: 0, details: { from: { label: ws.mac_label, id: ws.mac_id, check: ws.mac_check }, to: { label, id: idHex, check }, ceremony: opts.ceremonyId ?? null } }],
    guard: () => {
      if (ctx.db.prepare("SELECT 1 FROM mac_keys WHERE state = 'incoming'").get()) throw archiveError('ARCHIVE_BUSY', 'Another program began a MAC key rotation of this archive at the same time.', 'Let it finish, or resume it.');
    },
  }));
  return incomingRow(ctx)!;
}

/** Phase 2: re-MACs every row still under the old key, each verified under it first. */
export async function remacRows(ctx: ArchiveContext, opts: RemacOptions): Promise<{ remaced: number; cancelled: boolean }> {
  const store = requireStore(ctx);
  const inc = incomingRow(ctx);
  if (!inc) throw archiveError('INVALID_INPUT', 'No MAC key rotation is under way in this archive.', 'Begin one with the workstation key rotation ceremony (key: mac).');
  const ws = storedWs(ctx);
  if (ws.mac_check !== ctx.ws.mac_check) throw archiveError('ARCHIVE_CONFLICT', 'The MAC key of this archive was rotated by another process since it was opened here.', 'Open the archive again and repeat the step.');
  const oldMac = (x: Uint8Array[]) => ctx.crypto!.mac(x);
  const newMac = { check: inc.mac_check, mac: macWithKey(ctx, inc.mac_check)! };
  const maxSize = Math.max(1, Math.min(opts.batchSize ?? MAC_BATCH, 4096));
  let size = maxSize;
  const st = macRotationState(ctx);
  const startDone = st.rows - st.remaining;
  const started = Date.now();
  let lastEvent = started;
  let thisRun = 0;
  const every = killEvery();
  const killAt = every ? (Math.floor((startDone + size) / every.n + 1)) * every.n : Infinity;
  for (const spec of movable(ctx)) {
    const next = ctx.db.prepare(`SELECT rowid AS _rid, * FROM ${spec.table} WHERE rowid > ? AND ${NOT_MOVED} ORDER BY rowid LIMIT ?`);
    let cursor = 0;
    for (;;) {
      if (opts.signal?.aborted) return { remaced: thisRun, cancelled: true };
      const read = guarded(ctx, () => next.all(cursor, inc.mac_check, size) as Array<Record<string, unknown> & { _rid: number; mac: Buffer; mac_key: string | null }>);
      if (read.length === 0) break;
      cursor = read[read.length - 1]!._rid;
      const inputs = read.map((r) => {
        if (r.mac_key !== ws.mac_check) throw tampered(spec, r, `it names ${r.mac_key === null ? 'no MAC key' : `a MAC key that is neither the old nor the new one (${r.mac_key})`}`);
        try {
          return store.macInput(spec, r);
        } catch (e) {
          if (!(e instanceof CanonicalError)) throw e;
          throw tampered(spec, r, `a field has the wrong type (${e.message.slice(0, 80)})`);
        }
      });
      // Each row's MAC, recomputed under the old key: a row altered since it was written stops the rotation here.
      const old = await oldMac(inputs);
      read.forEach((r, i) => {
        if (!equal(Buffer.from(old[i]!), r.mac)) throw tampered(spec, r, 'it does not match its MAC under the old key: it was altered, or copied from another row or archive');
      });
      const done = startDone + thisRun + read.length;
      if (every && !every.after && done >= killAt) killHook('every', true);
      await store.commit(() => ({
        rows: read.map((r): RowWrite => {
          const { _rid, mac, mac_key: _k, ...row } = r;
          return { spec, op: 'remac', row, rowid: _rid, expectMac: mac };
        }),
        // One entry per row, recording its new MAC: verify's audit binding holds through the rotation.
        audit: read.map((r, i): AuditDraft => ({ actor: opts.actor, action: 'archive.mac.remac', row: i, ...(spec === RECORDS.version ? { keyId: r.key_id as string } : {}), details: { from: ws.mac_check, to: inc.mac_check, verified: 'old MAC recomputed under the old key' } })),
        macWith: newMac,
      }));
      if (every?.after && done >= killAt) killHook('after', true);
      thisRun += read.length;
      const at = Date.now();
      const secs = (at - started) / 1000;
      opts.onProgress?.({ done, total: st.rows, thisRun, perSecond: secs > 0 ? Math.round(thisRun / secs) : 0 });
      const took = at - lastEvent;
      lastEvent = at;
      if (took > PROGRESS_SLOW_MS) size = Math.max(Math.min(32, maxSize), Math.floor(size / 2));
      else if (took < PROGRESS_SLOW_MS / 3) size = Math.min(maxSize, size * 2);
    }
  }
  return { remaced: thisRun, cancelled: false };
}

function tampered(spec: RecordSpec, r: Record<string, unknown>, why: string) {
  const id = rowId(spec, r);
  return archiveError('ARCHIVE_TAMPERED', `Row ${id} of ${spec.table} cannot be moved to the new MAC key: ${why}. The rotation stopped; that row was not changed.`, 'Run `custos archive verify --check-hsm`, restore the archive from a trusted copy, then resume the rotation.', { table: spec.table, id });
}

class RowsLeft extends Error {}

/** Phase 3: the handover, MACed under the new key; the identity row moves to it, the old key is retired (kept in the HSM). */
export async function finishMacRotation(ctx: ArchiveContext, opts: { actor: string; ceremonyId?: string | null }): Promise<{ ws: WorkstationRow; handoverSeq: number } | 'rows-left'> {
  const store = requireStore(ctx);
  const inc = incomingRow(ctx);
  if (!inc) throw archiveError('INVALID_INPUT', 'No MAC key rotation is under way in this archive.', 'Begin one with the workstation key rotation ceremony (key: mac).');
  const ws = storedWs(ctx);
  const now = nowIso();
  const prior = macKeyRows(ctx).find((r) => r.mac_check === ws.mac_check) ?? null;
  const retired = { mac_check: ws.mac_check, mac_label: ws.mac_label, mac_id: ws.mac_id, state: 'retired', created_at: prior?.created_at ?? ws.created_at, ceremony_id: prior?.ceremony_id ?? null, updated_at: now };
  const { mac: wsMac, mac_key: _w, ...wsRow } = ws as WorkstationRow & { mac_key?: string | null };
  const { mac: incMac, mac_key: _i, ...incRow } = inc;
  const specs = movable(ctx);
  let handoverSeq = 0;
  try {
    await store.commit(() => {
      handoverSeq = ctx.audit.head().seq + 1;
      return {
        rows: [
          { spec: RECORDS.workstation, op: 'update', expectMac: wsMac, row: { ...wsRow, mac_label: inc.mac_label, mac_id: inc.mac_id, mac_check: inc.mac_check } },
          { spec: RECORDS['mac-key'], op: 'update', expectMac: incMac, row: { ...incRow, state: 'current', updated_at: now } },
          prior ? { spec: RECORDS['mac-key'], op: 'update', expectMac: prior.mac, row: retired } : { spec: RECORDS['mac-key'], op: 'insert', row: retired },
        ],
        audit: [
          { actor: opts.actor, action: MAC_HANDOVER_ACTION, row: 0, details: { from: { label: ws.mac_label, id: ws.mac_id, check: ws.mac_check, state: 'retired (kept in the HSM)' }, to: { label: inc.mac_label, id: inc.mac_id, check: inc.mac_check }, ceremony: opts.ceremonyId ?? null } } as AuditDraft,
          { actor: opts.actor, action: 'archive.mac-key.current', row: 1, details: { check: inc.mac_check } },
          { actor: opts.actor, action: 'archive.mac-key.retired', row: 2, details: { check: ws.mac_check } },
        ],
        guard: () => {
          for (const s of specs) if (ctx.db.prepare(`SELECT 1 FROM ${s.table} WHERE ${NOT_MOVED} LIMIT 1`).get(inc.mac_check)) throw new RowsLeft();
        },
        macWith: { check: inc.mac_check, mac: macWithKey(ctx, inc.mac_check)! },
      };
    });
  } catch (e) {
    if (e instanceof RowsLeft) return 'rows-left';
    throw e;
  }
  return { ws: storedWs(ctx), handoverSeq };
}

function killEvery(): { n: number; after: boolean } | null {
  const m = /^mac:(every|after):(\d+)$/.exec(process.env.CUSTOS_ARCHIVE_KILL_AT ?? '');
  return process.env.CUSTOS_ARCHIVE_TEST_HOOKS === '1' && m ? { n: Number(m[2]), after: m[1] === 'after' } : null;
}

/**
 * Test hook for the kill-and-resume tests: with CUSTOS_ARCHIVE_TEST_HOOKS=1 the process kills
 * itself (SIGKILL) at CUSTOS_ARCHIVE_KILL_AT: mac:begin (new key generated, not yet recorded),
 * mac:every:N (mid-batch: the batch reaching the next multiple of N rows verified and about to be
 * committed — that batch is the work lost) or mac:after:N (just after that batch's commit).
 */
function killHook(point: string, armed = false): void {
  if (process.env.CUSTOS_ARCHIVE_TEST_HOOKS !== '1') return;
  if (armed || process.env.CUSTOS_ARCHIVE_KILL_AT === `mac:${point}`) process.kill(process.pid, 'SIGKILL');
}
