// The one module that loads the batch addon (native/p11batch); a lint rule keeps every other file
// from requiring it. Both sides of the HSM boundary use it, for different parts:
// - the host: the PKCS#11 batch calls over the library pkcs11js loaded, the lifeline watchdog, and
//   the shared arena it creates;
// - the main process (ClientArena): only the functions that map the host's arena and copy in and
//   out of it. It never calls into a PKCS#11 library through the addon (it loads none).
import type { Arena, FunctionList, P11Batch, P11BatchArena } from 'custos-p11batch';

export type { Arena, FunctionList, P11Batch, P11BatchArena };

let addon: P11Batch | null | undefined;

/** The addon (native/p11batch), or null when it was not built or CUSTOS_P11_BATCH=off. */
export function loadAddon(): P11Batch | null {
  if (addon !== undefined) return addon;
  if (process.env.CUSTOS_P11_BATCH === 'off') return (addon = null);
  try {
    addon = require('custos-p11batch') as P11Batch | null;
  } catch {
    addon = null;
  }
  return addon;
}
