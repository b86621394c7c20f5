// The archive file: one SQLite database (better-sqlite3), schema created and upgraded by numbered
// migrations. The format is written down in docs/FORMAT.md ("Archive file"): a recovery team reads
// it with any SQLite tool.
//
// Connection settings, and why:
//   journal_mode = WAL    readers (a search in the UI) never block the writer, and a crash at any
//                         point leaves either the old or the new state, never a mix.
//   synchronous  = FULL   the WAL is fsync'ed at every commit. With NORMAL a power cut may undo the
//                         last committed transactions (consistent, but not durable). A custodian
//                         who has just seen "archived" may then destroy the key in the HSM — losing
//                         that commit would lose the only copy. Writes are batched (one transaction
//                         per operation, thousands of rows each), so the fsync is cheap.
//   foreign_keys = ON     versions need their key, tags their key.
//   secure_delete = ON    shredded material (wrapped bytes of a destroyed version) is overwritten
//                         with zeros in the database pages, not just unlinked; the WAL is
//                         truncated after a shred (see transitions.ts) so no old frame keeps it.
//   application_id        'CUST' (0x43555354): `file` and SQLite tools tell a Custos archive apart.
//   user_version          the schema version; meta.schema_version repeats it for humans.
import type Database from 'better-sqlite3';
import { KEY_STATES, reachablePairs } from '../../../shared/archive/lifecycle';
import { ARCHIVE_FORMAT_ID, ARCHIVE_SCHEMA_VERSION } from '../../../shared/archive/types';

export const APPLICATION_ID = 0x43555354;
export type Db = Database.Database;

export function applyPragmas(db: Db): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('secure_delete = ON');
  db.pragma('busy_timeout = 10000');
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -65536');
}

const STATES = KEY_STATES.map((s) => `'${s}'`).join(', ');
const appendOnly = (table: string) => `
  CREATE TRIGGER ${table}_append_only_update BEFORE UPDATE ON ${table}
    BEGIN SELECT RAISE(ABORT, 'custos: ${table} is append-only'); END;
  CREATE TRIGGER ${table}_append_only_delete BEFORE DELETE ON ${table}
    BEGIN SELECT RAISE(ABORT, 'custos: ${table} is append-only'); END;`;
const noDelete = (table: string) => `
  CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table}
    BEGIN SELECT RAISE(ABORT, 'custos: rows of ${table} are never deleted'); END;`;
/** Trailing columns of rows exchanged between workstations. */
const EXCHANGE = `origin_archive TEXT NOT NULL, revision INTEGER NOT NULL CHECK (revision >= 1), updated_at TEXT NOT NULL`;

export interface Migration {
  version: number;
  description: string;
  up(db: Db): void;
}

/** The MACed tables of schema 4 (schema 6 adds mac_keys, MACed too). */
const MACED_TABLES = ['workstation', 'keys', 'key_versions', 'custodians', 'share_sets', 'ceremonies', 'ceremony_journal', 'approvals', 'trusted_workstations', 'credentials', 'ceremony_definitions', 'policies', 'evidence_bundles', 'record_profile', 'archive_keks', 'audit_keys'];
/** The one update schema 5 lets through the journal's append-only trigger: a redaction (FORMAT.md "Shredded blobs"). */
const JOURNAL_REDACTION = `NEW.ceremony_id = OLD.ceremony_id AND NEW.step = OLD.step AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.action = OLD.action
                    AND length(NEW.details) < length(OLD.details) AND json_extract(NEW.details, '$.redacted.version') = 1`;
const APPEND_ONLY_MACED = ['ceremony_journal', 'approvals', 'credentials', 'ceremony_definitions', 'policies', 'evidence_bundles', 'record_profile'];

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'initial schema: identity, keys, versions, custodians, share sets, ceremonies, approvals, audit log, checkpoints, trusted workstations',
    up(db) {
      db.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

        -- This workstation's archive identity: the three HSM keys and the audit public key.
        CREATE TABLE workstation (
          archive_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL, token_uri TEXT,
          kek_label TEXT NOT NULL, kek_id TEXT NOT NULL, kek_check TEXT NOT NULL, kek_check_legacy TEXT,
          mac_label TEXT NOT NULL, mac_id TEXT NOT NULL, mac_check TEXT NOT NULL,
          audit_label TEXT NOT NULL, audit_id TEXT NOT NULL, audit_spki BLOB NOT NULL, audit_fingerprint TEXT NOT NULL,
          mac BLOB NOT NULL
        ) STRICT;
        ${noDelete('workstation')}

        CREATE TABLE keys (
          id TEXT PRIMARY KEY, label TEXT NOT NULL UNIQUE, purpose TEXT NOT NULL, algorithm TEXT NOT NULL,
          policy_id TEXT NOT NULL, oup_months INTEGER NOT NULL, rup_extra_months INTEGER NOT NULL,
          tags TEXT NOT NULL CHECK (json_valid(tags) AND json_type(tags) = 'array'),
          custodians TEXT NOT NULL CHECK (json_valid(custodians) AND json_type(custodians) = 'array'),
          description TEXT, created_at TEXT NOT NULL, ${EXCHANGE},
          mac BLOB NOT NULL
        ) STRICT;
        ${noDelete('keys')}
        CREATE TRIGGER keys_identity BEFORE UPDATE OF id ON keys WHEN NEW.id IS NOT OLD.id
          BEGIN SELECT RAISE(ABORT, 'custos: a key id never changes'); END;

        -- Search indexes derived from keys.tags / keys.custodians by triggers, so they cannot drift.
        -- Ordered by label within a tag: a tag search sorted by label walks them in order (no sort).
        CREATE TABLE key_tags (tag TEXT NOT NULL, label TEXT NOT NULL, key_id TEXT NOT NULL REFERENCES keys(id), PRIMARY KEY (tag, label)) STRICT, WITHOUT ROWID;
        CREATE TABLE key_custodians (custodian_id TEXT NOT NULL, label TEXT NOT NULL, key_id TEXT NOT NULL REFERENCES keys(id), PRIMARY KEY (custodian_id, label)) STRICT, WITHOUT ROWID;
        CREATE INDEX key_tags_key ON key_tags (key_id);
        CREATE INDEX key_custodians_key ON key_custodians (key_id);
        CREATE TRIGGER keys_tags_insert AFTER INSERT ON keys BEGIN
          INSERT INTO key_tags (tag, label, key_id) SELECT DISTINCT value, NEW.label, NEW.id FROM json_each(NEW.tags);
          INSERT INTO key_custodians (custodian_id, label, key_id) SELECT DISTINCT value, NEW.label, NEW.id FROM json_each(NEW.custodians);
        END;
        CREATE TRIGGER keys_tags_update AFTER UPDATE OF tags, label ON keys BEGIN
          DELETE FROM key_tags WHERE key_id = NEW.id;
          INSERT INTO key_tags (tag, label, key_id) SELECT DISTINCT value, NEW.label, NEW.id FROM json_each(NEW.tags);
        END;
        CREATE TRIGGER keys_custodians_update AFTER UPDATE OF custodians, label ON keys BEGIN
          DELETE FROM key_custodians WHERE key_id = NEW.id;
          INSERT INTO key_custodians (custodian_id, label, key_id) SELECT DISTINCT value, NEW.label, NEW.id FROM json_each(NEW.custodians);
        END;

        CREATE TABLE key_versions (
          id TEXT PRIMARY KEY, key_id TEXT NOT NULL REFERENCES keys(id), version INTEGER NOT NULL CHECK (version >= 1),
          algorithm TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('secret', 'private')), purpose TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN (${STATES})),
          source_uri TEXT, check_method TEXT, check_value TEXT, check_legacy TEXT, fingerprint TEXT, public_spki BLOB,
          wrap_mechanism TEXT, kek_check TEXT, wrapped BLOB,
          created_at TEXT NOT NULL, activation_date TEXT, protect_stop_date TEXT, process_stop_date TEXT,
          deactivation_date TEXT, compromise_date TEXT, destroyed_date TEXT, rotation_due TEXT, ceremony_id TEXT,
          ${EXCHANGE},
          mac BLOB NOT NULL,
          UNIQUE (key_id, version),
          CHECK (state NOT IN ('destroyed', 'destroyed-compromised') OR wrapped IS NULL)
        ) STRICT;
        ${noDelete('key_versions')}
        -- At most one active version per key (SP 800-57: one key applies protection at a time).
        CREATE UNIQUE INDEX key_versions_one_active ON key_versions (key_id) WHERE state = 'active';
        CREATE INDEX key_versions_created ON key_versions (created_at);
        CREATE INDEX key_versions_purpose_activation ON key_versions (purpose, activation_date);
        CREATE INDEX key_versions_activation ON key_versions (activation_date);
        CREATE INDEX key_versions_deactivation ON key_versions (deactivation_date);
        CREATE INDEX key_versions_algorithm ON key_versions (algorithm, created_at);
        CREATE INDEX key_versions_state ON key_versions (state, created_at);
        CREATE INDEX key_versions_rotation ON key_versions (rotation_due) WHERE rotation_due IS NOT NULL;
        CREATE TRIGGER key_versions_identity BEFORE UPDATE OF id, key_id, version, kind ON key_versions
          WHEN NEW.id IS NOT OLD.id OR NEW.key_id IS NOT OLD.key_id OR NEW.version IS NOT OLD.version OR NEW.kind IS NOT OLD.kind
          BEGIN SELECT RAISE(ABORT, 'custos: the identity of a key version never changes'); END;
        CREATE TRIGGER key_versions_no_unshred BEFORE UPDATE OF wrapped ON key_versions
          WHEN OLD.wrapped IS NULL AND NEW.wrapped IS NOT NULL
          BEGIN SELECT RAISE(ABORT, 'custos: shredded material cannot come back'); END;

        -- Lifecycle, second line of defence: only states reachable by legal transitions
        -- (shared/archive/lifecycle.ts). The service itself allows single legal steps only.
        CREATE TABLE lifecycle_reachable (from_state TEXT NOT NULL, to_state TEXT NOT NULL, PRIMARY KEY (from_state, to_state)) STRICT, WITHOUT ROWID;
        CREATE TRIGGER key_versions_lifecycle BEFORE UPDATE OF state ON key_versions
          WHEN NEW.state IS NOT OLD.state AND NOT EXISTS (SELECT 1 FROM lifecycle_reachable WHERE from_state = OLD.state AND to_state = NEW.state)
          BEGIN SELECT RAISE(ABORT, 'custos: illegal lifecycle transition'); END;

        CREATE TABLE custodians (
          id TEXT PRIMARY KEY, name TEXT NOT NULL, roles TEXT NOT NULL CHECK (json_valid(roles)), public_spki BLOB, fingerprint TEXT,
          status TEXT NOT NULL, created_at TEXT NOT NULL, ${EXCHANGE}, mac BLOB NOT NULL
        ) STRICT;
        ${noDelete('custodians')}

        -- Share sets: metadata only (scheme, threshold, holders, fingerprints) — never a share.
        CREATE TABLE share_sets (
          id TEXT PRIMARY KEY, key_id TEXT REFERENCES keys(id), scheme TEXT NOT NULL, threshold INTEGER NOT NULL,
          share_count INTEGER NOT NULL, groups TEXT CHECK (groups IS NULL OR json_valid(groups)), holders TEXT NOT NULL CHECK (json_valid(holders)),
          fingerprint TEXT NOT NULL, ceremony_id TEXT, status TEXT NOT NULL, created_at TEXT NOT NULL, ${EXCHANGE}, mac BLOB NOT NULL
        ) STRICT;
        ${noDelete('share_sets')}

        CREATE TABLE ceremonies (
          id TEXT PRIMARY KEY, script_id TEXT NOT NULL, script_version INTEGER NOT NULL, fingerprint TEXT NOT NULL,
          parameters TEXT NOT NULL CHECK (json_valid(parameters)), status TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
          revision INTEGER NOT NULL, updated_at TEXT NOT NULL, mac BLOB NOT NULL
        ) STRICT;
        ${noDelete('ceremonies')}
        CREATE TABLE ceremony_journal (
          ceremony_id TEXT NOT NULL REFERENCES ceremonies(id), step INTEGER NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,
          action TEXT NOT NULL, details TEXT NOT NULL CHECK (json_valid(details)), mac BLOB NOT NULL,
          PRIMARY KEY (ceremony_id, step)
        ) STRICT;
        ${appendOnly('ceremony_journal')}
        CREATE TABLE approvals (
          id TEXT PRIMARY KEY, ceremony_id TEXT NOT NULL REFERENCES ceremonies(id), custodian_id TEXT NOT NULL,
          decision TEXT NOT NULL, at TEXT NOT NULL, proof BLOB, mac BLOB NOT NULL
        ) STRICT;
        ${appendOnly('approvals')}

        -- Other workstations whose bundles this archive accepts, by audit public key.
        CREATE TABLE trusted_workstations (
          fingerprint TEXT PRIMARY KEY, name TEXT NOT NULL, public_spki BLOB NOT NULL, archive_id TEXT, added_at TEXT NOT NULL,
          mac BLOB NOT NULL
        ) STRICT;

        -- The audit log: append-only, hash-chained (docs/FORMAT.md "Audit log and checkpoints").
        -- entry is the canonical JSON line itself — the exact bytes that are hashed — so
        -- verification hashes stored bytes and never re-serialises; the other columns are
        -- generated from it (they cannot disagree with what was hashed) and indexed for queries.
        CREATE TABLE audit_entries (
          seq INTEGER PRIMARY KEY CHECK (seq >= 1),
          entry TEXT NOT NULL CHECK (json_valid(entry) AND json_extract(entry, '$.seq') = seq),
          hash TEXT NOT NULL CHECK (length(hash) = 64),
          at TEXT GENERATED ALWAYS AS (json_extract(entry, '$.at')) VIRTUAL,
          actor TEXT GENERATED ALWAYS AS (json_extract(entry, '$.actor')) VIRTUAL,
          action TEXT GENERATED ALWAYS AS (json_extract(entry, '$.action')) VIRTUAL,
          object_type TEXT GENERATED ALWAYS AS (json_extract(entry, '$.object_type')) VIRTUAL,
          object_id TEXT GENERATED ALWAYS AS (json_extract(entry, '$.object_id')) VIRTUAL,
          key_id TEXT GENERATED ALWAYS AS (json_extract(entry, '$.key_id')) VIRTUAL,
          object_mac TEXT GENERATED ALWAYS AS (json_extract(entry, '$.object_mac')) VIRTUAL,
          details TEXT GENERATED ALWAYS AS (json_extract(entry, '$.details')) VIRTUAL
        ) STRICT;
        ${appendOnly('audit_entries')}
        CREATE INDEX audit_by_object ON audit_entries (object_type, object_id, seq) WHERE object_id IS NOT NULL;
        CREATE INDEX audit_by_key ON audit_entries (key_id, seq) WHERE key_id IS NOT NULL;

        -- Head hashes signed by the audit key (ECDSA P-256, SHA-256): raw r‖s and DER.
        CREATE TABLE checkpoints (
          seq INTEGER PRIMARY KEY CHECK (seq >= 1), head TEXT NOT NULL CHECK (length(head) = 64), at TEXT NOT NULL,
          key_fingerprint TEXT NOT NULL, signature_raw BLOB NOT NULL, signature_der BLOB NOT NULL
        ) STRICT;
        ${appendOnly('checkpoints')}
      `);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      const put = db.prepare('INSERT INTO lifecycle_reachable (from_state, to_state) VALUES (?, ?)');
      for (const [from, to] of reachablePairs()) put.run(from, to);
    },
  },
  {
    version: 2,
    description: 'ceremonies: people\'s credentials, ceremony definitions, quorum policies, evidence bundles, the record profile (practice or production)',
    up(db) {
      db.exec(`
        -- A person's credentials (the custodians table is the register of people). Never a private
        -- key, PIN or passphrase: the public key, and for a card its serial, model and CKA_ID, for a
        -- passphrase its scrypt salt and cost.
        CREATE TABLE credentials (
          fingerprint TEXT PRIMARY KEY CHECK (length(fingerprint) = 64), person_id TEXT NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('card', 'passphrase')), algorithm TEXT NOT NULL, public_spki BLOB NOT NULL,
          card TEXT CHECK (card IS NULL OR json_valid(card)), scrypt TEXT CHECK (scrypt IS NULL OR json_valid(scrypt)),
          ceremony_id TEXT, created_at TEXT NOT NULL, mac BLOB NOT NULL
        ) STRICT;
        ${appendOnly('credentials')}
        CREATE INDEX credentials_person ON credentials (person_id);

        -- Every definition a run used, by the SHA-256 of its canonical JSON (the run names the hash).
        CREATE TABLE ceremony_definitions (
          hash TEXT PRIMARY KEY CHECK (length(hash) = 64), id TEXT NOT NULL, revision INTEGER NOT NULL, type TEXT NOT NULL,
          body TEXT NOT NULL CHECK (json_valid(body)), added_at TEXT NOT NULL, mac BLOB NOT NULL
        ) STRICT;
        ${appendOnly('ceremony_definitions')}

        -- The quorum policy, one row per revision; the newest is in force.
        CREATE TABLE policies (
          revision INTEGER PRIMARY KEY CHECK (revision >= 1), policy TEXT NOT NULL CHECK (json_valid(policy)),
          ceremony_id TEXT, created_at TEXT NOT NULL, mac BLOB NOT NULL
        ) STRICT;
        ${appendOnly('policies')}

        -- Evidence bundles, chained per subject (a key, a backup, the record).
        CREATE TABLE evidence_bundles (
          hash TEXT PRIMARY KEY CHECK (length(hash) = 64), ceremony_id TEXT NOT NULL, name TEXT NOT NULL,
          subjects TEXT NOT NULL CHECK (json_valid(subjects) AND json_type(subjects) = 'array'), previous TEXT,
          practice INTEGER NOT NULL CHECK (practice IN (0, 1)), created_at TEXT NOT NULL, mac BLOB NOT NULL
        ) STRICT;
        ${appendOnly('evidence_bundles')}

        -- Practice or production, fixed when the record is set up (a demo token makes a practice record).
        CREATE TABLE record_profile (
          archive_id TEXT PRIMARY KEY, practice INTEGER NOT NULL CHECK (practice IN (0, 1)), ceremony_id TEXT,
          created_at TEXT NOT NULL, mac BLOB NOT NULL
        ) STRICT;
        ${appendOnly('record_profile')}

        CREATE INDEX ceremonies_status ON ceremonies (status, started_at);
      `);
    },
  },
  {
    version: 3,
    description: 'Archive KEK rotation: the KEKs other than the identity row\'s (incoming during a rotation, retired after one)',
    up(db) {
      db.exec(`
        -- The identity row names the KEK that wraps new versions. A rotation adds the new KEK here
        -- as 'incoming' before any version is re-wrapped under it, so that every version's
        -- kek_check names a KEK this archive can find; at the end the identity row moves to the
        -- new KEK and the old one stays here as 'retired' (deactivated, not destroyed).
        CREATE TABLE archive_keks (
          kek_check TEXT PRIMARY KEY, kek_label TEXT NOT NULL, kek_id TEXT NOT NULL, kek_check_legacy TEXT,
          state TEXT NOT NULL CHECK (state IN ('incoming', 'current', 'retired')),
          created_at TEXT NOT NULL, ceremony_id TEXT, updated_at TEXT NOT NULL, mac BLOB NOT NULL
        ) STRICT;
        ${noDelete('archive_keks')}
        CREATE INDEX key_versions_kek ON key_versions (kek_check, id) WHERE wrapped IS NOT NULL;
      `);
    },
  },
  {
    version: 4,
    description: 'Audit key rotation: every audit key the archive has had, and an index of the handover entries',
    up(db) {
      db.exec(`
        -- The identity row names the audit key that signs new checkpoints. A rotation records the
        -- old key here as 'retired' (its public key kept, so that the checkpoints it signed still
        -- verify) and the new one as 'current'; handover_seq is the audit entry of the handover.
        CREATE TABLE audit_keys (
          fingerprint TEXT PRIMARY KEY CHECK (length(fingerprint) = 64), label TEXT NOT NULL, key_id TEXT NOT NULL,
          spki BLOB NOT NULL, state TEXT NOT NULL CHECK (state IN ('current', 'retired')), handover_seq INTEGER NOT NULL,
          created_at TEXT NOT NULL, ceremony_id TEXT, updated_at TEXT NOT NULL, mac BLOB NOT NULL
        ) STRICT;
        ${noDelete('audit_keys')}
        -- Verification finds the handovers without reading the whole log.
        CREATE INDEX audit_handovers ON audit_entries (seq) WHERE action = 'archive.audit.handover';
      `);
    },
  },
  {
    version: 5,
    description: 'Backup Key rotation: a journal entry may be redacted (a shredded blob\'s bytes left out, their SHA-256 kept), nothing else of it changed',
    up(db) {
      db.exec(`
        -- Still append-only, but for one kind of update: the redaction of a shredded blob's bytes
        -- (docs/FORMAT.md "Shredded blobs"). The entry's identity, time, actor and action stay; its
        -- details only shrink, and carry the redaction record. The row's new MAC is named by a
        -- ceremony.journal-redact audit entry, like any updated row.
        DROP TRIGGER ceremony_journal_append_only_update;
        CREATE TRIGGER ceremony_journal_append_only_update BEFORE UPDATE ON ceremony_journal
          WHEN NOT (${JOURNAL_REDACTION})
          BEGIN SELECT RAISE(ABORT, 'custos: ceremony_journal is append-only (an entry may only be redacted)'); END;
      `);
    },
  },
  {
    version: 6,
    description: 'MAC key rotation: the MAC key under which each row is MACed, and the MAC keys other than the identity row\'s',
    up(db) {
      // Every MACed table gets mac_key: the check value of the MAC key its MAC is under (the
      // identity row's, or during a rotation the incoming one in mac_keys). Not covered by the MAC:
      // a changed value names another key (or none), under which the row fails. Filled below.
      for (const t of MACED_TABLES) db.exec(`ALTER TABLE ${t} ADD COLUMN mac_key TEXT`);
      // Append-only tables stay so for every column but the MAC and mac_key, which a rotation rewrites.
      for (const t of APPEND_ONLY_MACED) {
        const cols = (db.prepare(`SELECT name FROM pragma_table_info('${t}')`).pluck().all() as string[]).filter((c) => c !== 'mac' && c !== 'mac_key');
        // The journal keeps schema 5's one exception: the redaction of a shredded blob's bytes.
        const when = t === 'ceremony_journal' ? ` WHEN NOT (${JOURNAL_REDACTION})` : '';
        const what = t === 'ceremony_journal' ? 'append-only (an entry may only be redacted)' : 'append-only';
        db.exec(`DROP TRIGGER ${t}_append_only_update;
          CREATE TRIGGER ${t}_append_only_update BEFORE UPDATE OF ${cols.join(', ')} ON ${t}${when}
            BEGIN SELECT RAISE(ABORT, 'custos: ${t} is ${what}'); END;`);
      }
      db.exec(`
        -- The identity row names the MAC key that MACs new rows. A rotation adds the new key here
        -- as 'incoming' before any row is MACed under it; at the end the identity row moves to it
        -- and the old key stays here as 'retired' (kept in the HSM, no row left under it).
        CREATE TABLE mac_keys (
          mac_check TEXT PRIMARY KEY, mac_label TEXT NOT NULL, mac_id TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('incoming', 'current', 'retired')),
          created_at TEXT NOT NULL, ceremony_id TEXT, updated_at TEXT NOT NULL, mac BLOB NOT NULL, mac_key TEXT
        ) STRICT;
        ${noDelete('mac_keys')}
      `);
      // Every row of a schema-4 archive is under the identity row's MAC key (the only one it had).
      for (const t of MACED_TABLES) db.exec(`UPDATE ${t} SET mac_key = (SELECT mac_check FROM workstation)`);
    },
  },
];

/** Highest schema version this code knows; equal to ARCHIVE_SCHEMA_VERSION. */
export const LATEST_SCHEMA = MIGRATIONS[MIGRATIONS.length - 1]!.version;
if (LATEST_SCHEMA !== ARCHIVE_SCHEMA_VERSION) throw new Error('archive schema: migrations and ARCHIVE_SCHEMA_VERSION disagree');

/** Runs every migration newer than the file's user_version, each in its own transaction. */
export function migrate(db: Db, now: string): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
      const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
      setMeta.run('format', ARCHIVE_FORMAT_ID);
      setMeta.run('schema_version', String(m.version));
      setMeta.run(`migration_${m.version}`, `${now} ${m.description}`);
    })();
  }
  return db.pragma('user_version', { simple: true }) as number;
}
