import type { Locator, Page } from 'playwright-core';

/** Page object for the Shares screen: locators and actions, no assertions. */
export class SharesPage {
  constructor(private readonly page: Page) {}

  get navShares(): Locator {
    return this.page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Shares', exact: true });
  }
  get heading(): Locator {
    return this.page.getByRole('heading', { name: 'Shares', level: 1, exact: true });
  }
  task(name: 'Check my share' | 'Restore drill'): Locator {
    return this.page.getByRole('group', { name: 'Task' }).getByRole('button', { name: new RegExp(`^${name}`) });
  }
  get recordBox(): Locator {
    return this.page.getByLabel('Share-set record (custos.shareset JSON)');
  }
  get readRecordButton(): Locator {
    return this.page.getByRole('button', { name: 'Read the record' });
  }
  get recordSummary(): Locator {
    return this.page.getByTestId('record-summary');
  }
  get stepHeading(): Locator {
    return this.page.locator('h3.step-title');
  }
  steps(label = 'Steps'): Locator {
    return this.page.getByRole('list', { name: label, exact: true });
  }
  get currentStep(): Locator {
    return this.page.locator('.steps [aria-current=step]');
  }
  get banner(): Locator {
    return this.page.getByTestId('actor-banner');
  }
  holder(name: string): Locator {
    return this.page.getByRole('radio', { name: new RegExp(`^${name}`) });
  }
  participant(name: string): Locator {
    return this.page.getByRole('checkbox', { name: new RegExp(`^${name}`) });
  }
  get wordInputs(): Locator {
    return this.page.getByRole('textbox', { name: /^Word \d+$/ });
  }
  word(n: number): Locator {
    return this.page.getByRole('textbox', { name: `Word ${n}`, exact: true });
  }
  wordVerdict(n: number): Locator {
    return this.page.getByTestId(`word-verdict-${n}`);
  }
  get localVerdict(): Locator {
    return this.page.getByTestId('share-local-verdict');
  }
  get shareVerdict(): Locator {
    return this.page.getByTestId('share-verdict');
  }
  get shareFailure(): Locator {
    return this.page.getByTestId('share-failure');
  }
  get drillPlan(): Locator {
    return this.page.getByTestId('drill-plan');
  }
  get drillSummary(): Locator {
    return this.page.getByTestId('drill-summary');
  }
  get drillVerdict(): Locator {
    return this.page.getByTestId('drill-verdict');
  }
  get recoveredCheck(): Locator {
    return this.page.getByTestId('recovered-check');
  }
  get enteredList(): Locator {
    return this.page.getByRole('list', { name: 'Shares entered' });
  }
  get passphrase(): Locator {
    return this.page.getByLabel('Passphrase (leave empty if none was set)');
  }
  alert(text: string | RegExp): Locator {
    return this.page.getByRole('alert').filter({ hasText: text });
  }
  button(name: string): Locator {
    return this.page.getByRole('button', { name, exact: true });
  }

  async open(): Promise<void> {
    await this.navShares.click();
    await this.heading.waitFor();
  }

  async loadRecord(json: string): Promise<void> {
    await this.recordBox.fill(json);
    await this.readRecordButton.click();
    await this.recordSummary.waitFor();
  }

  /**
   * Types a share as a custodian does, from the first word field: each word (or its first
   * `letters` letters) then Space, which moves to the next field.
   */
  async typeShare(mnemonic: string, letters?: number): Promise<void> {
    await this.word(1).click();
    const words = mnemonic.split(' ');
    for (const [i, w] of words.entries()) {
      await this.page.keyboard.type(letters ? w.slice(0, letters) : w);
      if (i < words.length - 1) await this.page.keyboard.press('Space');
    }
  }

  /** Fills the fields directly (faster; used where typing itself is not what is tested). */
  async fillShare(mnemonic: string): Promise<void> {
    for (const [i, w] of mnemonic.split(' ').entries()) await this.word(i + 1).fill(w);
  }

  /** Every word field's value, in order. */
  async wordValues(): Promise<string[]> {
    return this.wordInputs.evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
  }
}
