// Saving across the air gap (issue #10 part 8): the main-side save service against real files, a
// real SoftHSM token and a real record. Public keys and CSRs are made in the token, bundles are
// copied only if they verify, every write is atomic (a killed save leaves nothing under the final
// name, and its temporary file is swept by the next save), nothing is overwritten unless the person
// said so, and read-only media, a pulled stick, a full disk and a name that exists each give a typed
// error that changes nothing. The contract refuses any artefact kind it does not name.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../electron/ipc/handle';
import { Activity } from '../../electron/services/activity/activity';
import { ArchiveDoor } from '../../electron/services/archive/door';
import { sweepLeftovers } from '../../electron/services/files/atomic';
import { folderPlaces } from '../../electron/services/files/places';
import { FileService } from '../../electron/services/files/service';
import { createHandlers, type Services } from '../../electron/services/index';
import { KeyService } from '../../electron/services/key-service';
import { channelOf } from '../../shared/contract';
import type { Artefact } from '../../shared/files';
import { CustosError } from '../../shared/result';
import { ROOT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { ceremonyFixture, runSetup, WS, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
let media: string;
let setup: { run: string; bundle: string };
let files: (dir: string | null) => FileService;
const mounts: string[] = [];
const isRoot = process.getuid?.() === 0;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CustosError) return e.appError.code;
    throw e;
  }
  return 'ok';
}

/** A tmpfs of `size` (root only): read-only media and a full stick without touching the real disk. */
function tmpfs(opts: string): string | null {
  if (!isRoot) return null;
  const d = mkdtempSync(join(tmpdir(), 'custos-media-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', d], { stdio: 'ignore' });
  } catch {
    rmSync(d, { recursive: true, force: true });
    return null;
  }
  mounts.push(d);
  return d;
}

const list = (d: string) => readdirSync(d).sort();
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

beforeAll(async () => {
  f = await ceremonyFixture('custos-save-');
  setup = await runSetup(f);
  await new KeyService(f.hsm).generate(f.session, { type: 'ec-p256', label: 'Signing key 2026', usages: ['sign'], extractable: false });
  media = join(f.fx.dir, 'media');
  mkdirSync(media);
  files = (dir) => {
    const activity = new Activity({ hsm: f.hsm, dataDir: f.dataDir, via: 'app', modules: () => [SOFTHSM_MODULE] });
    activity.signIn(f.session, 'Otto Operator');
    return new FileService({
      keys: new KeyService(f.hsm),
      withConfigured: (_m, work) => work(),
      archive: () => new ArchiveDoor(f.hsm, f.dataDir),
      ceremonies: () => f.service,
      activity,
      places: folderPlaces(dir),
    });
  };
}, 120_000);

afterAll(async () => {
  for (const m of mounts) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
      rmSync(m, { recursive: true, force: true });
    } catch {
      /* left for the OS */
    }
  }
  await f?.close();
});

const pubKey: Artefact = { kind: 'public-key', module: SOFTHSM_MODULE, token: WS.label, key: 'Signing key 2026', format: 'pem' };

describe('saving to a chosen folder', () => {
  it('a public key: main makes the PEM in the token, writes it 0644 under the key’s label, and audits who saved what where', async () => {
    const r = await files(media).save(pubKey);
    expect(r.saved).toBe(true);
    if (!r.saved) return;
    expect(r.path).toBe(join(media, 'Signing-key-2026.pub.pem'));
    const text = readFileSync(r.path, 'utf8');
    expect(text).toBe(`${(await new KeyService(f.hsm).exportPublic(f.session, 'Signing key 2026', 'pem')).trimEnd()}\n`);
    expect(text).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(mode(r.path)).toBe('644');
    expect(list(media)).toEqual(['Signing-key-2026.pub.pem']); // no temporary file left
    const trail = await new ArchiveDoor(f.hsm, f.dataDir).read(join(f.dataDir, 'archive.sqlite'), (a) => a.auditTrail({ action: 'file.save' }));
    const e = trail.entries[0]!;
    expect(e.actor).toMatch(/Otto Operator/);
    expect(e.details).toMatchObject({ kind: 'public-key', path: r.path, mode: '644', outcome: 'ok', person: expect.any(String), sha256: r.files[0]!.sha256 });
  });

  it('a name that exists is refused (FILE_EXISTS) and left as it was; replacing it needs the person to say so', async () => {
    const path = join(media, 'Signing-key-2026.pub.pem');
    writeFileSync(path, 'my notes\n');
    expect(await code(files(media).save(pubKey))).toBe('FILE_EXISTS');
    expect(readFileSync(path, 'utf8')).toBe('my notes\n');
    const r = await files(media).save(pubKey, { replace: true });
    expect(r.saved && readFileSync(path, 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    expect(list(media)).toEqual(['Signing-key-2026.pub.pem']);
  });

  it('a CSR signed in the token, as PEM', async () => {
    const r = await files(media).save({ kind: 'csr', module: SOFTHSM_MODULE, token: WS.label, key: 'Signing key 2026', subject: 'CN=Custos test' });
    expect(r.saved && r.path).toBe(join(media, 'Signing-key-2026.csr.pem'));
    const pem = readFileSync(join(media, 'Signing-key-2026.csr.pem'), 'utf8');
    expect(execFileSync('openssl', ['req', '-verify', '-noout'], { input: pem, stdio: ['pipe', 'pipe', 'pipe'] }).toString() + 'ok').toMatch(/ok/);
  });

  it('the evidence bundle: copied only as it verifies, 0600, and its SHA256SUMS checks with sha256sum -c; its PDF on its own', async () => {
    const r = await files(media).save({ kind: 'bundle', run: setup.run });
    expect(r.saved && r.folder).toBe(true);
    if (!r.saved) return;
    expect(list(r.path)).toEqual(list(setup.bundle));
    for (const n of list(r.path)) expect(mode(join(r.path, n))).toBe('600');
    expect(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: r.path }).toString()).toMatch(/record\.pdf: OK/);
    expect(await code(files(media).save({ kind: 'bundle', run: setup.run }))).toBe('FILE_EXISTS');
    const pdf = await files(media).save({ kind: 'bundle-pdf', run: setup.run });
    expect(pdf.saved && readFileSync(pdf.path).subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.saved && mode(pdf.path)).toBe('600');
  });

  it('a bundle changed on disk is not copied out (BUNDLE_INVALID)', async () => {
    const journal = join(setup.bundle, 'journal.jsonl');
    const good = readFileSync(journal);
    writeFileSync(journal, Buffer.concat([good, Buffer.from('\n')]));
    try {
      const out = mkdtempSync(join(f.fx.dir, 'out-'));
      expect(await code(files(out).save({ kind: 'bundle', run: setup.run }))).toBe('BUNDLE_INVALID');
      expect(list(out)).toEqual([]);
    } finally {
      writeFileSync(journal, good);
    }
  });

  it('the audit export: a folder, 0600, whose entries are the log’s', async () => {
    const out = mkdtempSync(join(f.fx.dir, 'audit-'));
    const r = await files(out).save({ kind: 'audit-export' });
    expect(r.saved).toBe(true);
    if (!r.saved) return;
    expect(list(out)).toHaveLength(1);
    expect(r.files.map((x) => x.name)).toContain('audit.jsonl');
    for (const n of list(r.path)) expect(mode(join(r.path, n))).toBe('600');
    expect(readFileSync(join(r.path, 'audit.jsonl'), 'utf8')).toMatch(/"file\.save"/);
  });
});

describe('a share-set record', () => {
  it('is saved from the backup run’s split outcome (0644), and loads back from the folder as the same record', async () => {
    // A real record, made by the CLI's split; the ceremony view is the one the backup ceremony shows.
    const secret = join(f.fx.dir, 'secret.hex');
    writeFileSync(secret, `${'cd'.repeat(32)}\n`);
    const made = join(f.fx.dir, 'made-record.json');
    execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.cjs'), '--data-dir', f.dataDir, '--operator', 'Otto Operator', '--json', 'shares', 'split', '--threshold', '2', '--shares', '3', '--holders', 'Ann Archer,Ben Baker,Cat Cole', '--secret-file', secret, '--record-out', made], { env: f.fx.env });
    const record = JSON.parse(readFileSync(made, 'utf8')) as { set: { identifier: number } };
    const run = '00000000-0000-4000-8000-00000000beef';
    const view = { run, steps: [{ kind: 'split', outcome: { scheme: 'slip39', shareSetRecord: record } }] };
    const out = mkdtempSync(join(f.fx.dir, 'records-'));
    const svc = (steps: unknown[], person: string | null = 'Otto Operator') => {
      const activity = new Activity({ hsm: f.hsm, dataDir: f.dataDir, via: 'cli', modules: () => [SOFTHSM_MODULE] });
      activity.actAs(person);
      return new FileService({
        keys: new KeyService(f.hsm),
        withConfigured: (_m, work) => work(),
        archive: () => new ArchiveDoor(f.hsm, f.dataDir),
        ceremonies: () => ({ view: async () => ({ ...view, steps }) }) as never,
        activity,
        places: folderPlaces(out),
      });
    };
    // A production record: a save names who does it, or it is refused (and nothing is written).
    expect(await code(svc(view.steps, null).save({ kind: 'share-set-record', run }))).toBe('OPERATOR_REQUIRED');
    expect(readdirSync(out)).toEqual([]);
    const refused = await new ArchiveDoor(f.hsm, f.dataDir).read(join(f.dataDir, 'archive.sqlite'), (a) => a.auditTrail({ action: 'file.save', limit: 1 }));
    expect(refused.entries[0]!.details).toMatchObject({ kind: 'share-set-record', outcome: 'refused', error: 'OPERATOR_REQUIRED' });
    const r = await svc(view.steps).save({ kind: 'share-set-record', run });
    expect(r.saved && r.path).toBe(join(out, `set${record.set.identifier}-record.json`));
    const path = join(out, `set${record.set.identifier}-record.json`);
    expect(mode(path)).toBe('644');
    expect(readFileSync(path, 'utf8')).toBe(readFileSync(made, 'utf8'));
    const back = await svc(view.steps).open('share-set-record', `set${record.set.identifier}-record.json`);
    expect(back.opened && back.text).toBe(readFileSync(made, 'utf8'));
    // Loaded as a sealed share, the record is refused by the envelope's own check (the app's envelope path).
    expect(await code(svc(view.steps).open('sealed-share', `set${record.set.identifier}-record.json`))).toBe('SEALED_SHARE_INVALID');
    // XOR components (or a run before its split) have no record to save.
    expect(await code(svc([{ kind: 'split', outcome: { scheme: 'xor' } }]).save({ kind: 'share-set-record', run }))).toBe('CEREMONY_STEP_BLOCKED');
  });
});

describe('media that cannot take the file', () => {
  it('read-only media: MEDIA_READ_ONLY, nothing written', async () => {
    const ro = tmpfs('ro,size=1m') ?? (() => {
      const d = mkdtempSync(join(f.fx.dir, 'ro-'));
      execFileSync('chmod', ['0555', d]);
      return d;
    })();
    expect(await code(files(ro).save(pubKey))).toBe('MEDIA_READ_ONLY');
    expect(list(ro)).toEqual([]);
  });

  it.skipIf(!isRoot)('a full stick: DISK_FULL, and no temporary file is left on it', async () => {
    const small = tmpfs('size=8k');
    expect(small).not.toBeNull();
    writeFileSync(join(small!, 'filler'), Buffer.alloc(4096));
    expect(await code(files(small).save({ kind: 'bundle', run: setup.run }))).toBe('DISK_FULL');
    expect(list(small!)).toEqual(['filler']);
  });

  it('a pulled stick, or no folder chosen: FOLDER_NOT_FOUND / SAVE_FOLDER_UNSET', async () => {
    expect(await code(files(join(f.fx.dir, 'gone')).save(pubKey))).toBe('FOLDER_NOT_FOUND');
    expect(await code(files(null).save(pubKey))).toBe('SAVE_FOLDER_UNSET');
  });
});

describe('what the window may ask', () => {
  const dispatch = () =>
    createDispatcher(createHandlers({ files: files(media) } as unknown as Services, 'preview'), { isTrustedSender: () => true });

  it('refuses an artefact kind the contract does not name (no share, PIN or key can be asked for), extra fields and paths as names', async () => {
    const d = dispatch();
    for (const artefact of [{ kind: 'share', set: 1 }, { kind: 'private-key', module: SOFTHSM_MODULE, token: WS.label, key: 'x' }, { ...pubKey, path: '/etc/passwd' }, { kind: 'public-key', module: 'relative.so', token: WS.label, key: 'k', format: 'pem' }]) {
      const r = await d(channelOf('files.save'), { artefact }, { senderUrl: '' });
      expect(r.ok === false && r.error.code).toBe('INVALID_INPUT');
    }
    expect((await d(channelOf('files.save'), { artefact: pubKey, bytes: 'AAAA' }, { senderUrl: '' })).ok).toBe(false);
    for (const name of ['../data/archive.sqlite', '/etc/passwd', '.hidden', 'a\u0000b']) {
      const r = await d(channelOf('files.open'), { kind: 'share-set-record', name }, { senderUrl: '' });
      expect(r.ok === false && r.error.code).toBe('INVALID_INPUT');
    }
  });

  it('loads a share-set record from the folder: bounded, checked by its schema', async () => {
    const d = dispatch();
    writeFileSync(join(media, 'big.json'), Buffer.alloc(70_000, 0x20));
    let r = await d(channelOf('files.open'), { kind: 'share-set-record', name: 'big.json' }, { senderUrl: '' });
    expect(r.ok === false && r.error.code).toBe('FILE_TOO_LARGE');
    writeFileSync(join(media, 'not-a-record.json'), '{"format":"something else"}');
    r = await d(channelOf('files.open'), { kind: 'share-set-record', name: 'not-a-record.json' }, { senderUrl: '' });
    expect(r.ok === false && r.error.code).toBe('RECORD_INVALID');
    r = await d(channelOf('files.open'), { kind: 'share-set-record', name: 'missing.json' }, { senderUrl: '' });
    expect(r.ok === false && r.error.code).toBe('FILE_NOT_FOUND');
    // A link on the media is not followed (it could point anywhere on the workstation).
    symlinkSync(join(f.dataDir, 'archive.sqlite'), join(media, 'link.json'));
    r = await d(channelOf('files.open'), { kind: 'share-set-record', name: 'link.json' }, { senderUrl: '' });
    expect(r.ok === false && r.error.code).toBe('FILE_NOT_FOUND');
    rmSync(join(media, 'link.json'));
    rmSync(join(media, 'big.json'));
    rmSync(join(media, 'not-a-record.json'));
  });
});

describe('a save killed half-way', () => {
  it('leaves nothing under the final name; the next save into the folder sweeps its temporary folder', async () => {
    const dir = mkdtempSync(join(f.fx.dir, 'kill-'));
    const child = join(f.fx.dir, 'save-child.cjs');
    await build({
      stdin: {
        contents: `
import { writeFolderAtomic, writeNew } from './electron/services/files/atomic';
import { join } from 'node:path';
void writeFolderAtomic(process.env.KILL_DIR!, 'bundle.evidence', async (tmp) => {
  writeNew(join(tmp, 'transcript.json'), Buffer.from('{}'), 0o600);
  process.stdout.write('HALF\\n');
  await new Promise(() => undefined);
}, { mode: 0o600 });
`,
        resolveDir: ROOT,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      outfile: child,
      logLevel: 'warning',
    });
    const p = spawn(process.execPath, [child], { env: { ...process.env, KILL_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => p.stdout.on('data', (b: Buffer) => b.toString().includes('HALF') && resolve()));
    const gone = new Promise((resolve) => p.on('exit', resolve));
    p.kill('SIGKILL');
    await gone;
    const left = list(dir);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^\.bundle\.evidence\.custos-tmp\./);
    expect(existsSync(join(dir, 'bundle.evidence'))).toBe(false);
    // A live process's temporary file is not touched; a dead one's is.
    const live = join(dir, `.x.custos-tmp.${process.pid}.x.0123abcd`);
    writeFileSync(live, '');
    expect(sweepLeftovers(dir)).toBe(1);
    expect(list(dir)).toEqual([`.x.custos-tmp.${process.pid}.x.0123abcd`]);
    rmSync(live);
    const r = await files(dir).save(pubKey);
    expect(r.saved && list(dir)).toEqual(['Signing-key-2026.pub.pem']);
  });
});
