// Evidence bundles: written from a transcript, checked by Custos and by OpenSSL + sha256sum alone;
// one flipped byte anywhere fails; the PDF record is rebuilt byte for byte from the transcript.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalMessage } from '../../shared/ceremony/approval';
import { builtinDefinition } from '../../shared/ceremony/builtin';
import { resolveSteps } from '../../shared/ceremony/definition';
import { foldJournal, SYSTEM, type JournalEntry, type JournalEvent, type RunPlan, type Actor } from '../../shared/ceremony/run';
import { buildTranscript, transcriptText, type Transcript, type TranscriptCredential } from '../../shared/ceremony/transcript';
import { enrolPassphrase, signWithPassphrase, type CredentialRecord } from '../../electron/services/ceremony/credentials';
import { verifyBundle, writeBundle, type AuditSigner } from '../../electron/services/ceremony/evidence';
import { journalEntryHash, JOURNAL_GENESIS } from '../../electron/services/ceremony/journal-chain';
import { definitionHash, withFingerprint } from '../../electron/services/ceremony/plan';
import { renderRecordPdf } from '../../electron/services/ceremony/record-pdf';

let dir: string;
let transcript: Transcript;
let journal: Array<JournalEntry & { hash: string }>;
let signer: AuditSigner;
let bundlePath: string;
let pem: string;

function auditSigner(): AuditSigner & { pem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const fp = execFileSync('sha256sum', { input: spki }).toString().slice(0, 64);
  return {
    spki,
    fingerprint: fp,
    pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: async (m) => nodeSign('sha256', m, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
  };
}

/** A finished key-generation run with two custodian approvals (passphrase credentials, for speed). */
function syntheticTranscript(practice: boolean): { transcript: Transcript; journal: Array<JournalEntry & { hash: string }> } {
  const def = builtinDefinition('key-generation')!;
  const steps = resolveSteps(def, () => 2);
  const people = ['Ann Archer', 'Ben Baker', 'Cat Cole', 'Wes Witness', 'Olga Operator'].map((name, i) => ({ person: `p${i}`, name, cred: enrolPassphraseFast(name) }));
  const roles = [['custodian'], ['custodian'], ['custodian', 'administrator'], ['witness'], ['operator']] as const;
  const plan: RunPlan = withFingerprint({
    run: '3f1c9a2e-0000-4000-8000-000000000001',
    definition: { id: def.id, revision: def.revision, type: def.type, title: def.title, hash: definitionHash(def) },
    app: '0.1.0',
    practice,
    workstation: { archiveId: 'a-1', name: 'Test workstation', token: { uri: 'pkcs11:token=HSM', label: 'HSM', serial: '1234', model: 'SoftHSM v2', manufacturer: 'SoftHSM project' } },
    params: { keyType: 'aes-256', label: 'Payments KEK 2026', usages: ['wrap'], extractable: true, purpose: 'key-wrapping', tags: ['payments'], custodians: [], keyIdHex: 'aa'.repeat(16) },
    participants: people.map((p, i) => ({ person: p.person, name: p.name, roles: [...roles[i]!], credential: { kind: 'passphrase' as const, fingerprint: p.cred.fingerprint } })),
    previousBundle: null,
    amendment: 0,
  });
  const entries: Array<JournalEntry & { hash: string }> = [];
  let at = Date.parse('2026-12-05T10:00:00Z');
  const add = (actor: Actor, event: JournalEvent) => {
    const e: JournalEntry = { seq: entries.length + 1, at: new Date((at += 60_000)).toISOString(), actor, event, prev: entries.at(-1)?.hash ?? JOURNAL_GENESIS };
    entries.push({ ...e, hash: journalEntryHash(e) });
  };
  const admin: Actor = { person: 'p2', name: 'Cat Cole', role: 'administrator' };
  const witness: Actor = { person: 'p3', name: 'Wes Witness', role: 'witness' };
  add(admin, { type: 'run.planned', plan });
  for (const s of ['roll-call', 'login', 'check']) add(SYSTEM, { type: 'step.completed', step: s, outcome: { ok: true } });
  add(admin, { type: 'fingerprint.confirmed', step: 'read-fingerprint', fingerprint: plan.fingerprint, persons: plan.participants.map((p) => p.person) });
  add(SYSTEM, { type: 'step.completed', step: 'read-fingerprint', outcome: {} });
  add(SYSTEM, { type: 'challenge.issued', step: 'generate', counter: 1, nonce: 'ab'.repeat(16), expiresAt: '2026-12-05T11:00:00.000Z' });
  for (const i of [0, 1]) {
    const p = people[i]!;
    const m = approvalMessage({ purpose: 'approve', run: plan.run, fingerprint: plan.fingerprint, step: 'generate', counter: 1, nonce: 'ab'.repeat(16), person: p.person, credential: p.cred.fingerprint });
    add({ person: p.person, name: p.name, role: 'custodian' }, { type: 'approval.recorded', step: 'generate', person: p.person, role: 'custodian', credential: p.cred.fingerprint, counter: 1, nonce: 'ab'.repeat(16), fingerprint: plan.fingerprint, signature: signWithPassphrase(p.cred, `pass ${p.name} phrase`, m) });
  }
  add(SYSTEM, { type: 'step.started', step: 'generate', intent: { label: 'Payments KEK 2026' } });
  add(SYSTEM, { type: 'step.completed', step: 'generate', outcome: { checkValue: 'A1B2C3D4E5', method: 'aes-cmac' } });
  add(witness, { type: 'witness.ticked', step: 'generate', person: 'p3' });
  add(witness, { type: 'exception.raised', id: 'e0000000-0000-4000-8000-000000000001', step: 'show-check-value', expected: 'Check value read once', happened: 'The witness asked for it to be read twice' });
  add(admin, { type: 'exception.decided', id: 'e0000000-0000-4000-8000-000000000001', decision: 'Read twice; no effect on the key' });
  add(witness, { type: 'exception.acknowledged', id: 'e0000000-0000-4000-8000-000000000001' });
  for (const s of ['show-check-value', 'test-operation', 'archive', 'csr', 'sign-off']) add(SYSTEM, { type: 'step.completed', step: s, outcome: { ok: true } });
  add(SYSTEM, { type: 'run.completed', bundle: { hash: 'pending', name: 'pending' } });
  const state = foldJournal(entries, steps);
  const creds = new Map<string, TranscriptCredential>(people.map((p) => [p.cred.fingerprint, { fingerprint: p.cred.fingerprint, kind: 'passphrase', algorithm: 'ed25519', spki: p.cred.spki.toString('hex'), card: null, scrypt: p.cred.scrypt }]));
  return { transcript: buildTranscript({ state, definition: def, journal: entries, credentials: creds, record: { name: 'Test workstation', archiveId: 'a-1', auditKey: 'cd'.repeat(32) } }), journal: entries };
}

const credCache = new Map<string, CredentialRecord>();
function enrolPassphraseFast(name: string): CredentialRecord {
  let c = credCache.get(name);
  if (!c) credCache.set(name, (c = enrolPassphrase(`pass ${name} phrase`)));
  return c;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'custos-evidence-'));
  const s = auditSigner();
  signer = s;
  pem = s.pem;
  ({ transcript, journal } = syntheticTranscript(false));
  const out = await writeBundle(dir, { transcript, journal, subjects: ['key:Payments KEK 2026'], extras: { 'csr.pem': '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n' } }, signer);
  bundlePath = out.path;
  expect(out.hash).toMatch(/^[0-9a-f]{64}$/);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('evidence bundle', () => {
  it('verifies with Custos, pinned to the audit key', () => {
    const v = verifyBundle(bundlePath, { pin: signer.fingerprint });
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.pinned).toBe(true);
    expect(readdirSync(bundlePath).sort()).toEqual(['SHA256SUMS', 'SHA256SUMS.sig', 'audit-key.pem', 'csr.pem', 'journal.jsonl', 'manifest.json', 'record.pdf', 'transcript.json']);
    // Each journal line is the hashed entry itself: sha256sum of a line is the next line's "prev".
    const lines = readFileSync(join(bundlePath, 'journal.jsonl'), 'utf8').trimEnd().split('\n');
    const second = JSON.parse(lines[1]!) as { prev: string };
    expect(execFileSync('sha256sum', { input: lines[0] }).toString().slice(0, 64)).toBe(second.prev);
  });

  it('verifies with OpenSSL and sha256sum alone, as docs/FORMAT.md says', () => {
    const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', 'audit-key.pem', '-signature', 'SHA256SUMS.sig', 'SHA256SUMS'], { cwd: bundlePath }).toString();
    expect(out.trim()).toBe('Verified OK');
    expect(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: bundlePath }).toString()).toMatch(/transcript.json: OK/);
    // The pinned fingerprint is the SHA-256 of the key's DER.
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', 'audit-key.pem', '-outform', 'DER'], { cwd: bundlePath });
    expect(execFileSync('sha256sum', { input: der }).toString().slice(0, 64)).toBe(signer.fingerprint);
  });

  it('fails when any single byte anywhere is flipped, or a file is added or removed', () => {
    const files = readdirSync(bundlePath);
    let tried = 0;
    for (const name of files) {
      const bytes = readFileSync(join(bundlePath, name));
      // A spread of positions in each file, first and last byte included.
      const positions = new Set([0, bytes.length - 1, ...Array.from({ length: 6 }, (_, i) => Math.floor((bytes.length * (i + 1)) / 7))]);
      for (const pos of positions) {
        const copy = join(dir, `flip-${tried}`);
        cpSync(bundlePath, copy, { recursive: true });
        const b = Buffer.from(bytes);
        b[pos] = b[pos]! ^ 0x01;
        writeFileSync(join(copy, name), b);
        const v = verifyBundle(copy, { pin: signer.fingerprint });
        expect(v.ok, `${name} byte ${pos}`).toBe(false);
        rmSync(copy, { recursive: true });
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(40);
    const extra = join(dir, 'extra');
    cpSync(bundlePath, extra, { recursive: true });
    writeFileSync(join(extra, 'notes.txt'), 'added later');
    expect(verifyBundle(extra).ok).toBe(false);
    rmSync(join(extra, 'notes.txt'));
    rmSync(join(extra, 'csr.pem'));
    expect(verifyBundle(extra).ok).toBe(false);
  });

  it('refuses a bundle signed by another key than the pinned one, even if it is internally consistent', async () => {
    const other = join(dir, 'other');
    mkdirSync(other);
    const w = await writeBundle(other, { transcript, journal, subjects: ['key:x'] }, auditSigner());
    const v = verifyBundle(w.path, { pin: signer.fingerprint });
    expect(v.ok).toBe(false);
    expect(v.checks.find((c) => c.check.startsWith('audit key is the pinned'))!.ok).toBe(false);
    expect(verifyBundle(w.path, { publicKeyPem: pem }).ok).toBe(false);
  });

  it('rebuilds the PDF record from the transcript byte for byte', async () => {
    const fromFile = JSON.parse(readFileSync(join(bundlePath, 'transcript.json'), 'utf8')) as Transcript;
    expect(transcriptText(fromFile)).toBe(readFileSync(join(bundlePath, 'transcript.json'), 'utf8'));
    const again = await renderRecordPdf(fromFile);
    expect(again.equals(readFileSync(join(bundlePath, 'record.pdf')))).toBe(true);
  });

  it('prints the fingerprint words, the approvals, the exception sheet and the signature lines; practice is watermarked', async () => {
    const text = execFileSync('pdftotext', ['-layout', join(bundlePath, 'record.pdf'), '-']).toString();
    for (const w of transcript.fingerprint.words) expect(text).toContain(w);
    expect(text).toContain('Ann Archer');
    expect(text).toMatch(/Read twice; no effect on the key/);
    expect(text).toMatch(/signature/);
    expect(text).not.toMatch(/PRACTICE/);
    const practice = await renderRecordPdf(syntheticTranscript(true).transcript);
    const p = join(dir, 'practice.pdf');
    writeFileSync(p, practice);
    expect(execFileSync('pdftotext', [p, '-']).toString()).toMatch(/PRACTICE/);
    // For people to look at: test-results/ceremony/record-*.png
    const out = join(__dirname, '../../test-results/ceremony');
    mkdirSync(out, { recursive: true });
    execFileSync('pdftoppm', ['-png', '-r', '60', join(bundlePath, 'record.pdf'), join(out, 'record')]);
    execFileSync('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', p, join(out, 'record-practice')]);
    expect(existsSync(join(out, 'record-1.png'))).toBe(true);
  });
});
