/** Queues `count` jobs in batches of 1 000 before a worker scenario starts (its own process, so the worker's memory stays its own). */
import { mark, payload, rate, type ChildSpec, type Rate } from "../common.js";
import type { Driver } from "../drivers/index.js";

export async function produce(d: Driver, spec: ChildSpec): Promise<Rate> {
  const count = spec.count ?? 0;
  const t0 = mark();
  for (let i = 0; i < count;) {
    const n = Math.min(1_000, count - i);
    await d.enqueueBatch(Array.from({ length: n }, (_, k) => payload(i + k)));
    i += n;
  }
  return rate(count, t0);
}
