import type { Locator, Page } from 'playwright-core';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Page object for the Ceremonies screen: locators and actions, no assertions. */
export class CeremoniesPage {
  constructor(private readonly page: Page) {}

  // ---- Navigation, landing, list ---------------------------------------------------------------

  get nav(): Locator {
    return this.page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Ceremonies', exact: true });
  }
  get navNote(): Locator {
    return this.page.getByRole('navigation', { name: 'Sections' }).locator('.nav-note-lead');
  }
  get setupLead(): Locator {
    return this.page.getByTestId('setup-lead');
  }
  get heading(): Locator {
    return this.page.getByRole('heading', { name: 'Ceremonies', level: 1, exact: true });
  }
  get landing(): Locator {
    return this.page.getByTestId('setup-landing');
  }
  get recordAbout(): Locator {
    return this.page.getByTestId('record-about');
  }
  button(name: string | RegExp): Locator {
    return this.page.getByRole('button', { name, exact: typeof name === 'string' });
  }
  start(title: string): Locator {
    return this.page.getByRole('button', { name: `${title}…`, exact: true });
  }
  runLink(title: string): Locator {
    return this.page.getByRole('button', { name: title, exact: true });
  }
  get finishedRuns(): Locator {
    return this.page.getByTestId('runs-done');
  }
  async backToList(): Promise<void> {
    await this.page.getByRole('button', { name: '← All ceremonies' }).click();
  }

  // ---- Planning --------------------------------------------------------------------------------

  get setupForm(): Locator {
    return this.page.getByRole('form', { name: 'Plan the workstation set-up' });
  }
  get keygenForm(): Locator {
    return this.page.getByRole('form', { name: 'Plan the key generation' });
  }
  get backupForm(): Locator {
    return this.page.getByRole('form', { name: 'Plan the backup' });
  }

  async planSetup(x: { recordName: string; token: string; practice: boolean; people: Array<{ name: string; roles: string[] }>; before?: () => Promise<unknown> }): Promise<void> {
    const f = this.setupForm;
    await f.getByLabel('Record name').fill(x.recordName);
    await f.getByRole('radio', { name: new RegExp(`^${escape(x.token)}`) }).check();
    await f.getByRole('checkbox', { name: /^Practice record/ }).setChecked(x.practice);
    for (const [i, p] of x.people.entries()) {
      const n = i + 1;
      if ((await f.getByLabel(`Person ${n}: name`).count()) === 0) await f.getByRole('button', { name: 'Add a person' }).click();
      await f.getByLabel(`Person ${n}: name`).fill(p.name);
      const roles = f.getByRole('group', { name: `Roles of person ${n}` });
      for (const box of await roles.getByRole('checkbox').all()) {
        const label = ((await box.evaluate((el) => el.parentElement?.textContent ?? '')) || '').trim();
        await box.setChecked(p.roles.includes(label));
      }
    }
    await x.before?.();
    await f.getByRole('button', { name: 'Plan the set-up' }).click();
  }

  async planKeygen(x: { type: string; label: string; usages: string[]; extractable: boolean; purpose: string; tags: string; responsible: string[] }): Promise<void> {
    const f = this.keygenForm;
    await f.getByLabel('Key type').selectOption({ label: x.type });
    await f.getByLabel('Key label').fill(x.label);
    for (const u of x.usages) await f.getByRole('checkbox', { name: u }).check();
    await f.getByRole('checkbox', { name: /^Extractable under wrap/ }).setChecked(x.extractable);
    await f.getByLabel('Purpose').selectOption({ label: x.purpose });
    await f.getByLabel('Tags').fill(x.tags);
    for (const r of x.responsible) await f.getByRole('checkbox', { name: `${r} is responsible` }).check();
    await f.getByRole('button', { name: 'Plan the key generation' }).click();
  }

  /** Fills the backup form; `before` runs just before it is sent (a screenshot of the filled form). */
  async planBackup(x: { targets: string[]; scheme: 'SLIP-39' | 'XOR' | 'Sealed'; threshold: number; holders: string[]; before?: () => Promise<unknown> }): Promise<void> {
    const f = this.backupForm;
    for (const box of await f.getByRole('group', { name: /^What is backed up/ }).getByRole('checkbox').all()) {
      const label = ((await box.evaluate((el) => el.parentElement?.querySelector('.choice-title')?.textContent ?? '')) || '').trim();
      await box.setChecked(x.targets.includes(label));
    }
    await f.getByRole('radio', { name: new RegExp(`^${x.scheme}`) }).check();
    await f.getByLabel('Shares needed to restore (threshold)').fill(String(x.threshold));
    for (const h of x.holders) await f.getByRole('button', { name: `Add ${h} as holder` }).click();
    await x.before?.();
    await f.getByRole('button', { name: 'Plan the backup' }).click();
  }

  // ---- Restore drill, restore, retrieval (issue #10) -----------------------------------------------

  get drillDashboard(): Locator {
    return this.page.getByTestId('drill-dashboard');
  }
  get drillRows(): Locator {
    return this.drillDashboard.getByTestId('drill-row');
  }
  /** "Run a drill…" on the dashboard row of the backup named `backup` ("Backup of 2026-12-05 (5b284d21)"). */
  async runDrillOf(backup: string): Promise<void> {
    await this.drillDashboard.getByRole('button', { name: `Run a drill of the ${backup}…`, exact: true }).click();
  }
  get drillForm(): Locator {
    return this.page.getByRole('form', { name: 'Plan the restore drill' });
  }
  get restoreForm(): Locator {
    return this.page.getByRole('form', { name: 'Plan the restore' });
  }
  get reshareForm(): Locator {
    return this.page.getByRole('form', { name: 'Plan the re-share' });
  }
  get retrievalForm(): Locator {
    return this.page.getByRole('form', { name: 'Plan the archive retrieval' });
  }
  /** The backup radio on a drill or restore form whose title starts with `backup`. */
  backupChoice(form: Locator, backup: string): Locator {
    return form.getByRole('radio', { name: new RegExp(`^${escape(backup)}`) });
  }
  /**
   * Fills a drill's or a restore's form (the backup chosen already): the holders in order, and for a
   * restore the destination token by its label; `before` runs just before it is sent.
   */
  async planRestore(x: { drill: boolean; backup?: string; holders: string[]; destination?: string; before?: () => Promise<unknown> }): Promise<void> {
    const f = x.drill ? this.drillForm : this.restoreForm;
    if (x.backup) await this.backupChoice(f, x.backup).check();
    for (const h of x.holders) await f.getByRole('button', { name: new RegExp(`^Add ${escape(h)} \\(share \\d+\\)$`) }).click();
    if (x.destination) await f.getByRole('group', { name: 'Restore into' }).getByRole('radio', { name: new RegExp(`^${escape(x.destination)}`) }).check();
    await x.before?.();
    await f.getByRole('button', { name: x.drill ? 'Plan the restore drill' : 'Plan the restore' }).click();
  }
  /** The unwrap of a restore into another token, with that token's user PIN. */
  async restoreWithPin(token: string, pin: string): Promise<void> {
    await this.current.getByLabel(`User PIN of “${token}”`).fill(pin);
    await this.current.getByRole('button', { name: `Restore the keys into “${token}”` }).click();
  }
  get retrievalVersion(): Locator {
    return this.retrievalForm.getByLabel('Archived version');
  }
  get retrievalFound(): Locator {
    return this.page.getByTestId('retrieval-version');
  }
  async planRetrieval(x: { purpose: string; into: 'session' | 'token'; validDays?: number; before?: () => Promise<unknown> }): Promise<void> {
    const f = this.retrievalForm;
    await f.getByLabel('Purpose: what data it opens, and for whom').fill(x.purpose);
    await f.getByRole('radio', { name: x.into === 'token' ? /^A token object/ : /^A session object/ }).check();
    if (x.validDays !== undefined) await f.getByLabel('Valid for (days, optional)').fill(String(x.validDays));
    await x.before?.();
    await f.getByRole('button', { name: 'Plan the retrieval' }).click();
  }
  get runSubject(): Locator {
    return this.page.getByTestId('run-subject');
  }
  /** The retrieval's purpose inside the current step. */
  get purposeLine(): Locator {
    return this.current.getByTestId('purpose-line');
  }
  get shareCount(): Locator {
    return this.page.getByTestId('share-count');
  }
  async enterShare(name: string): Promise<void> {
    await this.current.getByRole('button', { name: `Enter ${name}’s share` }).click();
  }
  /** The holder chooses to open the share sealed to their card, and loads its envelope from the save folder. */
  async loadSealedShare(name: string, file: string): Promise<void> {
    await this.current.getByRole('radio', { name: new RegExp(`^Open the share sealed to ${escape(name)}’s card`) }).check();
    const opener = this.current.getByTestId('open-sealed-share');
    await opener.getByRole('combobox').selectOption(file);
    await opener.getByRole('button', { name: 'Load this file' }).click();
  }
  /** A sealed backup's verification round: the holder loads the file they saved (no typed/sealed choice there). */
  async loadSavedEnvelope(file: string): Promise<void> {
    const opener = this.current.getByTestId('open-sealed-share');
    await opener.getByRole('combobox').selectOption(file);
    await opener.getByRole('button', { name: 'Load this file' }).click();
  }
  get sealedDone(): Locator {
    return this.current.getByTestId('sealed-done');
  }
  get sealedLoaded(): Locator {
    return this.current.getByTestId('sealed-loaded');
  }
  get rebuilt(): Locator {
    return this.page.getByTestId('rebuilt');
  }
  get unwrapSentence(): Locator {
    return this.page.getByTestId('unwrap-sentence');
  }
  get unwrapResults(): Locator {
    return this.page.getByTestId('unwrap-results');
  }
  get retrieveSentence(): Locator {
    return this.page.getByTestId('retrieve-sentence');
  }
  get retrieved(): Locator {
    return this.page.getByTestId('retrieved');
  }

  // ---- The run ---------------------------------------------------------------------------------

  get runTitle(): Locator {
    return this.page.locator('.run-head h1');
  }
  get runAbout(): Locator {
    return this.page.getByTestId('run-about');
  }
  get practiceNote(): Locator {
    return this.page.getByTestId('practice-note');
  }
  get current(): Locator {
    return this.page.getByTestId('current-step');
  }
  get stepHeading(): Locator {
    return this.current.locator('h3.step-title');
  }
  get stepOf(): Locator {
    return this.current.locator('.step-of');
  }
  get banner(): Locator {
    return this.page.getByTestId('actor-banner');
  }
  get say(): Locator {
    return this.page.getByTestId('say');
  }
  get needs(): Locator {
    return this.page.getByTestId('needs');
  }
  get facts(): Locator {
    return this.page.getByTestId('step-facts');
  }
  get largeFingerprint(): Locator {
    return this.page.getByTestId('fingerprint-large');
  }
  get stepList(): Locator {
    return this.page.getByRole('list', { name: 'Steps of this ceremony' });
  }
  get alert(): Locator {
    return this.current.getByRole('alert');
  }
  get skipLink(): Locator {
    return this.page.getByRole('link', { name: 'Skip to the current step' });
  }
  get exceptions(): Locator {
    return this.page.getByTestId('exceptions');
  }

  /** Waits until the current step is the one titled `title` (the engine moved on). */
  async atStep(title: string | RegExp): Promise<void> {
    await this.stepHeading.filter({ hasText: title }).waitFor({ timeout: 60_000 });
  }
  /** Waits until the banner names `who` acting now. */
  async turnOf(who: string): Promise<void> {
    await this.banner.locator('.actor-who', { hasText: who }).waitFor({ timeout: 60_000 });
  }

  /** The name of the person the banner names (without the role). */
  async actingNow(): Promise<string> {
    return ((await this.banner.locator('.actor-who').textContent()) ?? '').replace(/ \(.*\)$/, '');
  }
  async chooseActor(nameWithRole: string): Promise<void> {
    await this.current.getByLabel('Who acts now').selectOption({ label: nameWithRole });
  }
  async doStep(): Promise<void> {
    await this.current.getByTestId('do-step').click();
  }
  async tick(): Promise<void> {
    await this.current.getByRole('button', { name: /: tick step \d+ as done as read$/ }).click();
  }
  async continueLoggedIn(): Promise<void> {
    await this.current.getByRole('button', { name: 'The workstation HSM is logged in: continue' }).click();
  }
  async confirmFingerprint(): Promise<void> {
    await this.current.getByRole('button', { name: 'Everyone has read the words and confirmed them' }).click();
  }
  async finish(): Promise<void> {
    await this.current.getByRole('button', { name: 'Finish the ceremony and write the evidence bundle' }).click();
  }

  /** Chooses the card by its token label (when given) and types the PIN; `submit` names the button. */
  async withCard(name: string, card: string | null, pin: string, submit: string | RegExp): Promise<void> {
    if (card) {
      const select = this.current.getByLabel(`${name}’s card`, { exact: true });
      const value = await select.locator('option', { hasText: card }).first().getAttribute('value');
      await select.selectOption(value ?? '');
    }
    await this.current.getByLabel(`${name}’s card PIN`).fill(pin);
    await this.current.getByRole('button', { name: submit }).click();
  }
  cardSelect(name: string): Locator {
    return this.current.getByLabel(`${name}’s card`, { exact: true });
  }

  async showShare(name: string): Promise<void> {
    await this.current.getByRole('button', { name: `Show ${name}’s share` }).click();
  }
  get lookAway(): Locator {
    return this.page.getByTestId('look-away');
  }
  get shareShown(): Locator {
    return this.page.getByTestId('share-shown');
  }
  /** The words of the share on screen, in order. */
  async shareWords(): Promise<string[]> {
    return this.shareShown.locator('.share-word').allTextContents();
  }
  async writtenDown(): Promise<void> {
    await this.current.getByRole('button', { name: 'I have written it down' }).click();
  }
  word(n: number): Locator {
    return this.current.getByRole('textbox', { name: `Word ${n}`, exact: true });
  }
  async fillShare(mnemonic: string): Promise<void> {
    for (const [i, w] of mnemonic.split(' ').entries()) await this.word(i + 1).fill(w);
  }
  async checkShare(name: string): Promise<void> {
    await this.current.getByRole('button', { name: `Check ${name}’s share` }).click();
  }
  async commit(soPin: string): Promise<void> {
    await this.current.getByLabel('Workstation HSM SO PIN').fill(soPin);
    await this.current.getByRole('button', { name: 'Commit the backup' }).click();
  }
  get commitSentence(): Locator {
    return this.page.getByTestId('commit-sentence');
  }

  // ---- Exceptions and abort --------------------------------------------------------------------

  async raiseException(by: string, expected: string, happened: string): Promise<void> {
    await this.exceptions.getByRole('button', { name: 'Raise an exception…' }).click();
    const f = this.page.getByRole('form', { name: 'Raise an exception' });
    await f.getByLabel('Raised by').selectOption({ label: by });
    await f.getByLabel('What was expected').fill(expected);
    await f.getByLabel('What happened').fill(happened);
    await f.getByRole('button', { name: 'Record the exception' }).click();
  }
  async decide(n: number, decision: string): Promise<void> {
    const f = this.page.getByRole('form', { name: `Decide exception ${n}` });
    await f.getByRole('textbox').fill(decision);
    await f.getByRole('button', { name: 'Record the decision' }).click();
  }
  async acknowledge(witness: string): Promise<void> {
    await this.exceptions.getByRole('button', { name: `${witness}: acknowledge the decision` }).click();
  }
  exception(n: number): Locator {
    return this.exceptions.locator('li.exception').nth(n - 1);
  }
  async abort(reason: string): Promise<void> {
    await this.page.locator('summary', { hasText: 'Abort this ceremony' }).click();
    const f = this.page.getByRole('form', { name: 'Abort the ceremony' });
    await f.getByLabel('Reason (recorded in the journal)').fill(reason);
    await f.getByRole('button', { name: 'Abort…' }).click();
  }
  get abortSentence(): Locator {
    return this.page.getByRole('form', { name: 'Abort the ceremony' }).locator('.confirm-sentence');
  }
  async confirmAbort(): Promise<void> {
    await this.page.getByRole('form', { name: 'Abort the ceremony' }).getByRole('button', { name: 'Abort the ceremony' }).click();
  }
  get progress(): Locator {
    return this.current.locator('.progress');
  }

  // ---- Finished --------------------------------------------------------------------------------

  get finished(): Locator {
    return this.page.getByTestId('finished');
  }
  get bundle(): Locator {
    return this.page.getByTestId('bundle');
  }
  get verdict(): Locator {
    return this.page.getByTestId('bundle-verdict');
  }
  async verifyEvidence(): Promise<void> {
    await this.page.getByRole('button', { name: 'Verify the evidence' }).click();
  }

  // ---- Keyboard --------------------------------------------------------------------------------

  /** The accessible name (label, or text) of the focused element. */
  async focusedName(): Promise<string> {
    return this.page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el) return '';
      const byFor = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null;
      return (el.getAttribute('aria-label') ?? byFor ?? el.textContent ?? '').trim();
    });
  }
  /** Presses Shift+Tab until the focused element's name matches (at most `max` times). */
  async shiftTabTo(name: string, max = 10): Promise<void> {
    for (let i = 0; i < max; i++) {
      await this.page.keyboard.press('Shift+Tab');
      if ((await this.focusedName()) === name) return;
    }
    throw new Error(`Shift+Tab never reached “${name}” (last: “${await this.focusedName()}”)`);
  }
  /** Presses Tab until the focused element's name matches (at most `max` times); the keyboard only. */
  async tabTo(name: string | RegExp, max = 25): Promise<void> {
    for (let i = 0; i < max; i++) {
      await this.page.keyboard.press('Tab');
      const now = await this.focusedName();
      if (typeof name === 'string' ? now === name : name.test(now)) return;
    }
    throw new Error(`Tab never reached “${String(name)}” (last: “${await this.focusedName()}”)`);
  }
}
