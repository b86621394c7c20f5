// `custos`: the command-line front end for scripted ceremonies. It runs the same services as the
// app (same HSM host process, same data folder, same typed errors). Scripts call it many times, so
// each call loads only what its command needs: cli/table.ts picks the command's group, and the
// services and heavy libraries load when a command opens them. dist/cli.cjs has already started the
// HSM host when the command will use it (cli/host.ts).
import { adoptEarlyHost, discardEarlyHost, type EarlyHost } from './early-host';
import { setCliRoot } from './load';
import { run } from './program';
import { groupsFor } from './table';

export async function main(argv: string[], early?: EarlyHost): Promise<number> {
  setCliRoot(new URL('.', import.meta.url)); // this module is dist/cli/main.mjs
  adoptEarlyHost(early);
  try {
    return await run(argv, groupsFor(argv));
  } finally {
    discardEarlyHost();
  }
}
