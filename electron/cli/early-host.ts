// The HSM host that dist/cli.cjs started for this command before the command's code loaded
// (cli/host.ts), waiting for the services to take it. Kept apart from host.ts so that the commands
// that never start a host (and `--version`) do not load child_process.
import type { HostPort } from '../hsm/client';

export interface EarlyHost {
  /** What the host was started for: the services take it only if they would start the same. */
  dataDir: string;
  softhsmConf: string | undefined;
  port: HostPort;
  exited: boolean;
}

let early: EarlyHost | undefined;

export function adoptEarlyHost(started: EarlyHost | undefined): void {
  early = started;
}

/** The early host's port if it was started for this data folder and environment (and is alive); else stops it. */
export function takeEarlyHost(dataDir: string, env: NodeJS.ProcessEnv): HostPort | undefined {
  const e = early;
  early = undefined;
  if (e && !e.exited && e.dataDir === dataDir && e.softhsmConf === env.SOFTHSM2_CONF) return e.port;
  e?.port.kill();
  return undefined;
}

/** Stops an early host that no service took (the command failed first, or never used it). */
export function discardEarlyHost(): void {
  early?.port.kill();
  early = undefined;
}
