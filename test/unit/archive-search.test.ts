// Archive search semantics, checked against a plain-JavaScript reference over synthetic rows in an
// in-memory database with the real schema: every filter, sort order and page, including the
// old-data question and label prefixes with non-ASCII labels.
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../electron/services/archive/schema';
import { search, validateQuery } from '../../electron/services/archive/search';
import { KEY_STATES, type KeyState } from '../../shared/archive/lifecycle';
import type { Purpose } from '../../shared/archive/policy';
import type { SearchQuery } from '../../shared/archive/types';

interface Row {
  rowid: number;
  id: string;
  keyId: string;
  label: string;
  version: number;
  algorithm: string;
  purpose: Purpose;
  state: KeyState;
  tags: string[];
  custodians: string[];
  created: string;
  activation: string | null;
  deactivation: string | null;
  rotationDue: string | null;
}

const db = new Database(':memory:');
const rows: Row[] = [];
let seed = 12345;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
const day = (d: number) => new Date(Date.UTC(2015, 0, 1) + d * 86_400_000).toISOString();
const LABELS = ['alpha', 'alpine', 'beta', 'Zürich-dek', 'Zulu', 'é-key', 'ключ', 'alp', 'a', 'k🔑'];
const PURPOSES: Purpose[] = ['data-encryption', 'key-wrapping', 'authentication'];
const ALGS = ['aes-128', 'aes-256', 'hmac-256', 'tdes'];

beforeAll(() => {
  migrate(db, '2026-01-01T00:00:00.000Z');
  const insKey = db.prepare(
    `INSERT INTO keys (id, label, purpose, algorithm, policy_id, oup_months, rup_extra_months, tags, custodians, description, created_at, origin_archive, revision, updated_at, mac)
     VALUES (?, ?, ?, 'aes-256', 'p', 24, 36, ?, ?, NULL, ?, 'a', 1, ?, x'00')`,
  );
  const insVersion = db.prepare(
    `INSERT INTO key_versions (id, key_id, version, algorithm, kind, purpose, state, created_at, activation_date, deactivation_date, rotation_due, wrapped, origin_archive, revision, updated_at, mac)
     VALUES (?, ?, ?, ?, 'secret', ?, ?, ?, ?, ?, ?, ?, 'a', 1, ?, x'00')`,
  );
  let n = 0;
  for (let k = 0; k < 120; k++) {
    const label = `${pick(LABELS)}-${String(k).padStart(3, '0')}`;
    const purpose = pick(PURPOSES);
    const tags = [...new Set([pick(['red', 'green', 'blue']), pick(['x', 'y'])])].sort();
    const custodians = rand() < 0.3 ? ['c1'] : rand() < 0.5 ? ['c2', 'c1'].sort() : [];
    const keyId = `key-${k}`;
    insKey.run(keyId, label, purpose, JSON.stringify(tags), JSON.stringify(custodians), day(0), day(0));
    const versions = 1 + Math.floor(rand() * 4);
    let start = Math.floor(rand() * 2000);
    for (let v = 1; v <= versions; v++) {
      const last = v === versions;
      let state: KeyState = last ? pick(['active', 'pre-active', 'suspended', 'compromised'] as KeyState[]) : pick(['deactivated', 'destroyed', 'compromised'] as KeyState[]);
      const activation = state === 'pre-active' ? null : day(start);
      const end = start + 100 + Math.floor(rand() * 500);
      const deactivation = state === 'active' || state === 'suspended' || state === 'pre-active' ? null : day(end);
      if (state === 'compromised' && activation === null) state = 'compromised';
      const id = `ver-${k}-${v}`;
      const created = day(Math.floor(rand() * 50)); // many ties on purpose
      const algorithm = pick(ALGS);
      const rotationDue = activation ? day(start + 730) : null;
      insVersion.run(id, keyId, v, algorithm, purpose, state, created, activation, deactivation, rotationDue, state.startsWith('destroyed') ? null : Buffer.from([1]), created);
      rows.push({ rowid: ++n, id, keyId, label, version: v, algorithm, purpose, state, tags, custodians, created, activation, deactivation, rotationDue });
      start = end;
    }
  }
});

/** The reference: what the search must return, computed the obvious way. */
function reference(q: SearchQuery): string[] {
  const inRange = (x: string | null, r?: { from?: string; to?: string }) => !r || (x !== null && (r.from === undefined || x >= r.from) && (r.to === undefined || x < r.to));
  const out = rows.filter(
    (r) =>
      (q.label === undefined || (q.label.endsWith('*') ? r.label.startsWith(q.label.slice(0, -1)) : r.label === q.label)) &&
      (q.tags ?? []).every((t) => r.tags.includes(t)) &&
      (!q.algorithm || q.algorithm.includes(r.algorithm)) &&
      (!q.state || q.state.includes(r.state)) &&
      (!q.purpose || q.purpose.includes(r.purpose)) &&
      (q.custodian === undefined || r.custodians.includes(q.custodian)) &&
      inRange(r.created, q.created) &&
      inRange(r.activation, q.activated) &&
      inRange(r.deactivation, q.deactivated) &&
      inRange(r.rotationDue, q.rotationDue) &&
      (!q.activeFor || (r.purpose === q.activeFor.purpose && r.activation !== null && r.activation <= q.activeFor.on && (r.deactivation === null || r.deactivation > q.activeFor.on))),
  );
  const sort = q.sort ?? (q.activeFor ? 'activation' : 'label');
  const desc = (q.order ?? (sort === 'label' || sort === 'rotation-due' ? 'asc' : 'desc')) === 'desc';
  // SQLite compares text as UTF-8 bytes and puts NULL first in ascending order.
  const bytes = (s: string | null) => (s === null ? null : Buffer.from(s, 'utf8'));
  const cmp = (a: string | null, b: string | null) => {
    const x = bytes(a);
    const y = bytes(b);
    if (x === null || y === null) return x === y ? 0 : x === null ? -1 : 1;
    return Buffer.compare(x, y);
  };
  const key = (r: Row) => (sort === 'label' ? r.label : sort === 'created' ? r.created : sort === 'activation' ? r.activation : r.rotationDue);
  out.sort((a, b) => {
    const c = cmp(key(a), key(b)) * (desc ? -1 : 1);
    if (c !== 0) return c;
    return sort === 'label' ? b.version - a.version : (a.rowid - b.rowid) * (desc ? -1 : 1);
  });
  const offset = q.offset ?? 0;
  return out.slice(offset, offset + (q.limit ?? 50)).map((r) => r.id);
}

describe('archive search against a reference', () => {
  it('600 random queries: the same versions in the same order', () => {
    for (let i = 0; i < 600; i++) {
      const q: SearchQuery = {};
      if (rand() < 0.3) q.label = rand() < 0.5 ? `${pick(LABELS)}*` : rows[Math.floor(rand() * rows.length)]!.label;
      if (rand() < 0.3) q.tags = rand() < 0.5 ? [pick(['red', 'green', 'blue'])] : [pick(['red', 'green', 'blue']), pick(['x', 'y'])];
      if (rand() < 0.2) q.algorithm = [pick(ALGS), pick(ALGS)];
      if (rand() < 0.2) q.state = [pick(KEY_STATES)];
      if (rand() < 0.2) q.purpose = [pick(PURPOSES)];
      if (rand() < 0.15) q.custodian = pick(['c1', 'c2', 'c3']);
      if (rand() < 0.2) q.activated = { from: day(Math.floor(rand() * 1000)), to: day(1000 + Math.floor(rand() * 2000)) };
      if (rand() < 0.1) q.deactivated = { to: day(Math.floor(rand() * 3000)) };
      if (rand() < 0.1) q.created = { from: day(Math.floor(rand() * 25)) };
      if (rand() < 0.1) q.rotationDue = { to: day(Math.floor(rand() * 3000)) };
      if (rand() < 0.25) q.activeFor = { purpose: pick(PURPOSES), on: day(Math.floor(rand() * 3000)) };
      if (rand() < 0.6) q.sort = pick(['label', 'created', 'activation', 'rotation-due'] as const);
      if (rand() < 0.5) q.order = pick(['asc', 'desc'] as const);
      q.limit = 1 + Math.floor(rand() * 40);
      if (rand() < 0.5) q.offset = Math.floor(rand() * 30);
      const got = search(db, validateQuery(q));
      expect(got.items.map((x) => x.versionId), JSON.stringify(q)).toEqual(reference(q));
      expect(got.hasMore).toBe(reference({ ...q, limit: (q.limit ?? 50) + 1 }).length > got.items.length);
    }
  });

  it('pages through everything exactly once, and counts the matches', () => {
    const seen: string[] = [];
    for (let offset = 0; ; offset += 7) {
      const p = search(db, { sort: 'created', limit: 7, offset, countTotal: offset === 0 });
      if (offset === 0) expect(p.total).toBe(rows.length);
      seen.push(...p.items.map((x) => x.versionId));
      if (!p.hasMore) break;
    }
    expect(seen).toHaveLength(rows.length);
    expect(new Set(seen).size).toBe(rows.length);
  });

  it('prefix search is a prefix in UTF-8 order, also for non-ASCII labels', () => {
    for (const p of ['Z', 'Zü', 'é', 'к', 'k🔑', 'alp']) {
      const got = search(db, { label: `${p}*`, limit: 500 }).items.map((x) => x.label);
      expect(got.every((l) => l.startsWith(p))).toBe(true);
      expect(new Set(got)).toEqual(new Set(rows.filter((r) => r.label.startsWith(p)).map((r) => r.label)));
    }
  });

  it('summaries say whether material is left and parse the tags', () => {
    const destroyed = search(db, { state: ['destroyed'], limit: 1 }).items[0];
    if (destroyed) expect(destroyed.hasMaterial).toBe(false);
    const any = search(db, { tags: ['red'], limit: 1 }).items[0]!;
    expect(any.tags).toContain('red');
  });
});
