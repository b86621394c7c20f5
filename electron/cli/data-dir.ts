// The data folder a command works in, and the activity record of a command that uses no token.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { invalidInput } from '../../shared/result';
import type { Activity } from '../services/activity/activity';
import { defaultDataDir } from '../services/config';
import type { GlobalOptions } from './output';

/**
 * The data folder for this command (--data-dir, $CUSTOS_DATA_DIR or the default), refused in words
 * when it names a file or cannot be made, instead of failing inside the services untyped.
 */
export function dataDirOf(opts: GlobalOptions): string {
  const dataDir = opts.dataDir ?? defaultDataDir();
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    invalidInput(`The data folder ${dataDir} is a file, not a folder.`, 'Name a folder with --data-dir (or $CUSTOS_DATA_DIR); it is created if it does not exist.', { path: dataDir });
  }
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    invalidInput(`The data folder ${dataDir} cannot be created (${(e as { code?: string }).code ?? 'error'}).`, 'Name a folder you may write to with --data-dir (or $CUSTOS_DATA_DIR).', { path: dataDir });
  }
  return dataDir;
}

/**
 * The activity record for a command that touches no token (share checks, splits, recombinations):
 * its entries name the --operator person and wait in the pending audit journal until the next
 * write to the workstation record carries them over. Loaded only when such a command runs.
 */
export async function tokenlessActivity(opts: GlobalOptions): Promise<Activity> {
  const { Activity } = await import('../services/activity/activity');
  const a = new Activity({ hsm: null, dataDir: dataDirOf(opts), via: 'cli', modules: () => [] });
  a.actAs(opts.operator ?? process.env.CUSTOS_OPERATOR ?? null);
  return a;
}
