/**
 * CPU time of a whole PostgreSQL cluster, from /proc: the postmaster, every
 * live child (backends, WAL writer, checkpointer...) and, through the
 * postmaster's cutime/cstime, the children that have exited since (a backend
 * whose client disconnected). Linux only; undefined elsewhere.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime, stime, cutime, cstime and ppid of a process, in clock ticks. */
function stat(pid: string): { ppid: number; own: number; reaped: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces): ppid is the 2nd, utime..cstime the 12th-15th.
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) the cluster whose postmaster is `postmasterPid` has used so far, in µs. */
export function clusterCpuUs(postmasterPid: number): number | undefined {
  const root = stat(String(postmasterPid));
  if (!root) return undefined;
  let ticks = root.own + root.reaped;
  let dirs: string[];
  try {
    dirs = readdirSync("/proc");
  } catch {
    return undefined;
  }
  for (const d of dirs) {
    if (!/^\d+$/.test(d) || d === String(postmasterPid)) continue;
    const s = stat(d);
    if (s?.ppid === postmasterPid) ticks += s.own;
  }
  return (ticks * 1e6) / TICKS_PER_SECOND;
}
