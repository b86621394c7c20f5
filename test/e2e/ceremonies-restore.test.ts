import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type Preview } from '../../electron/preview/shell';
import type { CeremonyAction } from '../../electron/services/ceremony/service';
import { demoEnvironment, prepareDemoFiles } from '../../electron/services/demo';
import type { RunView } from '../../shared/ceremony/view';
import { DIST, requireBuild, ROOT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { rsaAesKeyUnwrap } from '../../electron/services/formats/keywrap';
import { keyCheckValues } from '../../electron/services/kcv';
import { ArchivePage } from './pages/archive-page';
import { FilesPage } from './pages/files-page';
import { expectNoSecrets } from './secret-scan';
import { CeremoniesPage } from './pages/ceremonies-page';
import { TokensPage } from './pages/tokens-page';

// Issue #10 parts 1–3 through the Ceremonies screen, in the preview shell. The fixture is the one of
// ceremonies.test.ts (a SoftHSM2 workstation token and one SoftHSM2 card per person, made in the data
// folder before the app starts); the workstation's set-up, a key generation (an AES key archived as
// version 1) and a SLIP-39 2-of-3 backup of the archive's keys are run through the ceremony service,
// as the command line would (the screens for those are ceremonies.test.ts's subject). Then, on the
// screens: the drill dashboard (the backup never drilled, and overdue a year and a month later); a
// restore drill with two holders, one typing another holder's share first (refused, and named),
// every key matched, nothing kept, the dashboard showing the drill; a restore into a replacement
// token (the quorum first, its PIN at the unwrap, the keys kept there); and a retrieval of the archived
// key from the Archive screen's "Retrieve…", its purpose in view at every step, two approvals, the
// key retrieved into the token, signed off.
// Then a share audit from the dashboard (each holder checks their own share alone), a re-share for
// new holders (old shares entered, new ones handed over and verified, an old holder's attestation
// with her card), and an Archive KEK rotation with its progress bar. The file is long because every
// ceremony here builds on the same set-up, key and backup, made once.

const SHOTS = join(ROOT, 'test-results/e2e');
const WORKSTATION = 'Workstation HSM';
const SO_PIN = 'so-pin-9753';
const USER_PIN = 'user-pin-8642';
const KEY = 'Payments DEK 2026';
/** A new HSM to restore into: not the workstation token, nobody's card. */
const REPLACEMENT = { label: 'Replacement HSM', so: '11223344', user: 'repl-pin-5566' };
const PURPOSE = 'Decrypt the 2026 payment batches for the external auditors (ticket 4711).';

const PEOPLE = [
  { name: 'Ada Admin', role: 'administrator', title: 'Ceremony administrator', card: 'Card Ada', pin: '200001' },
  { name: 'Otto Operator', role: 'operator', title: 'Operator', card: 'Card Otto', pin: '200002' },
  { name: 'Ann Archer', role: 'custodian', title: 'Custodian', card: 'Card Ann', pin: '200003' },
  { name: 'Ben Baker', role: 'custodian', title: 'Custodian', card: 'Card Ben', pin: '200004' },
  { name: 'Cat Cole', role: 'custodian', title: 'Custodian', card: 'Card Cat', pin: '200005' },
  { name: 'Wes Witness', role: 'witness', title: 'Witness', card: 'Card Wes', pin: '200006' },
] as const;
const person = (name: string) => PEOPLE.find((p) => p.name === name)!;
const SECRETS = [SO_PIN, USER_PIN, REPLACEMENT.user, ...PEOPLE.map((p) => p.pin)];
const cast = () => PEOPLE.map((p) => ({ person: p.name, roles: [p.role] }));

describe('restore drill and archive retrieval, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  /** The preview shell's save folder (the removable media). */
  let stick = '';
  let c: CeremoniesPage;
  let archive: ArchivePage;
  let backupName = '';
  const shares: Record<string, string> = {};
  const savedConf = process.env.SOFTHSM2_CONF;
  const shot = async (name: string) => {
    await app.page.evaluate(() => window.scrollTo(0, 0));
    await app.page.screenshot({ path: join(SHOTS, `ceremony-${name}.png`), fullPage: true });
  };
  /** Screenshot of what is on the screen now (1280×800), as the room sees it. */
  const view = async (name: string) => app.page.screenshot({ path: join(SHOTS, `ceremony-${name}.png`) });

  // ---- The ceremonies before the screens' part, through the service (as the CLI runs them) -----

  const session = { module: SOFTHSM_MODULE, token: WORKSTATION };
  const card = (name: string) => ({ card: { module: SOFTHSM_MODULE, token: person(name).card, pin: person(name).pin } });
  /** Runs a planned ceremony to its end: each input the engine asks for, by the first person it names. */
  const drive = async (first: RunView): Promise<RunView> => {
    const svc = app.services.ceremonies;
    let v = first;
    const nameOf = (id: string) => v.participants.find((p) => p.person === id)?.name ?? id;
    for (let guard = 0; v.status === 'running' && guard < 200; guard++) {
      const cur = v.current!;
      const input = cur.input;
      const actor = cur.actors[0]?.person ?? null;
      let action: CeremonyAction;
      let by: string | null = actor;
      switch (input.kind) {
        case 'presence':
          action = { kind: 'present', person: input.persons[0]!, proof: card(nameOf(input.persons[0]!)) };
          break;
        case 'enrol':
          action = { kind: 'enrol', person: input.persons[0]!, proof: card(nameOf(input.persons[0]!)) };
          break;
        case 'approve':
          action = { kind: 'approve', step: input.step, person: input.persons[0]!, proof: card(nameOf(input.persons[0]!)) };
          break;
        case 'sign-off':
          action = { kind: 'approve', step: cur.id, person: input.persons[0]!, proof: card(nameOf(input.persons[0]!)) };
          break;
        case 'login':
          action = { kind: 'login', pin: null };
          break;
        case 'confirm-fingerprint':
          action = { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex };
          break;
        case 'tick':
          action = { kind: 'tick', step: input.step };
          break;
        case 'hand-over': {
          const h = input.holders.find((x) => !x.done)!;
          const r = await svc.act(session, v.run, { kind: 'reveal', holder: h.person }, null);
          shares[h.name] = r.reveal!.share;
          action = { kind: 'handed-over', holder: h.person };
          by = null;
          break;
        }
        case 'verify-share': {
          const h = input.holders.find((x) => !x.done)!;
          action = { kind: 'verify-share', holder: h.person, share: shares[h.name]! };
          by = null;
          break;
        }
        case 'run':
          action = cur.kind === 'commit-backup' ? { kind: 'commit', soPin: SO_PIN } : { kind: 'run' };
          break;
        default:
          throw new Error(`the fixture cannot drive input ${input.kind} at ${cur.id}`);
      }
      v = (await svc.act(session, v.run, action, by)).view;
    }
    if (v.status !== 'completed') throw new Error(`${v.title} did not complete: ${v.status}`);
    return v;
  };

  beforeAll(async () => {
    requireBuild();
    delete process.env.SOFTHSM2_CONF; // the tokens live in the data folder's SoftHSM2 folder
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-restore-'));
    const demo = demoEnvironment(dataDir);
    prepareDemoFiles(demo);
    const initToken = (label: string, so: string, pin: string) =>
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', so, '--pin', pin], { env: { ...process.env, SOFTHSM2_CONF: demo.confFile }, stdio: 'ignore' });
    initToken(WORKSTATION, SO_PIN, USER_PIN);
    for (const p of PEOPLE) initToken(p.card, '12345678', p.pin);
    initToken(REPLACEMENT.label, REPLACEMENT.so, REPLACEMENT.user);
    stick = `${dataDir}-stick`;
    mkdirSync(stick);
    app = await startPreview({ distDir: DIST, dataDir, saveDir: stick, headless: true, log: () => undefined });
    await app.page.setViewportSize({ width: 1280, height: 800 });
    const tokens = new TokensPage(app.page);
    c = new CeremoniesPage(app.page);
    archive = new ArchivePage(app.page);
    await tokens.demoForm.waitFor();
    await app.page.getByLabel('Module path').fill(SOFTHSM_MODULE);
    await app.page.getByRole('button', { name: 'Add module' }).click();
    await tokens.token(WORKSTATION).click();
    await tokens.login(USER_PIN);
    await tokens.loggedInStatus.waitFor();

    const svc = app.services.ceremonies;
    const uri = (await app.services.tokens.listing()).slots.find((s) => s.token?.label === WORKSTATION)!.token!.uri;
    await drive(
      await svc.plan(session, {
        definition: 'custos/workstation-setup',
        params: { recordName: 'Payments HSM, London', token: uri, practice: false, people: PEOPLE.map((p) => ({ name: p.name, roles: [p.role], credential: 'card' })) },
        participants: [],
      }),
    );
    await drive(
      await svc.plan(session, {
        definition: 'custos/key-generation',
        params: { keyType: 'aes-256', label: KEY, usages: ['encrypt'], extractable: true, purpose: 'data-encryption', tags: ['payments'], custodians: ['Ann Archer'] },
        participants: cast(),
      }),
    );
    const backup = await drive(
      await svc.plan(session, {
        definition: 'custos/backup',
        params: { targets: ['archive-kek', 'archive-mac'], scheme: 'slip39', threshold: 2, holders: ['Ann Archer', 'Ben Baker', 'Cat Cole'] },
        participants: cast(),
      }),
    );
    backupName = `Backup of ${backup.endedAt!.slice(0, 10)} (${backup.run.slice(0, 8)})`;
  }, 300_000);

  // When a step fails, the screen at that moment says why.
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && app) await app.page.screenshot({ path: join(SHOTS, `ceremony-failure-${ctx.task.name.split(' ').slice(0, 3).join('-')}.png`), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (stick) rmSync(stick, { recursive: true, force: true });
  });

  /** The Ceremonies screen opened afresh (it reads the record, with the backups' drill status, as it opens). */
  const reopen = async () => {
    await archive.navArchive.click();
    await archive.heading.waitFor();
    await c.nav.click();
    await c.drillDashboard.waitFor();
  };

  /** Everyone proves presence with their card, in the order the screen asks; the administrator records it. */
  const rollCall = async () => {
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
  };

  it('shows the backup on the drill dashboard: never drilled, when the next drill is due, and overdue in words a year and a month later', async () => {
    await c.nav.click();
    await c.drillDashboard.waitFor();
    expect(await c.drillRows.count()).toBe(1);
    const row = (await c.drillRows.first().textContent()) ?? '';
    expect(row).toContain(backupName);
    expect(row).toContain('Archive KEK, Archive MAC key');
    expect(row).toContain('SLIP-39 shares, any 2 of 3');
    expect(row).toContain('held by Ann Archer, Ben Baker and Cat Cole');
    expect(row).toContain('Never drilled');
    const due = new Date();
    due.setUTCMonth(due.getUTCMonth() + 12);
    expect(row).toContain(`due by ${due.toISOString().slice(0, 10)}`);
    expect(await c.drillDashboard.textContent()).toContain('Every drill is up to date');
    await shot('20-drill-dashboard');

    // The service's clock a year and a month on (main decides what is overdue): the row says so in words.
    const clock = app.services.ceremonies as unknown as { deps: { now?: () => Date } };
    const realNow = clock.deps.now;
    clock.deps.now = () => new Date(Date.now() + 396 * 24 * 3600_000);
    try {
      await reopen();
      await c.drillDashboard.getByText('1 of 1 backup is overdue for a drill').waitFor();
      const late = (await c.drillRows.first().textContent()) ?? '';
      expect(late).toContain('Overdue');
      expect(late).toContain(`was due by ${due.toISOString().slice(0, 10)}`);
      await view('20b-drill-dashboard-overdue');
    } finally {
      clock.deps.now = realNow;
    }
  });

  it('drills the backup with two holders: a share typed by the wrong holder refused and named, every key matched, nothing kept, the dashboard updated', async () => {
    // Read again with the real clock, then "Run a drill…" from the dashboard: the backup comes chosen.
    await reopen();
    await c.drillDashboard.getByText('Every drill is up to date').waitFor();
    await c.runDrillOf(backupName);
    await c.drillForm.waitFor();
    expect(await c.backupChoice(c.drillForm, backupName).isChecked()).toBe(true);
    expect(await c.drillForm.textContent()).toContain('This backup needs 2 shares (SLIP-39 shares, any 2 of 3). 0 of 2 named.');
    expect(await c.drillForm.getByRole('button', { name: 'Plan the restore drill' }).isDisabled()).toBe(true);
    await c.planRestore({ drill: true, holders: ['Ann Archer', 'Cat Cole'], before: () => shot('21-drill-form') });

    await rollCall();
    expect(await c.runSubject.textContent()).toContain('Shares entered byAnn Archer and Cat Cole');
    expect(await c.runSubject.textContent()).toContain('Nothing: a drill unwraps into a session only');

    // One holder at a time: Ann types Cat's share first — refused, and whose it is is named.
    await c.atStep('Enter the shares');
    await c.turnOf('Ann Archer');
    expect(await c.banner.textContent()).toContain('type your share from your share sheet, alone at the keyboard');
    expect(await c.shareCount.textContent()).toContain('0 of 2 shares entered');
    await view('22-drill-enter-share');
    await c.fillShare(shares['Cat Cole']!);
    await c.enterShare('Ann Archer');
    await c.alert.waitFor();
    expect(await c.alert.textContent()).toContain('This is share 3 (Cat Cole’s), not Ann Archer’s share 1.');
    expect(await c.word(1).inputValue()).toBe(''); // cleared once main has answered
    await view('23-drill-wrong-share');
    await c.fillShare(shares['Ann Archer']!);
    await c.enterShare('Ann Archer');

    // Cat at the keyboard alone: Tab to the first word, type the words (Space moves on), Enter sends.
    await c.turnOf('Cat Cole');
    await c.shareCount.filter({ hasText: '1 of 2 shares entered (Ann Archer)' }).waitFor();
    await c.tabTo('Word 1', 40);
    await app.page.keyboard.type(shares['Cat Cole']!);
    await app.page.keyboard.press('Enter');

    await c.atStep('Rebuild the Backup Key');
    await c.turnOf('Otto Operator');
    await c.doStep();
    await c.atStep('Unwrap into a session and compare the check values');
    expect(await c.rebuilt.textContent()).toContain('is the one recorded at the backup');
    expect(await c.unwrapSentence.textContent()).toContain('unwrap the Archive KEK and the Archive MAC key into that session only');
    expect(await c.unwrapSentence.textContent()).toContain('Nothing is kept.');
    await view('24-drill-unwrap');
    await c.doStep();

    await c.turnOf('Wes Witness');
    await c.unwrapResults.waitFor();
    const results = (await c.unwrapResults.textContent()) ?? '';
    expect(results).toContain('Every key matched (2 of 2)');
    expect(await c.unwrapResults.getByText('✓ matches').count()).toBe(2);
    expect(results).toContain('Nothing was kept.');
    await view('25-drill-results');
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    expect(await c.finished.textContent()).toContain('Nothing was kept.');
    await c.verifyEvidence();
    await c.verdict.waitFor();
    expect(await c.verdict.textContent()).toContain('The evidence bundle verifies');
    await shot('26-drill-finished');

    // Nothing of the drill is left on the token.
    const keys = await app.services.keys.list(session);
    expect(keys.filter((k) => k.label.startsWith('custos-drill/') || k.label.startsWith('custos-restore-bk/'))).toEqual([]);

    // The dashboard shows the drill, and the next one a policy interval later.
    await c.backToList();
    const today = new Date().toISOString().slice(0, 10);
    await c.drillRows.first().getByRole('cell', { name: today, exact: true }).waitFor();
    const next = new Date();
    next.setUTCMonth(next.getUTCMonth() + 12);
    expect(await c.drillRows.first().textContent()).toContain(`due by ${next.toISOString().slice(0, 10)}`);
    await view('27-drill-dashboard-after');
  }, 300_000);

  it('restores the archive’s keys into a replacement token: the quorum approves before any share, its PIN at the unwrap, every key matched and kept there', async () => {
    await c.start('Restore from a backup').click();
    await c.restoreForm.waitFor();
    // The workstation token is the default; the replacement is offered, people's cards are not.
    const offered = (await c.restoreForm.getByRole('group', { name: 'Restore into' }).textContent()) ?? '';
    expect(offered).toContain(REPLACEMENT.label);
    expect(offered).not.toContain('Card Ann');
    await c.planRestore({ drill: false, backup: backupName, holders: ['Ben Baker', 'Cat Cole'], destination: REPLACEMENT.label, before: () => shot('28-restore-form') });
    await rollCall();
    expect(await c.runSubject.textContent()).toContain(`Restored intotoken “${REPLACEMENT.label}”`);

    // The quorum approves the unwrap before anyone types a share.
    await c.atStep('Enter the shares');
    for (const name of ['Ann Archer', 'Ben Baker']) {
      await c.turnOf(name);
      await c.withCard(name, null, person(name).pin, `Approve “Unwrap the keys and compare their check values” as ${name}`);
    }
    for (const name of ['Ben Baker', 'Cat Cole']) {
      await c.turnOf(name);
      await c.fillShare(shares[name]!);
      await c.enterShare(name);
    }
    await c.atStep('Rebuild the Backup Key');
    await c.doStep();
    await c.atStep('Unwrap the keys and compare their check values');
    expect(await c.banner.textContent()).toContain(`enter the user PIN of “${REPLACEMENT.label}” and restore the keys into it`);
    expect(await c.banner.textContent()).toContain('Everyone else: look away from the keyboard.');
    expect(await c.current.getByTestId('approved').textContent()).toContain('Approved by Ann Archer and Ben Baker');
    expect(await c.unwrapSentence.textContent()).toContain(`The keys stay on “${REPLACEMENT.label}”.`);
    await view('29-restore-unwrap');
    await c.restoreWithPin(REPLACEMENT.label, REPLACEMENT.user);
    await c.turnOf('Wes Witness');
    await c.unwrapResults.waitFor();
    expect(await c.unwrapResults.textContent()).toContain('Every key matched (2 of 2)');
    expect(await c.unwrapResults.textContent()).toContain(`The keys are now on “${REPLACEMENT.label}”`);
    await view('29b-restore-results');
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await c.backToList();
  }, 300_000);

  it('retrieves the archived key from the Archive screen’s “Retrieve…”: the purpose in view at every step, two approvals, the key on the token, signed off', async () => {
    await archive.open();
    await archive.task('Search the archive').click();
    await archive.searchLabel(KEY);
    await archive.resultLink(KEY, 1).click();
    await archive.retrieveLead.waitFor();
    await view('30-archive-retrieve-lead');
    await archive.retrieveLead.getByRole('button', { name: 'Retrieve…', exact: true }).click();

    await c.retrievalForm.waitFor();
    expect(await c.retrievalVersion.inputValue()).toBe(`${KEY}@1`);
    await c.retrievalFound.getByText(`Version 1 of “${KEY}”`).waitFor();
    expect(await c.retrievalForm.textContent()).toContain('The purpose is part of the ceremony fingerprint.');
    await c.planRetrieval({ purpose: PURPOSE, into: 'token', validDays: 30, before: () => shot('31-retrieval-form') });

    await c.atStep('Roll call');
    // The purpose: at the top of the run, and inside every step.
    expect(await c.runSubject.textContent()).toContain(PURPOSE);
    expect(await c.purposeLine.textContent()).toContain(PURPOSE);
    await rollCall();

    await c.atStep('Retrieve the archived key');
    for (const name of ['Ann Archer', 'Ben Baker']) {
      await c.turnOf(name);
      expect(await c.purposeLine.textContent()).toContain(PURPOSE);
      if (name === 'Ann Archer') await view('32-retrieval-approve');
      await c.withCard(name, null, person(name).pin, `Approve “Retrieve the archived key” as ${name}`);
    }
    await c.turnOf('Otto Operator');
    expect(await c.retrieveSentence.textContent()).toContain(`unwrap version 1 of “${KEY}” under the Archive KEK into a token object “${KEY} v1 (retrieved)”`);
    expect(await c.purposeLine.textContent()).toContain(PURPOSE);
    await view('33-retrieval-retrieve');
    await c.doStep();

    await c.turnOf('Wes Witness');
    await c.retrieved.waitFor();
    expect(await c.retrieved.textContent()).toContain(`Retrieved: “${KEY} v1 (retrieved)”`);
    expect(await c.retrieved.textContent()).toContain(`A token object on “${WORKSTATION}”`);
    expect(await c.retrieved.textContent()).toContain('is the one recorded when it was archived');
    await view('34-retrieval-tick');
    await c.tick();
    await c.atStep('Sign-off');
    expect(await c.purposeLine.textContent()).toContain(PURPOSE);
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    expect(await c.retrieved.textContent()).toContain(`A token object on “${WORKSTATION}”`);
    expect(await c.runSubject.textContent()).toContain(PURPOSE);
    await c.verifyEvidence();
    await c.verdict.waitFor();
    expect(await c.verdict.textContent()).toContain('The evidence bundle verifies');
    await shot('35-retrieval-finished');

    const keys = await app.services.keys.list(session);
    expect(keys.find((k) => k.label === `${KEY} v1 (retrieved)`)).toMatchObject({ extractable: false });
  }, 300_000);

  it('exports the archived key wrapped to a receiver’s RSA key from “Retrieve…”: the receiver in the fingerprint, two approvals, nothing kept, the wrapped key saved to the stick', async () => {
    const receiver = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const pem = receiver.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const why = 'Hand the 2026 payment DEK to the partner bank’s KMS (change 7311).';
    await archive.open();
    await archive.task('Search the archive').click();
    await archive.searchLabel(KEY);
    await archive.resultLink(KEY, 1).click();
    await archive.retrieveLead.waitFor();
    await archive.retrieveLead.getByRole('button', { name: 'Retrieve…', exact: true }).click();
    await c.retrievalForm.waitFor();
    const form = c.retrievalForm;
    await form.getByLabel('Purpose: what data it opens, and for whom').fill(why);
    await form.getByRole('radio', { name: /^Export it wrapped/ }).check();
    await form.getByRole('radio', { name: /^The receiver’s RSA public key/ }).check();
    await form.getByLabel('Receiver’s public key (PEM)').fill(pem);
    await form.getByLabel('Import method (optional)').fill('AWS KMS RSA_AES_KEY_WRAP_SHA_256');
    await form.getByRole('checkbox', { name: /accepts no stronger key/ }).check();
    await shot('36-retrieval-export-form');
    await form.getByRole('button', { name: 'Plan the retrieval' }).click();

    await c.atStep('Roll call');
    expect(await c.runSubject.textContent()).toContain('RSA-OAEP + AES-KWP to the RSA-3072 public key');
    expect(await c.runSubject.textContent()).toContain('AWS KMS RSA_AES_KEY_WRAP_SHA_256');
    await rollCall();
    await c.atStep('Retrieve the archived key');
    for (const name of ['Ann Archer', 'Ben Baker']) {
      await c.turnOf(name);
      await c.withCard(name, null, person(name).pin, `Approve “Retrieve the archived key” as ${name}`);
    }
    await c.turnOf('Otto Operator');
    expect(await c.retrieveSentence.textContent()).toContain('into a session object that can only be wrapped');
    await c.doStep();
    await c.turnOf('Wes Witness');
    await c.retrieved.waitFor();
    expect(await c.retrieved.textContent()).toContain(`Exported: version 1 of “${KEY}”`);
    expect(await c.retrieved.textContent()).toContain('nothing stays on');
    const files = new FilesPage(app.page);
    // A save on a workstation record needs a named person; this app's login came before the record
    // existed and named nobody, so the operator names himself as the login form's "who" would.
    app.services.activity.signIn(session, 'Otto Operator');
    await files.save('wrapped-export', 'Save the wrapped key…');
    await files.saved('wrapped-export').waitFor();
    await view('37-retrieval-exported');
    // The receiver's side, with Node's crypto alone: the key whose check value the archive recorded.
    const saved = readdirSync(stick).find((n) => n.endsWith('.rsa-aes-kwp.bin'))!;
    const key = rsaAesKeyUnwrap(receiver.privateKey, readFileSync(join(stick, saved)), 'sha256');
    const archived = await app.services.archive.read(app.services.archive.existing(), async (a) => a.version(`${KEY}@1`));
    expect(keyCheckValues('AES', key).cmac.toLowerCase()).toBe(archived.summary.checkValue!.toLowerCase());
    key.fill(0);
    expect((await app.services.keys.list(session)).filter((k) => k.label.includes('export'))).toEqual([]);
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
  }, 300_000);

  it('leads from the old-data answer to a retrieval of that version, and only for a version that still has its material', async () => {
    await archive.open();
    await archive.button('← Back to the results').click();
    const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10);
    await archive.askOldData(tomorrow, 'Data encryption');
    await archive.answer.filter({ hasText: `Version 1 of “${KEY}”` }).waitFor();
    await archive.answerRetrieve.getByRole('button', { name: 'Retrieve…', exact: true }).click();
    await c.retrievalForm.waitFor();
    expect(await c.retrievalVersion.inputValue()).toBe(`${KEY}@1`);
    await c.backToList();
  });

  it('audits the shares from the dashboard: each holder checks their own share alone, nothing rebuilt or kept, the dashboard says when', async () => {
    await reopen();
    await app.page.getByRole('button', { name: `Audit the shares of the ${backupName}…` }).click();
    const f = app.page.getByRole('form', { name: 'Plan the share audit' });
    await f.waitFor();
    expect(await c.backupChoice(f, backupName).isChecked()).toBe(true);
    for (const h of ['Ben Baker', 'Cat Cole']) await f.getByRole('checkbox', { name: new RegExp(`^${h} \\(share \\d+\\)$`) }).check();
    await f.getByRole('button', { name: 'Plan the share audit' }).click();
    await rollCall();
    expect(await c.runSubject.textContent()).toContain('Shares checked byBen Baker and Cat Cole');
    await c.atStep('Each holder checks their share');
    await c.turnOf('Ben Baker');
    expect(await c.banner.textContent()).toContain('it is checked on its own and not kept');
    await c.fillShare(shares['Ben Baker']!);
    await c.checkShare('Ben Baker');
    await c.turnOf('Cat Cole');
    await c.shareCount.filter({ hasText: '1 of 2 shares checked (Ben Baker)' }).waitFor();
    await view('33-share-audit');
    await c.fillShare(shares['Cat Cole']!);
    await c.checkShare('Cat Cole');
    await c.turnOf('Wes Witness');
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await c.backToList();
    await reopen();
    const today = new Date().toISOString().slice(0, 10);
    expect(await c.drillRows.first().textContent()).toContain(`shares last checked ${today}`);
  }, 300_000);

  it('re-shares the backup for new holders: old holders enter theirs, new holders see and check theirs alone, an old holder attests with her card, the record says old shares stay valid', async () => {
    await c.start('Re-share and custodian change').click();
    const f = c.reshareForm;
    await f.waitFor();
    expect(await f.textContent()).toContain('The old shares stay valid');
    expect(await c.backupChoice(f, backupName).isChecked()).toBe(true);
    for (const h of ['Ann Archer', 'Cat Cole']) await f.getByRole('button', { name: new RegExp(`^Add ${h} \\(old share \\d+\\)$`) }).click();
    for (const h of ['Cat Cole', 'Ben Baker']) await f.getByRole('button', { name: `Add ${h} as new holder` }).click();
    await shot('34-reshare-form');
    await f.getByRole('button', { name: 'Plan the re-share' }).click();
    await rollCall();
    const subject = (await c.runSubject.textContent()) ?? '';
    expect(subject).toContain('Old shares entered byAnn Archer and Cat Cole');
    expect(subject).toContain('New shares forCat Cole and Ben Baker');
    expect(subject).toContain('Stay valid until the Backup Key is rotated');

    // The quorum approves the new set before any old share is typed.
    await c.atStep('Enter the old shares');
    for (const name of ['Ann Archer', 'Ben Baker']) {
      await c.turnOf(name);
      await c.withCard(name, null, person(name).pin, `Approve “Commit the new share set” as ${name}`);
    }
    for (const name of ['Ann Archer', 'Cat Cole']) {
      await c.turnOf(name);
      await c.fillShare(shares[name]!);
      await c.enterShare(name);
    }
    await c.atStep('Rebuild the Backup Key');
    await c.doStep();
    await c.atStep('Split the Backup Key into shares');
    await c.doStep();
    await c.atStep('Hand each share to its holder');
    const fresh: Record<string, string> = {};
    for (const name of ['Cat Cole', 'Ben Baker']) {
      await c.turnOf(name);
      expect(await c.lookAway.textContent()).toContain(`Everyone except ${name}: look away from the screen now.`);
      await c.showShare(name);
      await c.shareShown.waitFor();
      fresh[name] = (await c.shareWords()).join(' ');
      if (name === 'Cat Cole') await view('35-reshare-new-share');
      await c.writtenDown();
      await c.shareShown.waitFor({ state: 'detached' });
    }
    expect(fresh['Cat Cole']).not.toBe(shares['Cat Cole']);
    await c.atStep('Verification round');
    for (const name of ['Cat Cole', 'Ben Baker']) {
      await c.turnOf(name);
      await c.fillShare(fresh[name]!);
      await c.checkShare(name);
    }
    await c.atStep('Commit the new share set');
    await view('36-reshare-commit');
    await c.doStep();
    await c.turnOf('Wes Witness');
    await c.tick();

    // The old holders' attestations: Ann destroys her sheet and signs; the others are named as not attested.
    await c.atStep('Old holders attest that their shares are destroyed');
    await c.turnOf('Ann Archer');
    expect(await c.banner.textContent()).toContain('destroy your old share sheet in front of the witness');
    await c.withCard('Ann Archer', null, person('Ann Archer').pin, 'Ann Archer: my old share is destroyed — sign');
    await c.current.getByText('Old share 1: Ann Archer — attested destroyed').waitFor();
    expect(await c.current.textContent()).toContain('can still rebuild the Backup Key with others of the old set');
    await view('37-reshare-attest');
    await c.current.getByRole('button', { name: /^Go on without: / }).click();
    await c.turnOf('Wes Witness');
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await c.verifyEvidence();
    await c.verdict.waitFor();
    expect(await c.verdict.textContent()).toContain('The evidence bundle verifies');
    await shot('38-reshare-finished');
    for (const [k, v] of Object.entries(fresh)) shares[`new ${k}`] = v;

    // The dashboard lists the new share set as a backup to drill.
    await c.backToList();
    await reopen();
    expect(await c.drillRows.count()).toBe(2);
  }, 300_000);

  it('re-shares with Backup Key rotation: a new Backup Key for the new holders, the keys re-wrapped in the HSM at the commit, the old sets no longer listed', async () => {
    await c.start('Re-share and custodian change').click();
    const f = c.reshareForm;
    await f.waitFor();
    // The re-share made above, not the original backup.
    const radios = f.getByRole('radio', { name: /^Backup of / });
    for (let i = 0; i < (await radios.count()); i++) {
      const label = await radios.nth(i).evaluate((el) => el.closest('label')?.textContent ?? '');
      if (!label.startsWith(backupName)) await radios.nth(i).check();
    }
    await f.getByTestId('reshare-rotate').check();
    expect(await f.textContent()).toContain('The Backup Key is rotated');
    for (const h of ['Cat Cole', 'Ben Baker']) await f.getByRole('button', { name: new RegExp(`^Add ${h} \\(old share \\d+\\)$`) }).click();
    for (const h of ['Ann Archer', 'Cat Cole']) await f.getByRole('button', { name: `Add ${h} as new holder` }).click();
    await f.getByRole('button', { name: 'Plan the re-share' }).click();
    await rollCall();
    expect((await c.runSubject.textContent()) ?? '').toContain('the Backup Key is rotated');
    await c.atStep('Enter the old shares');
    for (const name of ['Ann Archer', 'Ben Baker']) {
      await c.turnOf(name);
      await c.withCard(name, null, person(name).pin, `Approve “Commit the new share set” as ${name}`);
    }
    for (const name of ['Cat Cole', 'Ben Baker']) {
      await c.turnOf(name);
      await c.fillShare(shares[`new ${name}`]!);
      await c.enterShare(name);
    }
    await c.atStep('Rebuild the Backup Key');
    await c.doStep();
    await c.atStep('Split the Backup Key into shares');
    await c.doStep();
    await c.atStep('Hand each share to its holder');
    const fresh: Record<string, string> = {};
    for (const name of ['Ann Archer', 'Cat Cole']) {
      await c.turnOf(name);
      await c.showShare(name);
      await c.shareShown.waitFor();
      fresh[name] = (await c.shareWords()).join(' ');
      await c.writtenDown();
      await c.shareShown.waitFor({ state: 'detached' });
    }
    await c.atStep('Verification round');
    for (const name of ['Ann Archer', 'Cat Cole']) {
      await c.turnOf(name);
      await c.fillShare(fresh[name]!);
      await c.checkShare(name);
    }
    await c.atStep('Commit the new share set');
    await c.doStep();
    await c.turnOf('Wes Witness');
    await c.tick();
    await c.atStep('Old holders attest that their shares are destroyed');
    await c.turnOf('Cat Cole');
    await c.withCard('Cat Cole', null, person('Cat Cole').pin, 'Cat Cole: my old share is destroyed — sign');
    expect(await c.current.textContent()).toContain('which Custos no longer uses');
    await c.current.getByRole('button', { name: /^Go on without: / }).click();
    await c.turnOf('Wes Witness');
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await c.verifyEvidence();
    await c.verdict.waitFor();
    expect(await c.verdict.textContent()).toContain('The evidence bundle verifies');
    await shot('38b-reshare-rotation-finished');
    for (const [k, v] of Object.entries(fresh)) shares[`rotated ${k}`] = v;
    // The original backup and the re-share had the old Backup Key: neither is listed any more; the rotation is.
    await c.backToList();
    await reopen();
    expect(await c.drillRows.count()).toBe(1);
    expect((await c.drillRows.first().textContent()) ?? '').not.toContain(backupName);
  }, 300_000);

  it('rotates the Archive KEK from the Ceremonies screen: the numbers confirmed, two approvals, a progress bar while every version is re-wrapped, signed off', async () => {
    // Enough versions for the rotation to take a few seconds (batches of 512, a progress event each).
    const door = app.services.archive;
    await door.write(door.existing(), session, async (a) => {
      const b = a.internals.binding!;
      const pool: Array<{ label: string; idHex: string }> = [];
      for (let i = 0; i < 8; i++) {
        const idHex = `e2e0${i}`.padEnd(16, '0');
        await b.hsm.call('generate', { path: b.module, token: b.token, spec: { type: 'aes-256', label: `bulk-${i}`, idHex, usages: ['encrypt'], extractable: true } });
        pool.push({ label: `bulk-${i}`, idHex });
      }
      for (let i = 0; i < 12_000; i += 4000) await a.add(Array.from({ length: 4000 }, (_, j) => ({ hsm: pool[(i + j) % 8]!, key: { label: `bulk ${i + j}`, purpose: 'data-encryption' as const } })), 'e2e');
    });
    await c.nav.click();
    await c.start('Archive KEK rotation').click();
    const form = app.page.getByRole('form', { name: 'Plan the Archive KEK rotation' });
    await form.waitFor();
    const numbers = app.page.getByTestId('kek-rotation-numbers');
    await numbers.getByText('12,001').waitFor();
    await form.getByRole('checkbox', { name: /read the check value and the number of versions aloud/ }).check();
    await shot('40-kek-rotation-form');
    await form.getByRole('button', { name: 'Plan the rotation' }).click();
    await rollCall();
    await c.atStep('Rotate the Archive KEK');
    for (const name of ['Ann Archer', 'Ben Baker']) {
      await c.turnOf(name);
      if (name === 'Ann Archer') await view('41-kek-rotation-approve');
      await c.withCard(name, null, person(name).pin, `Approve “Rotate the Archive KEK” as ${name}`);
    }
    await c.turnOf('Otto Operator');
    await c.doStep();
    const bar = app.page.locator('.progress progress');
    await bar.waitFor({ timeout: 60_000 });
    await app.page.getByRole('button', { name: 'Stop after this batch' }).waitFor();
    await view('42-kek-rotation-progress');
    await c.turnOf('Wes Witness');
    const facts = app.page.getByTestId('step-facts');
    await facts.getByText('Versions re-wrapped and verified').waitFor();
    expect(await facts.textContent()).toContain('12,001 (the archive now holds 12,001, all under the new KEK)');
    await view('43-kek-rotation-tick');
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await shot('44-kek-rotation-finished');
    const info = await door.read(door.existing(), (a) => a.info());
    expect(info.keys.kek.incoming).toBeNull();
    expect(info.counts.withMaterial).toBe(12_001);
  }, 300_000);

  it('keeps no PIN and no share word in the page, its storage or the data folder’s files', async () => {
    await expectNoSecrets(app.page, dataDir, SECRETS, shares);
  });
});
