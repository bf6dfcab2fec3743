/**
 * Worker memory over a long run: all jobs are queued beforehand; the worker
 * takes them and its RSS is sampled every tenth of the run. The checkpoint
 * figure is compared with the end (target: flat within 10 %). Heap figures
 * are taken after a forced GC (--expose-gc), RSS before it.
 */
import { performance } from "node:perf_hooks";
import { cpuUs, mb, type ChildSpec, type MemSample, type RssResult } from "../common.js";
import type { Driver } from "../drivers/index.js";

export async function rss(d: Driver, spec: ChildSpec): Promise<RssResult> {
  const { rssJobs: jobs, rssCheckpoint: checkpoint, concurrency } = spec.sizes;
  const every = Math.max(1, Math.floor(jobs / 10));
  const samples: MemSample[] = [];
  const sample = (n: number) => {
    const rssBytes = process.memoryUsage.rss();
    (globalThis as { gc?: () => void }).gc?.();
    samples.push({ jobs: n, atSec: Math.round(performance.now() - t0) / 1000, rssMB: mb(rssBytes), heapMB: mb(process.memoryUsage().heapUsed) });
  };
  let t0 = performance.now();
  sample(0);
  let done = 0;
  let finish!: () => void;
  const all = new Promise<void>((r) => (finish = r));
  t0 = performance.now();
  const cpu0 = cpuUs();
  // Between the checkpoints too: where in the run the high-water mark falls.
  let high = { rssMB: 0, jobs: 0 };
  const watch = setInterval(() => {
    const r = mb(process.memoryUsage.rss());
    if (r > high.rssMB) high = { rssMB: r, jobs: done };
  }, 100);
  const w = await d.startWorker({
    concurrency,
    onStart: () => {},
    onCompleted: () => {
      done++;
      if (done % every === 0 || done === checkpoint) sample(done);
      if (done === jobs) finish();
    },
  });
  await all;
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(watch);
  const sdkCpuUsPerJob = Math.round((cpuUs() - cpu0) / jobs);
  await w.stop();
  const at = (n: number) => samples.find((s) => s.jobs === n)?.rssMB ?? NaN;
  const rssAtCheckpointMB = at(checkpoint);
  const rssAtEndMB = at(jobs);
  return {
    jobs,
    sdkCpuUsPerJob,
    seconds,
    perSec: jobs / seconds,
    // maxRSS is in KiB: the high-water mark of the whole process life.
    peakRssMB: mb(process.resourceUsage().maxRSS * 1024),
    highestSampledMB: high.rssMB,
    highestAtJobs: high.jobs,
    samples: samples.sort((a, b) => a.jobs - b.jobs),
    rssAtCheckpointMB,
    rssAtEndMB,
    growthPct: Math.round(((rssAtEndMB - rssAtCheckpointMB) / rssAtCheckpointMB) * 1000) / 10,
    checkpoint,
  };
}
