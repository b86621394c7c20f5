import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type Preview } from '../../electron/preview/shell';
import { DIST, requireBuild, ROOT } from '../helpers/softhsm';
import { CeremoniesPage } from './pages/ceremonies-page';
import { TokensPage } from './pages/tokens-page';

// The demo token's path through the Ceremonies screen: the demo token comes with a practice record
// and nobody in it, so the screen leads to the enrolment ceremony; four people enrol with
// passphrases (the practice policy allows them, and one approval is enough), and every screen of
// the run says PRACTICE.

const SHOTS = join(ROOT, 'test-results/e2e');
const SO_PIN = 'so-pin-9753';
const USER_PIN = 'user-pin-8642';
const PEOPLE = [
  { name: 'Ada Admin', roles: ['Ceremony administrator'], phrase: 'ada: correct horse battery' },
  { name: 'Otto Operator', roles: ['Operator'], phrase: 'otto: staple paper clip' },
  { name: 'Ann Archer', roles: ['Custodian'], phrase: 'ann: quiet river stone' },
  { name: 'Wes Witness', roles: ['Witness'], phrase: 'wes: seven green lamps' },
];
const phraseOf = (name: string) => PEOPLE.find((p) => p.name === name)!.phrase;

describe('the demo token’s practice record, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let c: CeremoniesPage;
  const savedConf = process.env.SOFTHSM2_CONF;

  beforeAll(async () => {
    requireBuild();
    delete process.env.SOFTHSM2_CONF;
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-practice-'));
    app = await startPreview({ distDir: DIST, dataDir, headless: true, log: () => undefined });
    await app.page.setViewportSize({ width: 1280, height: 800 });
    const tokens = new TokensPage(app.page);
    c = new CeremoniesPage(app.page);
    await tokens.demoForm.waitFor();
    await tokens.createDemo(SO_PIN, USER_PIN);
    await tokens.token('Custos demo').click();
    await tokens.login(USER_PIN);
    await tokens.loggedInStatus.waitFor();
  }, 120_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && app) await app.page.screenshot({ path: join(SHOTS, 'ceremony-failure-practice.png'), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('leads to the enrolment, and enrols four people with passphrases in a run marked PRACTICE', async () => {
    expect(await c.navNote.textContent()).toBe('Start here: enrol the people');
    await c.nav.click();
    const lead = app.page.getByTestId('enrol-lead');
    await lead.waitFor();
    expect(await c.recordAbout.textContent()).toContain('PRACTICE record');
    await lead.getByRole('button', { name: 'Plan the enrolment…' }).click();
    const f = app.page.getByRole('form', { name: 'Plan the enrolment' });
    await f.waitFor();
    for (const [i, p] of PEOPLE.entries()) {
      const n = i + 1;
      await f.getByLabel(`Person ${n}: name`).fill(p.name);
      const roles = f.getByRole('group', { name: `Roles of person ${n}` });
      for (const box of await roles.getByRole('checkbox').all()) {
        const label = ((await box.evaluate((el) => el.parentElement?.textContent ?? '')) || '').trim();
        await box.setChecked(p.roles.includes(label));
      }
      await f.getByLabel(`Credential of person ${n}`).selectOption('passphrase');
    }
    // The form starts with six rows; the two left over are removed.
    await f.getByRole('button', { name: 'Remove person 6' }).click();
    await f.getByRole('button', { name: 'Remove person 5' }).click();
    await f.getByRole('button', { name: 'Plan the enrolment' }).click();

    await c.atStep('Roll call');
    expect(await c.runTitle.textContent()).toContain('PRACTICE');
    expect(await c.practiceNote.textContent()).toContain('PRACTICE run');
    await c.doStep();
    await c.atStep('Operator logs in to the workstation HSM');
    await c.continueLoggedIn();

    await c.atStep('Enrol the people');
    for (let i = 0; i < PEOPLE.length; i++) {
      await c.current.getByRole('form', { name: /: Enrol / }).waitFor();
      const name = await c.actingNow();
      expect(await c.current.getByRole('radio', { name: 'A passphrase (weaker: anyone with a copy of the record can try to guess it)' }).isChecked()).toBe(true);
      if (i === 0) {
        // Typed twice: a mismatch is caught here, before anything is sent.
        await c.current.getByLabel(`${name}’s new passphrase`).fill(phraseOf(name));
        await c.current.getByLabel('The passphrase again').fill(`${phraseOf(name)}!`);
        await c.current.getByRole('button', { name: `Enrol ${name}` }).click();
        await c.current.getByText('The two passphrases differ. Type it again.').waitFor();
        await app.page.screenshot({ path: join(SHOTS, 'ceremony-17-practice-enrol.png') });
      }
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
    await c.current.getByLabel('Wes Witness’s passphrase').fill('not the passphrase');
    await c.current.getByRole('button', { name: 'Sign off as Wes Witness' }).click();
    await c.alert.waitFor();
    expect(await c.alert.textContent()).toContain('The passphrase is not the one this person enrolled.');
    await c.current.getByLabel('Wes Witness’s passphrase').fill(phraseOf('Wes Witness'));
    await c.current.getByRole('button', { name: 'Sign off as Wes Witness' }).click();
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await app.page.evaluate(() => window.scrollTo(0, 0));
    await app.page.screenshot({ path: join(SHOTS, 'ceremony-18-practice-finished.png'), fullPage: true });

    await c.backToList();
    expect(await c.recordAbout.textContent()).toContain('4 people enrolled');
    expect(await app.page.getByTestId('enrol-lead').count()).toBe(0);
    expect(await c.finishedRuns.textContent()).toContain('PRACTICE');
    const page = await app.page.content();
    for (const p of PEOPLE) expect(page).not.toContain(p.phrase);
  }, 240_000);
});
