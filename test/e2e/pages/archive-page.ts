import type { Locator, Page } from 'playwright-core';

/** Page object for the Archive and Audit screens: locators and actions, no assertions. */
export class ArchivePage {
  constructor(private readonly page: Page) {}

  private nav(name: string): Locator {
    return this.page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name, exact: true });
  }
  get navArchive(): Locator {
    return this.nav('Archive');
  }
  get navAudit(): Locator {
    return this.nav('Audit log');
  }
  get heading(): Locator {
    return this.page.getByRole('heading', { name: 'Archive', level: 1, exact: true });
  }
  get noArchive(): Locator {
    return this.page.getByRole('heading', { name: 'There is no key archive yet' });
  }
  get createForm(): Locator {
    return this.page.getByRole('form', { name: 'Create the archive' });
  }
  get createSentence(): Locator {
    return this.page.getByTestId('create-sentence');
  }
  get about(): Locator {
    return this.page.getByTestId('archive-about');
  }
  task(name: string): Locator {
    return this.page.getByRole('group', { name: 'Task' }).getByRole('button', { name: new RegExp(`^${name}`) });
  }
  get addForm(): Locator {
    return this.page.getByRole('form', { name: 'Archive a key' });
  }
  keyChoice(label: string): Locator {
    return this.addForm.getByRole('radio', { name: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) });
  }
  keyChoiceBox(label: string): Locator {
    return this.addForm.locator('label.choice').filter({ hasText: label });
  }
  get addSentence(): Locator {
    return this.page.getByTestId('add-sentence');
  }
  get added(): Locator {
    return this.page.getByTestId('added');
  }
  get questionForm(): Locator {
    return this.page.getByRole('form', { name: 'Find the key that protected old data' });
  }
  get searchForm(): Locator {
    return this.page.getByRole('form', { name: 'Search the archive' });
  }
  get results(): Locator {
    return this.page.getByTestId('archive-results');
  }
  get answer(): Locator {
    return this.page.getByTestId('old-data-answer');
  }
  resultLink(label: string, version: number): Locator {
    return this.results.getByRole('button', { name: `${label} — version ${version}` });
  }
  /** The version view's lead to an archive retrieval ("Retrieve…"). */
  get retrieveLead(): Locator {
    return this.page.getByTestId('retrieve-lead');
  }
  /** "Retrieve…" under the old-data answer. */
  get answerRetrieve(): Locator {
    return this.page.getByTestId('old-data-retrieve');
  }
  get detail(): Locator {
    return this.page.getByTestId('version-detail');
  }
  get versionState(): Locator {
    return this.page.getByTestId('version-state');
  }
  get versionIdentity(): Locator {
    return this.page.getByTestId('version-identity');
  }
  get versionFacts(): Locator {
    return this.page.getByTestId('version-facts');
  }
  get stepSentence(): Locator {
    return this.page.getByTestId('step-sentence');
  }
  get stepDone(): Locator {
    return this.page.getByTestId('step-done');
  }
  get history(): Locator {
    return this.page.getByTestId('state-history');
  }
  get stepsLoginNeeded(): Locator {
    return this.page.getByTestId('steps-login-needed');
  }
  get verdict(): Locator {
    return this.page.getByTestId('audit-verdict');
  }
  get exported(): Locator {
    return this.page.getByTestId('audit-export');
  }
  get auditTable(): Locator {
    return this.page.getByTestId('audit-table');
  }
  button(name: string | RegExp): Locator {
    return this.page.getByRole('button', { name, exact: typeof name === 'string' });
  }

  async open(): Promise<void> {
    await this.navArchive.click();
    await this.heading.waitFor();
  }

  async create(name: string): Promise<void> {
    await this.createForm.getByLabel('Archive name').fill(name);
    await this.button('Create the archive…').click();
    await this.createSentence.waitFor();
  }

  async searchLabel(label: string): Promise<void> {
    await this.searchForm.getByLabel('Label', { exact: true }).fill(label);
    await this.searchForm.getByRole('button', { name: 'Search', exact: true }).click();
  }

  async askOldData(date: string, purpose: string): Promise<void> {
    await this.questionForm.getByLabel('Data written on').fill(date);
    await this.questionForm.getByLabel('Protected by a key for').selectOption({ label: purpose });
    await this.questionForm.getByRole('button', { name: 'Find the key' }).click();
  }
}
