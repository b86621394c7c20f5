// `custos`: the command-line front end for scripted ceremonies. It runs the same services as the
// app (same HSM host process, same data folder, same typed errors). Each command group lives in
// commands/ and registers itself here.
import { Command, CommanderError, Option } from 'commander';
import { toAppError } from '../ipc/handle';
import { VERSION } from '../services/index';
import { registerTokenCommands } from './commands/tokens';
import { printError, type GlobalOptions } from './context';
import { EXIT, exitCodeFor } from './exit-codes';

export function buildProgram(): Command {
  const program = new Command('custos')
    .description('Custos — offline key custodian tools (PKCS#11 HSMs and smartcards)')
    .version(VERSION)
    .addOption(new Option('--module <path>', 'PKCS#11 module to use instead of the configured ones'))
    .addOption(new Option('--token <label|uri>', 'token by label or PKCS#11 URI (RFC 7512)'))
    .addOption(new Option('--pin-file <file>', 'read the PIN from the first line of FILE (never from an argument)'))
    .addOption(new Option('--data-dir <dir>', 'Custos data folder (default: $CUSTOS_DATA_DIR or ~/.config/Custos)'))
    .addOption(new Option('--json', 'machine-readable output (see docs/CLI.md)'))
    .showHelpAfterError()
    .exitOverride();
  registerTokenCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    const error = toAppError(e);
    printError(program.opts<GlobalOptions>(), error);
    return exitCodeFor(error.code);
  }
}

if (typeof require !== 'undefined' && require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
