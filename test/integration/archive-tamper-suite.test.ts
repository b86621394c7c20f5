// The tamper suite of issue #11: hundreds of random single modifications, each on a fresh copy of
// one archive that has rows in every table (keys with rotations, a shredded version, custodians,
// share sets, a ceremony with its journal and approvals, a trusted workstation, and the ceremony
// engine's people, credentials, definitions, policies, evidence bundles and record profile). Each
// copy is changed the way anyone with the file and SQLite can (triggers dropped for the change and
// put back, CHECK constraints ignored, foreign keys off), or by flipping one bit of the file, and
// then verified as `custos archive verify --full` does (every row MAC in the HSM, integrity_check).
//
// Kinds: update (one column of one row: every column of every table at least once), copy (a column
// set to another row's value), swap (a column's values of two rows exchanged), delete, insert (a
// row copied under a new key), replay (a row put back to an older, validly MACed copy), and
// byte-flip (one bit anywhere in the file). A byte flip that changes no data is excluded, and told
// apart like this: the copy reads back exactly as the original (every table's rows, sqlite_master,
// application_id and user_version) and SQLite's integrity_check finds nothing — free pages, unused
// space in a page, header counters. Every other case must be detected: the verdict fails, or the
// file is refused at open with a typed error. CUSTOS_TAMPER_SEED picks another random run.
// A little over 400 lines: the archive with rows in all twenty tables, the generic tampering and the
// judging are one suite and read best together.
import Database from 'better-sqlite3';
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustWorkstation } from '../../electron/services/archive/bundle/trust';
import { ArchiveService } from '../../electron/services/archive/service';
import { KEY_STATES } from '../../shared/archive/lifecycle';
import { CustosError } from '../../shared/result';
import { archiveFixture, type ArchiveFixture } from './archive-helpers';

const SEED = Number(process.env.CUSTOS_TAMPER_SEED ?? 0x5eed1e);
/** Row-level cases that SQLite let through (a planned change it refused is not counted). */
const ROW_CASES = 320;
const FLIPS = 120;

type Row = Record<string, unknown>;
interface TableInfo {
  name: string;
  columns: Array<{ name: string; type: string; notnull: boolean; pk: number }>;
  rowid: boolean;
}
type Outcome = 'detected' | 'refused' | 'missed' | 'untyped' | 'excluded' | 'not-applied';

let f: ArchiveFixture;
let base: string;
let tables: TableInfo[];
let baseDump: string;
const snapshots: Array<{ table: string; row: Row }> = [];
let n = 0;

let seed = SEED >>> 0 || 1;
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

/** An archive with rows in every table, built once through the services. */
async function buildArchive(): Promise<string> {
  const a = await f.init('Tamper suite');
  const k: Array<{ label: string; idHex: string }> = [];
  for (const [i, t] of (['aes-256', 'aes-128', 'hmac-256', 'aes-256', 'aes-192', 'aes-256'] as const).entries()) k.push(await f.generate(t, `suite-${i}`));
  await a.add([{ hsm: k[0]!, key: { label: 'alpha', purpose: 'data-encryption', tags: ['payments', 'eu'], custodians: ['c-ann', 'c-ben'] }, activate: true }], 'alice');
  await a.add(
    [
      { hsm: k[1]!, key: { label: 'beta', purpose: 'key-wrapping', tags: ['kek'], custodians: ['c-ben'] } },
      { hsm: k[2]!, key: { label: 'gamma', purpose: 'authentication', description: 'API MAC' }, activate: true },
      { hsm: k[4]!, key: { label: 'delta', purpose: 'data-encryption', tags: ['old'] }, activate: true },
    ],
    'alice',
  );
  const raw = () => new Database(a.path, { readonly: true });
  let db = raw();
  snapshots.push({ table: 'key_versions', row: db.prepare("SELECT v.* FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.label = 'beta'").get() as Row });
  snapshots.push({ table: 'key_versions', row: db.prepare("SELECT v.* FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.label = 'gamma'").get() as Row });
  db.close();
  await a.add([{ hsm: k[3]!, key: { label: 'alpha' }, activate: true }], 'bob'); // rotation
  await a.transition('beta', 'activate', { actor: 'bob' });
  await a.transition('gamma', 'compromise', { actor: 'carol', reason: 'leaked' });
  await a.transition('delta', 'deactivate', { actor: 'carol' });
  await a.transition('delta', 'destroy', { actor: 'carol' }); // shredded: wrapped is NULL
  // A finished Archive KEK rotation (schema 3): the old KEK is a retired archive_keks row.
  await a.rotateKek({ actor: 'alice' });
  // A finished audit key rotation (schema 4): audit_keys holds the retired and the current key, and
  // the log has checkpoints under both.
  await a.rotateAuditKey({ actor: 'alice' });
  // A finished MAC key rotation (schema 5): mac_keys holds the retired and the current key.
  await a.rotateMacKey({ actor: 'alice' });
  const spki = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
  const ann = await a.saveCustodian({ name: 'Ann Archer', roles: ['custodian'], publicSpki: spki() }, 'alice');
  await a.saveCustodian({ name: 'Ben Baker', roles: ['custodian', 'witness'] }, 'alice');
  db = raw();
  snapshots.push({ table: 'custodians', row: db.prepare('SELECT * FROM custodians WHERE id = ?').get(ann) as Row });
  db.close();
  await a.saveCustodian({ id: ann, name: 'Ann Archer', roles: ['custodian'], status: 'retired' }, 'alice');
  const alphaKey = a.resolveVersion('alpha').key_id;
  await a.saveShareSet({ keyId: alphaKey, scheme: 'slip39', threshold: 2, shareCount: 3, holders: ['c-ann', 'c-ben', 'c-cat'], fingerprint: 'ab'.repeat(8) }, 'alice');
  const cer = await a.startCeremony({ scriptId: 'custos/test', scriptVersion: 1, fingerprint: 'cd'.repeat(32), parameters: { label: 'alpha' } }, 'alice');
  for (const action of ['roll-call', 'generate', 'archive']) await a.journal(cer, { action, details: { ok: true } }, 'alice');
  await a.recordApproval({ ceremonyId: cer, custodianId: ann, decision: 'approve', proof: Buffer.alloc(64, 7) }, 'ann');
  await a.recordApproval({ ceremonyId: cer, custodianId: 'c-ben', decision: 'reject' }, 'ben');
  db = raw();
  snapshots.push({ table: 'ceremonies', row: db.prepare('SELECT * FROM ceremonies WHERE id = ?').get(cer) as Row });
  db.close();
  await a.finishCeremony(cer, 'completed', 'alice');
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await trustWorkstation(a, pem, 'Workstation B', 'alice');
  // The ceremony engine's rows (schema 2), as its record store writes them.
  const run = randomUUID();
  const cred = spki();
  const credential = { fingerprint: createHash('sha256').update(cred).digest('hex'), personId: 'p-ada', kind: 'card', algorithm: 'ecdsa-p256', spki: cred, card: { serial: '0001', model: 'SoftHSM' }, scrypt: null, ceremonyId: run, createdAt: '' };
  const entry = (seq: number, action: string) => ({ seq, at: new Date().toISOString(), actor: 'Ada Admin', action, details: JSON.stringify({ step: action }), audit: { actor: 'Ada Admin', details: { step: action } } });
  const body = JSON.stringify({ format: 'custos.ceremony-definition', id: 'custos/workstation-setup', revision: 1 });
  await a.ceremonyRows.append({
    run,
    create: { definition: { hash: createHash('sha256').update(body).digest('hex'), id: 'custos/workstation-setup', revision: 1, type: 'workstation-setup', body }, parameters: { practice: true }, fingerprint: 'ef'.repeat(32) },
    afterSeq: 0,
    entries: [entry(1, 'run.planned')],
    people: [
      { id: 'p-ada', name: 'Ada Admin', roles: ['administrator'], status: 'active', credential },
      { id: 'p-wes', name: 'Wes Witness', roles: ['witness'], status: 'active', credential: null },
    ],
    policy: JSON.stringify({ approvals: { 'key-generation': 2 } }),
    profile: { practice: true },
    shareSet: { id: randomUUID(), scheme: 'slip39', threshold: 2, shareCount: 3, holders: [{ person: 'p-ada', name: 'Ada Admin' }], fingerprint: '12'.repeat(8), groups: null },
    osUser: 'tester@ws (test)',
  });
  await a.ceremonyRows.append({
    run,
    afterSeq: 1,
    entries: [entry(2, 'step.completed'), entry(3, 'run.completed')],
    runUpdate: { status: 'completed', ended: true },
    policy: JSON.stringify({ approvals: { 'key-generation': 3 } }),
    bundle: { hash: '34'.repeat(32), name: '20261205-workstation-setup-x-practice.evidence', subjects: ['record:x'], previous: null, practice: true },
    osUser: 'tester@ws (test)',
  });
  // A second MAC key rotation, cancelled after its first batch: rows under two keys (mac_key), an incoming key.
  const ac = new AbortController();
  const cut = await a.rotateMacKey({ actor: 'alice', batchSize: 8, signal: ac.signal, onProgress: () => ac.abort() });
  if (cut.finished) throw new Error('the MAC key rotation was not cut off');
  const v = await a.verify({ withHsm: true, full: true });
  if (!v.ok) throw new Error(`the suite's archive does not verify: ${v.problems.map((p) => p.message).join('; ')}`);
  const path = a.path;
  a.close();
  return path;
}

function describeTables(db: Database.Database): TableInfo[] {
  const names = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string; sql: string }>;
  return names.map(({ name, sql }) => ({
    name,
    rowid: !/WITHOUT ROWID/i.test(sql),
    // Generated columns (audit_entries' views of the entry) are not stored: nothing to change.
    columns: (db.prepare(`PRAGMA table_xinfo("${name}")`).all() as Array<{ name: string; type: string; notnull: number; pk: number; hidden: number }>)
      .filter((c) => c.hidden === 0)
      .map((c) => ({ name: c.name, type: c.type.toUpperCase(), notnull: c.notnull === 1, pk: c.pk })),
  }));
}

/** Everything the file says, as text: every row of every table, the schema, the header's ids. */
function dump(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    const h = createHash('sha256');
    h.update(JSON.stringify([db.pragma('application_id', { simple: true }), db.pragma('user_version', { simple: true })]));
    h.update(JSON.stringify(db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name').all()));
    for (const t of describeTables(db)) {
      const cols = t.columns.map((c) => `"${c.name}"`).join(', ');
      for (const r of db.prepare(`SELECT ${cols} FROM "${t.name}" NOT INDEXED`).raw(true).all() as unknown[][]) {
        h.update(JSON.stringify(r.map((v) => (Buffer.isBuffer(v) ? `b:${v.toString('hex')}` : typeof v === 'number' ? `n:${v}` : v))));
      }
    }
    return h.digest('hex');
  } finally {
    db.close();
  }
}

function integrityOk(path: string): boolean {
  const db = new Database(path, { readonly: true });
  try {
    return (db.pragma('integrity_check') as Array<{ integrity_check: string }>).every((r) => r.integrity_check === 'ok');
  } finally {
    db.close();
  }
}

const where = (t: TableInfo) => (t.rowid ? 'rowid = ?' : t.columns.filter((c) => c.pk > 0).map((c) => `"${c.name}" IS ?`).join(' AND '));
const whereArgs = (t: TableInfo, r: Row) => (t.rowid ? [r._rowid] : t.columns.filter((c) => c.pk > 0).map((c) => r[c.name]));
const rowsOf = (db: Database.Database, t: TableInfo) => db.prepare(`SELECT ${t.rowid ? 'rowid AS _rowid, ' : ''}* FROM "${t.name}"`).all() as Row[];

/** A different value of the same kind (text with one character changed, an integer moved, a bit flipped, NULL toggled). */
function mutate(v: unknown, c: TableInfo['columns'][number], others: unknown[]): unknown {
  if (v === null) return others.find((o) => o !== null) ?? (c.type === 'INTEGER' ? 1 : c.type === 'BLOB' ? Buffer.from([1]) : 'x');
  if (!c.notnull && rand() < 0.15) return null;
  // Small steps, and sometimes a far one (a sequence number moved past the end, where it is free).
  if (typeof v === 'number') return v + (rand() < 0.5 ? 1 : -1) * (rand() < 0.3 ? 1000 + Math.floor(rand() * 1000) : 1 + Math.floor(rand() * 3));
  if (Buffer.isBuffer(v)) {
    const b = Buffer.from(v);
    if (b.length === 0) return Buffer.from([0]);
    const i = Math.floor(rand() * b.length);
    b[i] = b[i]! ^ (1 << Math.floor(rand() * 8));
    return b;
  }
  const s = String(v);
  if (s.length === 0) return 'x';
  const i = Math.floor(rand() * s.length);
  const alphabet = 'abcdef0123456789XYZ-:';
  let ch = pick([...alphabet]);
  if (ch === s[i]) ch = ch === 'a' ? 'b' : 'a';
  return s.slice(0, i) + ch + s.slice(i + 1);
}

/** One case on a fresh copy: returns the copy's path, or null when SQLite refused every attempt. */
function tamper(kind: string, t: TableInfo, column: string | null): string | null {
  const path = join(f.fx.dir, `case-${++n}.custos`);
  copyFileSync(base, path);
  const db = new Database(path);
  db.pragma('ignore_check_constraints = ON');
  db.pragma('foreign_keys = OFF');
  const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all() as Array<{ name: string; sql: string }>;
  for (const tr of triggers) db.exec(`DROP TRIGGER "${tr.name}"`);
  let applied = false;
  const rows = rowsOf(db, t);
  for (let attempt = 0; attempt < 12 && !applied; attempt++) {
    try {
      const r = pick(rows);
      if (kind === 'update' || kind === 'copy') {
        const c = t.columns.find((x) => x.name === column)!;
        const others = rows.map((x) => x[c.name]).filter((o) => !same(o, r[c.name]));
        const value = kind === 'copy' ? (others.length ? pick(others) : mutate(r[c.name], c, others)) : mutate(r[c.name], c, others);
        if (same(value, r[c.name])) continue;
        applied = db.prepare(`UPDATE "${t.name}" SET "${c.name}" = ? WHERE ${where(t)}`).run(value, ...whereArgs(t, r)).changes === 1;
      } else if (kind === 'swap') {
        const c = t.columns.find((x) => x.name === column)!;
        const s = pick(rows);
        if (same(r[c.name], s[c.name])) continue;
        db.transaction(() => {
          const tmp = db.prepare(`UPDATE "${t.name}" SET "${c.name}" = ? WHERE ${where(t)}`);
          tmp.run(s[c.name], ...whereArgs(t, r));
          tmp.run(r[c.name], ...whereArgs(t, s));
        })();
        applied = true;
      } else if (kind === 'delete') {
        applied = db.prepare(`DELETE FROM "${t.name}" WHERE ${where(t)}`).run(...whereArgs(t, r)).changes === 1;
      } else if (kind === 'insert') {
        // The row copied under a new primary key (or, for tables keyed by state pairs, a new pair).
        const copy: Row = {};
        for (const c of t.columns) copy[c.name] = r[c.name];
        const keys = t.columns.filter((c) => c.pk > 0);
        const k = pick(keys.length ? keys : t.columns);
        if (t.name === 'lifecycle_reachable') copy[k.name] = pick(KEY_STATES);
        else if (typeof copy[k.name] === 'number') copy[k.name] = (copy[k.name] as number) + 1 + Math.floor(rand() * 5);
        else copy[k.name] = mutate(copy[k.name], k, []);
        const cols = t.columns.map((c) => `"${c.name}"`).join(', ');
        applied = db.prepare(`INSERT INTO "${t.name}" (${cols}) VALUES (${t.columns.map(() => '?').join(', ')})`).run(...t.columns.map((c) => copy[c.name])).changes === 1;
      } else if (kind === 'replay') {
        const snap = snapshots.find((s) => s.table === t.name)!.row;
        const cols = Object.keys(snap);
        applied = db.prepare(`UPDATE "${t.name}" SET ${cols.map((c) => `"${c}" = @${c}`).join(', ')} WHERE id = @id`).run(snap).changes === 1;
      }
    } catch {
      // A constraint SQLite still enforces (NOT NULL, UNIQUE, a strict type, an index over the
      // entry's JSON): this attempt changed nothing; try another row or value.
    }
  }
  for (const tr of triggers) db.exec(tr.sql);
  db.close();
  if (!applied) {
    cleanup(path);
    return null;
  }
  return path;
}

const same = (a: unknown, b: unknown) => (Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b);
const cleanup = (path: string) => {
  for (const p of [path, `${path}-wal`, `${path}-shm`]) rmSync(p, { force: true });
};

/** What `custos archive verify --full` (with the HSM) and `--no-hsm` make of a copy. */
async function judge(path: string): Promise<{ hsm: Outcome; noHsm: Outcome; first: string }> {
  let a: ArchiveService;
  try {
    a = ArchiveService.open(path, { hsm: f.binding, anchors: null, readonly: true });
  } catch (e) {
    const typed = e instanceof CustosError;
    return { hsm: typed ? 'refused' : 'untyped', noHsm: typed ? 'refused' : 'untyped', first: typed ? e.appError.code : String(e) };
  }
  try {
    const v = await a.verify({ withHsm: true, full: true, threads: 1 });
    const w = await a.verify({ withHsm: false, threads: 1 });
    return { hsm: v.ok ? 'missed' : 'detected', noHsm: w.ok ? 'missed' : 'detected', first: v.problems[0]?.check ?? '' };
  } catch (e) {
    const typed = e instanceof CustosError;
    return { hsm: typed ? 'refused' : 'untyped', noHsm: typed ? 'refused' : 'untyped', first: typed ? e.appError.code : String(e) };
  } finally {
    a.close();
  }
}

interface Tally {
  tried: number;
  detected: number;
  refused: number;
  missed: number;
  untyped: number;
  excluded: number;
  noHsm: number;
  misses: string[];
}
const tally = new Map<string, Tally>();
const count = (kind: string, label: string, r: { hsm: Outcome; noHsm: Outcome }) => {
  const t = tally.get(kind) ?? { tried: 0, detected: 0, refused: 0, missed: 0, untyped: 0, excluded: 0, noHsm: 0, misses: [] };
  tally.set(kind, t);
  if (r.hsm === 'excluded') {
    t.excluded++;
    return;
  }
  t.tried++;
  if (r.hsm === 'detected') t.detected++;
  else if (r.hsm === 'refused') t.refused++;
  else if (r.hsm === 'untyped') t.untyped++;
  else {
    t.missed++;
    t.misses.push(label);
  }
  if (r.noHsm === 'detected' || r.noHsm === 'refused') t.noHsm++;
};

beforeAll(async () => {
  f = await archiveFixture('custos-archive-tamper-suite-');
  base = await buildArchive();
  const db = new Database(base, { readonly: true });
  tables = describeTables(db);
  db.close();
  baseDump = dump(base);
}, 60_000);

afterAll(async () => {
  await f?.close();
});

describe(`the tamper suite (seed ${SEED})`, () => {
  it('the archive has rows in every table', () => {
    const db = new Database(base, { readonly: true });
    const empty = tables.filter((t) => (db.prepare(`SELECT count(*) FROM "${t.name}"`).pluck().get() as number) === 0).map((t) => t.name);
    db.close();
    expect(tables.length).toBe(23);
    expect(empty).toEqual([]);
  });

  it(`${ROW_CASES}+ random single row-level modifications across every table and column, and ${FLIPS} bit flips: every change of data is detected`, async () => {
    // Every column of every table once, every table deleted from and inserted into once, every
    // snapshot replayed; then random cases of every kind up to ROW_CASES.
    const plan: Array<{ kind: string; table: TableInfo; column: string | null }> = [];
    for (const t of tables) for (const c of t.columns) plan.push({ kind: 'update', table: t, column: c.name });
    for (const t of tables) plan.push({ kind: 'delete', table: t, column: null }, { kind: 'insert', table: t, column: null });
    for (const s of snapshots) plan.push({ kind: 'replay', table: tables.find((t) => t.name === s.table)!, column: null });
    const random = () => {
      const t = pick(tables);
      const kind = pick(['update', 'update', 'copy', 'swap', 'delete', 'insert']);
      return { kind, table: t, column: kind === 'delete' || kind === 'insert' ? null : pick(t.columns).name };
    };
    const started = performance.now();
    const covered = new Set<string>();
    let notApplied = 0;
    let applied = 0;
    // Copies are made in order (the random choices stay reproducible) and judged a few at a time:
    // while one waits for the HSM, another is read.
    const pending: Array<{ kind: string; label: string; path: string }> = [];
    const drain = async () => {
      const batch = pending.splice(0);
      const results = await Promise.all(batch.map((b) => judge(b.path)));
      batch.forEach((b, k) => {
        count(b.kind, b.label, results[k]!);
        cleanup(b.path);
      });
    };
    for (let i = 0; i < plan.length || applied < ROW_CASES; i++) {
      const c = plan[i] ?? random();
      const path = tamper(c.kind, c.table, c.column);
      if (!path) {
        notApplied++;
        continue;
      }
      applied++;
      covered.add(`${c.table.name}.${c.column ?? '*'}`);
      pending.push({ kind: c.kind, label: `${c.kind} ${c.table.name}${c.column ? `.${c.column}` : ''}`, path });
      if (pending.length === 3) await drain();
    }
    await drain();
    const size = readFileSync(base).length;
    for (let i = 0; i < FLIPS; i++) {
      const path = join(f.fx.dir, `flip-${i}.custos`);
      const bytes = readFileSync(base);
      const at = Math.floor(rand() * size);
      bytes[at] = bytes[at]! ^ (1 << Math.floor(rand() * 8));
      writeFileSync(path, bytes);
      let unchanged = false;
      try {
        unchanged = dump(path) === baseDump && integrityOk(path);
      } catch {
        unchanged = false; // unreadable: certainly a change
      }
      count('byte-flip', `byte ${at} (page ${Math.floor(at / 4096) + 1})`, unchanged ? { hsm: 'excluded', noHsm: 'excluded' } : await judge(path));
      cleanup(path);
    }
    const seconds = (performance.now() - started) / 1000;

    const lines = ['kind        tried  detected  refused-at-open  missed  untyped  excluded  detected-without-HSM'];
    let rowTried = 0;
    for (const [kind, t] of [...tally].sort()) {
      if (kind !== 'byte-flip') rowTried += t.tried;
      lines.push(
        `${kind.padEnd(10)} ${String(t.tried).padStart(6)} ${String(t.detected).padStart(9)} ${String(t.refused).padStart(16)} ${String(t.missed).padStart(7)} ${String(t.untyped).padStart(8)} ${String(t.excluded).padStart(9)} ${String(t.noHsm).padStart(21)}`,
      );
    }
    lines.push(`${rowTried} row-level cases (${notApplied} planned changes SQLite itself refused, not counted), ${FLIPS} bit flips; ${seconds.toFixed(1)} s; seed ${SEED}`);
    console.log(`tamper suite:\n${lines.join('\n')}`);

    expect(rowTried).toBeGreaterThanOrEqual(300);
    for (const t of tables) for (const c of t.columns) expect(covered.has(`${t.name}.${c.name}`), `${t.name}.${c.name} never changed`).toBe(true);
    for (const [kind, t] of tally) {
      expect(t.untyped, `${kind}: an untyped failure`).toBe(0);
      expect(t.misses, `${kind}: changes not detected`).toEqual([]);
      expect(t.detected + t.refused, kind).toBe(t.tried);
    }
  }, 180_000);
});
