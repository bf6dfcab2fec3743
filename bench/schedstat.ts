/**
 * CPU time of processes from the scheduler (/proc/<pid>/schedstat: nanoseconds
 * on a CPU), which holds up better than rates on a shared machine. Linux only.
 */
import { readFileSync } from "node:fs";

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
