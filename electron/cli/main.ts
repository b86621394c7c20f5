// `custos`: the command-line front end for scripted ceremonies. It runs the same services as the
// app (same HSM host process, same data folder, same typed errors).
import { Command, CommanderError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SlotEntry, TokenListing } from '../../shared/contract';
import { CustosError, type AppError } from '../../shared/result';
import { nodeHostSpawner } from '../hsm/spawn-node';
import { toAppError } from '../ipc/handle';
import { defaultDataDir } from '../services/config';
import { createServices, VERSION, type Services } from '../services/index';
import { exitCodeFor, EXIT } from './exit-codes';
import { readSecret } from './secrets';

interface GlobalOptions {
  module?: string;
  token?: string;
  pinFile?: string;
  json?: boolean;
  dataDir?: string;
}

function hostScript(): string {
  // Bundled next to this file in dist/; CUSTOS_HSM_HOST lets tests point at a specific build.
  const candidates = [process.env.CUSTOS_HSM_HOST, join(__dirname, 'hsm-host.cjs')];
  const found = candidates.find((p): p is string => !!p && existsSync(p));
  if (!found) throw new Error('dist/hsm-host.cjs is missing: run `npm run build` first');
  return found;
}

function open(opts: GlobalOptions): Services {
  return createServices({
    dataDir: opts.dataDir ?? defaultDataDir(),
    shell: 'cli',
    spawnHost: (env) => nodeHostSpawner(hostScript(), env),
  });
}

/** --module PATH overrides the configured modules for this command only. */
async function modulesFor(s: Services, opts: GlobalOptions): Promise<string[]> {
  if (opts.module) {
    if (!existsSync(opts.module)) {
      throw new CustosError({
        code: 'MODULE_NOT_FOUND',
        message: `There is no PKCS#11 module at ${opts.module}.`,
        action: 'Check the path given with --module.',
        details: { path: opts.module },
      });
    }
    return [opts.module];
  }
  const enabled = s.tokens.enabledModules().map((m) => m.path);
  if (enabled.length === 0) {
    throw new CustosError({
      code: 'MODULE_NOT_CONFIGURED',
      message: 'No PKCS#11 module is configured.',
      action: 'Pass --module PATH (for example /usr/lib/softhsm/libsofthsm2.so), or configure one in the app.',
    });
  }
  return enabled;
}

async function listTokens(s: Services, opts: GlobalOptions): Promise<TokenListing> {
  const paths = await modulesFor(s, opts);
  if (!opts.module) return s.tokens.listing();
  const modules: TokenListing['modules'] = [];
  const slots: SlotEntry[] = [];
  for (const path of paths) {
    const library = await s.hsm.call('load', { path });
    modules.push({ path, name: path.split('/').pop() ?? path, source: 'configured', enabled: true, status: 'loaded', library });
    for (const raw of await s.hsm.call('slots', { path })) slots.push(s.tokens.describeRawSlot(path, raw));
  }
  return { modules, slots };
}

function out(opts: GlobalOptions, value: unknown, text: () => string): void {
  process.stdout.write(opts.json ? JSON.stringify(value, null, 2) + '\n' : text() + '\n');
}

function printError(opts: GlobalOptions, e: AppError): void {
  if (opts.json) {
    process.stdout.write(JSON.stringify({ error: e }, null, 2) + '\n');
  } else {
    process.stderr.write(`error: ${e.message}\n  what to do: ${e.action}\n`);
    if (e.details) process.stderr.write(`  detail: ${Object.entries(e.details).map(([k, v]) => `${k}=${String(v)}`).join(' ')}\n`);
  }
}

function flagSummary(s: SlotEntry): string {
  const f = s.token?.flags;
  if (!f) return '';
  const parts: string[] = [];
  if (f.userPinLocked) parts.push('USER PIN LOCKED');
  else if (f.userPinFinalTry) parts.push('user PIN: final try');
  else if (f.userPinCountLow) parts.push('user PIN: few tries left');
  if (f.soPinLocked) parts.push('SO PIN LOCKED');
  if (!f.initialized) parts.push('not initialised');
  if (f.loginRequired) parts.push('login required');
  return parts.join(', ');
}

function formatListing(l: TokenListing): string {
  const lines: string[] = [];
  for (const m of l.modules.filter((x) => x.enabled)) {
    lines.push(`module ${m.path}${m.library ? ` (${m.library.manufacturer} ${m.library.description} ${m.library.version})` : ''}`);
    if (m.error) lines.push(`  error: ${m.error.message}`);
    const slots = l.slots.filter((s) => s.module === m.path);
    if (slots.length === 0 && m.status === 'loaded') lines.push('  no slots');
    for (const s of slots) {
      if (!s.token) {
        lines.push(`  slot ${s.slotDescription}: empty`);
        continue;
      }
      lines.push(`  token "${s.token.label}"  ${s.token.manufacturer} ${s.token.model}  serial ${s.token.serial}`);
      lines.push(`    uri ${s.token.uri}`);
      const flags = flagSummary(s);
      if (flags) lines.push(`    ${flags}`);
    }
  }
  return lines.join('\n');
}

async function pickToken(s: Services, opts: GlobalOptions): Promise<SlotEntry & { token: NonNullable<SlotEntry['token']> }> {
  if (!opts.token) {
    throw new CustosError({ code: 'INVALID_INPUT', message: 'No token was named.', action: 'Pass --token LABEL or --token "pkcs11:token=...;serial=...".' });
  }
  const listing = await listTokens(s, opts);
  const { matchesSelector } = await import('../../shared/pkcs11-uri');
  const found = listing.slots.filter((x): x is SlotEntry & { token: NonNullable<SlotEntry['token']> } => !!x.token && matchesSelector(opts.token!, x.token));
  if (found.length === 0) {
    throw new CustosError({
      code: 'TOKEN_NOT_FOUND',
      message: `No token matching "${opts.token}" is present.`,
      action: 'Run `custos tokens` to see the tokens present, insert the token, or correct the label.',
    });
  }
  if (found.length > 1) {
    throw new CustosError({
      code: 'TOKEN_AMBIGUOUS',
      message: `${found.length} tokens match "${opts.token}".`,
      action: 'Name the token by its PKCS#11 URI (shown by `custos tokens`), which includes the serial number.',
    });
  }
  return found[0]!;
}

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

  const run = (fn: (s: Services, opts: GlobalOptions) => Promise<void>) => async () => {
    const opts = program.opts<GlobalOptions>();
    const s = open(opts);
    try {
      await fn(s, opts);
    } finally {
      await s.close();
    }
  };

  program
    .command('tokens')
    .description('list modules, slots and tokens')
    .action(
      run(async (s, opts) => {
        const listing = await listTokens(s, opts);
        out(opts, listing, () => formatListing(listing));
      }),
    );

  program
    .command('login')
    .description('log in to a token to check a PIN (prompt, --pin-file or stdin), then log out')
    .addOption(new Option('--so', 'log in as the security officer'))
    .action(async (cmdOpts: { so?: boolean }) => {
      await run(async (s, opts) => {
        const slot = await pickToken(s, opts);
        const pin = await readSecret({ file: opts.pinFile, prompt: `${cmdOpts.so ? 'SO PIN' : 'PIN'} for "${slot.token.label}": ` });
        const role = cmdOpts.so ? 'so' : 'user';
        let after: SlotEntry;
        try {
          after = await s.tokens.login(slot.module, slot.token.uri, pin.value, role, false);
        } finally {
          pin.wipe();
        }
        await s.tokens.logout(slot.module, slot.token.uri, false);
        out(opts, { token: after.token, loggedIn: role }, () => `Logged in to "${slot.token.label}" as ${role === 'so' ? 'security officer' : 'user'}; the PIN is correct. Logged out again.`);
      })();
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const error = toAppError(e);
    printError(program.opts<GlobalOptions>(), error);
    return exitCodeFor(error.code);
  }
}

if (typeof require !== 'undefined' && require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
