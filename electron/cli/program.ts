// The root command and its global options, and one run of it: register the command groups that
// cli/table.ts chose, parse, and turn the outcome into output and an exit code (docs/CLI.md).
import { Command, CommanderError, Option } from 'commander';
import { toAppError } from '../../shared/result';
import { VERSION } from '../services/version';
import { printError, type GlobalOptions } from './output';
import { EXIT, exitCodeFor } from './exit-codes';
import type { CommandGroup } from './table';

export function buildProgram(): Command {
  return new Command('custos')
    .description('Custos — offline key custodian tools (PKCS#11 HSMs and smartcards)')
    .version(VERSION)
    .addOption(new Option('--module <path>', 'PKCS#11 module to use instead of the configured ones'))
    .addOption(new Option('--token <label|uri>', 'token by label or PKCS#11 URI (RFC 7512)'))
    .addOption(new Option('--pin-file <file>', 'read the PIN from the first line of FILE (never from an argument)'))
    .addOption(new Option('--data-dir <dir>', 'Custos data folder (default: $CUSTOS_DATA_DIR or ~/.config/Custos)'))
    .addOption(new Option('--operator <name>', 'who does this: an enrolled operator or administrator, for the audit log (default: $CUSTOS_OPERATOR; required once a production record exists)'))
    .addOption(new Option('--force', 'replace a file named by --out (or --report, --public-key-out) that exists; without it Custos never overwrites one'))
    .addOption(new Option('--json', 'machine-readable output (see docs/CLI.md)'))
    .showHelpAfterError()
    .exitOverride()
    // Commander echoes the offending argument ("unknown option '--pin=1234'"): a secret typed where
    // it does not belong must not be printed back. Values after "=" are cut from its messages.
    .configureOutput({ outputError: (str, write) => write(redactUsage(str)) });
}

export const redactUsage = (text: string): string => text.replace(/(--?[A-Za-z][\w-]*)=\S+?(['"\s]|$)/g, '$1=…$2');

export async function run(argv: string[], groups: readonly CommandGroup[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  if (json) program.configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  try {
    for (const register of await Promise.all(groups.map((g) => g.load()))) register(program);
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return EXIT.OK;
      if (json) {
        const message = redactUsage(e.message.replace(/^error: /, ''));
        process.stdout.write(JSON.stringify({ error: { code: 'INVALID_INPUT', message: `The command line was not understood: ${message}.`, action: 'See `custos --help` and docs/CLI.md.' } }, null, 2) + '\n');
      }
      return EXIT.USAGE;
    }
    const error = toAppError(e);
    printError(program.opts<GlobalOptions>(), error);
    return exitCodeFor(error.code);
  }
}
