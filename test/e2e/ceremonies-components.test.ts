import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type Preview } from '../../electron/preview/shell';
import { DIST, requireBuild, ROOT } from '../helpers/softhsm';
import { CeremoniesPage } from './pages/ceremonies-page';
import { TokensPage } from './pages/tokens-page';

// Creating a key as XOR components in the preview shell, on the demo token's practice record: five
// people enrol with passphrases, then the ceremony runs through the window — the holders' sheets
// saved by main into the shell's save folder, one holder at a time, each read back (pdftotext) for
// its check value, a wrong check value refused in the verification round, the envelope serials
// recorded — and ends with a bundle; no component is ever in the page.

const SHOTS = join(ROOT, 'test-results/e2e');
const PEOPLE = [
  { name: 'Ada Admin', roles: ['Ceremony administrator'], phrase: 'ada: correct horse battery' },
  { name: 'Otto Operator', roles: ['Operator'], phrase: 'otto: staple paper clip' },
  { name: 'Ann Archer', roles: ['Custodian'], phrase: 'ann: quiet river stone' },
  { name: 'Ben Baker', roles: ['Custodian'], phrase: 'ben: blue kettle song' },
  { name: 'Wes Witness', roles: ['Witness'], phrase: 'wes: seven green lamps' },
];
const phraseOf = (name: string) => PEOPLE.find((p) => p.name === name)!.phrase;

describe('creating a key as XOR components, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let stick: string;
  let c: CeremoniesPage;
  const savedConf = process.env.SOFTHSM2_CONF;

  beforeAll(async () => {
    requireBuild();
    delete process.env.SOFTHSM2_CONF;
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-components-'));
    stick = mkdtempSync(join(tmpdir(), 'custos-e2e-stick-'));
    app = await startPreview({ distDir: DIST, dataDir, saveDir: stick, headless: true, log: () => undefined });
    await app.page.setViewportSize({ width: 1280, height: 900 });
    const tokens = new TokensPage(app.page);
    c = new CeremoniesPage(app.page);
    await tokens.demoForm.waitFor();
    await tokens.createDemo('so-pin-9753', 'user-pin-8642');
    await tokens.token('Custos demo').click();
    await tokens.login('user-pin-8642');
    await tokens.loggedInStatus.waitFor();
  }, 120_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && app) await app.page.screenshot({ path: join(SHOTS, 'ceremony-failure-components.png'), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    for (const d of [dataDir, stick]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const approveAs = async (name: string, step: string) => {
    await c.turnOf(name);
    await c.current.getByLabel(`${name}’s passphrase`).fill(phraseOf(name));
    await c.current.getByRole('button', { name: `${step === 'Sign-off' ? 'Sign off' : `Approve “${step}”`} as ${name}` }).click();
  };

  it('enrols five people, then makes the components, saves each holder’s sheet alone, checks them and records the envelopes', async () => {
    await c.nav.click();
    const lead = app.page.getByTestId('enrol-lead');
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
    await approveAs('Ann Archer', 'Approve the change');
    await c.turnOf('Ada Admin');
    await c.doStep();
    await c.turnOf('Wes Witness');
    await c.tick();
    await approveAs('Wes Witness', 'Sign-off');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await c.backToList();

    // The component creation.
    await c.start('Create a key as XOR components').click();
    const plan = app.page.getByRole('form', { name: 'Plan the creation of a key as components' });
    await plan.waitFor();
    await plan.getByLabel('Label of the new key').fill('Terminal ZMK 2026');
    await plan.getByLabel('Key type').selectOption({ label: 'AES-128' });
    await plan.getByRole('button', { name: 'Add Ann Archer as component holder' }).click();
    await plan.getByRole('button', { name: 'Add Ben Baker as component holder' }).click();
    await app.page.screenshot({ path: join(SHOTS, 'ceremony-components-1-plan.png'), fullPage: true });
    await plan.getByRole('button', { name: 'Plan the creation of the key' }).click();
    await c.atStep('Roll call');
    // The others prove presence in the order the screen asks (the planner may be present already).
    const prove = c.current.getByRole('button', { name: /^Prove .* is present$/ });
    await prove.waitFor();
    for (let guard = 0; guard < 12 && (await prove.count()) > 0; guard++) {
      const name = await c.actingNow();
      await c.current.getByLabel(`${name}’s passphrase`).fill(phraseOf(name));
      await c.current.getByRole('button', { name: `Prove ${name} is present` }).click();
      await c.banner.locator('.actor-who', { hasText: name }).waitFor({ state: 'detached', timeout: 5_000 }).catch(() => undefined);
      await app.page.waitForTimeout(500);
    }
    await c.turnOf('Ada Admin');
    await c.doStep();
    await c.atStep('Operator logs in to the workstation HSM');
    await c.continueLoggedIn();
    await c.atStep('Checks before any change');
    await c.doStep();
    await c.atStep('Read the ceremony fingerprint aloud');
    await c.confirmFingerprint();
    await c.current.getByRole('button', { name: 'Record the fingerprint as confirmed' }).click();
    await approveAs('Ann Archer', 'Make the components and form the key');
    await c.turnOf('Otto Operator');
    await c.doStep();
    await c.turnOf('Wes Witness');
    // What the screen shows the witness: the key's and each component's check value.
    const onScreen = await c.current.innerText();
    await c.tick();

    await c.atStep('Print each holder’s component sheet');
    const kcvs: string[] = [];
    for (const [i, name] of ['Ann Archer', 'Ben Baker'].entries()) {
      await c.turnOf(name);
      await c.current.getByRole('button', { name: `Save ${name}’s sheet (PDF)…` }).click();
      await c.current.getByTestId('saved').waitFor();
      if (i === 0) await app.page.screenshot({ path: join(SHOTS, 'ceremony-components-2-sheet.png'), fullPage: true });
      const file = join(stick, `component-${i + 1}-of-2-${name.toLowerCase().replace(' ', '-')}.pdf`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
      expect(text).toContain(name);
      kcvs.push(/Component check value\s+([0-9A-F ]+)/.exec(text)![1]!.trim());
      // The sheet writes it as the screen does (groups of five), so the holder compares like with like.
      expect(kcvs[i]).toMatch(/^[0-9A-F]{5} [0-9A-F]{5}$/);
      expect(onScreen).toContain(`${i + 1}. ${name}: ${kcvs[i]}`);
      const keyKcv = /Key check value\s+([0-9A-F]{5} [0-9A-F]{5})/.exec(text)![1]!;
      expect(onScreen).toContain(keyKcv);
      rmSync(file);
      await c.current.getByRole('button', { name: `${name} has the printed sheet` }).click();
    }

    await c.atStep('Check each sheet and seal it');
    await c.turnOf('Ann Archer');
    await c.current.getByLabel(/Component check value printed on Ann Archer’s sheet/).fill(kcvs[1]!);
    await c.current.getByLabel(/Serial number of the tamper-evident envelope/).fill('TE-0001');
    await c.current.getByRole('button', { name: 'Record Ann Archer’s sealed envelope' }).click();
    await c.alert.waitFor();
    expect(await c.alert.textContent()).toContain('component 2 (Ben Baker’s)');
    await app.page.screenshot({ path: join(SHOTS, 'ceremony-components-3-refused.png'), fullPage: true });
    await c.current.getByLabel(/Component check value printed on Ann Archer’s sheet/).fill(kcvs[0]!);
    await c.current.getByRole('button', { name: 'Record Ann Archer’s sealed envelope' }).click();
    await c.turnOf('Ben Baker');
    await c.current.getByLabel(/Component check value printed on Ben Baker’s sheet/).fill(kcvs[1]!);
    await c.current.getByLabel(/Serial number of the tamper-evident envelope/).fill('TE-0002');
    await c.current.getByRole('button', { name: 'Record Ben Baker’s sealed envelope' }).click();
    await c.turnOf('Wes Witness');
    await c.tick();
    await c.atStep('Archive the key');
    await c.doStep();
    await approveAs('Wes Witness', 'Sign-off');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await app.page.evaluate(() => window.scrollTo(0, 0));
    await app.page.screenshot({ path: join(SHOTS, 'ceremony-components-4-finished.png'), fullPage: true });
    // The record names each sealed envelope, for the ceremony that forms the key to compare.
    expect(await c.finished.textContent()).toContain('1. Ann Archer: TE-0001 · 2. Ben Baker: TE-0002');
    expect(readdirSync(stick)).toEqual([]);
  }, 300_000);
});
