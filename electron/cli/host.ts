// The HSM host process for one CLI command. A one-shot command spends most of its time starting
// processes: its own Node, then the host's (Node, pkcs11js, the vendor library). dist/cli.cjs starts
// the host as soon as it knows that the command will use it, before it loads the command's code,
// so that the host boots while that code loads rather than after it (issue #12 part 7). It is
// still a process of its own: a vendor library that crashes or hangs takes down the host, not the
// command.
import { existsSync } from 'node:fs';
import type { SpawnHost } from '../hsm/client';
import { nodeHostSpawner } from '../hsm/client/spawn-node';
import { demoEnvironment, hostEnvironment } from '../services/demo';
import { takeEarlyHost, type EarlyHost } from './early-host';

/** dist/hsm-host.cjs where the caller locates it, unless CUSTOS_HSM_HOST names another build (tests). */
export function findHostScript(bundled: string): string {
  const found = [process.env.CUSTOS_HSM_HOST, bundled].find((p): p is string => !!p && existsSync(p));
  if (!found) throw new Error('dist/hsm-host.cjs is missing: run `npm run build` first');
  return found;
}

/**
 * Starts the host for a command that will use it, with the environment the services would give it
 * (the demo token's SOFTHSM2_CONF for this data folder; SoftHSM reads that file only at
 * C_Initialize, after the services have prepared it). Undefined if it cannot be started now: the
 * services then start it when they need it, and report the failure.
 */
export function startHost(script: string, dataDir: string): EarlyHost | undefined {
  try {
    const env = hostEnvironment(demoEnvironment(dataDir));
    const port = nodeHostSpawner(findHostScript(script), env)();
    const host: EarlyHost = { dataDir, softhsmConf: env.SOFTHSM2_CONF, port, exited: false };
    // A host that dies before the services take it must not be handed to them: they would start
    // listening for an exit that has already happened.
    port.onExit(() => {
      host.exited = true;
    });
    return host;
  } catch {
    return undefined;
  }
}

/** The spawner the CLI's services use: the host started early, if it fits, else a new one from `script`. */
export function hostSpawner(script: string, dataDir: string): (env: NodeJS.ProcessEnv) => SpawnHost {
  return (env) => {
    const spawn = nodeHostSpawner(findHostScript(script), env);
    return () => takeEarlyHost(dataDir, env) ?? spawn();
  };
}
