// What every command prints through: the global options, one value as --json or as text, and an
// error in words (with what to do next) or as JSON. Kept apart from the service plumbing in
// context.ts because every command line, `--version` too, loads it.
import type { AppError } from '../../shared/result';

export interface GlobalOptions {
  module?: string;
  token?: string;
  pinFile?: string;
  json?: boolean;
  /** --force: an output file that exists may be replaced (atomically); records and keys never are. */
  force?: boolean;
  dataDir?: string;
  /** --operator: the enrolled person acting (audit log); else $CUSTOS_OPERATOR. */
  operator?: string;
}

/** Prints `value` as JSON with --json, else the text; both from the same value. */
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
