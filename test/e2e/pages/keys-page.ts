import type { Locator, Page } from 'playwright-core';

export interface GenerateChoice {
  /** The algorithm's title as offered (KEY_TYPES[].title), e.g. "EC P-256". */
  algorithm: string;
  /** Uses to tick, by their words (USAGE_WORDS values); others are left as they are. */
  uses?: string[];
  /** Uses to untick, by their words. */
  withoutUses?: string[];
  extractable: boolean;
  label: string;
}

/** Page object for the Keys screen: locators and actions, no assertions. */
export class KeysPage {
  constructor(private readonly page: Page) {}

  get navKeys(): Locator {
    return this.page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Keys', exact: true });
  }
  get navTokens(): Locator {
    return this.page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Tokens', exact: true });
  }
  get heading(): Locator {
    return this.page.getByRole('heading', { name: 'Keys', level: 1, exact: true });
  }
  get aboutToken(): Locator {
    return this.page.getByTestId('keys-token');
  }
  get loginNeeded(): Locator {
    return this.page.getByTestId('login-needed');
  }
  get goToLoginButton(): Locator {
    return this.page.getByRole('button', { name: 'Go to log in' });
  }
  get generateButton(): Locator {
    return this.page.getByRole('button', { name: 'Generate a key…' });
  }
  get keyList(): Locator {
    return this.page.getByRole('listbox', { name: 'Keys' });
  }
  get keyOptions(): Locator {
    return this.keyList.getByRole('option');
  }
  key(label: string): Locator {
    return this.keyOptions.filter({ hasText: label });
  }
  get emptyList(): Locator {
    return this.page.getByText('There are no keys on this token that you can see yet.');
  }
  get stepHeading(): Locator {
    return this.page.locator('h3.step-title');
  }
  get nextButton(): Locator {
    return this.page.getByRole('button', { name: 'Next', exact: true });
  }
  get confirmSentence(): Locator {
    return this.page.getByTestId('generate-sentence');
  }
  get created(): Locator {
    return this.page.getByRole('status').filter({ hasText: 'ceremony record' });
  }
  algorithm(title: string): Locator {
    return this.page.getByRole('radio', { name: title, exact: true });
  }
  /** The panel inspecting the key with this label. */
  inspector(label: string): Locator {
    return this.page.getByRole('region', { name: label, exact: true });
  }
  get fingerprint(): Locator {
    return this.page.getByTestId('fingerprint');
  }
  get checkValue(): Locator {
    return this.page.getByTestId('check-value');
  }
  get keyUri(): Locator {
    return this.page.getByTestId('key-uri');
  }
  get publicKeyPem(): Locator {
    return this.page.getByLabel('Public key (PEM)');
  }
  get publicKeyJwk(): Locator {
    return this.page.getByLabel('Public key (JWK)');
  }
  get csrPem(): Locator {
    return this.page.getByLabel('Certificate signing request (PKCS#10, PEM)');
  }
  get copyStatus(): Locator {
    return this.page.locator('.textblock [role=status]');
  }
  get destroyConfirmInput(): Locator {
    return this.page.getByLabel('Type the key’s label to confirm');
  }
  get destroyRefused(): Locator {
    return this.page.getByRole('alert').filter({ hasText: 'nothing was destroyed' });
  }
  get destroyedStatus(): Locator {
    return this.page.getByRole('status').filter({ hasText: 'was destroyed' });
  }
  get capabilitiesToggle(): Locator {
    return this.page.getByRole('region', { name: 'What this token can do' }).getByRole('button', { name: 'Show', exact: true });
  }
  get wrapProbe(): Locator {
    return this.page.getByTestId('wrap-probe');
  }
  get mechanismTable(): Locator {
    return this.page.getByRole('table');
  }

  async open(): Promise<void> {
    await this.navKeys.click();
    await this.heading.waitFor();
  }

  /** Walks the wizard up to (not including) the confirmation. */
  async fillGenerate(c: GenerateChoice): Promise<void> {
    await this.generateButton.click();
    await this.algorithm(c.algorithm).check();
    await this.nextButton.click();
    for (const u of c.uses ?? []) await this.page.getByRole('checkbox', { name: u, exact: true }).check();
    for (const u of c.withoutUses ?? []) await this.page.getByRole('checkbox', { name: u, exact: true }).uncheck();
    await this.nextButton.click();
    await this.page
      .getByRole('radio', { name: c.extractable ? 'Yes, but only wrapped under another key' : 'No, never (recommended)', exact: true })
      .check();
    await this.nextButton.click();
    await this.page.getByLabel('Label', { exact: true }).fill(c.label);
    await this.nextButton.click();
    await this.confirmSentence.waitFor();
  }

  async confirmGenerate(): Promise<void> {
    await this.page.getByRole('button', { name: /^Generate key( pair)?$/ }).click();
    await this.created.waitFor();
  }

  async inspectCreated(): Promise<void> {
    await this.page.getByRole('button', { name: 'Inspect this key' }).click();
  }

  async select(label: string): Promise<void> {
    await this.key(label).getByRole('button').click();
  }

  async exportPublic(format: 'PEM' | 'JWK'): Promise<void> {
    await this.page.getByRole('button', { name: 'Export public key' }).click();
    await this.page.getByRole('radio', { name: format === 'PEM' ? 'PEM (SubjectPublicKeyInfo)' : 'JWK (JSON Web Key)' }).check();
    await this.page.getByRole('button', { name: 'Show public key' }).click();
  }

  async copy(): Promise<void> {
    await this.page.locator('.textblock').getByRole('button', { name: 'Copy', exact: true }).click();
  }

  async createCsr(subject: string): Promise<void> {
    await this.page.getByRole('button', { name: 'Create CSR', exact: true }).click();
    await this.page.getByLabel('Subject', { exact: true }).fill(subject);
    await this.page.getByRole('button', { name: 'Sign and create the CSR' }).click();
  }

  async openDestroy(): Promise<void> {
    await this.page.getByRole('button', { name: 'Destroy…', exact: true }).click();
  }

  async destroy(typedLabel: string): Promise<void> {
    await this.destroyConfirmInput.fill(typedLabel);
    await this.page.getByRole('button', { name: 'Destroy this key for ever' }).click();
  }

  async reload(): Promise<void> {
    await this.page.getByRole('button', { name: 'Read again' }).click();
  }

  async showCapabilities(): Promise<void> {
    await this.capabilitiesToggle.click();
    await this.wrapProbe.waitFor();
    await this.page.getByRole('button', { name: 'Show all mechanisms' }).click();
  }
}
