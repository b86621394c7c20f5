import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type Preview } from '../../electron/preview/shell';
import { DIST, requireBuild, ROOT } from '../helpers/softhsm';
import { ArchivePage } from './pages/archive-page';
import { TokensPage } from './pages/tokens-page';

// The Archive and Audit screens end to end, in the preview shell, against a SoftHSM2 demo token in
// a temporary data folder: the demo token's practice record, archive an extractable AES key (generated through
// the Keys API), search by label and by the old-data question, open the version, deactivate it
// with the confirmation, verify the audit log and export it.

const SHOTS = join(ROOT, 'test-results/e2e');
const SO_PIN = 'so-pin-8866';
const USER_PIN = 'user-pin-4711';
const DEK = 'Payments DEK';
const LOCKED = 'HSM-only KEK';

describe('archive and audit log, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let tokens: TokensPage;
  let archive: ArchivePage;
  let dekCheck = '';
  const savedConf = process.env.SOFTHSM2_CONF;
  const shot = async (name: string) => {
    await app.page.evaluate(() => window.scrollTo(0, 0));
    await app.page.screenshot({ path: join(SHOTS, `archive-${name}.png`), fullPage: true });
  };
  const focused = () => app.page.evaluate(() => document.activeElement?.textContent ?? '');

  beforeAll(async () => {
    requireBuild();
    delete process.env.SOFTHSM2_CONF; // the demo token lives in the data folder
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-archive-'));
    app = await startPreview({ distDir: DIST, dataDir, headless: true, log: () => undefined });
    await app.page.setViewportSize({ width: 1280, height: 800 });
    tokens = new TokensPage(app.page);
    archive = new ArchivePage(app.page);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('comes with the demo token as a practice record, and asks to log in for steps that change it', async () => {
    await tokens.demoForm.waitFor();
    await tokens.createDemo(SO_PIN, USER_PIN);
    await tokens.token('Custos demo').waitFor();
    await archive.open();
    await archive.about.waitFor({ timeout: 30_000 });
    expect(await archive.about.textContent()).toContain('“Practice workstation (demo token)”');
    expect(await archive.about.textContent()).toContain('0 keys, 0 versions');
    expect(existsSync(join(dataDir, 'archive.sqlite'))).toBe(true);
    await shot('01-practice-record');

    await app.page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Tokens', exact: true }).click();
    await tokens.heading.waitFor();
    await tokens.login(USER_PIN);
    await tokens.loggedInStatus.waitFor();
    await archive.open();
    await archive.about.waitFor();
    expect(await archive.about.textContent()).toContain('token logged in');
  });

  it('archives an extractable AES key; non-extractable keys and the archive’s own keys are offered disabled, with the reason', async () => {
    const made = await app.page.evaluate(
      async ({ dek, locked }) => {
        const list = await window.custos['tokens.list']({});
        if (!list.ok) throw new Error(list.error.message);
        const slot = list.value.slots.find((s) => s.token?.label === 'Custos demo')!;
        const ref = { module: slot.module, token: slot.token!.uri };
        const a = await window.custos['keys.generate']({ ...ref, type: 'aes-256', label: dek, usages: ['encrypt'], extractable: true });
        const b = await window.custos['keys.generate']({ ...ref, type: 'aes-256', label: locked, usages: ['wrap'], extractable: false });
        if (!a.ok || !b.ok) throw new Error('generate failed');
        return { cmac: a.value.checkValue?.cmac ?? '' };
      },
      { dek: DEK, locked: LOCKED },
    );
    dekCheck = made.cmac;
    expect(dekCheck).toMatch(/^[0-9a-f]{10}$/i);

    await archive.task('Archive a key from the token').click();
    await archive.keyChoice(DEK).waitFor();
    expect(await archive.keyChoice(DEK).isEnabled()).toBe(true);
    expect(await archive.keyChoice(LOCKED).isDisabled()).toBe(true);
    expect(await archive.keyChoiceBox(LOCKED).textContent()).toContain('It never leaves the token (not extractable), so it cannot be archived.');
    expect(await archive.keyChoiceBox('custos-archive-kek/').textContent()).toContain('one of the archive’s own keys');

    await archive.keyChoice(DEK).check();
    expect(await archive.addForm.getByLabel('Label in the archive').inputValue()).toBe(DEK);
    await archive.addForm.getByLabel('Purpose').selectOption('data-encryption');
    await archive.addForm.getByLabel('Tags').fill('payments, eu');
    await archive.addForm.getByLabel('In use since (optional, UTC)').fill('2024-01-15');
    await archive.button('Archive…').click();
    expect(await archive.addSentence.textContent()).toBe(
      `Archive the key “${DEK}” (AES-256) from token “Custos demo” as a new archived key, for data encryption. It becomes the active version, in use since 2024-01-15.`,
    );
    await shot('03-add-confirm');
    await archive.button('Archive the key').click();
    await archive.added.waitFor();
    const added = (await archive.added.textContent()) ?? '';
    expect(added).toContain(`Archived “${DEK}”, version 1 (Active).`);
    expect(added.replace(/ /g, '')).toContain(dekCheck.toUpperCase());
    expect(await archive.about.textContent()).toContain('1 key, 1 version');
  });

  it('finds the version by label, and answers the old-data question in words', async () => {
    await archive.task('Search the archive').click();
    await archive.searchLabel(DEK);
    await archive.resultLink(DEK, 1).waitFor();
    const row = (await archive.results.locator('tbody tr').first().textContent()) ?? '';
    expect(row).toContain('Active');
    expect(row).toContain('Data encryption');
    expect(row).toContain('AES-256');
    expect(row).toContain('2024-01-15');
    expect(row).toContain('2026-01-15'); // rotation due: 24 months (NIST SP 800-57 Table 1)

    await archive.searchLabel('Pay*');
    await archive.results.getByText('Search: label starts with “Pay”.').waitFor();
    expect(await archive.results.locator('tbody tr').count()).toBe(1);

    await archive.askOldData('2025-06-01', 'Data encryption');
    await archive.answer.waitFor();
    expect(await archive.answer.textContent()).toBe(
      `Version 1 of “${DEK}” was the active data encryption key on 2025-06-01 00:00 UTC: it is the key that can decrypt that data.`,
    );
    await shot('04-old-data-answer');

    await archive.askOldData('2023-06-01', 'Data encryption');
    await archive.answer.filter({ hasText: 'No archived version was active' }).waitFor();
    await archive.askOldData('2025-06-01', 'Data encryption');
    await archive.resultLink(DEK, 1).waitFor();
  });

  it('shows the version: state in words, dates, check value, material present — never the material', async () => {
    await archive.resultLink(DEK, 1).click();
    await archive.detail.waitFor();
    expect(await focused()).toContain(`“${DEK}”, version 1`);
    expect(await archive.versionState.textContent()).toContain('In use: it encrypts new data and decrypts old data.');
    expect((await archive.versionIdentity.textContent())?.replace(/ /g, '')).toContain(dekCheck.toUpperCase());
    const facts = (await archive.versionFacts.textContent()) ?? '';
    expect(facts).toContain('Activated2024-01-15 00:00 UTC');
    expect(facts).toContain('Rotation due2026-01-15 00:00 UTC');
    expect(facts).toContain('Stops decrypting old data2029-01-15 00:00 UTC');
    expect(facts).toContain('Wrapped material presentYes — 40 bytes wrapped');
    expect(facts).toContain('The material itself is never shown.');
    expect(await archive.history.locator('tbody tr').count()).toBe(1);
    await app.page.getByTestId('audit-table').first().waitFor();
    // Only the legal steps from "active" are offered.
    const steps = app.page.getByRole('group', { name: 'Lifecycle' }).getByRole('button');
    expect(await steps.allTextContents()).toEqual(['Suspend…', 'Deactivate…', 'Mark compromised…']);
    await shot('05-version-detail');
  });

  it('deactivates the version after a plain-language confirmation', async () => {
    await archive.button('Deactivate…').click();
    const sentence = `Deactivate version 1 of “${DEK}”. It will no longer encrypt new data but can still decrypt old data. It cannot be made active again.`;
    expect(await archive.stepSentence.textContent()).toBe(sentence);
    expect(await focused()).toBe(sentence);
    await app.page.getByLabel('Reason (optional, recorded in the audit log)').fill('replaced by the 2026 key');
    await shot('06-deactivate-confirm');
    await archive.button('Deactivate version 1').click();
    await archive.stepDone.waitFor();
    expect(await archive.stepDone.textContent()).toBe(`Done: version 1 of “${DEK}” is now deactivated.`);
    expect(await archive.versionState.textContent()).toContain('Deactivated');
    expect(await archive.versionState.textContent()).toContain('It no longer encrypts new data, but can still decrypt old data.');
    const history = (await archive.history.textContent()) ?? '';
    expect(history).toContain('Active → Deactivated');
    expect(history).toContain('replaced by the 2026 key');
    const steps = app.page.getByRole('group', { name: 'Lifecycle' }).getByRole('button');
    // The demo's practice record is a workstation record: shredding is the destruction ceremony's job.
    expect(await steps.allTextContents()).toEqual(['Mark compromised…']);
    expect(await app.page.getByText('Destroying this version (shredding its material) needs the custodians’ quorum').count()).toBe(1);
    await shot('07-deactivated');
    // The old-data question still finds it: deactivated versions protected that data.
    await archive.button('← Back to the results').click();
    await app.page.waitForFunction(() => document.activeElement?.textContent?.startsWith('Results'));
    await archive.askOldData('2025-06-01', 'Data encryption');
    await archive.answer.filter({ hasText: 'Version 1' }).waitFor();
  });

  it('verifies the audit log with a clear verdict, and exports it into the data folder', async () => {
    await archive.navAudit.click();
    await app.page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await archive.auditTable.waitFor();
    const first = (await archive.auditTable.locator('tbody tr').first().textContent()) ?? '';
    expect(first).toContain('Version deactivated');
    await archive.button('Verify the audit log').click();
    await archive.verdict.waitFor();
    const v = (await archive.verdict.textContent()) ?? '';
    expect(v).toContain('Intact');
    expect(v).toMatch(/All \d+ entries and \d+ signed checkpoints verify\./);
    await archive.button('Export the audit log').click();
    await archive.exported.waitFor();
    const ex = (await archive.exported.textContent()) ?? '';
    const dir = (await app.page.getByTestId('export-dir').textContent()) ?? '';
    expect(dir.startsWith(join(dataDir, 'exports', 'audit-'))).toBe(true);
    for (const f of ['audit.jsonl', 'checkpoints.jsonl', 'audit-public-key.pem']) {
      expect(ex).toContain(f);
      expect(existsSync(join(dir, f))).toBe(true);
    }
    await shot('08-audit');
  });

  it('searches without the HSM, and says which token to log in to for a lifecycle step', async () => {
    await app.page.evaluate(async () => {
      const list = await window.custos['tokens.list']({});
      if (!list.ok) return;
      const slot = list.value.slots.find((s) => s.token?.label === 'Custos demo')!;
      await window.custos['session.logout']({ module: slot.module, token: slot.token!.uri });
    });
    await archive.open();
    await archive.about.filter({ hasText: 'read-only' }).waitFor({ timeout: 10_000 });
    await archive.searchLabel(DEK);
    await archive.resultLink(DEK, 1).click();
    await archive.stepsLoginNeeded.waitFor();
    expect(await archive.stepsLoginNeeded.textContent()).toContain('log in to token “Custos demo” as user');
    expect(await archive.button('Mark compromised…').isDisabled()).toBe(true);
    await shot('09-read-only');
  });
});
