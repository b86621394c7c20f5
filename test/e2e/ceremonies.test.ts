import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type Preview } from '../../electron/preview/shell';
import { demoEnvironment, prepareDemoFiles } from '../../electron/services/demo';
import { DIST, requireBuild, ROOT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { expectNoSecrets } from './secret-scan';
import { CeremoniesPage } from './pages/ceremonies-page';
import { TokensPage } from './pages/tokens-page';

// The three ceremonies of issue #9 through the Ceremonies screen, in the preview shell: a SoftHSM2
// token as the workstation HSM and one SoftHSM2 token per person as their card, each with its own
// PIN. They are made in the data folder's SoftHSM2 folder (where the demo token lives) before the
// app starts, so its HSM host finds them at its first C_Initialize (SoftHSM shows tokens made by
// another process only then); the SoftHSM2 module is then added on the Tokens screen. (The demo
// token itself is not used: it comes with a practice record, and this test sets a record up.)
// Set-up enrols six people with their cards; key generation runs under two custodians' approvals
// (partly keyboard-only); a SLIP-39 2-of-3 backup hands each share to its holder alone, refuses a
// share typed by the wrong holder (naming whose it is), and commits under the SO PIN. Each ends
// with an evidence bundle that verifies.

const SHOTS = join(ROOT, 'test-results/e2e');
const WORKSTATION = 'Workstation HSM';
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
    // The workstation token and the cards: SoftHSM2 tokens in the data folder's SoftHSM2 folder,
    // made before the HSM host's first C_Initialize.
    const demo = demoEnvironment(dataDir);
    prepareDemoFiles(demo);
    const initToken = (label: string, so: string, pin: string) =>
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', so, '--pin', pin], { env: { ...process.env, SOFTHSM2_CONF: demo.confFile }, stdio: 'ignore' });
    initToken(WORKSTATION, SO_PIN, USER_PIN);
    for (const p of PEOPLE) initToken(p.card, '12345678', p.pin);
    app = await startPreview({ distDir: DIST, dataDir, headless: true, log: () => undefined });
    await app.page.setViewportSize({ width: 1280, height: 800 });
    tokens = new TokensPage(app.page);
    c = new CeremoniesPage(app.page);
    await tokens.demoForm.waitFor();
    await app.page.getByLabel('Module path').fill(SOFTHSM_MODULE);
    await app.page.getByRole('button', { name: 'Add module' }).click();
    await tokens.token(WORKSTATION).waitFor();
  }, 120_000);

  // When a step fails, the screen at that moment says why.
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && app) await app.page.screenshot({ path: join(SHOTS, `ceremony-failure-${ctx.task.name.split(' ').slice(0, 3).join('-')}.png`), fullPage: true }).catch(() => undefined);
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
    await tokens.token(WORKSTATION).click();
    await tokens.login(USER_PIN);
    await tokens.loggedInStatus.waitFor();
    await c.nav.click();
    await c.landing.getByText(`“${WORKSTATION}” is logged in.`).waitFor();
  });

  it('runs the workstation set-up: six people enrolled with their own cards, the policy approved, signed off', async () => {
    await c.button('Plan the workstation set-up…').click();
    await c.setupForm.waitFor();
    expect(await app.page.getByTestId('policy-words').textContent()).toContain('Key generation: 2 custodian approvals, and a witness signs off.');
    await c.planSetup({ recordName: RECORD, token: WORKSTATION, practice: false, people: PEOPLE.map((p) => ({ name: p.name, roles: p.roles })), before: () => shot('01b-setup-form') });
    await c.atStep('Roll call');
    expect(await c.stepOf.textContent()).toContain('Step 1 of 7');
    expect(await c.banner.textContent()).toContain('Ada Admin (Ceremony administrator) — read each name and role aloud; when everyone has answered “present”, record the roll call');
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
    await c.current.getByRole('button', { name: 'Record the fingerprint as confirmed' }).waitFor();
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

  it('runs a key generation under two custodians’ card approvals — its first part by keyboard alone — with check value, test, archive and sign-off', async () => {
    await c.backToList();
    await c.start('Key generation').click();
    await c.keygenForm.waitFor();
    await view('06-keygen-form');
    await c.planKeygen({ type: 'AES-256', label: KEY, usages: ['Encrypt and decrypt data'], extractable: true, purpose: 'Data encryption', tags: 'payments, eu', responsible: ['Ann Archer'] });
    await c.atStep('Roll call');

    // From here to the approvals, the keyboard only: Tab, typing and Enter.
    const k = app.page.keyboard;
    await c.shiftTabTo('Skip to the current step');
    await k.press('Enter');
    expect(await c.focusedName()).toContain('Roll call');
    // In the order the screen asks for them, one after the other.
    for (let i = 0; i < PEOPLE.length; i++) {
      await c.current.getByRole('form', { name: /is present$/ }).waitFor();
      const name = await c.actingNow();
      expect(await c.focusedName()).toContain('Roll call');
      if (i === 0) await view('07-keygen-roll-call');
      await c.tabTo(`${name}’s card PIN`);
      await k.type(person(name).pin);
      await k.press('Enter');
      if (i < PEOPLE.length - 1) await c.banner.locator('.actor-who', { hasText: name }).waitFor({ state: 'detached' });
    }
    await c.turnOf('Ada Admin');
    await c.tabTo('Everyone is present: record the roll call');
    await k.press('Enter');
    await c.atStep('Operator logs in to the workstation HSM');
    await c.tabTo('The workstation HSM is logged in: continue');
    await k.press('Enter');
    await c.atStep('Checks before any change');
    await c.tabTo('Run the checks');
    await k.press('Enter');
    await c.atStep('Read the ceremony fingerprint aloud');
    await c.tabTo('Everyone has read the words and confirmed them');
    await k.press('Enter');
    await c.current.getByRole('button', { name: 'Record the fingerprint as confirmed' }).waitFor();
    await c.tabTo('Record the fingerprint as confirmed');
    await k.press('Enter');
    await c.atStep('Generate the key inside the HSM');
    for (const name of ['Ann Archer', 'Ben Baker']) {
      await c.turnOf(name);
      expect(await c.cardSelect(name).inputValue()).toContain('Card%20' + name.split(' ')[0]);
      if (name === 'Ann Archer') await view('08-keygen-approve');
      await c.tabTo(`${name}’s card PIN`);
      await k.type(person(name).pin);
      await k.press('Enter');
    }

    await c.turnOf('Otto Operator');
    expect(await c.needs.count()).toBe(0);
    await c.doStep(); // generate
    await c.turnOf('Wes Witness');
    expect(await c.facts.textContent()).toMatch(/Check value \(X9\.24-1 CMAC\)[0-9A-F]{5} [0-9A-F]{5}/);
    await c.tick();
    await c.atStep('Read the check value aloud');
    await c.turnOf('Ada Admin');
    const check = (await c.facts.locator('.readout').first().textContent()) ?? '';
    expect(check).toMatch(/^[0-9A-F]{5} [0-9A-F]{5}$/);
    await view('09-keygen-check-value');
    await c.doStep();
    await c.turnOf('Wes Witness');
    await c.tick();
    await c.atStep('Test the key');
    await c.doStep();
    await c.turnOf('Wes Witness');
    expect(await c.facts.textContent()).toContain('passed');
    await c.tick();
    await c.atStep('Archive the key');
    await c.doStep();
    await c.turnOf('Wes Witness');
    expect(await c.facts.textContent()).toContain('version 1');
    await c.tick();
    await c.atStep('Make the certificate signing request');
    await c.doStep(); // skipped for AES
    await c.atStep('Sign-off');

    // An exception: the witness raises it, the administrator decides, the witness acknowledges;
    // until then it is open, in view, and the sign-off waits for it.
    await c.raiseException('Wes Witness (Witness)', `The printed script gives the check value ${check}.`, 'The printed script had the last group as F036D; corrected by hand.');
    await c.exception(1).waitFor();
    expect(await c.exceptions.locator('h2').textContent()).toContain('(1, 1 open)');
    expect(await c.exception(1).textContent()).toContain('open: the administrator decides');
    await c.decide(1, 'The script is corrected and initialled; the value on screen stands.');
    await c.exceptions.getByRole('button', { name: 'Wes Witness: acknowledge the decision' }).waitFor();
    await shot('09b-keygen-exception');
    await c.acknowledge('Wes Witness');
    await c.exception(1).getByText('closed').waitFor();
    expect(await c.exceptions.locator('h2').textContent()).not.toContain('open');

    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    expect(await c.finished.textContent()).toContain(check);
    await c.verifyEvidence();
    await c.verdict.waitFor();
    expect(await c.verdict.textContent()).toContain('The evidence bundle verifies');
    await shot('10-keygen-finished');
  }, 240_000);

  it('backs up the archive keys as SLIP-39 2-of-3: one holder at a time, a share typed by the wrong holder refused and named, committed under the SO PIN', async () => {
    await c.backToList();
    await c.start('Split-knowledge backup').click();
    await c.backupForm.waitFor();
    await c.backupForm.getByRole('checkbox', { name: /^Archive KEK/ }).waitFor();
    await c.planBackup({ targets: ['Archive KEK', 'Archive MAC key'], scheme: 'SLIP-39', threshold: 2, holders: ['Ann Archer', 'Ben Baker', 'Cat Cole'], before: () => shot('10b-backup-form') });
    await c.atStep('Roll call');
    for (let i = 0; i < PEOPLE.length; i++) {
      await c.current.getByRole('form', { name: /is present$/ }).waitFor();
      const name = await c.actingNow();
      await c.withCard(name, null, person(name).pin, `Prove ${name} is present`);
      if (i < PEOPLE.length - 1) await c.banner.locator('.actor-who', { hasText: name }).waitFor({ state: 'detached' });
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

    // The quorum approves the commit before any share exists.
    await c.atStep('Make the Backup Key');
    await c.turnOf('Ann Archer');
    expect(await c.banner.textContent()).toContain('approve “Commit the backup” with your card (0 of 2 approvals so far)');
    await c.chooseActor('Cat Cole (Custodian)');
    await c.withCard('Cat Cole', null, person('Cat Cole').pin, 'Approve “Commit the backup” as Cat Cole');
    await c.turnOf('Ann Archer');
    await c.withCard('Ann Archer', null, person('Ann Archer').pin, 'Approve “Commit the backup” as Ann Archer');
    await c.turnOf('Otto Operator');
    await c.doStep(); // make the Backup Key
    await c.atStep('Split the Backup Key into shares');
    await c.doStep();

    // The hand-over: the named holder alone, one at a time.
    await c.atStep('Hand each share to its holder');
    for (const name of ['Ann Archer', 'Ben Baker', 'Cat Cole']) {
      await c.turnOf(name);
      expect(await c.lookAway.textContent()).toContain(`Everyone except ${name}: look away from the screen now.`);
      expect(await c.shareShown.count()).toBe(0);
      if (name === 'Ann Archer') await view('11-backup-look-away');
      await c.showShare(name);
      await c.shareShown.waitFor();
      const words = await c.shareWords();
      expect(words).toHaveLength(33);
      expect(await c.shareShown.locator('.share-title').textContent()).toContain(`${name}’s share — share`);
      shares[name] = words.join(' ');
      if (name === 'Ann Archer') await view('12-backup-share-shown');
      await c.writtenDown();
      await c.shareShown.waitFor({ state: 'detached' });
      // Gone from the page, not just hidden.
      expect(await app.page.content()).not.toContain(words.slice(0, 3).join(''));
    }

    // The verification round: Ann types Ben's share — refused, and whose it is is named.
    await c.atStep('Verification round');
    await c.turnOf('Ann Archer');
    await c.fillShare(shares['Ben Baker']!);
    await c.checkShare('Ann Archer');
    await c.alert.waitFor();
    expect(await c.alert.textContent()).toContain('This is share 2 (Ben Baker’s), not Ann Archer’s share 1.');
    await view('13-backup-wrong-share');
    expect(await c.word(1).inputValue()).toBe(''); // the words are cleared once main has answered
    for (const name of ['Ann Archer', 'Ben Baker', 'Cat Cole']) {
      await c.turnOf(name);
      await c.fillShare(shares[name]!);
      await c.checkShare(name);
    }

    await c.atStep('Commit the backup');
    expect(await c.commitSentence.textContent()).toContain('Import the Backup Key into the HSM as a trusted key');
    await view('14-backup-commit');
    await c.commit(SO_PIN);
    await c.turnOf('Wes Witness');
    expect(await c.facts.textContent()).toContain('Wrapped under the Backup Key');
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await c.verifyEvidence();
    await c.verdict.waitFor();
    expect(await c.verdict.textContent()).toContain('The evidence bundle verifies');
    await shot('15-backup-finished');
  }, 300_000);

  it('follows a run changed outside the window (main’s event), shows progress events, drops malformed ones, and aborts a run with its reason', async () => {
    await c.backToList();
    await c.start('Key generation').click();
    await c.planKeygen({ type: 'EC P-256', label: 'Signing key 2027', usages: ['Sign and verify (MAC for secret keys)'], extractable: false, purpose: 'Signature', tags: '', responsible: [] });
    await c.atStep('Roll call');
    // A listener of the page's own, beside the screen's.
    await app.page.evaluate(() => {
      const w = window as unknown as { __seen: unknown[] };
      w.__seen = [];
      window.custos.onEvent((e) => w.__seen.push(e));
    });
    // Another front end (here the service itself, as the CLI would) proves Ada present: the screen follows.
    const first = await c.actingNow();
    const runs = await app.services.ceremonies.list();
    const id = runs.find((r) => r.status === 'running')!.run;
    await app.services.ceremonies.act({ module: SOFTHSM_MODULE, token: WORKSTATION }, id, { kind: 'present', person: first, proof: { card: { module: SOFTHSM_MODULE, token: person(first).card, pin: person(first).pin } } }, null);
    await c.banner.locator('.actor-who', { hasText: first }).waitFor({ state: 'detached' });
    const seen = await app.page.evaluate(() => (window as unknown as { __seen: unknown[] }).__seen);
    expect(seen).toContainEqual({ type: 'ceremony.changed', run: id, status: 'running', step: 'roll-call' });

    // Progress of long work, as main would push it; a malformed event never reaches the screen.
    const push = (e: unknown) => app.page.evaluate((payload) => (window as unknown as { __custosEvent(p: unknown): void }).__custosEvent(payload), e);
    await push({ type: 'progress', run: id, step: 'roll-call', done: 2, total: 5, message: 'Checking the cards' });
    await c.progress.getByText('Checking the cards').waitFor();
    expect(await c.progress.locator('progress').getAttribute('value')).toBe('2');
    await push({ type: 'progress', run: id, step: 'roll-call', done: 3, total: 5, message: 'x'.repeat(600) });
    await push({ type: 'progress', run: id, step: 'roll-call', done: 'all', total: 5, message: 'Forged' });
    await app.page.waitForTimeout(200);
    expect(await c.progress.textContent()).toContain('Checking the cards');

    await c.abort('Rehearsal only: the key is not needed yet.');
    expect(await c.abortSentence.textContent()).toContain('Abort “Key generation” now, as Ada Admin.');
    await c.confirmAbort();
    await app.page.getByRole('heading', { name: 'This ceremony was aborted' }).waitFor();
    expect(await app.page.getByText('Reason: Rehearsal only: the key is not needed yet.').count()).toBe(1);
  });

  it('after set-up, a login on the Tokens screen names the person, and the audit log records them with their role', async () => {
    await app.page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Tokens', exact: true }).click();
    await tokens.heading.waitFor();
    await tokens.token(WORKSTATION).click();
    if (await tokens.logoutButton.isVisible()) {
      await tokens.logoutButton.click();
      await tokens.pinInput.waitFor();
    }
    // The record is a production record: the login names an enrolled operator or administrator.
    await tokens.personSelect.waitFor();
    const offered = await tokens.personSelect.locator('option').allTextContents();
    expect(offered).toEqual(['Choose your name', 'Ada Admin (administrator)', 'Otto Operator (operator)']);
    await tokens.pinInput.fill(USER_PIN);
    expect(await tokens.loginButton.isDisabled()).toBe(true);
    await tokens.personSelect.selectOption({ label: 'Otto Operator (operator)' });
    await shot('17-login-names-the-person');
    await tokens.loginButton.click();
    await tokens.loggedInStatus.waitFor();
    expect(await tokens.loggedInStatus.textContent()).toContain('Otto Operator is recorded as acting');
    const path = app.services.archive.locate().path;
    const trail = await app.services.archive.read(path, (a) => a.auditTrail({ action: 'token.login', limit: 5 }));
    const last = trail.entries[0]!;
    expect(last.actor).toBe('Otto Operator (operator)');
    expect(last.details).toMatchObject({ outcome: 'ok', role: 'user', roles: ['operator'], identified: 'stated' });
    expect(JSON.stringify(trail)).not.toContain(USER_PIN);
    await c.nav.click();
  });

  it('keeps no PIN and no share word in the page, its storage or the data folder’s files', async () => {
    await c.backToList();
    await c.finishedRuns.waitFor();
    expect(await c.finishedRuns.locator('tbody tr').count()).toBe(4);
    await shot('16-list');
    await expectNoSecrets(app.page, dataDir, SECRETS, shares);
  });
});
