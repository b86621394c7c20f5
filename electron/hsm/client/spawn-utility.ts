import { utilityProcess } from 'electron';
import type { HostResponse } from '../protocol';
import type { HostPort, SpawnHost } from './index';

/** Runs the HSM host as an Electron utilityProcess (the packaged app). */
export function utilityHostSpawner(hostScript: string, env: NodeJS.ProcessEnv): SpawnHost {
  return (): HostPort => {
    const child = utilityProcess.fork(hostScript, [], { serviceName: 'Custos HSM host', env, stdio: 'inherit' });
    let alive = true;
    child.on('exit', () => (alive = false));
    return {
      send: (m) => {
        if (alive) child.postMessage(m);
      },
      onMessage: (cb) => child.on('message', (m: unknown) => cb(m as HostResponse)),
      onExit: (cb) => child.on('exit', (code) => cb(code, null)),
      kill: () => {
        if (alive) child.kill();
      },
    };
  };
}
