import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type Preview } from '../../electron/preview/shell';
import { nodeSlip39Crypto } from '../../electron/services/shares/index';
import { secretCheckValue } from '../../electron/services/kcv';
import { createShareSetRecord, serializeShareSetRecord, type ShareSetRecord } from '../../shared/shares';
import { splitSecret } from '../../shared/slip39';
import { DIST, requireBuild, ROOT } from '../helpers/softhsm';
import { SharesPage } from './pages/shares-page';

// The Shares screen end to end, in the preview shell: a share set made here with the pure shared
// code (split + record, as the ceremony does), the record pasted, one share checked, a mistyped
// word, and a 2-of-3 restore drill to a matching check value. No token is involved.

const SHOTS = join(ROOT, 'test-results/e2e');
const PASSPHRASE = 'correct horse';
const HOLDERS = ['Alice Martin', 'Bob Chen', 'Carol Diaz'];

describe('shares, in the preview shell', () => {
  let app: Preview;
  let dataDir: string;
  let shares: SharesPage;
  let record: ShareSetRecord;
  let recordJson: string;
  let secretHex: string;
  let alice: string;
  let bob: string;
  let carol: string;
  let anaShare = '';
  const logs: string[] = [];
  const savedConf = process.env.SOFTHSM2_CONF;

  const shot = async (name: string) => {
    await app.page.evaluate(() => window.scrollTo(0, 0));
    await app.page.screenshot({ path: join(SHOTS, `shares-${name}.png`), fullPage: true });
  };
  const focusedLabel = () => app.page.evaluate(() => document.activeElement?.id ? document.querySelector(`label[for="${document.activeElement.id}"]`)?.textContent ?? '' : '');
  /** No two consecutive words of any share may be anywhere on the page, in the logs or the console. */
  const noSharesIn = (text: string) => {
    for (const m of [alice, bob, carol]) {
      const w = m.split(' ');
      for (let i = 0; i + 1 < w.length; i++) expect(text).not.toContain(`${w[i]} ${w[i + 1]}`);
    }
    expect(text.toLowerCase()).not.toContain(secretHex);
  };

  beforeAll(async () => {
    requireBuild();
    delete process.env.SOFTHSM2_CONF;
    mkdirSync(SHOTS, { recursive: true });
    const secret = new Uint8Array(randomBytes(16));
    secretHex = Buffer.from(secret).toString('hex');
    const mnemonics = await splitSecret(
      { secret, passphrase: new TextEncoder().encode(PASSPHRASE), groupThreshold: 1, groups: [{ threshold: 2, count: 3 }], iterationExponent: 0 },
      nodeSlip39Crypto,
    );
    [alice, bob, carol] = mnemonics[0] as [string, string, string];
    record = await createShareSetRecord({
      mnemonics,
      holders: HOLDERS,
      createdAt: '2026-03-01T10:00:00Z',
      ceremonyId: 'KC-2026-007',
      label: 'Archive KEK backup',
      secretCheck: secretCheckValue(secret),
    });
    recordJson = serializeShareSetRecord(record);
    dataDir = mkdtempSync(join(tmpdir(), 'custos-e2e-shares-'));
    app = await startPreview({ distDir: DIST, dataDir, headless: true, log: (l) => logs.push(l) });
    app.page.on('console', (m) => logs.push(m.text()));
    shares = new SharesPage(app.page);
  });

  afterAll(async () => {
    await app?.close();
    if (savedConf !== undefined) process.env.SOFTHSM2_CONF = savedConf;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('opens without any token, at the first step', async () => {
    await shares.navShares.waitFor();
    expect(await shares.navShares.isEnabled()).toBe(true);
    await shares.open();
    expect(await shares.task('Check my share').getAttribute('aria-pressed')).toBe('true');
    expect(await shares.currentStep.textContent()).toContain('Load record');
  });

  it('refuses pasted text that is not a record, in words', async () => {
    await shares.recordBox.fill('{"format": "something else"}');
    await shares.readRecordButton.click();
    await shares.alert('This file is not a Custos share-set record.').waitFor();
    expect(await shares.alert('This file is not a Custos share-set record.').textContent()).toContain('What to do:');
    await shot('01-record-refused');
  });

  it('reads the record and asks whose share is checked', async () => {
    await shares.loadRecord(recordJson);
    const summary = (await shares.recordSummary.textContent()) ?? '';
    expect(summary).toContain(`Set ${record.set.identifier} — Archive KEK backup`);
    expect(summary).toContain('KC-2026-007, 2026-03-01');
    expect(summary).toContain('2 of the 3 shares are needed to recover the secret.');
    expect(summary).toContain('20 words (128-bit secret)');
    expect(await shares.stepHeading.textContent()).toBe('Whose share is being checked?');
    await shares.holder('Bob Chen').check();
    await shot('02-record-loaded');
    await shares.button('Next: enter the share').click();
    expect(await shares.banner.textContent()).toContain('Bob Chen — share 2 of 3 — type your share now');
    // The first word field has the focus: the custodian can start typing at once.
    expect(await focusedLabel()).toBe('Word 1');
    expect(await shares.wordInputs.count()).toBe(20);
  });

  it('shows a verdict in words next to each word as it is typed', async () => {
    const w = bob.split(' ');
    await shares.word(1).fill(w[0]!.slice(0, 4));
    expect(await shares.wordVerdict(1).textContent()).toBe(`✓ ${w[0]}`);
    await shares.word(2).fill('qqq');
    expect(await shares.wordVerdict(2).textContent()).toBe('✗ not a SLIP-39 word');
    expect(await shares.word(2).getAttribute('aria-invalid')).toBe('true');
    await shares.word(3).fill('ac');
    expect(await shares.wordVerdict(3).textContent()).toMatch(/^… \d+ words fit: keep typing$/);
    await shares.word(4).fill('acn');
    expect(await shares.wordVerdict(4).textContent()).toBe('✓ acne');
    await shares.word(5).fill('sh');
    expect(await shares.localVerdict.textContent()).toContain('Word 2 is not a SLIP-39 word. Compare it with the written share.');
    // Leaving a field writes a unique prefix out in full (completion, never correction).
    expect(await shares.word(1).inputValue()).toBe(w[0]);
    await shot('03-word-verdicts');
  });

  it('catches a mistyped but valid word with the checksum, before anything is sent', async () => {
    await shares.button('Clear all words').click();
    const w = bob.split(' ');
    w[9] = w[9] === 'acid' ? 'acne' : 'acid';
    await shares.fillShare(w.join(' '));
    await shares.localVerdict.filter({ hasText: 'checksum' }).waitFor();
    const text = (await shares.localVerdict.textContent()) ?? '';
    expect(text).toMatch(/✗ .*checksum/i);
    expect(text).toContain('Compare every word with the written share');
    expect(text).toContain('The share has not been sent anywhere');
    await shares.button('Check this share').click();
    // Nothing was sent, so no verdict from main: the focus goes back to the words.
    expect(await shares.shareFailure.count()).toBe(0);
    await shot('04-checksum');
  });

  it('checks Bob’s share, typed as 4-letter prefixes: it matches, and the words are gone', async () => {
    await shares.button('Clear all words').click();
    expect((await shares.wordValues()).every((v) => v === '')).toBe(true);
    await shares.typeShare(bob, 4);
    await shares.localVerdict.filter({ hasText: 'checksum is right' }).waitFor();
    expect(await shares.wordValues()).toEqual([...bob.split(' ').slice(0, 19), bob.split(' ')[19]!.slice(0, 4)]);
    await shot('05-share-typed');
    await app.page.keyboard.press('Enter');
    await shares.shareVerdict.waitFor();
    const verdict = (await shares.shareVerdict.textContent()) ?? '';
    expect(verdict).toContain('✓ Bob Chen — share 2 of 3');
    expect(verdict).toContain(`This share matches share 2 of 3 of set ${record.set.identifier} (ceremony KC-2026-007), held by Bob Chen`);
    expect(verdict).toContain(record.shares[1]!.fingerprint.toUpperCase().slice(0, 4));
    expect(await shares.wordInputs.count()).toBe(0);
    noSharesIn(await app.page.locator('body').innerText());
    await shot('06-share-matches');
  });

  it('says whose share it really is when it is not the one named', async () => {
    await shares.button('Check another share').click();
    await shares.holder('Bob Chen').check();
    await shares.button('Next: enter the share').click();
    await shares.fillShare(carol);
    await shares.button('Check this share').click();
    await shares.shareFailure.waitFor();
    const text = (await shares.shareFailure.textContent()) ?? '';
    expect(text).toContain('This share does not match the record');
    expect(text).toContain('recorded as held by Carol Diaz, not by Bob Chen');
    // The words stay while the step is open, to be compared with the paper…
    expect((await shares.wordValues()).join(' ')).toBe(carol);
    await shot('07-wrong-holder');
    // …and are gone once it is left.
    await shares.button('Back').click();
    await shares.button('Next: enter the share').click();
    expect((await shares.wordValues()).every((v) => v === '')).toBe(true);
    await shares.fillShare(carol.split(' ').slice(0, 5).join(' '));
    await app.page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Tokens', exact: true }).click();
    await shares.open();
    expect((await shares.wordValues()).every((v) => v === '')).toBe(true);
  });

  it('runs a 2-of-3 restore drill to a matching check value', async () => {
    await shares.task('Restore drill').click();
    expect(await shares.stepHeading.textContent()).toBe('Who takes part?');
    expect(await shares.drillPlan.textContent()).toContain('Alice Martin, then Bob Chen will enter their shares');
    await shares.participant('Alice Martin').uncheck();
    await shares.alert('Recovery needs exactly 2 of its 3 shares; 1 is chosen.').waitFor();
    expect(await shares.button('Start the drill').isDisabled()).toBe(true);
    await shares.participant('Carol Diaz').check();
    expect(await shares.drillPlan.textContent()).toContain('Bob Chen, then Carol Diaz will enter their shares');
    await shot('08-drill-plan');

    await shares.button('Start the drill').click();
    await shares.banner.waitFor();
    expect(await shares.steps('Steps of the drill').innerText()).toMatch(/Load record[\s\S]*2\s*Share 1: Bob Chen\s+3\s*Share 2: Carol Diaz\s+4\s*Result/);
    expect(await shares.currentStep.textContent()).toContain('Share 1: Bob Chen');
    expect(await shares.banner.textContent()).toContain('Bob Chen — share 2 of 3 — enter your share now');
    expect(await shares.drillSummary.textContent()).toBe('No share has been entered yet. 2 of the 3 shares are needed to recover the secret.');
    expect(app.services.drills.open).toBe(1);
    await shares.typeShare(bob);
    await shot('09-drill-share-1');
    await app.page.keyboard.press('Enter');
    await shares.banner.filter({ hasText: 'Carol Diaz' }).waitFor();
    expect(await shares.banner.textContent()).toContain('Carol Diaz — share 3 of 3 — enter your share now');
    expect(await shares.drillSummary.textContent()).toBe('1 of 2 shares entered. 1 more share is needed.');
    expect(await shares.enteredList.textContent()).toContain('Share 1: Bob Chen — share 2 of 3 — accepted');
    // Sent, and wiped from the page at once.
    expect((await shares.wordValues()).every((v) => v === '')).toBe(true);

    // Alice types her share in Carol's turn: main refuses it, and says so in names.
    await shares.fillShare(alice);
    await shares.button('Add this share to the drill').click();
    const refused = shares.alert('whose turn it is');
    await refused.waitFor();
    expect(await refused.textContent()).toContain('This is share 1 of 3 (Alice Martin), not share 3 of 3 (Carol Diaz), whose turn it is.');
    expect((await shares.wordValues()).every((v) => v === '')).toBe(true);
    await shot('10-drill-wrong-turn');

    await shares.fillShare(carol);
    await shares.button('Add this share to the drill').click();
    await shares.passphrase.waitFor();
    expect(await shares.stepHeading.textContent()).toBe('Recombine and compare the check value');
    expect(await shares.currentStep.textContent()).toContain('Result');
    expect(await app.page.locator('.wizard-step').textContent()).toContain('SLIP-39 cannot detect a wrong passphrase');

    // A wrong passphrase: a different check value, explained; the drill stays open for another try.
    await shares.passphrase.fill('Correct horse');
    await shares.button('Recombine and compare').click();
    await shares.drillVerdict.waitFor();
    const bad = (await shares.drillVerdict.textContent()) ?? '';
    expect(bad).toContain('✗ The check value does not match the record');
    expect(bad).toContain('The passphrase is most likely wrong');
    expect(bad).toContain('SLIP-39 cannot detect a wrong passphrase');
    expect(await shares.passphrase.inputValue()).toBe('');
    expect(app.services.drills.open).toBe(1);
    await shot('11-drill-mismatch');

    await shares.passphrase.fill(PASSPHRASE);
    await shares.button('Recombine again').click();
    await shares.drillVerdict.filter({ hasText: 'matches the record' }).waitFor();
    const good = (await shares.drillVerdict.textContent()) ?? '';
    expect(good).toContain(`✓ The recovered secret’s check value matches the record (set ${record.set.identifier}).`);
    const recorded = record.secretCheck!.value.toUpperCase();
    expect(await shares.recoveredCheck.textContent()).toBe(`${recorded.slice(0, 5)} ${recorded.slice(5)}`);
    expect(await app.page.locator('.wizard-step').textContent()).toContain('Recombined from Bob Chen — share 2 of 3; Carol Diaz — share 3 of 3.');
    expect(app.services.drills.open).toBe(0);
    await shot('12-drill-match');
  });

  it('takes a 33-word share of a two-group set, never truncating a word', async () => {
    const secret = new Uint8Array(randomBytes(32));
    const groups = await splitSecret(
      { secret, groupThreshold: 2, groups: [{ threshold: 2, count: 3 }, { threshold: 1, count: 1 }], iterationExponent: 0 },
      nodeSlip39Crypto,
    );
    const grouped = await createShareSetRecord({
      mnemonics: groups,
      holders: ['Ana Lopez', 'Ben Okafor', 'Cy Young', 'Dee Novak'],
      createdAt: '2026-03-02T09:00:00Z',
      ceremonyId: 'KC-2026-008',
      label: 'Root CA backup',
      secretCheck: secretCheckValue(secret),
    });
    await shares.task('Check my share').click();
    await shares.button('Back').click(); // still at the share step left earlier
    await app.page.getByRole('button', { name: 'Use another record' }).click();
    await shares.loadRecord(serializeShareSetRecord(grouped));
    expect(await shares.recordSummary.textContent()).toContain('Shares from 2 of the 2 groups are needed (group 1: 2 of 3; group 2: 1 of 1).');
    await shares.holder('Ben Okafor').check();
    await shares.button('Next: enter the share').click();
    expect(await shares.banner.textContent()).toContain('Ben Okafor — group 1, share 2 of 3 — type your share now');
    expect(await shares.wordInputs.count()).toBe(33);
    // The longest SLIP-39 words have 8 letters: every field shows all of them.
    for (let i = 1; i <= 33; i++) await shares.word(i).fill('academic');
    const clipped = await shares.wordInputs.evaluateAll((els) => els.filter((e) => e.scrollWidth > e.clientWidth).length);
    expect(clipped).toBe(0);
    await shares.button('Clear all words').click();
    await shares.fillShare(groups[0]![1]!);
    await shares.localVerdict.filter({ hasText: 'All 33 words' }).waitFor();
    await shot('13-33-words');
    await shares.button('Check this share').click();
    await shares.shareVerdict.waitFor();
    expect(await shares.shareVerdict.textContent()).toContain('This share matches group 1, share 2 of 3 of set');
    anaShare = groups[0]![0]!;
  });

  it('can be driven by the keyboard alone, with the focus always visible', async () => {
    const kb = app.page.keyboard;
    const focusedName = () =>
      app.page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el) return '';
        const label = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null;
        return (label ?? el.closest('label')?.textContent ?? el.textContent ?? '').trim();
      });
    const outlined = () => app.page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle !== 'none');
    await shares.button('Check another share').focus();
    await kb.press('Enter');
    expect(await focusedName()).toBe('Whose share is being checked?');
    await kb.press('Tab'); // "Use another record"
    await kb.press('Tab'); // the holder radios: the checked one ("Not sure") has the focus
    expect(await focusedName()).toMatch(/^Not sure/);
    expect(await outlined()).toBe(true);
    await kb.press('ArrowDown'); // wraps to the first holder
    expect(await shares.holder('Ana Lopez').isChecked()).toBe(true);
    await kb.press('Tab');
    expect(await focusedName()).toBe('Next: enter the share');
    expect(await outlined()).toBe(true);
    await kb.press('Enter');
    expect(await focusedName()).toBe('Word 1');
    for (const [i, w] of anaShare.split(' ').entries()) {
      await kb.type(w.slice(0, 4));
      await kb.press(i < 32 ? 'Space' : 'Enter');
    }
    await shares.shareVerdict.waitFor();
    expect(await shares.shareVerdict.textContent()).toContain('✓ Ana Lopez — group 1, share 1 of 3');
    expect(await focusedName()).toBe('The share matches the record');
    await shot('14-keyboard-result');
  });

  it('never shows, logs or keeps share words or the secret', async () => {
    noSharesIn(await app.page.locator('body').innerText());
    noSharesIn(logs.join('\n'));
    expect(logs.join('\n')).not.toContain(PASSPHRASE);
    // Nothing in the page's storage either.
    const stored = await app.page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    noSharesIn(stored);
  });
});
