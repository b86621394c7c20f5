import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startPreview, type Preview } from '../../electron/preview/shell';
import { secretCheckValue } from '../../electron/services/kcv';
import { nodeSlip39Crypto } from '../../electron/services/shares/index';
import { createShareSetRecord, serializeShareSetRecord } from '../../shared/shares';
import { splitSecret } from '../../shared/slip39';
import { DIST, requireBuild, ROOT } from '../helpers/softhsm';
import { ArchivePage } from './pages/archive-page';
import { CeremoniesPage } from './pages/ceremonies-page';
import { FilesPage } from './pages/files-page';
import { KeysPage } from './pages/keys-page';
import { SharesPage } from './pages/shares-page';
import { TokensPage } from './pages/tokens-page';

// Files across the air gap, in the preview shell started with --save-dir: a public key, a CSR, an
// audit export and a ceremony's evidence bundle are saved into the chosen folder (the "stick") and
// checked there — the bundle with `sha256sum -c` — a name that exists is refused until the person
// says "replace", and a share-set record loads from the folder instead of being pasted.

const SHOTS = join(ROOT, 'test-results/e2e');
const SO_PIN = 'so-pin-1357';
const USER_PIN = 'user-pin-2468';
const KEY = 'Release signing 2026';
const PEOPLE = [
  { name: 'Ada Admin', roles: ['Ceremony administrator'], phrase: 'ada: amber lantern road' },
  { name: 'Otto Operator', roles: ['Operator'], phrase: 'otto: copper kettle song' },
  { name: 'Ann Archer', roles: ['Custodian'], phrase: 'ann: willow harbour mist' },
  { name: 'Wes Witness', roles: ['Witness'], phrase: 'wes: nine silver bells' },
];
const phraseOf = (name: string) => PEOPLE.find((p) => p.name === name)!.phrase;
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('save to file, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let stick: string;
  let files: FilesPage;
  const savedConf = process.env.SOFTHSM2_CONF;

  beforeAll(async () => {
    requireBuild();
    delete process.env.SOFTHSM2_CONF;
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-save-'));
    stick = join(dataDir, '..', `${dataDir.split('/').pop()}-stick`);
    mkdirSync(stick);
    app = await startPreview({ distDir: DIST, dataDir, saveDir: stick, headless: true, log: () => undefined });
    await app.page.setViewportSize({ width: 1280, height: 800 });
    files = new FilesPage(app.page);
    const tokens = new TokensPage(app.page);
    await tokens.demoForm.waitFor();
    await tokens.createDemo(SO_PIN, USER_PIN);
    await tokens.token('Custos demo').click();
    await tokens.login(USER_PIN);
    await tokens.loggedInStatus.waitFor();
  }, 120_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && app) await app.page.screenshot({ path: join(SHOTS, 'save-failure.png'), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    for (const d of [dataDir, stick]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('saves a public key (PEM, 0644) beside Copy, refuses to overwrite it until told to, and saves a CSR', async () => {
    const keys = new KeysPage(app.page);
    await keys.open();
    await keys.fillGenerate({ algorithm: 'EC P-256', extractable: false, label: KEY });
    await keys.confirmGenerate();
    await keys.inspectCreated();
    await keys.exportPublic('PEM');
    await keys.publicKeyPem.waitFor();
    await files.save('public-key', 'Save to file…');
    await files.saved('public-key').waitFor();
    const path = join(stick, 'Release-signing-2026.pub.pem');
    expect(await files.saved('public-key').textContent()).toContain(path);
    const shown = (await keys.publicKeyPem.textContent())!.trim();
    expect(readFileSync(path, 'utf8').trim()).toBe(shown);
    expect(mode(path)).toBe('644');
    await app.page.screenshot({ path: join(SHOTS, 'save-01-public-key.png') });

    writeFileSync(path, 'an older key\n');
    await files.save('public-key', 'Save to file…');
    await files.refused('public-key').waitFor();
    expect(await files.refused('public-key').getAttribute('data-code')).toBe('FILE_EXISTS');
    expect(readFileSync(path, 'utf8')).toBe('an older key\n');
    await app.page.screenshot({ path: join(SHOTS, 'save-02-exists.png') });
    await files.replace('public-key');
    await files.saved('public-key').waitFor();
    expect(readFileSync(path, 'utf8').trim()).toBe(shown);

    await keys.createCsr('CN=Release signing 2026,O=Example');
    await keys.csrPem.waitFor();
    await files.save('csr', 'Save to file…');
    await files.saved('csr').waitFor();
    const csr = readFileSync(join(stick, 'Release-signing-2026.csr.pem'), 'utf8');
    expect(execFileSync('openssl', ['req', '-verify', '-noout', '-subject'], { input: csr }).toString()).toMatch(/CN\s*=\s*Release signing 2026/);
    await app.page.screenshot({ path: join(SHOTS, 'save-03-csr.png') });
  }, 120_000);

  it('saves a ceremony’s evidence bundle as a folder that sha256sum -c verifies, and its PDF record', async () => {
    const c = new CeremoniesPage(app.page);
    await c.nav.click();
    const lead = app.page.getByTestId('enrol-lead');
    await lead.waitFor();
    await lead.getByRole('button', { name: 'Plan the enrolment…' }).click();
    const f = app.page.getByRole('form', { name: 'Plan the enrolment' });
    await f.waitFor();
    for (const [i, p] of PEOPLE.entries()) {
      const n = i + 1;
      await f.getByLabel(`Person ${n}: name`).fill(p.name);
      for (const box of await f.getByRole('group', { name: `Roles of person ${n}` }).getByRole('checkbox').all()) {
        const label = ((await box.evaluate((el) => el.parentElement?.textContent ?? '')) || '').trim();
        await box.setChecked(p.roles.includes(label));
      }
      await f.getByLabel(`Credential of person ${n}`).selectOption('passphrase');
    }
    await f.getByRole('button', { name: 'Remove person 6' }).click();
    await f.getByRole('button', { name: 'Remove person 5' }).click();
    await f.getByRole('button', { name: 'Plan the enrolment' }).click();
    await c.atStep('Roll call');
    await c.doStep();
    await c.atStep('Operator logs in to the workstation HSM');
    await c.continueLoggedIn();
    await c.atStep('Enrol the people');
    for (let i = 0; i < PEOPLE.length; i++) {
      await c.current.getByRole('form', { name: /: Enrol / }).waitFor();
      const name = await c.actingNow();
      await c.current.getByLabel(`${name}’s new passphrase`).fill(phraseOf(name));
      await c.current.getByLabel('The passphrase again').fill(phraseOf(name));
      await c.current.getByRole('button', { name: `Enrol ${name}` }).click();
      if (i < PEOPLE.length - 1) await c.banner.locator('.actor-who', { hasText: name }).waitFor({ state: 'detached' });
    }
    await c.turnOf('Ada Admin');
    await c.doStep();
    await c.turnOf('Wes Witness');
    await c.tick();
    await c.atStep('Read the ceremony fingerprint aloud');
    await c.confirmFingerprint();
    await c.current.getByRole('button', { name: 'Record the fingerprint as confirmed' }).click();
    await c.atStep('Approve the change');
    await c.turnOf('Ann Archer');
    await c.current.getByLabel('Ann Archer’s passphrase').fill(phraseOf('Ann Archer'));
    await c.current.getByRole('button', { name: 'Approve “Approve the change” as Ann Archer' }).click();
    await c.turnOf('Ada Admin');
    await c.doStep();
    await c.turnOf('Wes Witness');
    await c.tick();
    await c.atStep('Sign-off');
    await c.current.getByLabel('Wes Witness’s passphrase').fill(phraseOf('Wes Witness'));
    await c.current.getByRole('button', { name: 'Sign off as Wes Witness' }).click();
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });

    await files.save('bundle');
    await files.saved('bundle').waitFor({ timeout: 30_000 });
    const folder = readdirSync(stick).find((n) => n.endsWith('.evidence'))!;
    expect(folder).toMatch(/-practice\.evidence$/);
    const bundle = join(stick, folder);
    expect(readdirSync(bundle)).toEqual(expect.arrayContaining(['SHA256SUMS', 'SHA256SUMS.sig', 'manifest.json', 'record.pdf', 'transcript.json', 'audit-key.pem']));
    const sums = execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: bundle }).toString();
    expect(sums).toMatch(/record\.pdf: OK/);
    expect(sums).not.toMatch(/FAILED/);
    execFileSync('openssl', ['dgst', '-sha256', '-verify', 'audit-key.pem', '-signature', 'SHA256SUMS.sig', 'SHA256SUMS'], { cwd: bundle });
    for (const n of readdirSync(bundle)) expect(mode(join(bundle, n))).toBe('600');
    await files.save('bundle-pdf');
    await files.saved('bundle-pdf').waitFor();
    const pdf = readdirSync(stick).find((n) => n.endsWith('-record.pdf'))!;
    expect(readFileSync(join(stick, pdf)).subarray(0, 5).toString()).toBe('%PDF-');
    await app.page.getByTestId('bundle').scrollIntoViewIfNeeded();
    await app.page.screenshot({ path: join(SHOTS, 'save-04-bundle.png') });
    const page = await app.page.content();
    for (const p of PEOPLE) expect(page).not.toContain(p.phrase);
  }, 240_000);

  it('saves an audit export into the folder (0600), whose log holds each save', async () => {
    const a = new ArchivePage(app.page);
    await a.navAudit.click();
    await files.save('audit-export');
    await files.saved('audit-export').waitFor({ timeout: 30_000 });
    const dir = readdirSync(stick).find((n) => n.startsWith('audit-'))!;
    const log = readFileSync(join(stick, dir, 'audit.jsonl'), 'utf8');
    expect(log.match(/"file\.save"/g)?.length).toBeGreaterThanOrEqual(4);
    for (const n of readdirSync(join(stick, dir))) expect(mode(join(stick, dir, n))).toBe('600');
    expect(readdirSync(stick).filter((n) => n.startsWith('.'))).toEqual([]);
    await app.page.screenshot({ path: join(SHOTS, 'save-05-audit-export.png') });
  }, 60_000);

  it('loads a share-set record from the folder instead of pasting it', async () => {
    const secret = new Uint8Array(randomBytes(16));
    const mnemonics = await splitSecret({ secret, passphrase: new Uint8Array(), groupThreshold: 1, groups: [{ threshold: 2, count: 3 }], iterationExponent: 0 }, nodeSlip39Crypto);
    const record = await createShareSetRecord({ mnemonics, holders: ['Ann Archer', 'Ben Baker', 'Cat Cole'], createdAt: '2026-12-01T10:00:00Z', ceremonyId: 'KC-2026-042', label: 'Archive KEK backup', secretCheck: secretCheckValue(secret) });
    writeFileSync(join(stick, 'set-record.json'), serializeShareSetRecord(record));
    const shares = new SharesPage(app.page);
    await shares.open();
    await files.opener('share-set-record').getByRole('combobox').focus();
    await files.opener('share-set-record').getByRole('option', { name: 'set-record.json' }).waitFor({ state: 'attached' });
    await app.page.screenshot({ path: join(SHOTS, 'save-06-record-picker.png') });
    await files.load('share-set-record', 'set-record.json');
    await shares.recordSummary.waitFor();
    expect(await shares.recordSummary.textContent()).toContain(`Set ${record.set.identifier} — Archive KEK backup`);
    await app.page.evaluate(() => window.scrollTo(0, 0));
    await app.page.screenshot({ path: join(SHOTS, 'save-07-record-loaded.png') });
  }, 60_000);
});
