import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type Preview } from '../../electron/preview/shell';
import { USAGE_WORDS } from '../../shared/keys';
import { DIST, requireBuild, ROOT } from '../helpers/softhsm';
import { KeysPage } from './pages/keys-page';
import { TokensPage } from './pages/tokens-page';

// The Keys screen end to end, in the preview shell, against a real SoftHSM2 demo token in a
// temporary data folder: generate, inspect, export, CSR, destroy (with the typed-label check).

/** The practice record that comes with the demo token keeps its Archive KEK, MAC key and audit key there. */
const ARCHIVE_KEYS = 3;
const SHOTS = join(ROOT, 'test-results/e2e');
const SO_PIN = 'so-pin-8866';
const USER_PIN = 'user-pin-4711';
const EC_LABEL = 'Root CA 2026';
const AES_LABEL = 'Backup KEK 2026';

describe('keys, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let tokens: TokensPage;
  let keys: KeysPage;
  const savedConf = process.env.SOFTHSM2_CONF;
  // Full-page shots from the top, so that the sticky section list is drawn where it belongs.
  const shot = async (name: string) => {
    await app.page.evaluate(() => window.scrollTo(0, 0));
    await app.page.screenshot({ path: join(SHOTS, `keys-${name}.png`), fullPage: true });
  };
  const focusedText = () => app.page.evaluate(() => document.activeElement?.textContent ?? '');

  beforeAll(async () => {
    requireBuild();
    delete process.env.SOFTHSM2_CONF; // the demo token lives in the data folder
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-keys-'));
    app = await startPreview({ distDir: DIST, dataDir, headless: true, log: () => undefined });
    tokens = new TokensPage(app.page);
    keys = new KeysPage(app.page);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps Keys disabled until a token is present', async () => {
    await tokens.demoForm.waitFor();
    expect(await keys.navKeys.isDisabled()).toBe(true);
    await tokens.createDemo(SO_PIN, USER_PIN);
    await tokens.token('Custos demo').waitFor();
    expect(await keys.navKeys.isEnabled()).toBe(true);
  });

  it('says which token it is about and offers to log in, since private keys are hidden until then', async () => {
    await keys.open();
    expect(await keys.aboutToken.textContent()).toContain('“Custos demo”');
    await keys.loginNeeded.waitFor();
    expect(await keys.loginNeeded.textContent()).toContain('Private and secret keys stay hidden until you log in');
    expect(await keys.generateButton.isDisabled()).toBe(true);
    await shot('01-not-logged-in');

    await keys.goToLoginButton.click();
    await tokens.heading.waitFor();
    // Sent to log in: the PIN field has the focus.
    expect(await tokens.pinInput.evaluate((el) => el === document.activeElement)).toBe(true);
    await tokens.login(USER_PIN);
    await tokens.loggedInStatus.waitFor();

    await keys.open();
    // The demo token comes with a practice record, whose three keys are the first on the token.
    await keys.key('custos-archive-kek/').waitFor();
    expect(await keys.loginNeeded.count()).toBe(0);
    expect(await keys.generateButton.isEnabled()).toBe(true);
  });

  it('generates a non-extractable EC P-256 key pair, one step at a time', async () => {
    await keys.generateButton.click();
    await keys.stepHeading.waitFor();
    expect(await focusedText()).toBe('Which kind of key?');
    await shot('02-generate-algorithm');
    await app.page.getByRole('button', { name: 'Cancel' }).click();

    await keys.fillGenerate({ algorithm: 'EC P-256', extractable: false, label: EC_LABEL });
    expect(await keys.confirmSentence.textContent()).toBe(
      'Generate an EC P-256 key pair labelled “Root CA 2026” on token “Custos demo”. It will never leave the token.',
    );
    expect(await focusedText()).toBe('Check, then confirm');
    await shot('03-generate-confirm');

    await keys.confirmGenerate();
    expect(await keys.fingerprint.textContent()).toMatch(/[0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4}/);
    await shot('04-generated-ec');
    await keys.inspectCreated();
    await keys.key(EC_LABEL).waitFor();
  });

  it('generates an extractable AES-256 key and shows its check values', async () => {
    await keys.fillGenerate({ algorithm: 'AES-256', uses: [USAGE_WORDS.wrap], extractable: true, label: AES_LABEL });
    expect(await keys.confirmSentence.textContent()).toBe(
      'Generate an AES-256 key labelled “Backup KEK 2026” on token “Custos demo”. It can leave the token only wrapped under another key, never in plaintext.',
    );
    await keys.confirmGenerate();
    const cv = (await keys.checkValue.textContent()) ?? '';
    expect(cv).toContain('Check value (CMAC, X9.24-1:2017)');
    expect(cv).toMatch(/X9\.24-1:2017\)[0-9A-F]{5} [0-9A-F]{5}/);
    expect(cv).toMatch(/Legacy check value \(ECB\)[0-9A-F]{6}Compare these/); // whole, as every three-byte check value is written
    await keys.inspectCreated();
    expect(await keys.keyOptions.count()).toBe(2 + ARCHIVE_KEYS);
  });

  it('refuses a label that is already taken, before asking the token', async () => {
    await keys.generateButton.click();
    await keys.algorithm('AES-128').check();
    await keys.nextButton.click();
    await keys.nextButton.click();
    await keys.nextButton.click();
    await app.page.getByLabel('Label', { exact: true }).fill(EC_LABEL);
    await keys.nextButton.click();
    await app.page.getByRole('alert').filter({ hasText: 'is already on this token' }).waitFor();
    await app.page.getByRole('button', { name: 'Back' }).click();
    await app.page.getByRole('button', { name: 'Back' }).click();
    await app.page.getByRole('button', { name: 'Back' }).click();
    await app.page.getByRole('button', { name: 'Cancel' }).click();
  });

  it('lists both keys with their kind, uses and exportability in words', async () => {
    const ec = (await keys.key(EC_LABEL).textContent()) ?? '';
    expect(ec).toContain('EC P-256 · Key pair · on the token');
    expect(ec).toContain('Never leaves the token');
    expect(ec).toContain('Sign and verify');
    const aes = (await keys.key(AES_LABEL).textContent()) ?? '';
    expect(aes).toContain('AES-256 · Secret key');
    expect(aes).toContain('Can leave the token wrapped');
    expect(aes).toContain('Wrap and unwrap other keys');
  });

  it('inspects the key pair: fingerprint, attributes and the full PKCS#11 URI', async () => {
    await keys.select(EC_LABEL);
    await keys.fingerprint.waitFor();
    const fp = (await keys.fingerprint.textContent()) ?? '';
    expect(fp).toContain('Fingerprint (SHA-256 of the public key)');
    expect(fp).toMatch(/([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    const uri = (await keys.keyUri.textContent()) ?? '';
    expect(uri).toMatch(/^pkcs11:.*token=Custos%20demo;object=Root%20CA%202026;id=(%[0-9A-F]{2}){16};type=private$/);
    const panel = (await keys.inspector(EC_LABEL).textContent()) ?? '';
    expect(panel).toContain('CKA_NEVER_EXTRACTABLE');
    expect(panel).toContain('Generated inside the token');
    expect(await keys.key(EC_LABEL).getAttribute('aria-selected')).toBe('true');
    await shot('05-inspect-ec');
  });

  it('inspects the secret key: both check values, labelled', async () => {
    await keys.select(AES_LABEL);
    await keys.checkValue.waitFor();
    const cv = (await keys.checkValue.textContent()) ?? '';
    expect(cv).toContain('Check value (CMAC, X9.24-1:2017)');
    expect(cv).toContain('Legacy check value (ECB)');
    expect(await keys.fingerprint.count()).toBe(0);
    expect(await app.page.getByRole('button', { name: 'Export public key' }).count()).toBe(0);
    await shot('06-inspect-aes');
  });

  it('exports the public key as PEM and JWK, with a Copy button that works or selects the text', async () => {
    await keys.select(EC_LABEL);
    await keys.fingerprint.waitFor();
    await keys.exportPublic('PEM');
    await keys.publicKeyPem.waitFor();
    const pem = (await keys.publicKeyPem.textContent()) ?? '';
    expect(pem.startsWith('-----BEGIN PUBLIC KEY-----\n')).toBe(true);
    expect(pem.trimEnd().endsWith('-----END PUBLIC KEY-----')).toBe(true);
    await keys.copy();
    await keys.copyStatus.filter({ hasText: /Copied|selected/ }).waitFor();
    if ((await keys.copyStatus.textContent())?.includes('selected')) {
      expect(await app.page.evaluate(() => window.getSelection()?.toString())).toBe(pem);
    }
    await shot('07-export-pem');

    await app.page.getByRole('radio', { name: 'JWK (JSON Web Key)' }).check();
    await app.page.getByRole('button', { name: 'Show public key' }).click();
    await keys.publicKeyJwk.waitFor();
    const jwk = JSON.parse((await keys.publicKeyJwk.textContent()) ?? '{}') as Record<string, string>;
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
  });

  it('creates a CSR signed in the token', async () => {
    await keys.createCsr('CN=Root CA 2026,O=Example,C=GB');
    await keys.csrPem.waitFor();
    const csr = (await keys.csrPem.textContent()) ?? '';
    expect(csr.startsWith('-----BEGIN CERTIFICATE REQUEST-----\n')).toBe(true);
    expect(csr.trimEnd().endsWith('-----END CERTIFICATE REQUEST-----')).toBe(true);
    await shot('08-csr');
  });

  it('refuses to destroy a key when the typed label is wrong, in the page and in main', async () => {
    await keys.select(AES_LABEL);
    await keys.checkValue.waitFor();
    await keys.openDestroy();
    const panel = (await app.page.getByRole('form', { name: 'Destroy the key' }).textContent()) ?? '';
    expect(panel).toContain('It cannot be undone.');
    await keys.destroy('backup kek 2026');
    await keys.destroyRefused.waitFor();
    await shot('09-destroy-refused');

    // The page's check is a courtesy; main checks the label again (a compromised page cannot skip it).
    const token = await app.page.evaluate(async () => {
      const c = (window as unknown as { custos: import('../../shared/contract').CustosApi }).custos;
      const list = await c['tokens.list']({});
      const slot = list.ok ? list.value.slots.find((s) => s.token?.label === 'Custos demo') : undefined;
      return slot ? { module: slot.module, token: slot.token!.uri } : null;
    });
    expect(token).not.toBeNull();
    const r = await app.page.evaluate(
      ({ t, label }) =>
        (window as unknown as { custos: import('../../shared/contract').CustosApi }).custos['keys.destroy']({ ...t, key: label, confirmLabel: 'Backup KEK' }),
      { t: token!, label: AES_LABEL },
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('INVALID_INPUT');

    await keys.reload();
    await keys.key(AES_LABEL).waitFor();
    expect(await keys.keyOptions.count()).toBe(2 + ARCHIVE_KEYS);
  });

  it('destroys the AES key once its label is typed exactly', async () => {
    await keys.destroy(AES_LABEL);
    await keys.destroyedStatus.waitFor();
    expect(await keys.destroyedStatus.textContent()).toContain('“Backup KEK 2026” was destroyed');
    expect(await keys.key(AES_LABEL).count()).toBe(0);
    expect(await keys.keyOptions.count()).toBe(1 + ARCHIVE_KEYS);
    await shot('10-destroyed');
  });

  it('shows what the token can do, with the wrap probe verdict in words', async () => {
    await keys.showCapabilities();
    const probe = (await keys.wrapProbe.textContent()) ?? '';
    expect(probe).toContain('RFC 3394');
    // SoftHSM2's CKM_AES_KEY_WRAP_PAD writes standard RFC 5649 output only for 8-byte-aligned keys.
    expect(probe).toContain('multiple of 8 bytes');
    expect(await keys.mechanismTable.getByRole('cell', { name: 'CKM_AES_KEY_WRAP', exact: true }).count()).toBe(1);
    await shot('11-capabilities');
  });

  it('can be driven by the keyboard alone: generate an HMAC key without the mouse', async () => {
    const kb = app.page.keyboard;
    const tab = async (n = 1) => {
      for (let i = 0; i < n; i++) await kb.press('Tab');
    };
    await keys.generateButton.focus();
    await kb.press('Enter');
    await keys.stepHeading.waitFor();
    expect(await focusedText()).toBe('Which kind of key?');
    await tab(); // the first algorithm (AES-256); arrows move through the group
    for (let i = 0; i < 3; i++) await kb.press('ArrowDown');
    expect(await keys.algorithm('HMAC secret (256-bit)').isChecked()).toBe(true);
    await tab(2); // Cancel, Next
    await kb.press('Enter');
    expect(await focusedText()).toBe('What will the HMAC secret (256-bit) key be used for?');
    await tab(3); // the one use (checked), Back, Next
    await kb.press('Enter');
    expect(await focusedText()).toBe('May the key ever leave the token?');
    await tab(3); // "No, never" (checked), Back, Next
    await kb.press('Enter');
    expect(await focusedText()).toBe('What is the key called?');
    await tab();
    await kb.type('MAC key 2026');
    await kb.press('Enter');
    expect(await focusedText()).toBe('Check, then confirm');
    await tab(2); // Back, Generate key
    expect(await focusedText()).toBe('Generate key');
    await shot('12-keyboard-confirm');
    await kb.press('Enter');
    await keys.created.waitFor();
    // An HMAC key has no check value convention; the page says so instead of showing nothing.
    expect(await keys.checkValue.textContent()).toContain('No check value convention exists for this key type');
  });
});
