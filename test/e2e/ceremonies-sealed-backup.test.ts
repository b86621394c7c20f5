import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type Preview } from '../../electron/preview/shell';
import type { CeremonyAction } from '../../electron/services/ceremony/service';
import { demoEnvironment, prepareDemoFiles } from '../../electron/services/demo';
import { CardShareService, parseSealedShareJson } from '../../electron/services/shares/index';
import type { RunView } from '../../shared/ceremony/view';
import { DIST, requireBuild, ROOT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { CeremoniesPage } from './pages/ceremonies-page';
import { expectNoSecrets } from './secret-scan';
import { TokensPage } from './pages/tokens-page';

// A sealed backup in the preview shell: the set-up runs through the ceremony service; on the screen
// the administrator plans a backup "sealed to each holder's card", and at the hand-over each holder
// chooses their own SoftHSM2 card and enters its PIN (Ann: another holder's card first, refused by
// its serial; then a wrong PIN, refused) — main finds or makes the sealing key on the card, seals the
// share, opens it once there — and saves the envelope to the "removable media" folder. In the
// verification round each holder loads the file they saved and opens it in their card (Ann loads
// Ben's first: refused). The quorum commits under the SO PIN; the record names each card key and
// envelope hash. The page never holds a word of a share.

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

describe('a backup sealed to the holders’ cards, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let stick: string;
  let c: CeremoniesPage;
  const savedConf = process.env.SOFTHSM2_CONF;
  const view = async (name: string) => app.page.screenshot({ path: join(SHOTS, `ceremony-${name}.png`) });
  const shot = async (name: string) => app.page.screenshot({ path: join(SHOTS, `ceremony-${name}.png`), fullPage: true });
  const session = { module: SOFTHSM_MODULE, token: WORKSTATION };
  const card = (name: string) => ({ card: { module: SOFTHSM_MODULE, token: person(name).card, pin: person(name).pin } });

  /** Runs a planned ceremony to its end through the service: each input by the first person it names. */
  const drive = async (first: RunView): Promise<RunView> => {
    const svc = app.services.ceremonies;
    let v = first;
    for (let guard = 0; v.status === 'running' && guard < 200; guard++) {
      const cur = v.current!;
      const input = cur.input;
      const nameOf = (id: string) => v.participants.find((p) => p.person === id)?.name ?? id;
      let action: CeremonyAction;
      switch (input.kind) {
        case 'presence':
        case 'enrol':
          action = { kind: input.kind === 'presence' ? 'present' : 'enrol', person: input.persons[0]!, proof: card(nameOf(input.persons[0]!)) };
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
      v = (await svc.act(session, v.run, action, cur.actors[0]?.person ?? null)).view;
    }
    if (v.status !== 'completed') throw new Error(`${v.title} did not complete: ${v.status}`);
    return v;
  };

  beforeAll(async () => {
    requireBuild();
    delete process.env.SOFTHSM2_CONF; // the tokens live in the data folder's SoftHSM2 folder
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-sealedbk-'));
    stick = join(dataDir, 'stick');
    mkdirSync(stick);
    const demo = demoEnvironment(dataDir);
    prepareDemoFiles(demo);
    const initToken = (label: string, so: string, pin: string) =>
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', so, '--pin', pin], { env: { ...process.env, SOFTHSM2_CONF: demo.confFile }, stdio: 'ignore' });
    initToken(WORKSTATION, SO_PIN, USER_PIN);
    for (const p of PEOPLE) initToken(p.card, '12345678', p.pin);
    app = await startPreview({ distDir: DIST, dataDir, saveDir: stick, headless: true, log: () => undefined });
    await app.page.setViewportSize({ width: 1280, height: 800 });
    const tokens = new TokensPage(app.page);
    c = new CeremoniesPage(app.page);
    await tokens.demoForm.waitFor();
    await app.page.getByLabel('Module path').fill(SOFTHSM_MODULE);
    await app.page.getByRole('button', { name: 'Add module' }).click();
    await tokens.token(WORKSTATION).click();
    await tokens.login(USER_PIN);
    await tokens.loggedInStatus.waitFor();
    const svc = app.services.ceremonies;
    const slots = (await app.services.tokens.listing()).slots;
    const uriOf = (label: string) => slots.find((s) => s.token?.label === label)!.token!.uri;
    await drive(
      await svc.plan(session, {
        definition: 'custos/workstation-setup',
        params: { recordName: 'Payments HSM, London', token: uriOf(WORKSTATION), practice: false, people: PEOPLE.map((p) => ({ name: p.name, roles: [p.role], credential: 'card' })) },
        participants: [],
      }),
    );
    // A save on a workstation record needs a named person; this app's login came before the record
    // existed and named nobody, so the operator names himself as the login form's "who" would.
    app.services.activity.signIn({ module: SOFTHSM_MODULE, token: uriOf(WORKSTATION) }, 'Otto Operator');
  }, 300_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && app) await app.page.screenshot({ path: join(SHOTS, 'ceremony-failure-sealed-backup.png'), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('each holder seals their share to their own card and saves it; another card and a wrong PIN are refused; each saved file opens in its card', async () => {
    await c.nav.click();
    await c.start('Split-knowledge backup').click();
    await c.backupForm.waitFor();
    await c.backupForm.getByRole('checkbox', { name: /^Archive KEK/ }).waitFor();
    await c.planBackup({ targets: ['Archive KEK', 'Archive MAC key'], scheme: 'Sealed', threshold: 2, holders: ['Ann Archer', 'Ben Baker', 'Cat Cole'] });
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
    await c.atStep('Make the Backup Key');
    await c.chooseActor('Cat Cole (Custodian)');
    await c.withCard('Cat Cole', null, person('Cat Cole').pin, 'Approve “Commit the backup” as Cat Cole');
    await c.turnOf('Ann Archer');
    await c.withCard('Ann Archer', null, person('Ann Archer').pin, 'Approve “Commit the backup” as Ann Archer');
    await c.turnOf('Otto Operator');
    await c.doStep();
    await c.atStep('Split the Backup Key into shares');
    await c.doStep();

    await c.atStep('Hand each share to its holder');
    await c.turnOf('Ann Archer');
    expect(await c.banner.textContent()).toContain('insert your card and enter its PIN: your share is sealed to it, never shown');
    expect(await c.current.getByRole('button', { name: /^Show / }).count()).toBe(0);
    expect(await c.say.textContent()).toContain('inserts their own card and types its PIN');
    // Ben's card chosen for Ann: refused by its serial, before its PIN is tried.
    await c.withCard('Ann Archer', 'Card Ben', person('Ben Baker').pin, 'Seal Ann Archer’s share to the card');
    await c.alert.filter({ hasText: 'not Ann Archer’s enrolled card' }).waitFor();
    await view('50-sealed-backup-wrong-card');
    await c.withCard('Ann Archer', 'Card Ann', '999999', 'Seal Ann Archer’s share to the card');
    await c.alert.filter({ hasText: 'The PIN is not correct' }).waitFor();
    for (const name of ['Ann Archer', 'Ben Baker', 'Cat Cole']) {
      await c.turnOf(name);
      await c.withCard(name, person(name).card, person(name).pin, `Seal ${name}’s share to the card`);
      await c.sealedDone.waitFor();
      expect(await c.sealedDone.textContent()).toContain(`is sealed to a sealing key made now on card “${person(name).card}”`);
      if (name === 'Ann Archer') await view('51-sealed-backup-sealed');
      await c.current.getByRole('button', { name: `Save ${name}’s sealed share…` }).click();
      if (name !== 'Cat Cole') await c.banner.locator('.actor-who', { hasText: name }).waitFor({ state: 'detached' });
    }
    const files = readdirSync(stick).sort();
    expect(files).toEqual(['sealed-share-1-of-3-ann-archer.json', 'sealed-share-2-of-3-ben-baker.json', 'sealed-share-3-of-3-cat-cole.json']);

    await c.atStep('Verification round');
    await c.turnOf('Ann Archer');
    await c.loadSavedEnvelope('sealed-share-2-of-3-ben-baker.json');
    await c.sealedLoaded.filter({ hasText: 'holds Ben Baker’s share, not Ann Archer’s' }).waitFor();
    for (const [i, name] of ['Ann Archer', 'Ben Baker', 'Cat Cole'].entries()) {
      await c.turnOf(name);
      await c.loadSavedEnvelope(files[i]!);
      await c.sealedLoaded.filter({ hasText: `sealed to the card “${person(name).card}”` }).waitFor();
      await c.withCard(name, null, person(name).pin, `Open ${name}’s share from the card`);
    }

    await c.atStep('Commit the backup');
    await c.commit(SO_PIN);
    await c.turnOf('Wes Witness');
    // The witness sees, per holder, the card and key each share went to and the saved file's hash.
    expect(await c.facts.textContent()).toContain('Shares sealed to cards');
    expect(await c.facts.textContent()).toContain('1. Ann Archer: card “Card Ann”');
    await c.tick();
    await c.atStep('Sign-off');
    await c.withCard('Wes Witness', null, person('Wes Witness').pin, 'Sign off as Wes Witness');
    await c.finish();
    await c.finished.waitFor({ timeout: 60_000 });
    await shot('52-sealed-backup-finished');

    // The record names each card key and the SHA-256 of each file as saved.
    const runs = await app.services.ceremonies.list();
    const v = await app.services.ceremonies.view(runs.find((r) => r.type === 'backup')!.run);
    const commit = v.steps.find((s) => s.kind === 'commit-backup')!.outcome as { envelopes: Array<{ name: string; tokenLabel: string; envelopeSha256: string }> };
    expect(commit.envelopes.map((e) => [e.name, e.tokenLabel, e.envelopeSha256])).toEqual(
      files.map((f, i) => [['Ann Archer', 'Ben Baker', 'Cat Cole'][i], person(['Ann Archer', 'Ben Baker', 'Cat Cole'][i]!).card, createHash('sha256').update(readFileSync(join(stick, f))).digest('hex')]),
    );
    // The words (read here from each card) appear nowhere: not in the page, its storage, or the data folder.
    const shares: Record<string, string> = {};
    for (const [i, name] of ['Ann Archer', 'Ben Baker', 'Cat Cole'].entries()) {
      const t = { module: SOFTHSM_MODULE, token: person(name).card };
      await app.services.hsm.call('login', { path: t.module, token: t.token, role: 'user', pin: person(name).pin });
      try {
        shares[name] = await new CardShareService(app.services.hsm).open(t, parseSealedShareJson(readFileSync(join(stick, files[i]!), 'utf8')));
      } finally {
        await app.services.hsm.call('logout', { path: t.module, token: t.token });
      }
    }
    await expectNoSecrets(app.page, dataDir, [SO_PIN, USER_PIN, ...PEOPLE.map((p) => p.pin)], shares);
  }, 300_000);
});
