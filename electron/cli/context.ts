// Shared plumbing for the CLI's command modules: global options, service start-up, output, errors.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SlotEntry, TokenListing } from '../../shared/contract';
import { matchesSelector } from '../../shared/pkcs11-uri';
import { CustosError, invalidInput, type AppError } from '../../shared/result';
import { nodeHostSpawner } from '../hsm/spawn-node';
import { defaultDataDir } from '../services/config';
import { createCore, type CoreServices } from '../services/core';
import { createServices, type Services } from '../services/index';

export interface GlobalOptions {
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

export function open(opts: GlobalOptions): Services {
  return createServices({
    dataDir: opts.dataDir ?? defaultDataDir(),
    shell: 'cli',
    spawnHost: (env) => nodeHostSpawner(hostScript(), env),
  });
}

/** The core services (configuration, HSM client, tokens, keys) for this command. */
export function openCore(opts: GlobalOptions): CoreServices {
  return createCore({
    dataDir: opts.dataDir ?? defaultDataDir(),
    shell: 'cli',
    spawnHost: (env) => nodeHostSpawner(hostScript(), env),
  });
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

export function out(opts: GlobalOptions, value: unknown, text: () => string): void {
  process.stdout.write(opts.json ? JSON.stringify(value, null, 2) + '\n' : text() + '\n');
}

export function printError(opts: GlobalOptions, e: AppError): void {
  if (opts.json) {
    process.stdout.write(JSON.stringify({ error: e }, null, 2) + '\n');
  } else {
    process.stderr.write(`error: ${e.message}\n  what to do: ${e.action}\n`);
    if (e.details) process.stderr.write(`  detail: ${Object.entries(e.details).map(([k, v]) => `${k}=${String(v)}`).join(' ')}\n`);
  }
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
export function withCore(program: Command, fn: (s: CoreServices, opts: GlobalOptions) => Promise<void>): Promise<void> {
  const opts = program.opts<GlobalOptions>();
  const s = openCore(opts);
  return fn(s, opts).finally(() => s.close());
}

/** Runs a command body with the services open, and always closes them (logout, C_Finalize). */
export function withServices(program: Command, fn: (s: Services, opts: GlobalOptions) => Promise<void>): Promise<void> {
  const opts = program.opts<GlobalOptions>();
  const s = open(opts);
  return fn(s, opts).finally(() => s.close());
}
