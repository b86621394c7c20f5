import { ESLint } from 'eslint';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The dependency direction renderer → shared ← electron is a lint rule; prove it bites.
const eslint = new ESLint({ cwd: resolve(__dirname, '../..') });

async function violations(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: resolve(__dirname, '../..', file) });
  return (r?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

describe('architecture lint rules', () => {
  it('keeps the renderer away from main-process code and Node', async () => {
    expect(await violations('renderer/x.ts', "import { x } from '../electron/services/tokens';\nexport const y = x;\n")).not.toEqual([]);
    expect(await violations('renderer/x.ts', "import { readFileSync } from 'node:fs';\nexport const y = readFileSync;\n")).not.toEqual([]);
  });
  it('keeps shared/ pure', async () => {
    expect(await violations('shared/x.ts', "import { createHash } from 'node:crypto';\nexport const y = createHash;\n")).not.toEqual([]);
    expect(await violations('shared/x.ts', "import { app } from 'electron';\nexport const y = app;\n")).not.toEqual([]);
    expect(await violations('shared/x.ts', "import { y as z } from '../renderer/api';\nexport const y = z;\n")).not.toEqual([]);
    expect(await violations('shared/x.ts', "import { a } from './crypto';\nexport const y = a;\n")).toEqual([]);
  });
  it('keeps main away from the renderer, pkcs11js outside electron/hsm, SQLite outside the archive', async () => {
    expect(await violations('electron/x.ts', "import { api } from '../renderer/api';\nexport const y = api;\n")).not.toEqual([]);
    expect(await violations('electron/services/x.ts', "import * as p from 'pkcs11js';\nexport const y = p;\n")).not.toEqual([]);
    expect(await violations('electron/hsm/x.ts', "import * as p from 'pkcs11js';\nexport const y = p;\n")).toEqual([]);
    expect(await violations('electron/services/x.ts', "import Database from 'better-sqlite3';\nexport const y = Database;\n")).not.toEqual([]);
  });
});
