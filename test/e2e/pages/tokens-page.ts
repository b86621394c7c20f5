import type { Locator, Page } from 'playwright-core';

/** Page object for the Tokens screen: locators and actions, no assertions. */
export class TokensPage {
  constructor(private readonly page: Page) {}

  get heading(): Locator {
    return this.page.getByRole('heading', { name: 'Tokens', level: 1 });
  }
  get shellMarker(): Locator {
    return this.page.getByTestId('shell-marker');
  }
  get topbar(): Locator {
    return this.page.locator('header');
  }
  get demoForm(): Locator {
    return this.page.getByRole('form', { name: 'Create the demo token' });
  }
  get pinInput(): Locator {
    return this.page.getByLabel('PIN', { exact: true });
  }
  get alert(): Locator {
    return this.page.getByRole('alert');
  }
  get loggedInStatus(): Locator {
    return this.page.getByRole('status').filter({ hasText: 'Logged in as user' });
  }
  get logoutButton(): Locator {
    return this.page.getByRole('button', { name: 'Log out' });
  }
  /** Who logs in: the register's operators and administrators (shown once the workstation has a record). */
  get personSelect(): Locator {
    return this.page.getByLabel(/^Who is logging in/);
  }
  get loginButton(): Locator {
    return this.page.getByRole('button', { name: 'Log in' });
  }
  token(label: string): Locator {
    return this.page.getByRole('option').filter({ hasText: label });
  }

  async createDemo(soPin: string, userPin: string): Promise<void> {
    await this.page.getByLabel('Security officer (SO) PIN').fill(soPin);
    await this.page.getByLabel('User PIN', { exact: true }).fill(userPin);
    await this.page.getByLabel('User PIN again').fill(userPin);
    await this.page.getByRole('button', { name: 'Create demo token' }).click();
  }

  async login(pin: string): Promise<void> {
    await this.pinInput.fill(pin);
    await this.page.getByRole('button', { name: 'Log in' }).click();
  }

  async showTechnicalDetail(): Promise<void> {
    await this.page.getByRole('button', { name: 'Show technical detail' }).click();
  }

  async refreshAndWait(): Promise<void> {
    await this.page.waitForTimeout(3500);
  }
}
