// Canonical encoding, version 1: the exact bytes that archive-row MACs, audit-entry hashes and
// checkpoint signatures are computed over. Written down in docs/FORMAT.md ("Archive envelope") and
// pinned by test/vectors/custos/archive-canonical-v1.json; a recovery team can re-implement it in
// a few lines of Python or shell. Changing anything here is a new version, never an edit.
//
//   encoding = 0x01                       (encoding version)
//              field(text, domain)        (record type and its version, e.g. "custos.archive.version/1")
//              field(...) for each value, in the order of the record's field list
//   field    = tag (1 byte) ‖ length (4 bytes, unsigned big-endian) ‖ value (length bytes)
//   tag 0x00 null   length 0
//       0x01 text   UTF-8 bytes exactly as stored (no normalisation)
//       0x02 bytes  the raw bytes
//       0x03 int    length 8, two's-complement signed 64-bit big-endian
//
// Every value is tagged and length-prefixed, so no two different field lists encode to the same
// bytes (the encoding is injective; cf. the TupleHash argument of NIST SP 800-185 §5). The domain
// string separates record types, so a MAC over one kind of row can never pass for another's.
//
// Pure TypeScript (no Node APIs): hashing and MACs happen in electron/ and in the HSM.

export const CANONICAL_VERSION = 1;

export const TAG_NULL = 0x00;
export const TAG_TEXT = 0x01;
export const TAG_BYTES = 0x02;
export const TAG_INT = 0x03;

export type FieldKind = 'text' | 'bytes' | 'int';
export type CanonicalValue = string | Uint8Array | number | null;

export interface FieldSpec {
  /** SQL column, JSON field of bundles and export files. */
  name: string;
  kind: FieldKind;
  nullable: boolean;
}

export class CanonicalError extends Error {}

const encoder = new TextEncoder();

/**
 * A reusable writer: encoding millions of audit entries must not allocate per field. `encode`
 * returns a view into the writer's buffer, valid until the next call.
 */
export class CanonicalWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private header(tag: number, length: number): void {
    this.buf[this.pos] = tag;
    this.view.setUint32(this.pos + 1, length, false);
    this.pos += 5;
  }

  begin(domain: string): void {
    this.pos = 0;
    this.ensure(1);
    this.buf[this.pos++] = CANONICAL_VERSION;
    this.text(domain);
  }

  null(): void {
    this.ensure(5);
    this.header(TAG_NULL, 0);
  }

  text(value: string): void {
    // UTF-8 is at most 3 bytes per UTF-16 code unit.
    this.ensure(5 + value.length * 3);
    const start = this.pos + 5;
    let n: number;
    if (value.length < 64 && isAscii(value)) {
      for (let i = 0; i < value.length; i++) this.buf[start + i] = value.charCodeAt(i);
      n = value.length;
    } else {
      const r = encoder.encodeInto(value, this.buf.subarray(start));
      if (r.read !== value.length) throw new CanonicalError('text did not fit the buffer');
      n = r.written;
    }
    this.header(TAG_TEXT, n);
    this.pos += n;
  }

  bytes(value: Uint8Array): void {
    this.ensure(5 + value.length);
    this.header(TAG_BYTES, value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Bytes given as hexadecimal text (how the audit log stores hashes), written as a bytes field. */
  hex(value: string): void {
    const n = value.length >>> 1;
    this.ensure(5 + n);
    this.header(TAG_BYTES, n);
    for (let k = 0; k < n; k++) {
      const hi = HEX_VALUE[value.charCodeAt(2 * k)] ?? 255;
      const lo = HEX_VALUE[value.charCodeAt(2 * k + 1)] ?? 255;
      if (hi > 15 || lo > 15 || value.length !== 2 * n) throw new CanonicalError('not hexadecimal');
      this.buf[this.pos + k] = (hi << 4) | lo;
    }
    this.pos += n;
  }

  int(value: number): void {
    if (!Number.isSafeInteger(value)) throw new CanonicalError(`integer out of range: ${value}`);
    this.ensure(13);
    this.header(TAG_INT, 8);
    this.view.setBigInt64(this.pos, BigInt(value), false);
    this.pos += 8;
  }

  value(spec: FieldSpec, v: CanonicalValue | undefined): void {
    if (v === null || v === undefined) {
      if (!spec.nullable) throw new CanonicalError(`field ${spec.name} must not be null`);
      this.null();
      return;
    }
    switch (spec.kind) {
      case 'text':
        if (typeof v !== 'string') throw new CanonicalError(`field ${spec.name} must be text`);
        this.text(v);
        return;
      case 'bytes':
        if (!(v instanceof Uint8Array)) throw new CanonicalError(`field ${spec.name} must be bytes`);
        this.bytes(v);
        return;
      case 'int':
        if (typeof v !== 'number') throw new CanonicalError(`field ${spec.name} must be an integer`);
        this.int(v);
        return;
    }
  }

  /** The encoding so far, as a view (copy it if it must outlive the next call). */
  output(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  encode(domain: string, specs: readonly FieldSpec[], values: ArrayLike<CanonicalValue | undefined>): Uint8Array {
    if (values.length !== specs.length) throw new CanonicalError(`${domain}: ${specs.length} fields expected, ${values.length} given`);
    this.begin(domain);
    for (let i = 0; i < specs.length; i++) this.value(specs[i]!, values[i]);
    return this.buf.subarray(0, this.pos);
  }
}

const HEX_VALUE: readonly number[] = (() => {
  const t = new Array<number>(128).fill(255);
  for (let k = 0; k < 10; k++) t[48 + k] = k;
  for (let k = 0; k < 6; k++) {
    t[97 + k] = 10 + k;
    t[65 + k] = 10 + k;
  }
  return t;
})();

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** One-shot encoding into a fresh array. */
export function encodeCanonical(domain: string, specs: readonly FieldSpec[], values: ArrayLike<CanonicalValue | undefined>): Uint8Array {
  return new CanonicalWriter().encode(domain, specs, values).slice();
}

/** Values of a row object in the order of `specs`. */
export function valuesOf(specs: readonly FieldSpec[], row: Record<string, unknown>): CanonicalValue[] {
  return specs.map((s) => (row[s.name] ?? null) as CanonicalValue);
}

// ---------------------------------------------------------------------------------------------
// Record types. Each archive row is MACed over encode(domain, [archive id, ...fields]): the first
// value is the id of the archive that holds the row, so a row copied into another archive fails.

const t = (name: string): FieldSpec => ({ name, kind: 'text', nullable: false });
const tn = (name: string): FieldSpec => ({ name, kind: 'text', nullable: true });
const b = (name: string): FieldSpec => ({ name, kind: 'bytes', nullable: false });
const bn = (name: string): FieldSpec => ({ name, kind: 'bytes', nullable: true });
const i = (name: string): FieldSpec => ({ name, kind: 'int', nullable: false });

export interface RecordSpec {
  type: RecordType;
  domain: string;
  table: string;
  /** Primary-key columns (the audit log names a row by these, joined with '/'). */
  key: readonly string[];
  /** Every MACed column, in encoding order (after the implicit archive id). */
  fields: readonly FieldSpec[];
  /** Rows that carry revision/origin and may be exchanged in bundles. */
  exchangeable: boolean;
}

export const RECORD_TYPES = [
  'workstation',
  'key',
  'version',
  'custodian',
  'share-set',
  'ceremony',
  'journal',
  'approval',
  'trusted',
  // Schema 2: people's credentials, ceremony definitions, quorum policies, evidence bundles, the record's profile.
  'credential',
  'definition',
  'policy',
  'evidence',
  'profile',
  // Schema 3: the Archive KEKs other than the workstation row's (KEK rotation, issue #10 part 4).
  'kek',
  // Schema 4: every audit key the archive has had (audit key rotation, issue #10 part 4).
  'audit-key',
  // Schema 6: the MAC keys other than the workstation row's (MAC key rotation, issue #10 part 4).
  'mac-key',
] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

const ARCHIVE_ID: FieldSpec = t('archive');

const spec = (type: RecordType, table: string, key: string[], fields: FieldSpec[], exchangeable = false): RecordSpec =>
  Object.freeze({ type, domain: `custos.archive.${type}/1`, table, key: Object.freeze(key), fields: Object.freeze([ARCHIVE_ID, ...fields]), exchangeable });

export const RECORDS: Readonly<Record<RecordType, RecordSpec>> = Object.freeze({
  workstation: spec('workstation', 'workstation', ['archive_id'], [
    t('archive_id'), t('name'), t('created_at'), tn('token_uri'),
    t('kek_label'), t('kek_id'), t('kek_check'), tn('kek_check_legacy'),
    t('mac_label'), t('mac_id'), t('mac_check'),
    t('audit_label'), t('audit_id'), b('audit_spki'), t('audit_fingerprint'),
  ]),
  key: spec('key', 'keys', ['id'], [
    t('id'), t('label'), t('purpose'), t('algorithm'), t('policy_id'), i('oup_months'), i('rup_extra_months'),
    t('tags'), t('custodians'), tn('description'), t('created_at'),
    t('origin_archive'), i('revision'), t('updated_at'),
  ], true),
  version: spec('version', 'key_versions', ['id'], [
    t('id'), t('key_id'), i('version'), t('algorithm'), t('kind'), t('purpose'), t('state'),
    tn('source_uri'), tn('check_method'), tn('check_value'), tn('check_legacy'), tn('fingerprint'), bn('public_spki'),
    tn('wrap_mechanism'), tn('kek_check'), bn('wrapped'),
    t('created_at'), tn('activation_date'), tn('protect_stop_date'), tn('process_stop_date'), tn('deactivation_date'),
    tn('compromise_date'), tn('destroyed_date'), tn('rotation_due'), tn('ceremony_id'),
    t('origin_archive'), i('revision'), t('updated_at'),
  ], true),
  custodian: spec('custodian', 'custodians', ['id'], [
    t('id'), t('name'), t('roles'), bn('public_spki'), tn('fingerprint'), t('status'), t('created_at'),
    t('origin_archive'), i('revision'), t('updated_at'),
  ], true),
  'share-set': spec('share-set', 'share_sets', ['id'], [
    t('id'), tn('key_id'), t('scheme'), i('threshold'), i('share_count'), tn('groups'), t('holders'), t('fingerprint'),
    tn('ceremony_id'), t('status'), t('created_at'), t('origin_archive'), i('revision'), t('updated_at'),
  ], true),
  ceremony: spec('ceremony', 'ceremonies', ['id'], [
    t('id'), t('script_id'), i('script_version'), t('fingerprint'), t('parameters'), t('status'),
    t('started_at'), tn('ended_at'), i('revision'), t('updated_at'),
  ]),
  journal: spec('journal', 'ceremony_journal', ['ceremony_id', 'step'], [
    t('ceremony_id'), i('step'), t('at'), t('actor'), t('action'), t('details'),
  ]),
  approval: spec('approval', 'approvals', ['id'], [
    t('id'), t('ceremony_id'), t('custodian_id'), t('decision'), t('at'), bn('proof'),
  ]),
  trusted: spec('trusted', 'trusted_workstations', ['fingerprint'], [
    t('fingerprint'), t('name'), b('public_spki'), tn('archive_id'), t('added_at'),
  ]),
  credential: spec('credential', 'credentials', ['fingerprint'], [
    t('fingerprint'), t('person_id'), t('kind'), t('algorithm'), b('public_spki'), tn('card'), tn('scrypt'), tn('ceremony_id'), t('created_at'),
  ]),
  definition: spec('definition', 'ceremony_definitions', ['hash'], [
    t('hash'), t('id'), i('revision'), t('type'), t('body'), t('added_at'),
  ]),
  policy: spec('policy', 'policies', ['revision'], [
    i('revision'), t('policy'), tn('ceremony_id'), t('created_at'),
  ]),
  evidence: spec('evidence', 'evidence_bundles', ['hash'], [
    t('hash'), t('ceremony_id'), t('name'), t('subjects'), tn('previous'), i('practice'), t('created_at'),
  ]),
  profile: spec('profile', 'record_profile', ['archive_id'], [
    t('archive_id'), i('practice'), tn('ceremony_id'), t('created_at'),
  ]),
  kek: spec('kek', 'archive_keks', ['kek_check'], [
    t('kek_check'), t('kek_label'), t('kek_id'), tn('kek_check_legacy'), t('state'), t('created_at'), tn('ceremony_id'), t('updated_at'),
  ]),
  'audit-key': spec('audit-key', 'audit_keys', ['fingerprint'], [
    t('fingerprint'), t('label'), t('key_id'), b('spki'), t('state'), i('handover_seq'), t('created_at'), tn('ceremony_id'), t('updated_at'),
  ]),
  'mac-key': spec('mac-key', 'mac_keys', ['mac_check'], [
    t('mac_check'), t('mac_label'), t('mac_id'), t('state'), t('created_at'), tn('ceremony_id'), t('updated_at'),
  ]),
});

export function isRecordType(value: unknown): value is RecordType {
  return typeof value === 'string' && (RECORD_TYPES as readonly string[]).includes(value);
}

/** The id the audit log uses for a row: its primary-key values joined with '/'. */
export function rowId(spec: RecordSpec, row: Record<string, unknown>): string {
  return spec.key.map((k) => String(row[k])).join('/');
}

/** MAC input of a row: encode(domain, [archive id, ...fields]). */
export function rowMacInput(w: CanonicalWriter, spec: RecordSpec, archiveId: string, row: Record<string, unknown>): Uint8Array {
  w.begin(spec.domain);
  w.text(archiveId);
  for (let k = 1; k < spec.fields.length; k++) {
    const f = spec.fields[k]!;
    w.value(f, row[f.name] as CanonicalValue | undefined);
  }
  return w.output();
}

// ---------------------------------------------------------------------------------------------
// Audit log, version 1. An entry is stored, exported and hashed as one line of JSON text, built
// exactly as below; its hash is SHA-256 over the UTF-8 bytes of that text. Because the stored text
// *is* the hashed input, a verifier never re-serialises anything: it hashes each line and checks
// that the next line names that hash as "prev" (`sha256sum` and a text editor suffice).
//
//   entry = '{"v":1,"archive":' S ',"seq":' N ',"prev":"' H '","at":' S ',"actor":' S ',"action":' S
//           ',"object_type":' S|null ',"object_id":' S|null ',"key_id":' S|null
//           ',"object_mac":' ('"' H '"')|null ',"details":' D '}'
//   S = a JSON string exactly as ECMAScript JSON.stringify writes it (RFC 8259 §7; '"', '\\' and
//       U+0000–U+001F escaped — \b \t \n \f \r or \u00xx in lower-case hex —, lone surrogates as
//       \udxxx, every other character as itself in UTF-8) — except that U+0085, U+2028 and U+2029
//       are written \u0085, \u2028, \u2029 so that no line-splitting tool sees a line break inside
//       an entry; N = decimal integer; H = lower-case hex;
//       D = a JSON object as JSON.stringify writes it (no white space). No line breaks anywhere.
//   hash(entry n) = SHA-256(UTF-8(entry n)); "prev" of entry 1 is 64 zeros.
//
// A checkpoint signs, with the audit key (ECDSA P-256, SHA-256), the UTF-8 bytes of
//   '{"v":1,"type":"custos.audit.checkpoint","archive":' S ',"seq":' N ',"head":"' H '","at":' S ',"key":"' H '"}'
// where head is the hash of entry seq and key the SHA-256 fingerprint of the audit key's SPKI.

export const AUDIT_ENTRY_VERSION = 1;
export const GENESIS_HASH_HEX = '0'.repeat(64);

export interface AuditEntryFields {
  archive: string;
  seq: number;
  prev: string;
  at: string;
  actor: string;
  action: string;
  object_type: string | null;
  object_id: string | null;
  key_id: string | null;
  object_mac: string | null;
  /** The details object as JSON text (JSON.stringify of a plain object). */
  details: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const js = (v: string | null) => (v === null ? 'null' : JSON.stringify(v));

/** The prefix every entry starts with; verifiers check seq and prev at fixed places after it. */
export function auditEntryPrefix(archive: string): string {
  return `{"v":${AUDIT_ENTRY_VERSION},"archive":${JSON.stringify(archive)},"seq":`;
}

export function auditEntryText(e: AuditEntryFields): string {
  if (!Number.isSafeInteger(e.seq) || e.seq < 1) throw new CanonicalError('seq must be a positive integer');
  if (!HEX64.test(e.prev)) throw new CanonicalError('prev must be 64 lower-case hex digits');
  if (e.object_mac !== null && !/^[0-9a-f]+$/.test(e.object_mac)) throw new CanonicalError('object_mac must be lower-case hex');
  const details = e.details;
  if (!details.startsWith('{') || !details.endsWith('}') || /[\n\r]/.test(details)) throw new CanonicalError('details must be one JSON object on one line');
  const text =
    `${auditEntryPrefix(e.archive)}${e.seq},"prev":"${e.prev}","at":${js(e.at)},"actor":${js(e.actor)},"action":${js(e.action)}` +
    `,"object_type":${js(e.object_type)},"object_id":${js(e.object_id)},"key_id":${js(e.key_id)}` +
    `,"object_mac":${js(e.object_mac)},"details":${details}}`;
  return escapeLineBreaks(text);
}

/** U+0085, U+2028, U+2029 can only occur inside JSON strings here; \uXXXX is the same string to a JSON reader. */
function escapeLineBreaks(text: string): string {
  return /[\u0085\u2028\u2029]/.test(text) ? text.replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : text;
}

export interface CheckpointFields {
  archive: string;
  seq: number;
  head: string;
  at: string;
  key: string;
}

export function checkpointText(c: CheckpointFields): string {
  if (!HEX64.test(c.head) || !HEX64.test(c.key)) throw new CanonicalError('head and key must be 64 lower-case hex digits');
  return `{"v":${AUDIT_ENTRY_VERSION},"type":"custos.audit.checkpoint","archive":${JSON.stringify(c.archive)},"seq":${c.seq},"head":"${c.head}","at":${JSON.stringify(c.at)},"key":"${c.key}"}`;
}

/**
 * What the new audit key signs at an audit key handover (docs/FORMAT.md "Audit key handover"): the
 * archive and both keys' fingerprints. The old key's checkpoint covers the handover entry; this
 * signature proves the holder of the new key took part, so a log that "hands over" to a key from
 * a key the forger holds cannot name a key the forger does not hold.
 */
export function handoverStatement(archive: string, from: string, to: string): string {
  if (!HEX64.test(from) || !HEX64.test(to)) throw new CanonicalError('from and to must be 64 lower-case hex digits');
  return `{"v":1,"type":"custos.audit.handover","archive":${JSON.stringify(archive)},"from":"${from}","to":"${to}"}`;
}

// ---------------------------------------------------------------------------------------------
// Small helpers shared by the services and tests.

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let k = 0; k < bytes.length; k++) s += bytes[k]!.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new CanonicalError('not hexadecimal');
  const out = new Uint8Array(hex.length / 2);
  for (let k = 0; k < out.length; k++) out[k] = parseInt(hex.slice(2 * k, 2 * k + 2), 16);
  return out;
}
