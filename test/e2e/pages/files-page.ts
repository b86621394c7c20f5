import type { Locator, Page } from 'playwright-core';

/** Page object for "Save to file…" and "Load from a file" (components/SaveButton.tsx, OpenFile.tsx): locators and actions, no assertions. */
export class FilesPage {
  constructor(private readonly page: Page) {}

  saver(kind: string): Locator {
    return this.page.getByTestId(`save-${kind}`);
  }
  saved(kind: string): Locator {
    return this.saver(kind).getByTestId('saved');
  }
  refused(kind: string): Locator {
    return this.saver(kind).getByRole('alert');
  }
  async save(kind: string, name: string | RegExp = /^Save/): Promise<void> {
    await this.saver(kind).getByRole('button', { name }).click();
  }
  async replace(kind: string): Promise<void> {
    await this.saver(kind).getByRole('button', { name: 'Replace the existing file' }).click();
  }
  opener(kind: string): Locator {
    return this.page.getByTestId(`open-${kind}`);
  }
  async load(kind: string, file: string): Promise<void> {
    await this.opener(kind).getByRole('combobox').selectOption(file);
    await this.opener(kind).getByRole('button', { name: 'Load this file' }).click();
  }
}
