import { fork } from 'node:child_process';
import type { HostResponse } from '../protocol';
import type { HostPort, SpawnHost } from './index';

/** Runs the HSM host as a Node child process (preview shell, CLI, tests). */
export function nodeHostSpawner(hostScript: string, env: NodeJS.ProcessEnv): SpawnHost {
  return (): HostPort => {
    const child = fork(hostScript, [], {
      env: { ...env, CUSTOS_HSM_PARENT: String(process.pid) }, // the host dies with this process (hsm/host/lifeline.ts)
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced', // structured clone: Uint8Array crosses without base64
    });
    return {
      send: (m) => {
        if (child.connected) child.send(m);
      },
      onMessage: (cb) => child.on('message', (m) => cb(m as HostResponse)),
      onExit: (cb) => {
        child.on('exit', (code, signal) => cb(code, signal));
        // A failed fork reports 'error' (and maybe no 'exit'): treat it as the host dying.
        child.on('error', () => {
          if (child.exitCode === null && child.signalCode === null) cb(null, 'spawn-error');
        });
      },
      kill: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    };
  };
}
