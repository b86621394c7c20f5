import { ESLint } from 'eslint';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// A `custos` call loads only what its command needs (issue #12 part 7). The modules every command
// line loads before its command are held to that by a lint rule; prove it bites.
const eslint = new ESLint({ cwd: resolve(__dirname, '../..') });

async function violations(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: resolve(__dirname, '../..', file) });
  return (r?.messages ?? []).filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

describe('CLI start-up lint rule', () => {
  it('keeps command modules, services and heavy libraries out of the start-up path', async () => {
    expect(await violations('electron/cli/main.ts', "import { registerShareCommands } from './commands/shares';\nexport const y = registerShareCommands;\n")).not.toEqual([]);
    expect(await violations('electron/cli/program.ts', "import { createCore } from '../services/core';\nexport const y = createCore;\n")).not.toEqual([]);
    expect(await violations('electron/cli/table.ts', "import { withCore } from './context';\nexport const y = withCore;\n")).not.toEqual([]);
    expect(await violations('electron/cli/argv.ts', "import { z } from 'zod';\nexport const y = z;\n")).not.toEqual([]);
  });
  it('lets it import what it needs, types, and load the rest on demand', async () => {
    expect(await violations('electron/cli/commonjs.ts', "import { defaultDataDir } from '../services/config';\nexport const y = defaultDataDir;\n")).toEqual([]);
    expect(await violations('electron/cli/table.ts', "import type { Services } from '../services/index';\nexport type Y = Services;\n")).toEqual([]);
    expect(await violations('electron/cli/main.ts', "export const y = () => import('./commands/shares');\n")).toEqual([]);
    expect(await violations('electron/cli/commands/shares.ts', "import { planSplit } from '../../services/shares/index';\nexport const y = planSplit;\n")).toEqual([]);
  });
});
