/**
 * CPU time of processes from the scheduler (/proc/<pid>/schedstat: nanoseconds
 * on a CPU), which holds up better than rates on a shared machine. Linux only.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Nanoseconds on a CPU of the given processes, summed; a process gone meanwhile counts 0. */
export function onCpuNs(pids: readonly number[]): number {
  let ns = 0;
  for (const pid of pids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // Gone meanwhile.
    }
  }
  return ns;
}

/**
 * Nanoseconds on a CPU of every thread of `pid` (V8's compiler and GC helpers, libuv's pool): a
 * thread that ended meanwhile is lost, a process gone counts 0. /proc/<pid>/schedstat alone is the
 * main thread's.
 */
export function threadsCpuNs(pid: number): number {
  let ns = 0;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0; // The process is gone.
  }
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns;
}
