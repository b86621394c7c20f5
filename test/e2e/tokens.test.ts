import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHOD_NAMES } from '../../shared/contract';
import { startPreview, type Preview } from '../../electron/preview/shell';
import { DIST, requireBuild, ROOT } from '../helpers/softhsm';
import { TokensPage } from './pages/tokens-page';

// End to end through the real UI, in the preview shell (system Chromium + the real main-process
// services + a real SoftHSM2 demo token in a temporary data folder).

const SHOTS = join(ROOT, 'test-results/e2e');
const SO_PIN = 'so-pin-8866';
const USER_PIN = 'user-pin-4711';
const WRONG_PIN = 'wrong-pin-0000';

describe('tokens, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let page: TokensPage;
  const savedConf = process.env.SOFTHSM2_CONF;

  beforeAll(async () => {
    requireBuild();
    delete process.env.SOFTHSM2_CONF; // the demo token lives in the data folder
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-'));
    app = await startPreview({ distDir: DIST, dataDir, headless: true, log: () => undefined });
    page = new TokensPage(app.page);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows which shell is running and offers the demo token', async () => {
    await page.heading.waitFor();
    await expect(page.shellMarker.textContent()).resolves.toContain('Preview shell');
    await page.demoForm.waitFor();
    await app.page.screenshot({ path: join(SHOTS, '01-first-run.png') });
  });

  it('exposes exactly the contract methods (and onEvent, to hear main) to the page, and nothing from Node', async () => {
    const names = await app.page.evaluate(() => Object.keys((window as unknown as { custos: object }).custos).sort());
    expect(names).toEqual([...METHOD_NAMES, 'onEvent'].sort());
    // The preview shell's entry point for events cannot be replaced by a page script.
    const replaced = await app.page.evaluate(() => {
      const w = window as unknown as { __custosEvent: unknown };
      const before = w.__custosEvent;
      try {
        w.__custosEvent = () => undefined;
      } catch {
        /* strict mode: a read-only property throws */
      }
      return w.__custosEvent !== before;
    });
    expect(replaced).toBe(false);
    expect(await app.page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(await app.page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
  });

  it('cancels every network request the page makes', async () => {
    const outcome = await app.page.evaluate(() =>
      fetch('https://example.com/').then(
        () => 'fetched',
        () => 'blocked',
      ),
    );
    expect(outcome).toBe('blocked');
  });

  it('creates the demo token', async () => {
    await page.createDemo(SO_PIN, USER_PIN);
    await page.token('Custos demo').waitFor();
    await expect(page.topbar.textContent()).resolves.toContain('Demo token — not for production');
    await app.page.screenshot({ path: join(SHOTS, '02-demo-token.png') });
  });

  it('refuses a PIN shorter than the token allows before sending it, so no try is used', async () => {
    await page.login('123');
    const alert = page.alert;
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('This token takes a PIN of 4 to 255 characters; the one given has 3.');
    expect(text).toContain('No attempt was used');
    await expect(page.pinInput.getAttribute('aria-invalid')).resolves.toBe('true');
    // SoftHSM marks "few tries left" after any failed C_Login: the token was never asked.
    await page.refreshAndWait();
    expect(await page.token('Custos demo').getByText('Few PIN tries left').count()).toBe(0);
    await page.pinInput.fill('');
  });

  it('refuses a wrong PIN with words and warns that tries are running out', async () => {
    await page.login(WRONG_PIN);
    const alert = page.alert;
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('The PIN is not correct');
    expect(text).toContain('few tries remain');
    expect(text).toContain('What to do:');
    expect(text).not.toContain('CKR_');
    expect(await page.pinInput.inputValue()).toBe('');
    await page.token('Custos demo').getByText('Few PIN tries left').waitFor();
    await page.showTechnicalDetail();
    await expect(alert.textContent()).resolves.toContain('CKR_PIN_INCORRECT');
    await app.page.screenshot({ path: join(SHOTS, '03-wrong-pin.png') });
  });

  it('logs in with the right PIN and out again', async () => {
    await page.login(USER_PIN);
    await page.loggedInStatus.waitFor();
    await page.token('Custos demo').getByText('logged in').waitFor();
    await app.page.screenshot({ path: join(SHOTS, '04-logged-in.png') });
    await page.logoutButton.click();
    await page.pinInput.waitFor();
  });

  it('keeps PINs out of page storage and out of the data folder', async () => {
    const stored = await app.page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    for (const pin of [SO_PIN, USER_PIN, WRONG_PIN]) expect(stored).not.toContain(pin);
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(dataDir);
    for (const f of files) {
      const content = readFileSync(f);
      for (const pin of [SO_PIN, USER_PIN, WRONG_PIN]) expect(content.includes(Buffer.from(pin)), `${f} contains a PIN`).toBe(false);
    }
  });

  it('drops a PIN that was typed but not sent when the token is re-selected', async () => {
    await page.pinInput.fill('typed-not-sent');
    await page.token('Custos demo').click();
    await page.refreshAndWait();
    // Same token re-selected: field keeps focus semantics but the store never saw the PIN.
    const state = await app.page.evaluate(() => document.body.innerText);
    expect(state).not.toContain('typed-not-sent');
  });
});
