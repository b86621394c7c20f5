// Whether the process a lock file or a journal names is still the process that wrote it. A PID on
// its own does not say: Linux hands PIDs out again, and in a container whose init does not reap,
// a dead process lingers as a zombie that kill(pid, 0) still finds. So a writer records its PID
// with its start time (proc(5), /proc/PID/stat field 22, in clock ticks since boot): the same PID
// with another start time is another process, and a zombie (state Z or X) is dead.
import { readFileSync } from 'node:fs';

/** A process as a lock or journal names it: its PID and, where /proc exists, its start time. */
export interface ProcessMark {
  pid: number;
  /** /proc/PID/stat starttime (clock ticks since boot, as a decimal string); null where unknown. */
  start: string | null;
}

interface Stat {
  state: string;
  start: string;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19]; // field 22 of the whole line; fields[0] is field 3
  return state && start ? { state, start } : null;
}

function hasProc(): boolean {
  return readStat(process.pid) !== null;
}

/** This process (or `pid`), as a lock or journal should record it. */
export function markOf(pid: number = process.pid): ProcessMark {
  return { pid, start: readStat(pid)?.start ?? null };
}

/**
 * True while the process `mark` names is running: same PID, same start time, not a zombie. Without
 * /proc (not Linux) it falls back to kill(pid, 0), which cannot tell a reused PID.
 */
export function isRunning(mark: ProcessMark): boolean {
  if (!Number.isSafeInteger(mark.pid) || mark.pid <= 0) return false;
  if (hasProc()) {
    const st = readStat(mark.pid);
    if (!st || st.state === 'Z' || st.state === 'X' || st.state === 'x') return false;
    return mark.start === null || st.start === mark.start;
  }
  try {
    process.kill(mark.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True while a process `pid` runs that may have been running at `atMs` (epoch ms). For files named
 * only by PID and time (a temporary archive `FILE.init-PID-TIME`): a process with that PID that
 * started later than the file was made is not its maker. Start times are compared through the boot
 * time, which /proc gives to the second, hence the slack.
 */
export function ranAt(pid: number, atMs: number): boolean {
  if (!isRunning({ pid, start: null })) return false;
  const st = readStat(pid);
  const boot = bootTimeMs();
  if (!st || boot === null) return true;
  // USER_HZ is 100 on every Linux architecture Custos ships for (the kernel's user-space ABI).
  const startedMs = boot + Number(st.start) * 10;
  return startedMs <= atMs + 2000;
}

function bootTimeMs(): number | null {
  try {
    const text = readFileSync('/proc/stat', 'latin1');
    const m = /^btime (\d+)$/m.exec(text);
    return m ? Number(m[1]) * 1000 : null;
  } catch {
    return null;
  }
}
