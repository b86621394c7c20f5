import { ESLint } from 'eslint';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The dependency direction renderer → shared ← electron is a lint rule; prove it bites.
const eslint = new ESLint({ cwd: resolve(__dirname, '../..') });

async function violations(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: resolve(__dirname, '../..', file) });
  const rules = ['no-restricted-imports', '@typescript-eslint/no-restricted-imports', 'no-restricted-syntax'];
  return (r?.messages ?? []).filter((m) => rules.includes(m.ruleId ?? '')).map((m) => m.message);
}

describe('architecture lint rules', { timeout: 60_000 }, () => {
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
    expect(await violations('electron/hsm/host/x.ts', "import * as p from 'pkcs11js';\nexport const y = p;\n")).toEqual([]);
    expect(await violations('electron/services/x.ts', "import Database from 'better-sqlite3';\nexport const y = Database;\n")).not.toEqual([]);
  });

  // The HSM boundary: main side ↛ host side; host ↛ client side and services; protocol ↛ either.
  const imports = (what: string) => `import * as m from '${what}';\nexport const y = m;\n`;
  it('keeps main-side code (electron/ outside hsm/host) away from the host side', async () => {
    expect(await violations('electron/services/x.ts', imports('../hsm/host/objects'))).not.toEqual([]);
    expect(await violations('electron/cli/commands/x.ts', imports('../../hsm/host/session'))).not.toEqual([]);
    expect(await violations('electron/x.ts', imports('./hsm/host/main'))).not.toEqual([]);
    expect(await violations('electron/hsm/client/x.ts', imports('../host/arena'))).not.toEqual([]);
    expect(await violations('electron/hsm/client/x.ts', imports('../host'))).not.toEqual([]);
    // legal: the client, its spawners and the protocol
    expect(await violations('electron/services/x.ts', imports('../hsm/client'))).toEqual([]);
    expect(await violations('electron/services/x.ts', imports('../hsm/protocol'))).toEqual([]);
    expect(await violations('electron/services/x.ts', imports('../hsm/protocol/constants'))).toEqual([]);
    expect(await violations('electron/x.ts', imports('./hsm/client/spawn-utility'))).toEqual([]);
    expect(await violations('electron/hsm/client/x.ts', imports('../protocol/packing'))).toEqual([]);
    expect(await violations('electron/hsm/client/x.ts', imports('./arena'))).toEqual([]);
  });
  it('keeps the host side away from the client side and the services', async () => {
    expect(await violations('electron/hsm/host/x.ts', imports('../client'))).not.toEqual([]);
    expect(await violations('electron/hsm/host/x.ts', imports('../client/arena'))).not.toEqual([]);
    expect(await violations('electron/hsm/host/x.ts', imports('../../services/keys'))).not.toEqual([]);
    expect(await violations('electron/hsm/host/x.ts', imports('../../services/formats/keywrap'))).not.toEqual([]);
    // legal: the protocol, the host's own modules, shared/
    expect(await violations('electron/hsm/host/x.ts', imports('../protocol'))).toEqual([]);
    expect(await violations('electron/hsm/host/x.ts', imports('../protocol/addon'))).toEqual([]);
    expect(await violations('electron/hsm/host/x.ts', imports('./objects'))).toEqual([]);
    expect(await violations('electron/hsm/host/x.ts', imports('../../../shared/keys'))).toEqual([]);
  });
  it('keeps the protocol between the two sides', async () => {
    expect(await violations('electron/hsm/protocol/x.ts', imports('../host/session'))).not.toEqual([]);
    expect(await violations('electron/hsm/protocol/x.ts', imports('../client'))).not.toEqual([]);
    expect(await violations('electron/hsm/protocol/x.ts', imports('../../services/keys'))).not.toEqual([]);
    expect(await violations('electron/hsm/protocol/x.ts', imports('./packing'))).toEqual([]);
    expect(await violations('electron/hsm/protocol/x.ts', imports('../../../shared/result'))).toEqual([]);
  });
  it('loads pkcs11js only in the host, and the batch addon only in hsm/protocol/addon.ts', async () => {
    expect(await violations('electron/hsm/client/x.ts', imports('pkcs11js'))).not.toEqual([]);
    expect(await violations('electron/hsm/protocol/x.ts', imports('pkcs11js'))).not.toEqual([]);
    expect(await violations('electron/hsm/x.ts', imports('pkcs11js'))).not.toEqual([]);
    expect(await violations('electron/hsm/host/x.ts', imports('pkcs11js'))).toEqual([]);
    expect(await violations('electron/hsm/client/x.ts', imports('custos-p11batch'))).not.toEqual([]);
    expect(await violations('electron/hsm/host/x.ts', imports('custos-p11batch'))).not.toEqual([]);
    expect(await violations('electron/services/x.ts', imports('custos-p11batch'))).not.toEqual([]);
    expect(await violations('electron/hsm/protocol/addon.ts', imports('custos-p11batch'))).toEqual([]);
  });
});

describe('the import graph', { timeout: 60_000 }, () => {
  it('has no circle: a module importing one that imports it back is refused', async () => {
    // service.ts imports context.ts; context.ts importing service.ts would close a circle.
    const [r] = await eslint.lintText("import { ArchiveService } from './service';\nexport const y = ArchiveService;\n", { filePath: resolve(__dirname, '../..', 'electron/services/archive/context.ts') });
    expect((r?.messages ?? []).filter((m) => m.ruleId === 'import-x/no-cycle').length).toBeGreaterThan(0);
    const [ok] = await eslint.lintText("import { fail } from '../../../shared/result';\nexport const y = fail;\n", { filePath: resolve(__dirname, '../..', 'electron/services/archive/context.ts') });
    expect((ok?.messages ?? []).filter((m) => m.ruleId === 'import-x/no-cycle')).toEqual([]);
  });
});
