import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type Preview } from '../../electron/preview/shell';
import type { CeremonyAction } from '../../electron/services/ceremony/service';
import { demoEnvironment, prepareDemoFiles } from '../../electron/services/demo';
import { serializeSealedShare } from '../../electron/services/shares/index';
import type { RunView } from '../../shared/ceremony/view';
import { parseShareSetRecordJson } from '../../shared/shares';
import { DIST, requireBuild, ROOT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { CeremoniesPage } from './pages/ceremonies-page';
import { expectNoSecrets } from './secret-scan';
import { TokensPage } from './pages/tokens-page';

// A restore drill in the preview shell with shares sealed to the holders' cards (issue #10 part 1):
// the set-up and a SLIP-39 2-of-3 backup run through the ceremony service (as the CLI would); each
// holder's share is sealed to a key made on their own SoftHSM2 card and written to the "removable
// media" folder. On the screen, Ann loads Cat's envelope first (named at once; no card is asked for),
// then her own, and opens it in her card with a wrong PIN first (refused, may try again) and then
// the right one; Cat opens hers; the Backup Key is rebuilt and every key matched. The page never
// holds a word of a share.

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
const cast = () => PEOPLE.map((p) => ({ person: p.name, roles: [p.role] }));

describe('a restore drill from shares sealed to the holders’ cards, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let stick: string;
  let c: CeremoniesPage;
  let backupName = '';
  const shares: Record<string, string> = {};
  const savedConf = process.env.SOFTHSM2_CONF;
  const view = async (name: string) => app.page.screenshot({ path: join(SHOTS, `ceremony-${name}.png`) });
  const shot = async (name: string) => app.page.screenshot({ path: join(SHOTS, `ceremony-${name}.png`), fullPage: true });
  const session = { module: SOFTHSM_MODULE, token: WORKSTATION };
  const card = (name: string) => ({ card: { module: SOFTHSM_MODULE, token: person(name).card, pin: person(name).pin } });

  /** Runs a planned ceremony to its end through the service: each input by the first person it names. */
  const drive = async (first: RunView): Promise<RunView> => {
    const svc = app.services.ceremonies;
    let v = first;
    const nameOf = (id: string) => v.participants.find((p) => p.person === id)?.name ?? id;
    for (let guard = 0; v.status === 'running' && guard < 200; guard++) {
      const cur = v.current!;
      const input = cur.input;
      let by: string | null = cur.actors[0]?.person ?? null;
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
        case 'hand-over': {
          const h = input.holders.find((x) => !x.done)!;
          shares[h.name] = (await svc.act(session, v.run, { kind: 'reveal', holder: h.person }, null)).reveal!.share;
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
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-sealed-'));
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
    const backup = await drive(
      await svc.plan(session, { definition: 'custos/backup', params: { targets: ['archive-kek', 'archive-mac'], scheme: 'slip39', threshold: 2, holders: ['Ann Archer', 'Ben Baker', 'Cat Cole'] }, participants: cast() }),
    );
    backupName = `Backup of ${backup.endedAt!.slice(0, 10)} (${backup.run.slice(0, 8)})`;
    const record = parseShareSetRecordJson(JSON.stringify((backup.steps.find((s) => s.kind === 'split')!.outcome as { shareSetRecord: unknown }).shareSetRecord));
    // Each holder's share sealed to a key on their own card (EC P-256, ECDH in the card), written to the stick.
    for (const h of ['Ann Archer', 'Cat Cole']) {
      const t = { module: SOFTHSM_MODULE, token: uriOf(person(h).card) };
      await app.services.hsm.call('login', { path: t.module, token: t.token, role: 'user', pin: person(h).pin });
      // Straight to the host: the key service's generate asks the workstation record who acts.
      await app.services.hsm.call('generate', { path: t.module, token: t.token, spec: { type: 'ec-p256', label: 'custodian', idHex: h === 'Ann Archer' ? 'a1' : 'c3', usages: ['derive'], extractable: false } });
      const env = await app.services.shares.sealToToken(t, 'custodian', { mnemonic: shares[h]!, record, holder: h });
      await app.services.hsm.call('logout', { path: t.module, token: t.token });
      writeFileSync(join(stick, `${h.split(' ')[0]!.toLowerCase()}.sealed.json`), serializeSealedShare(env));
    }
  }, 300_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && app) await app.page.screenshot({ path: join(SHOTS, 'ceremony-failure-sealed.png'), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('each holder loads their envelope and opens it in their card; a wrong envelope and a wrong PIN are refused by name and tried again', async () => {
    await c.nav.click();
    await c.drillDashboard.waitFor();
    await c.runDrillOf(backupName);
    await c.drillForm.waitFor();
    await c.planRestore({ drill: true, holders: ['Ann Archer', 'Cat Cole'] });

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

    await c.atStep('Enter the shares');
    await c.turnOf('Ann Archer');
    expect(await c.banner.textContent()).toContain('or open the one sealed to your card, with its PIN');
    // Ann loads Cat's envelope by mistake: named at once, and no card or PIN is asked for.
    await c.loadSealedShare('Ann Archer', 'cat.sealed.json');
    await c.sealedLoaded.waitFor();
    expect(await c.sealedLoaded.textContent()).toContain('cat.sealed.json holds Cat Cole’s share, not Ann Archer’s. Ann Archer: load your own envelope.');
    expect(await c.current.getByLabel('Ann Archer’s card PIN').count()).toBe(0);
    await view('40-sealed-wrong-envelope');

    // Her own envelope: the card it was sealed to is named; a wrong PIN first (refused, nothing counted), then the right one.
    await c.loadSealedShare('Ann Archer', 'ann.sealed.json');
    await c.sealedLoaded.filter({ hasText: 'sealed to the card “Card Ann”' }).waitFor();
    await view('41-sealed-loaded');
    await c.withCard('Ann Archer', null, '999999', 'Enter Ann Archer’s share from the card');
    await c.alert.filter({ hasText: 'The PIN is not correct' }).waitFor();
    expect(await c.shareCount.textContent()).toContain('0 of 2 shares entered');
    await view('42-sealed-wrong-pin');
    await c.withCard('Ann Archer', null, person('Ann Archer').pin, 'Enter Ann Archer’s share from the card');

    await c.turnOf('Cat Cole');
    await c.shareCount.filter({ hasText: '1 of 2 shares entered (Ann Archer)' }).waitFor();
    await c.loadSealedShare('Cat Cole', 'cat.sealed.json');
    await c.sealedLoaded.waitFor();
    await view('43-sealed-second-holder');
    await c.withCard('Cat Cole', null, person('Cat Cole').pin, 'Enter Cat Cole’s share from the card');

    await c.atStep('Rebuild the Backup Key');
    await c.turnOf('Otto Operator');
    await c.doStep();
    await c.atStep('Unwrap into a session and compare the check values');
    expect(await c.rebuilt.textContent()).toContain('is the one recorded at the backup');
    await c.doStep();
    await c.unwrapResults.waitFor();
    expect(await c.unwrapResults.textContent()).toContain('Every key matched (2 of 2)');
    await shot('44-sealed-drill-results');

    // No PIN and no word of a share in the page, its storage, or the data folder's files.
    await expectNoSecrets(app.page, dataDir, [SO_PIN, USER_PIN, ...PEOPLE.map((p) => p.pin)], shares);
  }, 300_000);
});
