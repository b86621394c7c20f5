import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fail } from '../../shared/result';

// Configuration lives in the app's data folder (the same folder Electron calls userData, so the
// app, the preview shell and the CLI share it). It holds no secrets: module paths and flags only.
// Checked by hand rather than with a schema library: every CLI command reads it, and loading zod
// would cost each of them more than the whole check (issue #12 part 7).

/** config.json, version 1. */
export interface Config {
  version: 1;
  /** PKCS#11 modules to load, by absolute path. */
  modules: string[];
  /** The demo token has been created. */
  demo: boolean;
}

/** The configuration in `raw` (parsed JSON) with its defaults, or what is wrong with it. Unknown fields are dropped. */
function checkConfig(raw: unknown): { config: Config } | { problem: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problem: 'the file must hold a JSON object' };
  const r = raw as Record<string, unknown>;
  if (r.version !== 1) return { problem: 'version must be 1' };
  const modules = r.modules === undefined ? [] : r.modules;
  if (!Array.isArray(modules) || !modules.every((m): m is string => typeof m === 'string' && m.startsWith('/'))) {
    return { problem: 'modules must be a list of absolute paths' };
  }
  const demo = r.demo === undefined ? false : r.demo;
  if (typeof demo !== 'boolean') return { problem: 'demo must be true or false' };
  return { config: { version: 1, modules: [...modules], demo } };
}

export function defaultDataDir(): string {
  if (process.env.CUSTOS_DATA_DIR) return process.env.CUSTOS_DATA_DIR;
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'Custos');
}

export class ConfigStore {
  readonly file: string;

  constructor(readonly dataDir: string) {
    this.file = join(dataDir, 'config.json');
  }

  read(): Config {
    if (!existsSync(this.file)) return { version: 1, modules: [], demo: false };
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      return fail('CONFIG_INVALID', `The configuration file ${this.file} is not valid JSON.`, 'Fix the file, or move it aside so that Custos starts with a fresh configuration.', { file: this.file });
    }
    const checked = checkConfig(raw);
    if ('problem' in checked) {
      return fail('CONFIG_INVALID', `The configuration file ${this.file} has unexpected content.`, 'Fix the file, or move it aside so that Custos starts with a fresh configuration.', { file: this.file, problem: checked.problem });
    }
    return checked.config;
  }

  /** Write-then-rename so that a crash never leaves a half-written configuration. */
  write(config: Config): void {
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  update(change: (c: Config) => Config): Config {
    const next = change(this.read());
    this.write(next);
    return next;
  }
}
