// The check both ceremony e2e files end with: no PIN and no share word in the page, its storage, or
// any file of the data folder (record, WAL, drafts, bundles, the pending audit journal).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** `secrets` are PINs; `shares` maps a holder to their share's words (three of them are looked for). */
export async function expectNoSecrets(page: Page, dataDir: string, secrets: readonly string[], shares: Record<string, string>): Promise<void> {
  const html = await page.content();
  const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  for (const secret of secrets) {
    expect(html).not.toContain(secret);
    expect(storage).not.toContain(secret);
  }
  const files = filesUnder(dataDir);
  for (const [name, mnemonic] of Object.entries(shares)) {
    const w = mnemonic.split(' ');
    const probe = `${w[4]} ${w[5]} ${w[6]}`;
    expect(html, name).not.toContain(probe);
    for (const f of files) expect(readFileSync(f).includes(Buffer.from(probe)), `${name}’s share in ${f}`).toBe(false);
  }
}
