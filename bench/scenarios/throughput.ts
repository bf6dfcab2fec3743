/**
 * Worker throughput: the jobs are already queued (by a producer process); a
 * worker with a no-op handler takes them all. The clock runs from start() to the
 * last job's completion event, which each system emits only after the backend
 * took the ack. The orchestrator then checks the backend's own count.
 */
import { performance } from "node:perf_hooks";
import { cpuUs, type ChildSpec, type ThroughputResult } from "../common.js";
import type { Driver } from "../drivers/index.js";

export async function throughput(d: Driver, spec: ChildSpec): Promise<ThroughputResult> {
  const { throughputJobs: jobs, concurrency } = spec.sizes;
  let done = 0;
  let firstAt = 0;
  let finish!: () => void;
  const all = new Promise<void>((r) => (finish = r));
  const t0 = performance.now();
  const cpu0 = cpuUs();
  const w = await d.startWorker({
    concurrency,
    onStart: () => {
      if (!firstAt) firstAt = performance.now();
    },
    onCompleted: () => {
      if (++done === jobs) finish();
    },
  });
  await all;
  const seconds = (performance.now() - t0) / 1000;
  const sdkCpuUsPerJob = Math.round((cpuUs() - cpu0) / jobs);
  await w.stop();
  return { jobs, sdkCpuUsPerJob, concurrency, seconds, perSec: jobs / seconds, firstJobMs: firstAt - t0, completedEvents: done };
}
