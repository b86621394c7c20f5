// Bundles between two workstations' archives (two archives, each with its own HSM keys, on one
// SoftHSM token): export, trust, import, re-import, updates from the owner, conflicts.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportBundle, importBundle, readBundle, trustWorkstation } from '../../electron/services/archive/bundle';
import type { ArchiveService } from '../../electron/services/archive/service';
import { archiveFixture, failure, type ArchiveFixture } from './archive-helpers';

let f: ArchiveFixture;
let A: ArchiveService;
let B: ArchiveService;
let n = 0;
const bundlePath = () => f.file(`bundle-${++n}.jsonl`);

beforeAll(async () => {
  f = await archiveFixture('custos-archive-bundle-');
  A = await f.init('Workstation A', 'a.custos');
  B = await f.init('Workstation B', 'b.custos');
  const k = [await f.generate('aes-256', 'b1'), await f.generate('aes-128', 'b2'), await f.generate('hmac-256', 'b3')];
  await A.saveCustodian({ id: 'cust-ann', name: 'Ann', roles: ['custodian'] }, 'admin');
  await A.add(
    [
      { hsm: k[0]!, key: { label: 'shared-dek', purpose: 'data-encryption', tags: ['exchange'], custodians: ['cust-ann'] }, activate: true },
      { hsm: k[1]!, key: { label: 'shared-kek', purpose: 'key-wrapping' } },
      { hsm: k[2]!, key: { label: 'a-only', purpose: 'authentication' } },
    ],
    'alice',
  );
  await A.add([{ hsm: await f.generate('aes-256', 'b1v2'), key: { label: 'shared-dek' }, activate: true }], 'alice');
  await A.saveShareSet({ keyId: A.version('shared-dek').key.keyId, scheme: 'slip39', threshold: 2, shareCount: 3, holders: ['Ann', 'Ben', 'Cy'], fingerprint: '0a0b' }, 'admin');
});

afterAll(async () => {
  A?.close();
  B?.close();
  await f?.close();
});

const pem = (a: ArchiveService) => a.info().keys.audit.publicKeyPem;

describe('archive bundles', () => {
  it('exports selected keys as a signed bundle whose manifest verifies and whose records hash as stated', async () => {
    const path = bundlePath();
    const r = await exportBundle(A, path, { labels: ['shared-dek', 'shared-kek'] }, 'alice');
    expect(r).toMatchObject({ keys: 2, versions: 3 });
    const text = readFileSync(path, 'utf8');
    expect(text).not.toMatch(/"a-only"/);
    const lines = text.split('\n').slice(0, -1);
    const manifest = JSON.parse(lines[0]!);
    expect(manifest).toMatchObject({ format: 'custos.archive-bundle', version: 1, archive: A.archiveId, records: lines.length - 2, signer: { fingerprint: A.workstation.audit_fingerprint } });
    expect(manifest.counts).toEqual({ custodian: 1, key: 2, 'share-set': 1, version: 3 });
    // Wrapped material stays wrapped; no field holds a key in clear.
    const version = lines.slice(1, -1).map((l) => JSON.parse(l)).find((x) => x.type === 'version');
    expect(version.fields.wrapped).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(version.fields.kek_check).toBe(A.workstation.kek_check);
    expect(A.auditTrail({ action: 'bundle.export' }).entries).toHaveLength(1);
  });

  it('is refused by a workstation that does not trust the signer; nothing is imported', async () => {
    const path = bundlePath();
    await exportBundle(A, path, { all: true }, 'alice');
    const before = B.info();
    const e = await failure(importBundle(B, path, {}, 'bob'));
    expect(e.code).toBe('BUNDLE_UNTRUSTED');
    expect(e.action).toMatch(/custos archive trust/);
    expect(B.info()).toEqual(before);
  });

  it('is imported after `trust`, with the source origin kept, MACed and audited here; re-importing changes nothing', async () => {
    const t = await trustWorkstation(B, pem(A), 'Workstation A', 'bob');
    expect(t).toMatchObject({ added: true, fingerprint: A.workstation.audit_fingerprint });
    expect((await trustWorkstation(B, pem(A), 'Workstation A', 'bob')).added).toBe(false);
    expect((await failure(trustWorkstation(B, pem(B), 'myself', 'bob'))).code).toBe('INVALID_INPUT');
    const path = bundlePath();
    await exportBundle(A, path, { labels: ['shared-dek', 'shared-kek'] }, 'alice');
    const r = await importBundle(B, path, {}, 'bob');
    expect(r).toMatchObject({ applied: true, inserted: 7, updated: 0, unchanged: 0, conflicts: [], bundleArchiveId: A.archiveId });
    const v = B.version('shared-dek');
    expect(v).toMatchObject({ originArchive: A.archiveId, kekCheck: A.workstation.kek_check, summary: { version: 2, state: 'active' } });
    expect(v.key.custodians).toEqual(['cust-ann']);
    // The history came along, and the import is in B's own log.
    expect(v.history.map((h) => h.action)).toEqual(['version.add (imported)', 'import.insert']);
    expect(B.version('shared-dek@1').history.map((h) => h.to)).toEqual(['active', 'deactivated', 'deactivated']);
    expect((await B.verify()).problems).toEqual([]);
    const again = await importBundle(B, path, {}, 'bob');
    expect(again).toMatchObject({ applied: false, inserted: 0, updated: 0, unchanged: 7 });
  });

  it("takes the owner's newer revision, and the version then cannot be unwrapped here without A's KEK", async () => {
    await A.transition('shared-kek', 'activate', { actor: 'alice' });
    const path = bundlePath();
    await exportBundle(A, path, { labels: ['shared-kek'] }, 'alice');
    const r = await importBundle(B, path, {}, 'bob');
    expect(r).toMatchObject({ applied: true, updated: 1, conflicts: [] });
    expect(B.version('shared-kek').summary.state).toBe('active');
    const e = await failure(B.restore('shared-kek', { label: 'x', usages: ['wrap'], onToken: false }, 'bob'));
    expect(e.code).toBe('WRAPPED_KEY_INVALID');
    expect(e.message).toMatch(/another archive's KEK/);
  });

  it('never overwrites newer data: conflicts stop the import unless --skip-conflicts', async () => {
    const old = bundlePath();
    await exportBundle(A, old, { labels: ['shared-kek'] }, 'alice');
    await A.transition('shared-kek', 'deactivate', { actor: 'alice' });
    // B's copy is now at the same revision as the old bundle: re-importing the old one is a no-op…
    expect(await importBundle(B, old, {}, 'bob')).toMatchObject({ unchanged: 2, conflicts: [] });
    // …B changes its copy locally (revision + 1), then A's newer bundle arrives with the same revision.
    await B.transition('shared-kek', 'suspend', { actor: 'bob' });
    const newer = bundlePath();
    await exportBundle(A, newer, { labels: ['shared-kek'] }, 'alice');
    const before = B.info().counts;
    const r = await importBundle(B, newer, {}, 'bob');
    expect(r.applied).toBe(false);
    expect(r.conflicts).toEqual([expect.objectContaining({ type: 'version', reason: expect.stringMatching(/as new or newer/) })]);
    expect(B.version('shared-kek').summary.state).toBe('suspended');
    expect(B.info().counts).toEqual(before);
    const dry = await importBundle(B, newer, { dryRun: true }, 'bob');
    expect(dry).toMatchObject({ applied: false, conflicts: [expect.anything()] });
  });

  it('reports a label clash and imports the rest with skipConflicts', async () => {
    await B.add([{ hsm: await f.generate('aes-128', 'b-local'), key: { label: 'a-only', purpose: 'authentication' } }], 'bob');
    await A.add([{ hsm: await f.generate('aes-256', 'b-fresh'), key: { label: 'fresh', purpose: 'data-encryption' } }], 'alice');
    const path = bundlePath();
    await exportBundle(A, path, { all: true }, 'alice');
    expect((await importBundle(B, path, {}, 'bob')).applied).toBe(false);
    const r = await importBundle(B, path, { skipConflicts: true }, 'bob');
    expect(r).toMatchObject({ applied: true, inserted: 2 });
    expect(B.version('fresh').originArchive).toBe(A.archiveId);
    expect(r.conflicts.map((c) => c.reason)).toEqual(expect.arrayContaining([expect.stringMatching(/already has the label "a-only"/), expect.stringMatching(/its key is not imported/)]));
    expect(B.search({ label: 'a-only' }).items[0]!.keyId).not.toBe(A.search({ label: 'a-only' }).items[0]!.keyId);
    expect((await B.verify()).problems).toEqual([]);
  });

  it('a bundle altered after signing is refused, whatever part was changed', async () => {
    const path = bundlePath();
    await exportBundle(A, path, { labels: ['shared-dek'] }, 'alice');
    const lines = readFileSync(path, 'utf8').split('\n');
    const variants = {
      record: lines.map((l, i) => (i === 2 ? l.replace(/"revision":(\d+)/, (_m, d) => `"revision":${Number(d) + 1}`) : l)),
      manifest: lines.map((l, i) => (i === 0 ? l.replace('"name":"Workstation A"', '"name":"Workstation X"') : l)),
      dropped: lines.filter((_l, i) => i !== 3),
      signature: lines.map((l, i) => (i === lines.length - 2 ? l.replace(/"raw":"(..)/, (_m, h) => `"raw":"${h === '00' ? '01' : '00'}`) : l)),
    };
    const before = B.info().counts;
    for (const [name, v] of Object.entries(variants)) {
      writeFileSync(path, v.join('\n'));
      const e = await failure(importBundle(B, path, {}, 'bob'));
      expect(e.code, name).toBe('BUNDLE_SIGNATURE_INVALID');
    }
    writeFileSync(path, lines.slice(0, 2).join('\n'));
    expect((await failure(readBundle(B, path))).code).toBe('BUNDLE_INVALID');
    writeFileSync(path, 'not a bundle\n{}\n');
    expect((await failure(readBundle(B, path))).code).toBe('BUNDLE_INVALID');
    expect(B.info().counts).toEqual(before);
  });
});
