// An auditor verifies an exported audit log with standard tools only, following docs/FORMAT.md
// ("Audit log and checkpoints"): sha256sum / Node's crypto for the hash chain, the openssl CLI for
// the checkpoint signatures and the key fingerprint. Nothing from the app's code is used to check.
// (The export itself is made by the app's CLI, as an auditor would receive it.)
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, ROOT } from '../helpers/softhsm';
import { archiveFixture, type ArchiveFixture } from './archive-helpers';

let f: ArchiveFixture;
let out: string;
let fingerprintAtInit: string;
let archiveId: string;

beforeAll(async () => {
  f = await archiveFixture('custos-archive-openssl-');
  const a = await f.init('Auditor test');
  archiveId = a.archiveId;
  fingerprintAtInit = a.info().keys.audit.fingerprint;
  const k1 = await f.generate('aes-256', 'o1');
  const k2 = await f.generate('hmac-256', 'o2');
  await a.add([{ hsm: k1, key: { label: 'Zoë’s key "A"', purpose: 'data-encryption', tags: ['x'] }, activate: true }], 'Zoë Müller');
  await a.add([{ hsm: k2, key: { label: 'mac\u2028key', purpose: 'authentication' } }], 'bob');
  await a.transition('mac\u2028key', 'activate', { actor: 'bob', reason: 'line\nbreak and "quotes"' });
  await a.transition('mac\u2028key', 'deactivate', { actor: 'carol' });
  a.close();
  out = join(f.fx.dir, 'export');
  execFileSync(process.execPath, [join(DIST, 'cli.cjs'), 'audit', 'export', '--archive', join(f.fx.dir, 'archive.custos'), '--out', out, '--json'], { env: f.fx.env });
});

afterAll(async () => {
  await f?.close();
});

/** Lines of a file, split on LF (0x0A) only, as FORMAT.md says. */
const lines = (file: string) => readFileSync(file).toString('utf8').split('\n').slice(0, -1);
const openssl = (args: string[]) => spawnSync('openssl', args, { encoding: 'utf8' });

describe('offline verification of an audit export with OpenSSL and sha256sum (docs/FORMAT.md)', () => {
  it('the documentation describes the steps this test follows', () => {
    const doc = readFileSync(join(ROOT, 'docs/FORMAT.md'), 'utf8');
    expect(doc).toMatch(/## Audit log and checkpoints/);
    expect(doc).toContain('openssl dgst -sha256 -verify audit-public-key.pem -signature');
    expect(doc).toContain('openssl pkey -pubin -in audit-public-key.pem -outform DER | sha256sum');
  });

  it('1. the public key is the one whose fingerprint was recorded when the archive was made', () => {
    const r = spawnSync('sh', ['-c', 'openssl pkey -pubin -in audit-public-key.pem -outform DER | sha256sum'], { cwd: out, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const fp = r.stdout.split(' ')[0];
    expect(fp).toBe(fingerprintAtInit);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).publicKeyFingerprint).toBe(fp);
  });

  it('2. every line hashes (SHA-256 of its bytes) to the "prev" of the next, starting from 64 zeros', () => {
    const entries = lines(join(out, 'audit.jsonl'));
    // init (and the meta table recorded beside it), two adds, two transitions: one entry each.
    expect(entries.length).toBe(8);
    let prev = '0'.repeat(64);
    entries.forEach((line, i) => {
      const e = JSON.parse(line) as { v: number; archive: string; seq: number; prev: string };
      expect(e).toMatchObject({ v: 1, archive: archiveId, seq: i + 1, prev });
      prev = createHash('sha256').update(Buffer.from(line, 'utf8')).digest('hex');
    });
    // The same with the sha256sum tool, for one line: printf '%s' LINE | sha256sum.
    const r = spawnSync('sh', ['-c', `sed -n 2p audit.jsonl | tr -d '\\n' | sha256sum`], { cwd: out, encoding: 'utf8' });
    expect(r.stdout.split(' ')[0]).toBe(createHash('sha256').update(entries[1]!, 'utf8').digest('hex'));
    expect(JSON.parse(entries[2]!).prev).toBe(r.stdout.split(' ')[0]);
  });

  it('3. every checkpoint message is as documented, names the hash of its entry, and its signature verifies with openssl', () => {
    const entries = lines(join(out, 'audit.jsonl'));
    const hashes = entries.map((l) => createHash('sha256').update(l, 'utf8').digest('hex'));
    const cps = lines(join(out, 'checkpoints.jsonl')).map((l) => JSON.parse(l) as { seq: number; head: string; at: string; key: string; message: string; signature_der: string; signature_raw: string });
    expect(cps.length).toBeGreaterThanOrEqual(4);
    for (const c of cps) {
      const expected = `{"v":1,"type":"custos.audit.checkpoint","archive":"${archiveId}","seq":${c.seq},"head":"${c.head}","at":"${c.at}","key":"${c.key}"}`;
      expect(c.message).toBe(expected);
      expect(c.head).toBe(hashes[c.seq - 1]);
      expect(c.key).toBe(fingerprintAtInit);
      writeFileSync(join(out, 'msg.txt'), c.message);
      writeFileSync(join(out, 'sig.der'), Buffer.from(c.signature_der, 'base64'));
      const r = openssl(['dgst', '-sha256', '-verify', join(out, 'audit-public-key.pem'), '-signature', join(out, 'sig.der'), join(out, 'msg.txt')]);
      expect(r.stdout.trim(), r.stderr).toBe('Verified OK');
      expect(r.status).toBe(0);
    }
    // 4. the last checkpoint covers every line: nothing was cut off or appended.
    expect(cps[cps.length - 1]!.seq).toBe(entries.length);
  });

  it('the same procedure catches an edited line and a forged signature', () => {
    const entries = lines(join(out, 'audit.jsonl'));
    const at = entries.findIndex((l) => l.includes('"actor":"bob"'));
    const edited = entries.map((l, i) => (i === at ? l.replace('"actor":"bob"', '"actor":"eve"') : l));
    expect(edited[at]).not.toBe(entries[at]);
    const h = (l: string) => createHash('sha256').update(l, 'utf8').digest('hex');
    // The chain breaks right after the edited line.
    expect(JSON.parse(edited[at + 1]!).prev).not.toBe(h(edited[at]!));
    const c = JSON.parse(lines(join(out, 'checkpoints.jsonl'))[1]!) as { message: string; signature_der: string };
    writeFileSync(join(out, 'msg.txt'), c.message.replace(/"seq":\d+/, '"seq":1'));
    writeFileSync(join(out, 'sig.der'), Buffer.from(c.signature_der, 'base64'));
    const r = openssl(['dgst', '-sha256', '-verify', join(out, 'audit-public-key.pem'), '-signature', join(out, 'sig.der'), join(out, 'msg.txt')]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/Verification failure/);
  });
});
