import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type Preview } from '../../electron/preview/shell';
import type { CeremonyAction } from '../../electron/services/ceremony/service';
import { demoEnvironment, prepareDemoFiles } from '../../electron/services/demo';
import type { RunView } from '../../shared/ceremony/view';
import { DIST, requireBuild, ROOT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { ArchivePage } from './pages/archive-page';
import { expectNoSecrets } from './secret-scan';
import { CeremoniesPage } from './pages/ceremonies-page';
import { TokensPage } from './pages/tokens-page';

// Audit key rotation (issue #10 part 4) through the Ceremonies screen, in the preview shell. The
// workstation's set-up is run through the ceremony service (as the command line would); then, on
// the screens: the plan form showing the audit key's fingerprint to confirm, the roll call, two
// card approvals, the handover, the witness's tick showing the old and the new key, the sign-off
// and the evidence verdict. The set-up's bundle, signed by the old key, still verifies afterwards.
// Then the MAC key, from the same form with the key chosen: its check value confirmed, progress
// (with the stop button) while 16,000 rows are re-MACed, the old and new keys shown to the witness.

const SHOTS = join(ROOT, 'test-results/e2e');
const WORKSTATION = 'Workstation HSM';
const SO_PIN = 'so-pin-9753';
const USER_PIN = 'user-pin-8642';

const PEOPLE = [
  { name: 'Ada Admin', role: 'administrator', card: 'Card Ada', pin: '300001' },
  { name: 'Otto Operator', role: 'operator', card: 'Card Otto', pin: '300002' },
  { name: 'Ann Archer', role: 'custodian', card: 'Card Ann', pin: '300003' },
  { name: 'Ben Baker', role: 'custodian', card: 'Card Ben', pin: '300004' },
  { name: 'Cat Cole', role: 'custodian', card: 'Card Cat', pin: '300005' },
  { name: 'Wes Witness', role: 'witness', card: 'Card Wes', pin: '300006' },
] as const;
const person = (name: string) => PEOPLE.find((p) => p.name === name)!;
const SECRETS = [SO_PIN, USER_PIN, ...PEOPLE.map((p) => p.pin)];

describe('audit key rotation, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let c: CeremoniesPage;
  let setupBundle = '';
  const savedConf = process.env.SOFTHSM2_CONF;
  const session = { module: SOFTHSM_MODULE, token: WORKSTATION };
  const card = (name: string) => ({ card: { module: SOFTHSM_MODULE, token: person(name).card, pin: person(name).pin } });
  const shot = async (name: string) => {
    await app.page.evaluate(() => window.scrollTo(0, 0));
    await app.page.screenshot({ path: join(SHOTS, `ceremony-${name}.png`), fullPage: true });
  };
  const view = async (name: string) => app.page.screenshot({ path: join(SHOTS, `ceremony-${name}.png`) });

  /** Runs a planned ceremony to its end through the service: each input by the first person it names. */
  const drive = async (first: RunView): Promise<RunView> => {
    const svc = app.services.ceremonies;
    let v = first;
    const nameOf = (id: string) => v.participants.find((p) => p.person === id)?.name ?? id;
    for (let guard = 0; v.status === 'running' && guard < 100; guard++) {
      const cur = v.current!;
      const input = cur.input;
      const by: string | null = cur.actors[0]?.person ?? null;
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
      const r = await svc.act(session, v.run, action, by);
      v = r.view;
      if (r.bundle) setupBundle = r.bundle.path;
    }
    if (v.status !== 'completed') throw new Error(`${v.title} did not complete: ${v.status}`);
    return v;
  };

  beforeAll(async () => {
    requireBuild();
    delete process.env.SOFTHSM2_CONF;
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-wskey-'));
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
    await tokens.demoForm.waitFor();
    await app.page.getByLabel('Module path').fill(SOFTHSM_MODULE);
    await app.page.getByRole('button', { name: 'Add module' }).click();
    await tokens.token(WORKSTATION).click();
    await tokens.login(USER_PIN);
    await tokens.loggedInStatus.waitFor();
    const uri = (await app.services.tokens.listing()).slots.find((s) => s.token?.label === WORKSTATION)!.token!.uri;
    await drive(
      await app.services.ceremonies.plan(session, {
        definition: 'custos/workstation-setup',
        params: { recordName: 'Payments HSM, London', token: uri, practice: false, people: PEOPLE.map((p) => ({ name: p.name, roles: [p.role], credential: 'card' })) },
        participants: [],
      }),
    );
  }, 300_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && app) await app.page.screenshot({ path: join(SHOTS, 'ceremony-failure-audit-key.png'), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('rotates the audit key from the Ceremonies screen: the fingerprint confirmed, two approvals, the old and new keys shown to the witness, signed off, old evidence still verifying', async () => {
    const door = app.services.archive;
    const before = await door.read(door.existing(), (a) => a.info());
    const old = before.keys.audit.fingerprint;
    await c.nav.click();
    await c.start('Audit key rotation').click();
    const form = app.page.getByRole('form', { name: 'Plan the audit key rotation' });
    await form.waitFor();
    const key = app.page.getByTestId('audit-key-rotation-key');
    await key.getByText(old.slice(0, 4).toUpperCase(), { exact: false }).waitFor();
    expect((await key.textContent())!.replace(/\s/g, '')).toContain(old.toUpperCase());
    await form.getByRole('checkbox', { name: /read the audit key’s fingerprint aloud/ }).check();
    await shot('50-audit-key-form');
    await form.getByRole('button', { name: 'Plan the rotation' }).click();

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

    await c.atStep('Rotate the audit key');
    for (const name of ['Ann Archer', 'Ben Baker']) {
      await c.turnOf(name);
      await c.withCard(name, null, person(name).pin, `Approve “Rotate the audit key” as ${name}`);
    }
    await c.turnOf('Otto Operator');
    await c.current.getByRole('button', { name: 'Rotate the audit key now' }).waitFor();
    await view('51-audit-key-rotate');
    await c.doStep();
    await c.turnOf('Wes Witness');
    const facts = app.page.getByTestId('step-facts');
    await facts.getByText('New audit key').waitFor();
    const after = await door.read(door.existing(), (a) => a.info());
    expect(after.keys.audit.fingerprint).not.toBe(old);
    expect(after.keys.audit.retired.map((k) => k.fingerprint)).toEqual([old]);
    const text = (await facts.textContent())!.replace(/\s/g, '');
    expect(text).toContain(old.toUpperCase());
    expect(text).toContain(after.keys.audit.fingerprint.toUpperCase());
    await view('52-audit-key-tick');
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await c.verifyEvidence();
    await c.verdict.waitFor();
    expect(await c.verdict.textContent()).toContain('The evidence bundle verifies');
    await shot('53-audit-key-finished');
    // The set-up's bundle, signed by the key now retired, still verifies on this workstation.
    const v = await app.services.ceremonies.verifyBundle(setupBundle);
    expect(v.checks.filter((x) => !x.ok)).toEqual([]);
    expect(v.auditKey).toBe(old);
    expect((await door.read(door.existing(), (a) => a.verify())).problems).toEqual([]);
    // The Archive screen names the retired key beside the current one.
    const archive = new ArchivePage(app.page);
    await archive.navArchive.click();
    await archive.heading.waitFor();
    await app.page.getByText('About this archive: its file and its keys').click();
    const retired = app.page.getByTestId('retired-audit-keys');
    await retired.waitFor();
    expect((await retired.textContent())!.replace(/\s/g, '')).toContain(old.toUpperCase());
    await retired.scrollIntoViewIfNeeded();
    await view('54-audit-key-archive');
  }, 300_000);

  it('rotates the MAC key from the Ceremonies screen: the key chosen, its check value confirmed, two approvals, progress while rows are re-MACed, the old and new keys shown to the witness, signed off', async () => {
    const door = app.services.archive;
    // Enough rows (a key and a version each) for the rotation to take a few batches, so that its progress shows.
    await app.services.hsm.call('generate', { path: SOFTHSM_MODULE, token: WORKSTATION, spec: { type: 'aes-256', label: 'mac-fill', idHex: 'f111f111', usages: ['encrypt'], extractable: true } });
    await door.write(door.existing(), session, (a) => a.add(Array.from({ length: 8000 }, (_, i) => ({ hsm: { idHex: 'f111f111', kind: 'secret' as const }, key: { label: `fill-${i}`, purpose: 'data-encryption' as const } })), 'Otto Operator (Operator)'));
    const old = (await door.read(door.existing(), (a) => a.info())).keys.mac.check;
    await c.nav.click();
    // The screen still shows the audit key rotation just finished: back to the list of ceremonies.
    const back = app.page.getByRole('button', { name: '← All ceremonies' });
    if (await back.isVisible()) await c.backToList();
    await c.start('Audit key rotation').click();
    await app.page.getByRole('radio', { name: /The MAC key/ }).check();
    const form = app.page.getByRole('form', { name: 'Plan the MAC key rotation' });
    await form.waitFor();
    const key = app.page.getByTestId('mac-key-rotation-key');
    await key.waitFor();
    expect((await key.textContent())!.replace(/\s/g, '').toLowerCase()).toContain(old);
    await form.getByRole('checkbox', { name: /read the MAC key’s check value aloud/ }).check();
    await shot('55-mac-key-form');
    await form.getByRole('button', { name: 'Plan the rotation' }).click();

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
    await c.atStep('Rotate the MAC key');
    for (const name of ['Ann Archer', 'Ben Baker']) {
      await c.turnOf(name);
      await c.withCard(name, null, person(name).pin, `Approve “Rotate the MAC key” as ${name}`);
    }
    await c.turnOf('Otto Operator');
    await c.current.getByRole('button', { name: 'Rotate the MAC key now' }).click();
    // Progress while the rows are re-MACed, with the button that stops after the batch in flight.
    const progress = app.page.locator('.progress[role="status"]');
    await progress.getByText(/rows verified and re-MACed/).waitFor({ timeout: 60_000 });
    await progress.getByRole('button', { name: 'Stop after this batch' }).waitFor();
    await view('56-mac-key-progress');
    await c.turnOf('Wes Witness');
    const facts = app.page.getByTestId('step-facts');
    await facts.getByText('New MAC key').waitFor({ timeout: 60_000 });
    const after = await door.read(door.existing(), (a) => a.info());
    expect(after.keys.mac.check).not.toBe(old);
    const text = (await facts.textContent())!.replace(/\s/g, '').toLowerCase();
    expect(text).toContain(old);
    expect(text).toContain(after.keys.mac.check);
    await view('57-mac-key-tick');
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await c.verifyEvidence();
    await c.verdict.waitFor();
    expect(await c.verdict.textContent()).toContain('The evidence bundle verifies');
    expect((await door.read(door.existing(), (a) => a.verify())).problems).toEqual([]);
  }, 300_000);

  it('keeps no PIN in the page, its storage or the data folder’s files', async () => {
    await expectNoSecrets(app.page, dataDir, SECRETS, {});
  });
});
