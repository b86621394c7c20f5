// The audit key's identity (issue #11 part 2). The attack from the review: the audit public key
// stored in the archive is swapped for an attacker's P-256 key and the whole log is re-signed with
// it (plus an entry of the attacker's own, past what this workstation last saw). The file is then
// consistent with itself; only the fingerprint this workstation pinned, or the HSM, tell. Every
// command must see it without being given --public-key, and none may hand the attacker's key out.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnchorStore } from '../../electron/services/archive/anchors';
import { ArchiveService } from '../../electron/services/archive/service';
import { auditEntryText, checkpointText } from '../../shared/archive/canonical';
import type { ArchiveInfo, VerifyVerdict } from '../../shared/archive/types';
import type { AppError } from '../../shared/result';
import { DIST, SOFTHSM_MODULE } from '../helpers/softhsm';
import { archiveFixture, failure, rewriteLog, TOKEN, USER_PIN, type ArchiveFixture } from './archive-helpers';
import { ecdsaRawToDer } from '../../electron/services/formats/ecdsa';

const CLI = join(DIST, 'cli.cjs');
let f: ArchiveFixture;
let genuine: string; // the archive as Custos left it
let swapped: string; // a copy with the attacker's key and log
let pinFile: string;
let realFingerprint: string;
let attackerFingerprint: string;
let archiveId: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = f.fx.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const hsm = () => ['--module', SOFTHSM_MODULE, '--token', TOKEN, '--pin-file', pinFile];
const jsonError = (r: Run): AppError => (JSON.parse(r.stdout) as { error: AppError }).error;

/** The attack: the stored key swapped, every checkpoint re-signed, one forged entry appended and signed. */
async function swapAuditKey(path: string): Promise<void> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const sign = (m: Buffer) => nodeSign('sha256', m, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  attackerFingerprint = createHash('sha256').update(spki).digest('hex');
  const db = new Database(path);
  const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all() as Array<{ name: string; sql: string }>;
  for (const t of triggers) db.exec(`DROP TRIGGER "${t.name}"`);
  db.prepare('UPDATE workstation SET audit_spki = ?, audit_fingerprint = ?').run(spki, attackerFingerprint);
  await rewriteLog(db, archiveId, { spki, sign });
  const last = db.prepare('SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string };
  const at = '2031-01-01T00:00:00.000Z';
  const forged = auditEntryText({ archive: archiveId, seq: last.seq + 1, prev: last.hash, at, actor: 'eve', action: 'trust.add', object_type: null, object_id: null, key_id: null, object_mac: null, details: '{"name":"Eve"}' });
  const head = createHash('sha256').update(forged, 'utf8').digest('hex');
  db.prepare('INSERT INTO audit_entries (seq, entry, hash) VALUES (?, ?, ?)').run(last.seq + 1, forged, head);
  const raw = sign(Buffer.from(checkpointText({ archive: archiveId, seq: last.seq + 1, head, at, key: attackerFingerprint }), 'utf8'));
  db.prepare('INSERT INTO checkpoints (seq, head, at, key_fingerprint, signature_raw, signature_der) VALUES (?, ?, ?, ?, ?, ?)').run(last.seq + 1, head, at, attackerFingerprint, raw, ecdsaRawToDer(raw));
  for (const t of triggers) db.exec(t.sql);
  db.close();
}

beforeAll(async () => {
  f = await archiveFixture('custos-archive-audit-key-');
  pinFile = join(f.fx.dir, 'pin.txt');
  writeFileSync(pinFile, `${USER_PIN}\n`, { mode: 0o600 });
  // f.anchors is the CLI's data folder (CUSTOS_DATA_DIR): init pins the key there.
  const a = await f.init('Pinned', 'genuine.custos');
  archiveId = a.archiveId;
  realFingerprint = a.workstation.audit_fingerprint;
  const k = await f.generate('aes-256', 'pinned-key');
  await a.add([{ hsm: k, key: { label: 'pinned-key', purpose: 'data-encryption' }, activate: true }], 'alice');
  genuine = a.path;
  a.close();
  swapped = f.file('swapped.custos');
  copyFileSync(genuine, swapped);
  await swapAuditKey(swapped);
  // The CLI logs in itself.
  await f.hsm.call('logout', { path: SOFTHSM_MODULE, token: TOKEN });
});

afterAll(async () => {
  await f?.close();
});

describe('the audit key is pinned by the workstation (issue #11 part 2)', () => {
  it('init pins the fingerprint of the HSM audit key in the data folder', () => {
    expect(f.anchors.pinnedAuditKey(archiveId)).toBe(realFingerprint);
    expect(JSON.parse(readFileSync(f.anchors.file, 'utf8')).anchors[archiveId].auditKey).toBe(realFingerprint);
  });

  it('the swapped key and re-signed log: audit verify fails without --public-key, naming the pin', async () => {
    const r = await cli(['audit', 'verify', '--archive', swapped, '--json']);
    expect(r.code).toBe(1);
    const e = jsonError(r);
    expect(e.code).toBe('AUDIT_CHAIN_BROKEN');
    expect(e.message).toMatch(/the first bad entry is 1\. The audit key stored in the archive .* is not the one this workstation pinned/);
    // The genuine file still verifies, and says its key is the pinned one.
    const ok = await cli(['audit', 'verify', '--archive', genuine]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/pinned on this workstation: matches/);
  });

  it('archive verify fails too, without the HSM and with it (where the HSM disagrees as well)', async () => {
    let r = await cli(['archive', 'verify', '--archive', swapped, '--no-hsm', '--report', f.file('no-hsm.json'), '--json']);
    expect(r.code).toBe(1);
    const v = JSON.parse(readFileSync(f.file('no-hsm.json'), 'utf8')) as VerifyVerdict;
    expect(v.auditKey).toMatchObject({ stored: attackerFingerprint, pinned: realFingerprint, matchesPin: false, hsm: null });
    r = await cli(['archive', 'verify', '--archive', swapped, ...hsm(), '--report', f.file('hsm.json'), '--json']);
    expect(r.code).toBe(1);
    const w = JSON.parse(readFileSync(f.file('hsm.json'), 'utf8')) as VerifyVerdict;
    expect(w.auditKey).toMatchObject({ hsm: realFingerprint, matchesHsm: false, matchesPin: false });
    expect(w.problems.map((p) => p.message).join('\n')).toMatch(/The HSM's audit key .* is not the one stored in the archive/);
  });

  it('archive info says the key differs from the pin and from the HSM, and will not hand it out', async () => {
    let r = await cli(['archive', 'info', '--archive', swapped]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`audit key ${attackerFingerprint}; DIFFERS from the key this workstation pinned \\(${realFingerprint}\\)`));
    expect(r.stderr).toMatch(/^warning: audit key .* DIFFERS/m);
    r = await cli(['archive', 'info', '--archive', swapped, '--check-hsm', ...hsm(), '--json']);
    expect((JSON.parse(r.stdout) as ArchiveInfo).auditKey).toMatchObject({ matchesPin: false, hsm: realFingerprint, matchesHsm: false });
    const pem = f.file('handed-out.pem');
    r = await cli(['archive', 'info', '--archive', swapped, '--public-key-out', pem, '--json']);
    expect(r.code).toBe(1);
    expect(jsonError(r).code).toBe('ARCHIVE_TAMPERED');
    expect(existsSync(pem)).toBe(false);
    r = await cli(['archive', 'info', '--archive', genuine, '--check-hsm', ...hsm(), '--public-key-out', pem]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pinned on this workstation: matches; the HSM's audit key: matches/);
    expect(existsSync(pem)).toBe(true);
  });

  it('every other command refuses the file: search, audit export, import, a write', async () => {
    for (const args of [
      ['archive', 'search', '--archive', swapped, '--json'],
      ['audit', 'export', '--archive', swapped, '--out', f.file('export'), '--json'],
      ['archive', 'state', '--archive', swapped, 'pinned-key', '--action', 'compromise', ...hsm(), '--json'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(jsonError(r).code).toBe('ARCHIVE_TAMPERED');
    }
    const bundle = f.file('genuine.bundle');
    expect((await cli(['archive', 'export', '--archive', genuine, '--out', bundle, ...hsm()])).code).toBe(0);
    const r = await cli(['archive', 'import', '--archive', swapped, bundle, ...hsm(), '--json']);
    expect(jsonError(r).code).toBe('ARCHIVE_TAMPERED');
  });

  it('on a workstation with no pin for the archive, info says so and --public-key is the check', async () => {
    const elsewhere = { ...f.fx.env, CUSTOS_DATA_DIR: mkdtempSync(join(f.fx.dir, 'elsewhere-')) };
    let r = await cli(['archive', 'info', '--archive', swapped], elsewhere);
    expect(r.stdout).toMatch(/not pinned on this workstation: compare it with the fingerprint written down/);
    const g = ArchiveService.open(genuine, { readonly: true });
    writeFileSync(f.file('real.pem'), g.info().keys.audit.publicKeyPem);
    g.close();
    r = await cli(['audit', 'verify', '--archive', swapped, '--public-key', f.file('real.pem'), '--json'], elsewhere);
    expect(jsonError(r).code).toBe('AUDIT_CHAIN_BROKEN');
  });
});

describe('the pin of an archive whose anchor has none (written before pins existed)', () => {
  it('is set at the next write, once the HSM signature verified under the stored key', async () => {
    const dir = mkdtempSync(join(f.fx.dir, 'legacy-'));
    const anchors = new AnchorStore(dir);
    const path = f.file('legacy.custos');
    copyFileSync(genuine, path);
    writeFileSync(anchors.file, JSON.stringify({ version: 1, anchors: {} }));
    await f.hsm.call('login', { path: SOFTHSM_MODULE, token: TOKEN, role: 'user', pin: USER_PIN });
    try {
      const a = ArchiveService.open(path, { hsm: f.binding, anchors });
      try {
        await a.saveCustodian({ name: 'Ann', roles: ['custodian'] }, 'test');
      } finally {
        a.close();
      }
      expect(anchors.pinnedAuditKey(archiveId)).toBe(realFingerprint);

      // A swapped key is never pinned: the HSM's signature does not verify under it; nothing is written.
      const other = new AnchorStore(mkdtempSync(join(f.fx.dir, 'legacy-')));
      const before = new Database(swapped, { readonly: true }).prepare('SELECT max(seq) FROM audit_entries').pluck().get();
      const b = ArchiveService.open(swapped, { hsm: f.binding, anchors: other });
      try {
        const e = await failure(b.saveCustodian({ name: 'Mallory', roles: ['custodian'] }, 'eve'));
        expect(e.code).toBe('ARCHIVE_TAMPERED');
        expect(e.message).toMatch(/does not verify with the audit key stored in .*Nothing was written/);
        expect(b.internals.db.prepare('SELECT max(seq) FROM audit_entries').pluck().get()).toBe(before);
      } finally {
        b.close();
      }
      expect(other.pinnedAuditKey(archiveId)).toBeNull();
    } finally {
      await f.hsm.call('logout', { path: SOFTHSM_MODULE, token: TOKEN });
    }
  });
});
