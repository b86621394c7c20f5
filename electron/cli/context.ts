// Shared plumbing for the CLI's command modules: opening the services (the HSM host started early, if
// any), choosing the modules and the token. Output and errors are output.ts's.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SlotEntry, TokenListing } from '../../shared/contract';
import { matchesSelector } from '../../shared/pkcs11-uri';
import { CustosError, invalidInput } from '../../shared/result';
import { createCore, type CoreServices } from '../services/core';
import { checkTokenSelector } from '../services/tokens';
import type { Services } from '../services/index';
import type { SpawnHost } from '../hsm/client';
import { dataDirOf } from './data-dir';
import { hostSpawner } from './host';
import { cliFile } from './load';
import type { GlobalOptions } from './output';

export { out, printError, type GlobalOptions } from './output';

/** How the services start the HSM host: the one dist/cli.cjs started for this command, if it fits. */
function cliSpawner(dataDir: string): (env: NodeJS.ProcessEnv) => SpawnHost {
  return hostSpawner(fileURLToPath(cliFile('../hsm-host.cjs')), dataDir);
}


/** The core services (configuration, HSM client, tokens, keys) for this command. */
export function openCore(opts: GlobalOptions): CoreServices {
  const dataDir = dataDirOf(opts);
  const core = createCore({ dataDir, shell: 'cli', spawnHost: cliSpawner(dataDir) });
  core.activity.actAs(operatorOf(opts));
  return core;
}

/** The person this command acts as: --operator, else $CUSTOS_OPERATOR. */
export function operatorOf(opts: GlobalOptions): string | null {
  return opts.operator ?? process.env.CUSTOS_OPERATOR ?? null;
}

/** --module PATH overrides the configured modules for this command only. */
export async function modulesFor(s: CoreServices, opts: GlobalOptions): Promise<string[]> {
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

export async function listTokens(s: CoreServices, opts: GlobalOptions): Promise<TokenListing> {
  const paths = await modulesFor(s, opts);
  return opts.module ? s.tokens.listingOf(paths) : s.tokens.listing();
}

export function flagSummary(s: SlotEntry): string {
  const f = s.token?.flags;
  if (!f) return '';
  if (!f.initialized) return 'not initialised (a free slot for a new token)';
  const parts: string[] = [];
  if (f.userPinLocked) parts.push('USER PIN LOCKED');
  else if (f.userPinFinalTry) parts.push('user PIN: final try');
  else if (f.userPinCountLow) parts.push('user PIN: few tries left');
  if (f.soPinLocked) parts.push('SO PIN LOCKED');
  if (f.loginRequired) parts.push('login required');
  return parts.join(', ');
}

export function formatListing(l: TokenListing): string {
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

export async function pickToken(s: CoreServices, opts: GlobalOptions): Promise<SlotEntry & { token: NonNullable<SlotEntry['token']> }> {
  if (!opts.token) {
    invalidInput('No token was named.', 'Pass --token LABEL or --token "pkcs11:token=...;serial=...".');
  }
  checkTokenSelector(opts.token);
  const listing = await listTokens(s, opts);
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

export type TokenSlot = SlotEntry & { token: NonNullable<SlotEntry['token']> };

/** Runs a command body with the core services open, and always closes them (logout, C_Finalize). */
export async function withCore(program: Command, fn: (s: CoreServices, opts: GlobalOptions) => Promise<void>): Promise<void> {
  const opts = program.opts<GlobalOptions>();
  const s = openCore(opts);
  return fn(s, opts).finally(() => s.close());
}

/** Runs a command body with every service open (the archive and audit commands), and always closes them. */
export async function withServices(program: Command, fn: (s: Services, opts: GlobalOptions) => Promise<void>): Promise<void> {
  const opts = program.opts<GlobalOptions>();
  const { createServices } = await import('../services/index');
  const dataDir = dataDirOf(opts);
  // Notices (an interrupted archive init cleared up) go to stderr, so that --json output stays one document.
  const s = createServices({ dataDir, shell: 'cli', spawnHost: cliSpawner(dataDir), notice: (line) => process.stderr.write(`note: ${line}\n`) });
  s.activity.actAs(operatorOf(opts));
  return fn(s, opts).finally(() => s.close());
}
