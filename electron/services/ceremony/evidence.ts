// The evidence bundle of a ceremony (format "custos.evidence-bundle", version 1; docs/FORMAT.md
// "Evidence bundle"): a folder anyone can check with OpenSSL and sha256sum alone —
//
//   transcript.json   the deterministic transcript (shared/ceremony/transcript.ts)
//   journal.jsonl     the run's journal, one canonical entry per line: the hashed bytes themselves
//   record.pdf        the printable record, drawn from the transcript alone
//   manifest.json     what the bundle is: run, type, practice, subject, previous bundle, files
//   <extras>          e.g. csr.pem, backup-blobs.json
//   audit-key.pem     the audit public key (SPKI); compare its fingerprint with the pinned one
//   SHA256SUMS        `sha256sum` lines for every file above
//   SHA256SUMS.sig    ECDSA P-256 / SHA-256 signature (DER) by the workstation's audit key in the HSM
//
//   openssl dgst -sha256 -verify audit-key.pem -signature SHA256SUMS.sig SHA256SUMS && sha256sum -c SHA256SUMS
//
// The bundle's hash is SHA-256 of the SHA256SUMS bytes; the next bundle for the same subject names
// it as its predecessor, so bundles for a key form a chain no one can cut or reorder unnoticed.
import { createHash, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { canonicalJsonPretty } from '../../../shared/ceremony/canonical';
import { destructionCertificate, destructionCertificateText, DESTRUCTION_CERTIFICATE_FILE } from '../../../shared/ceremony/destruction-certificate';
import { JOURNAL_GENESIS, journalEntryText, verifyJournalLines } from './journal-chain';
import type { JournalEntry } from '../../../shared/ceremony/run';
import { transcriptText, TRANSCRIPT_FORMAT, type Transcript } from '../../../shared/ceremony/transcript';
import { fail } from '../../../shared/result';
import { ecdsaRawToDer } from '../formats/ecdsa';
import { spkiToPem } from '../formats/publicKey';
import { verifyWithKey } from './credentials';
import { renderRecordPdf } from './record-pdf';

export const BUNDLE_FORMAT = 'custos.evidence-bundle';
export const BUNDLE_VERSION = 1;
const SUMS = 'SHA256SUMS';
const SIG = 'SHA256SUMS.sig';
const KEY = 'audit-key.pem';
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  run: string;
  type: string;
  title: string;
  practice: boolean;
  /** What the ceremony was about: key ids, or "record" for set-up and enrolment. */
  subjects: string[];
  previousBundle: string | null;
  createdAt: string;
  auditKey: string;
  files: Array<{ name: string; sha256: string; bytes: number }>;
}

export interface AuditSigner {
  /** SPKI DER of the audit key. */
  spki: Uint8Array;
  /** SHA-256 of the SPKI, hex (the pinned fingerprint). */
  fingerprint: string;
  /** ECDSA P-256 signature over SHA-256(message), raw r‖s, made in the HSM. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function bundleName(t: Transcript): string {
  const day = (t.endedAt ?? t.startedAt).slice(0, 10).replace(/-/g, '');
  return `${day}-${t.definition.type}-${t.run.slice(0, 8)}${t.practice ? '-practice' : ''}.evidence`;
}

/**
 * Writes the bundle into `parent/<name>` (via a temporary folder renamed at the end, so a crash
 * leaves no half bundle under the final name). Returns its path and hash.
 */
export async function writeBundle(
  parent: string,
  x: { transcript: Transcript; journal: ReadonlyArray<JournalEntry & { hash: string }>; subjects: string[]; extras?: Record<string, Uint8Array | string> },
  signer: AuditSigner,
): Promise<{ path: string; hash: string; name: string; manifest: BundleManifest }> {
  const t = x.transcript;
  const name = bundleName(t);
  const final = join(parent, name);
  if (existsSync(final)) fail('INVALID_INPUT', `An evidence bundle named ${name} already exists.`, 'Keep the existing bundle; remove it first only if you are sure it is a copy.');
  if (t.journal.entries !== x.journal.length || t.journal.head !== (x.journal.at(-1)?.hash ?? JOURNAL_GENESIS)) throw new Error('the transcript does not describe this journal');
  const files = new Map<string, Buffer>();
  files.set('transcript.json', Buffer.from(transcriptText(t), 'utf8'));
  files.set('journal.jsonl', Buffer.from(x.journal.map((e) => journalEntryText(e) + '\n').join(''), 'utf8'));
  files.set('record.pdf', await renderRecordPdf(t));
  for (const [n, v] of Object.entries(x.extras ?? {})) {
    if (!NAME.test(n) || files.has(n) || [SUMS, SIG, KEY, 'manifest.json', 'journal.jsonl'].includes(n)) throw new Error(`bad extra file name ${n}`);
    files.set(n, Buffer.from(v));
  }
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    run: t.run,
    type: t.definition.type,
    title: t.definition.title,
    practice: t.practice,
    subjects: [...x.subjects].sort(),
    previousBundle: t.previousBundle,
    createdAt: t.endedAt ?? t.startedAt,
    auditKey: signer.fingerprint,
    files: [...files].map(([n, b]) => ({ name: n, sha256: sha256Hex(b), bytes: b.length })).sort((a, b) => (a.name < b.name ? -1 : 1)),
  };
  files.set('manifest.json', Buffer.from(canonicalJsonPretty(manifest) + '\n', 'utf8'));
  // The key file is listed too: a change to it that leaves the key the same still fails.
  files.set(KEY, Buffer.from(spkiToPem(signer.spki), 'utf8'));
  const sums = Buffer.from(
    [...files]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([n, b]) => `${sha256Hex(b)}  ${n}\n`)
      .join(''),
    'utf8',
  );
  const signature = ecdsaRawToDer(await signer.sign(sums));
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  const tmp = join(parent, `.${name}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { mode: 0o700 });
  for (const [n, b] of files) writeFileSync(join(tmp, n), b, { mode: 0o600 });
  writeFileSync(join(tmp, SUMS), sums, { mode: 0o600 });
  writeFileSync(join(tmp, SIG), signature, { mode: 0o600 });
  renameSync(tmp, final);
  return { path: final, hash: sha256Hex(sums), name, manifest };
}

export interface BundleVerdict {
  ok: boolean;
  path: string;
  hash: string | null;
  manifest: BundleManifest | null;
  /** The audit key's fingerprint, and whether it matched the pin it was checked against. */
  auditKey: string | null;
  pinned: boolean;
  checks: Array<{ check: string; ok: boolean; detail?: string }>;
}

/**
 * Checks a bundle: every file listed and hashed, nothing extra, the signature by the audit key
 * (which must match `pin` when given), the manifest against the transcript, the journal's hash
 * chain, and every approval signature against the credential recorded for it. Never throws for a
 * bad bundle: the verdict lists what failed.
 */
export function verifyBundle(path: string, opts: { pin?: string | readonly string[] | null; publicKeyPem?: string } = {}): BundleVerdict {
  const v: BundleVerdict = { ok: false, path, hash: null, manifest: null, auditKey: null, pinned: false, checks: [] };
  const check = (name: string, ok: boolean, detail?: string) => {
    v.checks.push(detail ? { check: name, ok, detail } : { check: name, ok });
    return ok;
  };
  let st;
  try {
    st = lstatSync(path);
  } catch {
    check('bundle folder exists', false, 'not found');
    return v;
  }
  if (!check('bundle is a folder', st.isDirectory())) return v;
  const read = (n: string): Buffer | null => {
    try {
      const p = join(path, n);
      return lstatSync(p).isFile() ? readFileSync(p) : null;
    } catch {
      return null;
    }
  };
  const sums = read(SUMS);
  const sig = read(SIG);
  const pem = opts.publicKeyPem ?? read(KEY)?.toString('utf8') ?? null;
  if (!check('SHA256SUMS, SHA256SUMS.sig and the audit key are present', !!sums && !!sig && !!pem)) return v;
  v.hash = sha256Hex(sums!);

  // Signature first: nothing else in the folder is trusted before it.
  let spki: Buffer;
  let key: KeyObject;
  try {
    key = createPublicKey(pem!);
    // The pin is over the SPKI DER, which is the PEM's body (RFC 7468 §13); read the same key back
    // from it only when the body is not plain base64 of one SPKI.
    const body = /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----\r?\n?$/.exec(pem!);
    spki = body ? Buffer.from(body[1]!.replace(/\s+/g, ''), 'base64') : key.export({ type: 'spki', format: 'der' });
  } catch {
    check('audit key readable', false);
    return v;
  }
  v.auditKey = sha256Hex(spki);
  // A list: the workstation's current audit key and the keys its audit key rotations retired.
  const pins = typeof opts.pin === 'string' ? [opts.pin] : (opts.pin ?? []);
  if (pins.length) {
    const retired = pins.indexOf(v.auditKey) > 0;
    v.pinned = check(retired ? 'audit key is a retired key of the pinned workstation' : 'audit key is the pinned workstation key', pins.includes(v.auditKey), `key ${v.auditKey.slice(0, 16)}…, pinned ${pins[0]!.slice(0, 16)}…`);
  }
  let sigOk = false;
  try {
    sigOk = nodeVerify('sha256', sums!, key, sig!);
  } catch {
    sigOk = false;
  }
  if (!check('SHA256SUMS is signed by the audit key', sigOk)) return v;

  // Every listed file hashes as listed; no file is missing or extra.
  const listed = new Map<string, string>();
  const lines = sums!.toString('utf8').split('\n');
  let wellFormed = lines.pop() === '';
  for (const line of lines) {
    const m = /^([0-9a-f]{64}) {2}([a-z0-9][a-z0-9._-]{0,63})$/.exec(line);
    if (!m || listed.has(m[2]!)) wellFormed = false;
    else listed.set(m[2]!, m[1]!);
  }
  if (!check('SHA256SUMS is well formed', wellFormed && listed.size > 0)) return v;
  let filesOk = true;
  for (const [n, h] of listed) {
    const b = read(n);
    if (!b || sha256Hex(b) !== h) filesOk = check(`${n} matches SHA256SUMS`, false) && filesOk;
  }
  if (!listed.has(KEY)) filesOk = check('the audit key file is listed in SHA256SUMS', false) && filesOk;
  const present = readdirSync(path).filter((n) => ![SUMS, SIG].includes(n));
  const extra = present.filter((n) => !listed.has(n));
  filesOk = check('every file is listed in SHA256SUMS and matches it', filesOk && extra.length === 0, extra.length ? `not listed: ${extra.join(', ')}` : undefined) && filesOk;
  if (!filesOk) return v;

  // The manifest and the transcript agree with each other and with themselves.
  let manifest: BundleManifest;
  let transcript: Transcript;
  try {
    manifest = JSON.parse(read('manifest.json')!.toString('utf8')) as BundleManifest;
    transcript = JSON.parse(read('transcript.json')!.toString('utf8')) as Transcript;
  } catch {
    check('manifest.json and transcript.json are readable', false);
    return v;
  }
  v.manifest = manifest;
  const consistent =
    manifest.format === BUNDLE_FORMAT &&
    manifest.version === BUNDLE_VERSION &&
    transcript.format === TRANSCRIPT_FORMAT &&
    manifest.run === transcript.run &&
    manifest.practice === transcript.practice &&
    manifest.type === transcript.definition.type &&
    manifest.previousBundle === transcript.previousBundle &&
    manifest.auditKey === v.auditKey &&
    manifest.files.every((f) => listed.get(f.name) === f.sha256);
  if (!check('manifest agrees with the transcript and the signature', consistent)) return v;

  const chain = verifyJournalLines(read('journal.jsonl'));
  const chainOk = chain.ok && chain.entries === transcript.journal?.entries && chain.head === transcript.journal?.head;
  if (!check('journal hash chain is intact and ends where the transcript says', chainOk, chain.ok ? undefined : chain.problem)) return v;

  let approvalsOk = true;
  // Each credential's key is read once, however many approvals it made.
  const keys = new Map<string, KeyObject | null>();
  const keyOf = (c: NonNullable<Transcript['participants'][number]['credential']>): KeyObject | null => {
    if (!keys.has(c.fingerprint)) {
      const der = Buffer.from(c.spki, 'hex');
      let k: KeyObject | null = null;
      try {
        if (sha256Hex(der) === c.fingerprint) k = createPublicKey({ key: der, format: 'der', type: 'spki' });
      } catch {
        k = null;
      }
      keys.set(c.fingerprint, k);
    }
    return keys.get(c.fingerprint)!;
  };
  for (const a of transcript.approvals) {
    const p = transcript.participants.find((x) => x.person === a.person);
    const c = p?.credential;
    const k = c && c.fingerprint === a.credential ? keyOf(c) : null;
    const good = !!k && verifyWithKey(c!.algorithm, k, a.message, a.signature);
    if (!good) approvalsOk = check(`approval by ${a.name} at step ${a.step} verifies`, false) && approvalsOk;
    const fields = JSON.parse(a.message) as Record<string, unknown>;
    if (fields.run !== transcript.run || fields.fingerprint !== transcript.fingerprint.hex || fields.step !== a.step || fields.person !== a.person) {
      approvalsOk = check(`approval by ${a.name} names this run, step and fingerprint`, false) && approvalsOk;
    }
  }
  check(`${transcript.approvals.length} approval signature${transcript.approvals.length === 1 ? '' : 's'} verify against the enrolled credentials`, approvalsOk);
  if (transcript.definition.type === 'destruction') {
    // The certificate must be exactly what the signed transcript says was destroyed, and say it.
    const cert = destructionCertificate(transcript);
    const file = read(DESTRUCTION_CERTIFICATE_FILE);
    const ok = !!cert && cert.items.length > 0 && !!file && listed.has(DESTRUCTION_CERTIFICATE_FILE) && file.toString('utf8') === destructionCertificateText(cert);
    check(`the destruction certificate lists what the journal destroyed (${cert?.items.length ?? 0} item${cert?.items.length === 1 ? '' : 's'}), with its proof, approvers and witness`, ok, ok ? undefined : file ? 'the certificate differs from the transcript' : 'destruction-certificate.json is missing');
  }
  v.ok = v.checks.every((c) => c.ok);
  return v;
}

export const bundleFolderName = (p: string) => basename(p);
