import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addMonths } from '../../shared/archive/policy';
import { startPreview, type Preview } from '../../electron/preview/shell';
import type { CeremonyAction } from '../../electron/services/ceremony/service';
import { demoEnvironment, prepareDemoFiles } from '../../electron/services/demo';
import type { RunView } from '../../shared/ceremony/view';
import { DIST, requireBuild, ROOT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { ArchivePage } from './pages/archive-page';
import { expectNoSecrets } from './secret-scan';
import { CeremoniesPage } from './pages/ceremonies-page';
import { TokensPage } from './pages/tokens-page';

// Issue #10 part 4 (rotation of a managed key) through the screens, in the preview shell, with a
// SoftHSM2 workstation token and one SoftHSM2 card per person. The set-up and a key generation run
// through the ceremony service (their screens are ceremonies.test.ts's subject); a second key is
// archived with an activation date 30 months ago, so its rotation is overdue. Then, on the screens:
// the "Keys due for rotation" dashboard, the overdue key flagged in the archive search, the version
// view's "Rotate…", the plan (only the key is chosen), and the run: roll call, two approvals, the
// new version's check value, the archive step, the old version restricted, signed off.

const SHOTS = join(ROOT, 'test-results/e2e');
const WORKSTATION = 'Workstation HSM';
const SO_PIN = 'so-pin-9753';
const USER_PIN = 'user-pin-8642';
const KEY = 'Payments DEK 2026';
const OLD = 'Card data DEK';

const PEOPLE = [
  { name: 'Ada Admin', role: 'administrator', card: 'Card Ada', pin: '200001' },
  { name: 'Otto Operator', role: 'operator', card: 'Card Otto', pin: '200002' },
  { name: 'Ann Archer', role: 'custodian', card: 'Card Ann', pin: '200003' },
  { name: 'Ben Baker', role: 'custodian', card: 'Card Ben', pin: '200004' },
  { name: 'Cat Cole', role: 'custodian', card: 'Card Cat', pin: '200005' },
  { name: 'Wes Witness', role: 'witness', card: 'Card Wes', pin: '200006' },
] as const;
const person = (name: string) => PEOPLE.find((p) => p.name === name)!;
const SECRETS = [SO_PIN, USER_PIN, ...PEOPLE.map((p) => p.pin)];
const cast = () => PEOPLE.map((p) => ({ person: p.name, roles: [p.role] }));

describe('rotation of a managed key, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let c: CeremoniesPage;
  let archive: ArchivePage;
  const savedConf = process.env.SOFTHSM2_CONF;
  const session = { module: SOFTHSM_MODULE, token: WORKSTATION };
  const card = (name: string) => ({ card: { module: SOFTHSM_MODULE, token: person(name).card, pin: person(name).pin } });
  const shot = async (name: string) => {
    await app.page.evaluate(() => window.scrollTo(0, 0));
    await app.page.screenshot({ path: join(SHOTS, `rotation-${name}.png`), fullPage: true });
  };
  const view = async (name: string) => app.page.screenshot({ path: join(SHOTS, `rotation-${name}.png`) });

  /** Runs a planned ceremony to its end through the service: each input by the first person it names. */
  const drive = async (first: RunView): Promise<RunView> => {
    const svc = app.services.ceremonies;
    let v = first;
    const nameOf = (id: string) => v.participants.find((p) => p.person === id)?.name ?? id;
    for (let guard = 0; v.status === 'running' && guard < 200; guard++) {
      const cur = v.current!;
      const input = cur.input;
      let action: CeremonyAction;
      if (input.kind === 'presence') action = { kind: 'present', person: input.persons[0]!, proof: card(nameOf(input.persons[0]!)) };
      else if (input.kind === 'enrol') action = { kind: 'enrol', person: input.persons[0]!, proof: card(nameOf(input.persons[0]!)) };
      else if (input.kind === 'approve') action = { kind: 'approve', step: input.step, person: input.persons[0]!, proof: card(nameOf(input.persons[0]!)) };
      else if (input.kind === 'sign-off') action = { kind: 'approve', step: cur.id, person: input.persons[0]!, proof: card(nameOf(input.persons[0]!)) };
      else if (input.kind === 'login') action = { kind: 'login', pin: null };
      else if (input.kind === 'confirm-fingerprint') action = { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex };
      else if (input.kind === 'tick') action = { kind: 'tick', step: input.step };
      else if (input.kind === 'run') action = { kind: 'run' };
      else throw new Error(`the fixture cannot drive input ${input.kind} at ${cur.id}`);
      v = (await svc.act(session, v.run, action, cur.actors[0]?.person ?? null)).view;
    }
    if (v.status !== 'completed') throw new Error(`${v.title} did not complete: ${v.status}`);
    return v;
  };

  beforeAll(async () => {
    requireBuild();
    delete process.env.SOFTHSM2_CONF;
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-rotation-'));
    const demo = demoEnvironment(dataDir);
    prepareDemoFiles(demo);
    const initToken = (label: string, so: string, pin: string) =>
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', so, '--pin', pin], { env: { ...process.env, SOFTHSM2_CONF: demo.confFile }, stdio: 'ignore' });
    initToken(WORKSTATION, SO_PIN, USER_PIN);
    for (const p of PEOPLE) initToken(p.card, '12345678', p.pin);
    app = await startPreview({ distDir: DIST, dataDir, headless: true, log: () => undefined });
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
    // A key in use since before it was archived: 30 months ago, so past its 24-month cryptoperiod.
    await app.services.hsm.call('generate', { path: SOFTHSM_MODULE, token: WORKSTATION, spec: { type: 'aes-256', label: OLD, idHex: 'c0ffee01', usages: ['encrypt'], extractable: true } });
    const door = app.services.archive;
    await door.write(door.existing(), session, (a) =>
      a.add([{ hsm: { idHex: 'c0ffee01', kind: 'secret' }, key: { label: OLD, purpose: 'data-encryption' }, activate: true, activationDate: addMonths(new Date().toISOString(), -30) }], 'Otto Operator (Operator)'),
    );
  }, 300_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && app) await app.page.screenshot({ path: join(SHOTS, `rotation-failure-${ctx.task.name.split(' ').slice(0, 3).join('-')}.png`), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows what is due: the overdue key on the dashboard and flagged in the archive search', async () => {
    await c.nav.click();
    const dash = app.page.getByTestId('rotation-dashboard');
    await dash.waitFor();
    expect(await dash.textContent()).toContain('1 of 1 key is overdue');
    const row = dash.getByTestId('rotation-row');
    expect(await row.count()).toBe(1);
    expect(await row.first().textContent()).toContain(OLD);
    expect(await row.first().textContent()).toContain('Overdue');
    await shot('01-dashboard');

    await archive.open();
    await archive.task('Search the archive').click();
    await archive.searchLabel('*');
    const overdueRow = app.page.locator('tr.row-overdue');
    await overdueRow.waitFor();
    expect(await overdueRow.count()).toBe(1);
    expect(await overdueRow.textContent()).toContain(OLD);
    await view('02-search-flagged');
  }, 120_000);

  it('rotates a key from the version view’s “Rotate…”: planned from the archive, two approvals, version 2 active, version 1 deactivated and restricted', async () => {
    await archive.open();
    await archive.task('Search the archive').click();
    await archive.searchLabel(KEY);
    await archive.resultLink(KEY, 1).click();
    const lead = app.page.getByTestId('rotate-lead');
    await lead.waitFor();
    expect(await lead.textContent()).toContain('generates version 2 inside the HSM with the same algorithm and usages');
    await view('03-version-rotate-lead');
    await lead.getByRole('button', { name: 'Rotate…', exact: true }).click();

    const form = app.page.getByRole('form', { name: 'Plan the rotation' });
    await form.waitFor();
    expect(await form.getByLabel('Key to rotate').inputValue()).toBe(KEY);
    await app.page.getByTestId('rotation-key').getByText('Replacing version 1').waitFor();
    await shot('04-plan');
    await form.getByRole('button', { name: 'Plan the rotation' }).click();

    await c.atStep('Roll call');
    expect(await c.runSubject.textContent()).toContain(`“${KEY}”`);
    expect(await c.runSubject.textContent()).toContain(`version 2, generated in the HSM as “${KEY} v2”`);
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

    await c.atStep('Generate the new version inside the HSM');
    for (const name of ['Ann Archer', 'Ben Baker']) {
      await c.turnOf(name);
      if (name === 'Ann Archer') await view('05-approve');
      await c.withCard(name, null, person(name).pin, `Approve “Generate the new version inside the HSM” as ${name}`);
    }
    await c.turnOf('Otto Operator');
    await c.doStep();
    await c.turnOf('Wes Witness');
    await c.tick();
    await c.atStep('Read the check value aloud');
    await view('06-check-value');
    await c.doStep();
    await c.tick();
    await c.atStep('Test the key');
    await c.doStep();
    await c.tick();
    await c.atStep('Archive the new version and make it active');
    await c.doStep();
    await c.turnOf('Wes Witness');
    expect(await c.facts.textContent()).toContain('version 1 deactivated');
    await view('07-archived');
    await c.tick();
    await c.atStep('Stop the old version protecting');
    await c.turnOf('Otto Operator');
    await view('08-restrict');
    await c.doStep();
    await c.turnOf('Wes Witness');
    expect(await c.facts.textContent()).toContain('decrypts and verifies only');
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await c.verifyEvidence();
    await c.verdict.waitFor();
    expect(await c.verdict.textContent()).toContain('The evidence bundle verifies');
    expect(await c.finished.textContent()).toContain('replaced version');
    await shot('09-finished');

    const d = await app.services.archive.read(app.services.archive.existing(), (a) => a.version(KEY));
    expect(d.versions.map((x) => [x.version, x.state])).toEqual([
      [2, 'active'],
      [1, 'deactivated'],
    ]);
    const [old] = await app.services.hsm.call('objects', { path: SOFTHSM_MODULE, token: WORKSTATION, ref: { label: KEY, kind: 'secret' } });
    expect(old!.usage).toMatchObject({ encrypt: false, decrypt: true });
    await expectNoSecrets(app.page, dataDir, SECRETS, {});
  }, 300_000);
});
