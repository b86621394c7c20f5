// Search over key versions. Read-only SQL against the indexes of schema.ts; works on a read-only
// connection, so it needs neither the HSM nor a login. Every filter is a bound parameter.
import { isKeyState, type KeyState } from '../../../shared/archive/lifecycle';
import { isPurpose, normalizeDate, type Purpose } from '../../../shared/archive/policy';
import type { DateRange, SearchPage, SearchQuery, SearchSort, VersionSummary } from '../../../shared/archive/types';
import { normalizeTag, tagProblem } from '../../../shared/archive/validate';
import { invalidInput } from '../../../shared/result';
import type { Db } from './schema';

export const MAX_LIMIT = 500;
const SORTS: readonly SearchSort[] = ['label', 'created', 'activation', 'rotation-due'];

const FIX_SEARCH = 'Correct the search and try again.';

function range(what: string, r: unknown): DateRange | undefined {
  if (r === undefined) return undefined;
  if (typeof r !== 'object' || r === null) invalidInput(`${what} must be a date range.`, FIX_SEARCH);
  const out: DateRange = {};
  for (const end of ['from', 'to'] as const) {
    const v = (r as Record<string, unknown>)[end];
    if (v === undefined) continue;
    const d = typeof v === 'string' ? normalizeDate(v) : null;
    if (!d) invalidInput(`${what}.${end} is not a date (use YYYY-MM-DD or an ISO 8601 time).`, FIX_SEARCH);
    out[end] = d;
  }
  return out;
}

function list<T>(what: string, v: unknown, ok: (x: unknown) => x is T): T[] | undefined {
  if (v === undefined) return undefined;
  const arr = Array.isArray(v) ? v : [v];
  for (const x of arr) if (!ok(x)) invalidInput(`"${String(x).slice(0, 40)}" is not a valid ${what}.`, FIX_SEARCH);
  return arr as T[];
}

/** Checks a query from the UI or the CLI (an unknown payload) and returns it normalised. */
export function validateQuery(input: unknown): SearchQuery {
  if (typeof input !== 'object' || input === null) invalidInput('The search is empty or malformed.', FIX_SEARCH);
  const q = input as Record<string, unknown>;
  const known = new Set(['label', 'tags', 'algorithm', 'state', 'purpose', 'custodian', 'created', 'activated', 'deactivated', 'rotationDue', 'activeFor', 'sort', 'order', 'limit', 'offset', 'countTotal']);
  for (const k of Object.keys(q)) if (!known.has(k)) invalidInput(`Unknown search field "${k.slice(0, 40)}".`, FIX_SEARCH);
  const out: SearchQuery = {};
  if (q.label !== undefined) {
    if (typeof q.label !== 'string' || q.label.length === 0 || q.label.length > 130) invalidInput('The label to search for must be 1 to 128 characters.', FIX_SEARCH);
    out.label = q.label;
  }
  const tags = list('tag', q.tags, (x): x is string => typeof x === 'string');
  if (tags) {
    out.tags = tags.map(normalizeTag);
    for (const t of out.tags) {
      const p = tagProblem(t);
      if (p) invalidInput(p, FIX_SEARCH);
    }
  }
  const algs = list('algorithm', q.algorithm, (x): x is string => typeof x === 'string' && /^[a-z0-9-]{1,32}$/.test(x));
  if (algs) out.algorithm = algs;
  const states = list('state', q.state, isKeyState);
  if (states) out.state = states as KeyState[];
  const purposes = list('purpose', q.purpose, isPurpose);
  if (purposes) out.purpose = purposes as Purpose[];
  if (q.custodian !== undefined) {
    if (typeof q.custodian !== 'string' || q.custodian.length === 0 || q.custodian.length > 100) invalidInput('The custodian must be a custodian id.', FIX_SEARCH);
    out.custodian = q.custodian;
  }
  const created = range('created', q.created);
  if (created) out.created = created;
  const activated = range('activated', q.activated);
  if (activated) out.activated = activated;
  const deactivated = range('deactivated', q.deactivated);
  if (deactivated) out.deactivated = deactivated;
  const rotationDue = range('rotationDue', q.rotationDue);
  if (rotationDue) out.rotationDue = rotationDue;
  if (q.activeFor !== undefined) {
    const a = q.activeFor as Record<string, unknown>;
    if (typeof a !== 'object' || a === null || !isPurpose(a.purpose) || typeof a.on !== 'string') invalidInput('activeFor needs a purpose and a date.', FIX_SEARCH);
    const on = normalizeDate(a.on);
    if (!on) invalidInput('activeFor.on is not a date (use YYYY-MM-DD or an ISO 8601 time).', FIX_SEARCH);
    out.activeFor = { purpose: a.purpose, on };
  }
  if (q.sort !== undefined) {
    if (!SORTS.includes(q.sort as SearchSort)) invalidInput(`Sort by one of: ${SORTS.join(', ')}.`, FIX_SEARCH);
    out.sort = q.sort as SearchSort;
  }
  if (q.order !== undefined) {
    if (q.order !== 'asc' && q.order !== 'desc') invalidInput('Order is asc or desc.', FIX_SEARCH);
    out.order = q.order;
  }
  if (q.limit !== undefined) {
    if (!Number.isInteger(q.limit) || (q.limit as number) < 1 || (q.limit as number) > MAX_LIMIT) invalidInput(`limit must be 1 to ${MAX_LIMIT}.`, FIX_SEARCH);
    out.limit = q.limit as number;
  }
  if (q.offset !== undefined) {
    if (!Number.isInteger(q.offset) || (q.offset as number) < 0 || (q.offset as number) > 10_000_000) invalidInput('offset must be a whole number from 0.', FIX_SEARCH);
    out.offset = q.offset as number;
  }
  if (q.countTotal !== undefined) out.countTotal = q.countTotal === true;
  return out;
}

/** Prefix upper bound: every string starting with `p` is < p + U+10FFFF in SQLite's BINARY (UTF-8 memcmp) order. */
const prefixEnd = (p: string) => p + '\u{10FFFF}';

export const SUMMARY_COLUMNS = `v.id AS version_id, v.key_id, k.label, v.version, v.algorithm, v.purpose, v.state, k.tags, v.created_at,
  v.activation_date, v.deactivation_date, v.rotation_due, v.check_value, v.fingerprint, v.wrapped IS NOT NULL AS has_material`;

export interface SummaryRow {
  version_id: string;
  key_id: string;
  label: string;
  version: number;
  algorithm: string;
  purpose: Purpose;
  state: KeyState;
  tags: string;
  created_at: string;
  activation_date: string | null;
  deactivation_date: string | null;
  rotation_due: string | null;
  check_value: string | null;
  fingerprint: string | null;
  has_material: number;
}

export function summaryOf(r: SummaryRow): VersionSummary {
  return {
    versionId: r.version_id,
    keyId: r.key_id,
    label: r.label,
    version: r.version,
    algorithm: r.algorithm,
    purpose: r.purpose,
    state: r.state,
    tags: JSON.parse(r.tags) as string[],
    createdAt: r.created_at,
    activationDate: r.activation_date,
    deactivationDate: r.deactivation_date,
    rotationDue: r.rotation_due,
    checkValue: r.check_value,
    fingerprint: r.fingerprint,
    hasMaterial: r.has_material === 1,
  };
}

const FROM_VERSIONS = 'key_versions v JOIN keys k ON k.id = v.key_id';

export function buildSearch(q: SearchQuery): { from: string; where: string; params: unknown[]; order: string } {
  const where: string[] = [];
  const params: unknown[] = [];
  let from = FROM_VERSIONS;
  let labelColumn = 'k.label';
  if (q.label !== undefined) {
    if (q.label.endsWith('*')) {
      const p = q.label.slice(0, -1);
      where.push('k.label >= ? AND k.label < ?');
      params.push(p, prefixEnd(p));
    } else {
      where.push('k.label = ?');
      params.push(q.label);
    }
  }
  const tags = [...new Set(q.tags ?? [])];
  if (tags.length > 0) {
    // The query is driven by the first tag's index entries (key_tags is keyed by tag, label), so
    // keys are visited in label order and a label-sorted page stops after its last row; further
    // tags are primary-key look-ups per candidate. (`k.label IN (SELECT …)` made SQLite list every
    // key with the first tag before the first row: 6.5 ms at 1M versions for two tags, and it
    // also sorted when the order was by label, descending.)
    from = `key_tags t0 JOIN keys k ON k.label = t0.label JOIN key_versions v ON v.key_id = k.id`;
    labelColumn = 't0.label';
    where.push('t0.tag = ?', ...tags.slice(1).map((_, i) => `EXISTS (SELECT 1 FROM key_tags t${i + 1} WHERE t${i + 1}.tag = ? AND t${i + 1}.label = t0.label)`));
    params.push(tags[0], ...tags.slice(1));
  }
  const inList = (col: string, values: readonly string[] | undefined) => {
    if (!values || values.length === 0) return;
    where.push(`${col} IN (${values.map(() => '?').join(', ')})`);
    params.push(...values);
  };
  inList('v.algorithm', q.algorithm);
  inList('v.state', q.state);
  inList('v.purpose', q.purpose);
  if (q.custodian !== undefined) {
    where.push('k.label IN (SELECT label FROM key_custodians WHERE custodian_id = ?)');
    params.push(q.custodian);
  }
  const dates = (col: string, r: DateRange | undefined) => {
    if (r?.from !== undefined) {
      where.push(`${col} >= ?`);
      params.push(r.from);
    }
    if (r?.to !== undefined) {
      where.push(`${col} < ?`);
      params.push(r.to);
    }
  };
  dates('v.created_at', q.created);
  dates('v.activation_date', q.activated);
  dates('v.deactivation_date', q.deactivated);
  dates('v.rotation_due', q.rotationDue);
  if (q.activeFor) {
    // Active on D: activated at or before D, and not yet out of use at D. deactivation_date is set
    // whenever a version leaves active/suspended for any reason (lifecycle.ts), so this also
    // answers for versions that were later compromised or destroyed — they did protect data then.
    where.push('v.purpose = ? AND v.activation_date <= ? AND (v.deactivation_date IS NULL OR v.deactivation_date > ?)');
    params.push(q.activeFor.purpose, q.activeFor.on, q.activeFor.on);
  }
  const sort = q.sort ?? (q.activeFor ? 'activation' : 'label');
  const desc = (q.order ?? (sort === 'label' || sort === 'rotation-due' ? 'asc' : 'desc')) === 'desc';
  const dir = desc ? 'DESC' : 'ASC';
  // Ties are broken by rowid (insertion order), which every index carries: the date indexes
  // deliver rows already in the full sort order, so LIMIT stops early instead of sorting a tie group.
  const order = {
    label: `${labelColumn} ${dir}, v.version DESC`,
    created: `v.created_at ${dir}, v.rowid ${dir}`,
    activation: `v.activation_date ${dir}, v.rowid ${dir}`,
    'rotation-due': `v.rotation_due ${dir}, v.rowid ${dir}`,
  }[sort];
  return { from, where: where.length ? `WHERE ${where.join(' AND ')}` : '', params, order };
}

export function search(db: Db, q: SearchQuery): SearchPage {
  const limit = q.limit ?? 50;
  const offset = q.offset ?? 0;
  const { from, where, params, order } = buildSearch(q);
  const rows = db
    .prepare(`SELECT ${SUMMARY_COLUMNS} FROM ${from} ${where} ORDER BY ${order} LIMIT ? OFFSET ?`)
    .all(...params, limit + 1, offset) as SummaryRow[];
  const page: SearchPage = { items: rows.slice(0, limit).map(summaryOf), offset, limit, hasMore: rows.length > limit };
  if (q.countTotal) {
    page.total = (db.prepare(`SELECT count(*) AS n FROM ${from} ${where}`).get(...params) as { n: number }).n;
  }
  return page;
}
