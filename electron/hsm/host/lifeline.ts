// The HSM host's tie to the process that started it. The host holds logged-in sessions on the
// custodians' devices; it must never outlive the app or the CLI that started it, and it must never
// print a stack trace into the user's terminal because its parent went away.
//
// Three ways the parent can disappear, and what ends the host in each:
// - The parent closes the channel, or dies while the host is idle: 'disconnect' (or a send that
//   fails with EPIPE / ERR_IPC_CHANNEL_CLOSED) → log out, C_Finalize, exit 0, silently.
// - The parent dies while the host is busy in JavaScript or in a short C call: PR_SET_PDEATHSIG
//   delivers SIGTERM; the handler runs as soon as the call returns → the same quiet exit.
// - The parent dies while the host is blocked in a vendor library that never returns: no
//   JavaScript runs, so a watchdog thread (native/p11batch `lifeline`, or a worker thread when
//   the addon was not built) sends SIGKILL GRACE_MS after it sees the parent gone.
import { Worker } from 'node:worker_threads';
import { loadAddon } from '../protocol/addon';

/** How long a host whose parent died may take to log out before the watchdog kills it. */
export const GRACE_MS = 2000;
const SIGTERM = 15;

/**
 * The parent the host must live with. The Node spawner names itself (it may already be gone by the
 * time the host reads this). In Electron the utility process's parent may be Chromium's zygote
 * rather than the main process, so there the host takes the parent it has; Chromium also ends
 * utility processes when the browser process dies.
 */
export function expectedParent(): number {
  const named = Number(process.env.CUSTOS_HSM_PARENT);
  return Number.isSafeInteger(named) && named > 1 ? named : process.ppid;
}

/**
 * Ties the host to its parent. Calls `leave` (which must log out and exit) when the channel closes
 * or SIGTERM arrives; returns false if the parent is already gone (the caller exits at once).
 */
export function holdLifeline(leave: () => void): boolean {
  const parent = expectedParent();
  let leaving = false;
  const once = () => {
    if (leaving) return;
    leaving = true;
    leave();
  };
  process.on('disconnect', once);
  process.on('SIGTERM', once);
  // A write to a closed channel reports here (or to the send callback); never as a crash.
  process.on('error', once);

  const addon = loadAddon();
  if (addon) {
    try {
      return addon.lifeline(parent, SIGTERM, GRACE_MS);
    } catch {
      /* fall through to the worker */
    }
  }
  if (process.ppid !== parent) return false;
  // Without the addon: a worker thread runs even while the main thread is stuck in C.
  const source = `
    const { workerData } = require('node:worker_threads');
    const timer = setInterval(() => {
      if (process.ppid === workerData.parent) return;
      clearInterval(timer);
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), workerData.grace);
    }, 200);`;
  const w = new Worker(source, { eval: true, workerData: { parent, grace: GRACE_MS }, stdout: false, stderr: false });
  w.on('error', () => undefined);
  w.unref();
  return true;
}
