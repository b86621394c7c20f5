// The demo token's place in the data folder, and the HSM host's environment that points SoftHSM2 at
// it. Its own module because the CLI computes that environment before anything else loads, to start
// the host early (cli/host.ts).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findSoftHsm } from './discovery';

export interface DemoEnvironment {
  /** SoftHSM2 module used for the demo token, if SoftHSM2 is installed. */
  module: string | null;
  confFile: string;
  tokenDir: string;
  available: boolean;
  reason?: string;
}

/**
 * The demo token is a SoftHSM2 token whose files live in the app's data folder. SoftHSM reads its
 * configuration from SOFTHSM2_CONF when C_Initialize runs, so the host must be started with it.
 */
export function demoEnvironment(dataDir: string, env: NodeJS.ProcessEnv = process.env): DemoEnvironment {
  const dir = join(dataDir, 'demo-softhsm');
  const confFile = join(dir, 'softhsm2.conf');
  const tokenDir = join(dir, 'tokens');
  const module = findSoftHsm();
  if (!module) {
    return { module, confFile, tokenDir, available: false, reason: 'SoftHSM2 is not installed. Install it with: sudo apt-get install softhsm2' };
  }
  if (env.SOFTHSM2_CONF && env.SOFTHSM2_CONF !== confFile) {
    return {
      module,
      confFile,
      tokenDir,
      available: false,
      reason: `SOFTHSM2_CONF is set (${env.SOFTHSM2_CONF}), so SoftHSM2 uses your own token folder, not the demo one. Unset it to use the demo token.`,
    };
  }
  return { module, confFile, tokenDir, available: true };
}

export function prepareDemoFiles(demo: DemoEnvironment): void {
  if (!demo.available) return;
  mkdirSync(demo.tokenDir, { recursive: true, mode: 0o700 });
  if (!existsSync(demo.confFile)) {
    writeFileSync(
      demo.confFile,
      `# SoftHSM2 configuration for the Custos demo token (not for production keys)\ndirectories.tokendir = ${demo.tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
      { mode: 0o600 },
    );
  }
}

/**
 * Environment for the HSM host process. With SOFTHSM2_CONF unset, SoftHSM2 is pointed at the demo
 * folder in every shell (app, preview, CLI), so the demo token is the same everywhere. To use your
 * own SoftHSM2 tokens instead, set SOFTHSM2_CONF (the demo token is then unavailable).
 */
export function hostEnvironment(demo: DemoEnvironment, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return demo.available ? { ...env, SOFTHSM2_CONF: demo.confFile } : { ...env };
}
