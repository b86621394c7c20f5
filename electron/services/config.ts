import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { fail } from '../../shared/result';

// Configuration lives in the app's data folder (the same folder Electron calls userData, so the
// app, the preview shell and the CLI share it). It holds no secrets: module paths and flags only.

const configSchema = z.object({
  version: z.literal(1),
  modules: z.array(z.string().startsWith('/')).default([]),
  demo: z.boolean().default(false),
});
export type Config = z.infer<typeof configSchema>;

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
    const parsed = configSchema.safeParse(raw);
    if (!parsed.success) {
      return fail('CONFIG_INVALID', `The configuration file ${this.file} has unexpected content.`, 'Fix the file, or move it aside so that Custos starts with a fresh configuration.', { file: this.file, problem: parsed.error.issues[0]?.message ?? 'invalid' });
    }
    return parsed.data;
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
