/**
 * Dispatch latency: enqueue -> handler start, with an idle worker. One job at a
 * time; the next is enqueued only after the previous one is acknowledged and a
 * short random pause (1-5 ms), so every job finds the worker waiting. Both
 * timestamps are taken in this process: just before the enqueue call, and first
 * thing in the handler.
 */
import { performance } from "node:perf_hooks";
import { payload, percentiles, sleep, type ChildSpec, type LatencyResult } from "../common.js";
import type { Driver } from "../drivers/index.js";

export async function latency(d: Driver, spec: ChildSpec): Promise<LatencyResult> {
  const { latencyJobs, warmup, concurrency } = spec.sizes;
  let started: ((t: number) => void) | undefined;
  let completed: (() => void) | undefined;
  await d.startWorker({
    concurrency,
    onStart: () => started?.(performance.now()),
    onCompleted: () => completed?.(),
  });
  const samples: number[] = [];
  for (let i = 0; i < warmup + latencyJobs; i++) {
    const start = new Promise<number>((r) => (started = r));
    const done = new Promise<void>((r) => (completed = r));
    const t0 = performance.now();
    await d.enqueue(payload(i));
    const t1 = await start;
    await done;
    if (i >= warmup) samples.push(t1 - t0);
    await sleep(1 + Math.random() * 4);
  }
  return { ...percentiles(samples), gapMs: "ack + 1..5" };
}
