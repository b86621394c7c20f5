import type { Locator, Page } from 'playwright-core';

/** Page object for the destruction ceremony's pieces (plan form, run screen, leads): locators and actions, no assertions. */
export class DestructionPage {
  constructor(private readonly page: Page) {}

  get form(): Locator {
    return this.page.getByRole('form', { name: 'Plan the destruction' });
  }
  get keys(): Locator {
    return this.form.getByLabel('Keys on the workstation token (one per line)');
  }
  get versions(): Locator {
    return this.form.getByLabel('Archived versions to shred (one per line)');
  }
  async plan(x: { reason: string; deactivate: boolean; before?: () => Promise<unknown> }): Promise<void> {
    await this.form.getByLabel('Reason', { exact: true }).fill(x.reason);
    if (x.deactivate) await this.form.getByLabel('Deactivate an active version first, as a recorded part of the destruction').check();
    await x.before?.();
    await this.form.getByRole('button', { name: 'Plan the destruction' }).click();
  }
  get items(): Locator {
    return this.page.getByTestId('destroy-items');
  }
  get reason(): Locator {
    return this.page.getByTestId('destruction-reason');
  }
  get sentence(): Locator {
    return this.page.getByTestId('destroy-sentence');
  }
  /** What the destroy step says while exceptions are open (no button). */
  get waits(): Locator {
    return this.page.getByTestId('destroy-waits');
  }
  get destroyed(): Locator {
    return this.page.getByTestId('destroyed');
  }
  /** The Keys screen's lead ("Destroy in a ceremony…"), and the hint shown for the workstation's own keys. */
  get keyLead(): Locator {
    return this.page.getByTestId('destroy-ceremony');
  }
  get protectedHint(): Locator {
    return this.page.getByTestId('protected-hint');
  }
  /** The archive version view's lead. */
  get versionLead(): Locator {
    return this.page.getByTestId('destroy-lead');
  }
}
