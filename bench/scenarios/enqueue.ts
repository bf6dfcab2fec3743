/** Enqueue throughput: one caller awaiting each call, 32 concurrent callers, and batches of 1 000. */
import { performance } from "node:perf_hooks";
import { mark, payload, percentiles, phase, rate, type ChildSpec, type EnqueueResult } from "../common.js";
import type { Args, Driver } from "../drivers/index.js";

export async function enqueue(d: Driver, spec: ChildSpec): Promise<EnqueueResult> {
  const { enqueueSequential, enqueueConcurrent, callers, batchSize, batches, enqueueWarmup } = spec.sizes;
  let i = 0;
  for (let w = 0; w < enqueueWarmup; w++) await d.enqueue(payload(i++));

  phase("sequential");
  const took: number[] = [];
  let t0 = mark();
  for (let n = 0; n < enqueueSequential; n++) {
    const t = performance.now();
    await d.enqueue(payload(i++));
    took.push(performance.now() - t);
  }
  const sequential = rate(enqueueSequential, t0);
  const p = percentiles(took);
  sequential.p50Ms = Math.round(p.p50 * 1000) / 1000;
  sequential.p99Ms = Math.round(p.p99 * 1000) / 1000;

  let left = enqueueConcurrent;
  const caller = async () => {
    while (left > 0) {
      left--;
      await d.enqueue(payload(i++));
    }
  };
  phase("concurrent");
  t0 = mark();
  await Promise.all(Array.from({ length: callers }, caller));
  const concurrent = { ...rate(enqueueConcurrent, t0), callers };

  const makeBatch = (): Args[] => Array.from({ length: batchSize }, () => payload(i++));
  await d.enqueueBatch(makeBatch());
  // Build the batches first: the figure is the call, not the making of the arrays.
  const prepared = Array.from({ length: batches }, makeBatch);
  phase("batch");
  t0 = mark();
  for (const b of prepared) await d.enqueueBatch(b);
  const batch = { ...rate(batches * batchSize, t0), batchSize };
  phase("end");

  return { sequential, concurrent, batch };
}
