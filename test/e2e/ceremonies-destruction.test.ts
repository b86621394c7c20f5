import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type Preview } from '../../electron/preview/shell';
import type { CeremonyAction } from '../../electron/services/ceremony/service';
import { demoEnvironment, prepareDemoFiles } from '../../electron/services/demo';
import type { RunView } from '../../shared/ceremony/view';
import { DIST, requireBuild, ROOT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { ArchivePage } from './pages/archive-page';
import { CeremoniesPage } from './pages/ceremonies-page';
import { DestructionPage } from './pages/destruction-page';
import { KeysPage } from './pages/keys-page';
import { TokensPage } from './pages/tokens-page';
import { expectNoSecrets } from './secret-scan';

// Issue #10 part 5 through the screens, in the preview shell: the workstation's set-up and a key
// generation (an AES key on the token, archived as version 1, active) run through the ceremony
// service as the command line would. Then, on the screens: the Archive KEK on the Keys screen offers
// only "Destroy in a ceremony…"; the archived version's "Destroy in a ceremony…" leads to the plan
// form, where the key on the token is added; the run names every item at every step, the check
// finds both are the last copy and raises two exceptions, two custodians approve, the destroy
// waits until the administrator decides and the witness acknowledges both, then the operator
// destroys, the witness ticks and signs off, and the evidence (with its certificate) verifies.

const SHOTS = join(ROOT, 'test-results/e2e');
const WORKSTATION = 'Workstation HSM';
const SO_PIN = 'so-pin-9753';
const USER_PIN = 'user-pin-8642';
const KEY = 'Payments DEK 2025';
const REASON = 'End of the cryptoperiod; the 2025 batches were re-encrypted under DEK 2026 (change 8812).';

const PEOPLE = [
  { name: 'Ada Admin', role: 'administrator', title: 'Ceremony administrator', card: 'Card Ada', pin: '200001' },
  { name: 'Otto Operator', role: 'operator', title: 'Operator', card: 'Card Otto', pin: '200002' },
  { name: 'Ann Archer', role: 'custodian', title: 'Custodian', card: 'Card Ann', pin: '200003' },
  { name: 'Ben Baker', role: 'custodian', title: 'Custodian', card: 'Card Ben', pin: '200004' },
  { name: 'Cat Cole', role: 'custodian', title: 'Custodian', card: 'Card Cat', pin: '200005' },
  { name: 'Wes Witness', role: 'witness', title: 'Witness', card: 'Card Wes', pin: '200006' },
] as const;
const person = (name: string) => PEOPLE.find((p) => p.name === name)!;
const SECRETS = [SO_PIN, USER_PIN, ...PEOPLE.map((p) => p.pin)];
const cast = () => PEOPLE.map((p) => ({ person: p.name, roles: [p.role] }));

describe('destruction under dual control, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let c: CeremoniesPage;
  let d: DestructionPage;
  let archive: ArchivePage;
  let keysPage: KeysPage;
  let kekLabel = '';
  const savedConf = process.env.SOFTHSM2_CONF;
  const shot = async (name: string) => {
    await app.page.evaluate(() => window.scrollTo(0, 0));
    await app.page.screenshot({ path: join(SHOTS, `destruction-${name}.png`), fullPage: true });
  };
  /** Screenshot of what is on the screen now (1280×800), as the room sees it. */
  const view = async (name: string) => app.page.screenshot({ path: join(SHOTS, `destruction-${name}.png`) });

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
      const by: string | null = actor;
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
        case 'run':
          action = { kind: 'run' };
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
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-destroy-'));
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
    d = new DestructionPage(app.page);
    archive = new ArchivePage(app.page);
    keysPage = new KeysPage(app.page);
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
    kekLabel = (await app.services.keys.list(session)).find((k) => k.label.startsWith('custos-archive-kek/'))!.label;
  }, 300_000);

  // When a step fails, the screen at that moment says why.
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && app) await app.page.screenshot({ path: join(SHOTS, `destruction-failure-${ctx.task.name.split(' ').slice(0, 3).join('-')}.png`), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('offers only “Destroy in a ceremony…” for the Archive KEK on the Keys screen, and leads to the plan with it filled in', async () => {
    // After the set-up, the Tokens screen's login names the operator (a production record asks who acts).
    const tokens = new TokensPage(app.page);
    // The Ceremonies screen reads the record as it opens (the set-up ran outside the screens).
    await c.nav.click();
    await c.heading.waitFor();
    await app.page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Tokens', exact: true }).click();
    await tokens.heading.waitFor();
    await tokens.token(WORKSTATION).click();
    if (await tokens.logoutButton.isVisible()) {
      await tokens.logoutButton.click();
      await tokens.pinInput.waitFor();
    }
    await tokens.personSelect.waitFor();
    await tokens.pinInput.fill(USER_PIN);
    await tokens.personSelect.selectOption({ label: 'Otto Operator (operator)' });
    await tokens.loginButton.click();
    await tokens.loggedInStatus.waitFor();

    await keysPage.navKeys.click();
    await keysPage.heading.waitFor();
    await keysPage.key(kekLabel).click();
    await keysPage.inspector(kekLabel).waitFor();
    await d.protectedHint.waitFor();
    expect(await app.page.getByRole('button', { name: 'Destroy…', exact: true }).count()).toBe(0);
    await shot('01-keys-kek-lead');
    // A page that calls main directly is refused too, with the ceremony named; the KEK stays.
    const uri = (await app.services.tokens.listing()).slots.find((x) => x.token?.label === WORKSTATION)!.token!.uri;
    const r = await app.page.evaluate(
      ({ t, label }) => (window as unknown as { custos: import('../../shared/contract').CustosApi }).custos['keys.destroy']({ ...t, key: label, confirmLabel: label }),
      { t: { module: SOFTHSM_MODULE, token: uri }, label: kekLabel },
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('KEY_PROTECTED');
    expect(!r.ok && r.error.action).toContain('custos ceremony plan custos/destruction');
    expect((await app.services.keys.list(session)).some((k) => k.label === kekLabel)).toBe(true);
    await d.keyLead.click();
    await d.form.waitFor();
    expect(await d.keys.inputValue()).toBe(kekLabel);
    await c.backToList();
  });

  it('destroys the archived version and the key on the token: every item named at every step, exceptions for the last copies decided, two approvals, a certificate', async () => {
    await archive.open();
    await archive.task('Search the archive').click();
    await archive.searchLabel(KEY);
    await archive.resultLink(KEY, 1).click();
    await d.versionLead.waitFor();
    await view('10-version-lead');
    await d.versionLead.getByRole('button', { name: 'Destroy in a ceremony…' }).click();
    await d.form.waitFor();
    expect(await d.versions.inputValue()).toBe(`${KEY}@1`);
    await d.keys.fill(KEY);
    await d.plan({ reason: REASON, deactivate: true, before: () => shot('11-plan-form') });

    await c.atStep('Roll call');
    expect(await d.reason.textContent()).toContain(REASON);
    expect(await d.items.textContent()).toContain(`Version 1 of “${KEY}”`);
    expect(await d.items.textContent()).toContain('on the workstation token');
    await c.current.getByRole('form', { name: /is present$/ }).waitFor();
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
    // After the check: each item with its id and check value, and both marked as the last copy.
    await d.items.getByText('Last copy', { exact: false }).first().waitFor();
    expect(await d.items.locator('.destroy-item-warn').count()).toBe(2);
    expect(await d.items.textContent()).toMatch(/id [0-9a-f]{32}/);
    await shot('12-after-check');
    await c.confirmFingerprint();
    await c.current.getByRole('button', { name: 'Record the fingerprint as confirmed' }).click();

    await c.atStep('Destroy the keys');
    for (const name of ['Ann Archer', 'Ben Baker']) {
      await c.turnOf(name);
      if (name === 'Ann Archer') await view('13-approve');
      await c.withCard(name, null, person(name).pin, `Approve “Destroy the keys” as ${name}`);
    }
    // Both exceptions must be decided and acknowledged before anything goes.
    await c.needs.getByText(/2 exceptions must be decided/).waitFor();
    await d.waits.waitFor();
    expect(await c.current.getByTestId('do-step').count()).toBe(0);
    await view('14-exceptions-open');
    for (const n of [1, 2]) {
      await c.decide(n, 'Accepted: the 2025 batches were re-encrypted under DEK 2026 and checked (change 8812).');
      await c.acknowledge('Wes Witness');
    }
    await c.turnOf('Otto Operator');
    expect(await d.sentence.textContent()).toContain(`the archived material of version 1 of “${KEY}”; “${KEY}” on the token`);
    await d.sentence.scrollIntoViewIfNeeded();
    await view('15-destroy');
    await c.doStep();

    await c.turnOf('Wes Witness');
    await d.destroyed.waitFor();
    expect(await d.destroyed.textContent()).toContain('Destroyed: 2 items');
    expect(await d.destroyed.textContent()).toContain('finds 0 key objects');
    await view('16-destroyed-tick');
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await c.verifyEvidence();
    await c.verdict.waitFor();
    expect(await c.verdict.textContent()).toContain('The evidence bundle verifies');
    await shot('17-finished');

    expect((await app.services.keys.list(session)).some((k) => k.label === KEY)).toBe(false);
    const bundles = join(dataDir, 'evidence');
    const folder = readdirSync(bundles, { recursive: true }).map(String).find((n) => n.endsWith('destruction-certificate.json'));
    expect(folder).toBeTruthy();
    const cert = JSON.parse(readFileSync(join(bundles, folder!), 'utf8')) as { items: unknown[]; reason: string };
    expect(cert.items).toHaveLength(2);
    expect(cert.reason).toBe(REASON);
  }, 300_000);

  it('keeps no PIN in the page, its storage or the data folder’s files', async () => {
    await expectNoSecrets(app.page, dataDir, SECRETS, {});
  });
});
