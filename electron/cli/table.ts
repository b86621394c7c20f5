// The command table: which module registers which command words. main.ts loads only the group of the
// command being run. A command line without a known command word (`custos`, `--help`, `help sign`, a
// misspelt command) loads every group, so that commander can list them or suggest one; `--version`
// alone loads none.
import type { Command } from 'commander';
import { commandOf, versionOnly } from './argv';
import { loadCliModule } from './load';

export interface CommandGroup {
  words: readonly string[];
  load(): Promise<(program: Command) => void>;
}

// Each command module is an entry of the CLI build, at dist/cli/commands/<name>.mjs (scripts/build.mjs).
const commands = <T>(name: string) => loadCliModule<T>(`commands/${name}.mjs`);

// In the order of `custos --help`.
const GROUPS: readonly CommandGroup[] = [
  { words: ['tokens', 'login'], load: () => commands<typeof import('./commands/tokens')>('tokens').then((m) => m.registerTokenCommands) },
  { words: ['archive'], load: () => commands<typeof import('./commands/archive')>('archive').then((m) => m.registerArchiveCommands) },
  { words: ['audit'], load: () => commands<typeof import('./commands/audit')>('audit').then((m) => m.registerAuditCommands) },
  { words: ['token'], load: () => commands<typeof import('./commands/tokens')>('tokens').then((m) => m.registerTokenPinCommands) },
  { words: ['key'], load: () => commands<typeof import('./commands/key')>('key').then((m) => m.registerKeyCommands) },
  {
    words: ['sign', 'verify', 'hmac', 'encrypt', 'decrypt', 'random', 'wrap', 'unwrap'],
    load: () => commands<typeof import('./commands/operations')>('operations').then((m) => m.registerOperationCommands),
  },
  { words: ['shares'], load: () => commands<typeof import('./commands/shares')>('shares').then((m) => m.registerShareCommands) },
  { words: ['components'], load: () => commands<typeof import('./commands/components')>('components').then((m) => m.registerComponentCommands) },
  { words: ['ceremony', 'people'], load: () => commands<typeof import('./commands/ceremony')>('ceremony').then((m) => m.registerCeremonyCommands) },
];

export function groupsFor(argv: readonly string[]): readonly CommandGroup[] {
  const word = commandOf(argv)?.word;
  const group = word === undefined ? undefined : GROUPS.find((g) => g.words.includes(word));
  if (group) return [group];
  return versionOnly(argv) ? [] : GROUPS;
}
