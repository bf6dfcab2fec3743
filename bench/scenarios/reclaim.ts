/**
 * Lease reclaim: a worker takes jobs with a 1 s lease and dies (it never acks
 * nor heartbeats); a live worker is waiting. The figure is how long after the
 * lease deadline each job reaches the live worker. The deadline is taken as
 * (just before the fetch call) + lease, which is no later than the server's,
 * so the delay shown is an upper bound. Our server only: the fetch is an OJS call.
 */
import { performance } from "node:perf_hooks";
import { Client } from "../../src/index.js";
import { JOB_TYPE, payload, percentiles, sleep, type ChildSpec } from "../common.js";
import type { Driver } from "../drivers/index.js";

export interface ReclaimResult {
  jobs: number;
  leaseMs: number;
  /** Lease deadline -> offered to the live worker, per job. */
  delaysMs: number[];
  p50Ms: number;
  maxMs: number;
}

const JOBS = 5;
const LEASE_MS = 1_000;
const GIVE_UP_MS = 60_000;

export async function reclaim(d: Driver, spec: ChildSpec): Promise<ReclaimResult> {
  const client = new Client({ url: spec.target, transport: "grpc" });
  try {
    for (let i = 0; i < JOBS; i++) await client.enqueue(JOB_TYPE, payload(i), { queue: spec.queue });
    const asked = performance.now();
    const taken = await client.transport.fetch({ queues: [spec.queue], count: JOBS, workerId: "bench-dead-worker", visibilityTimeoutMs: LEASE_MS });
    if (taken.length !== JOBS) throw new Error(`the dying worker got ${taken.length} of ${JOBS} jobs`);
    const deadline = asked + LEASE_MS;
    const offered: number[] = [];
    const w = await d.startWorker({ concurrency: JOBS, onStart: () => offered.push(performance.now()), onCompleted: () => {} });
    const until = performance.now() + LEASE_MS + GIVE_UP_MS;
    while (offered.length < JOBS && performance.now() < until) await sleep(5);
    await w.stop();
    if (offered.length < JOBS) throw new Error(`${offered.length} of ${JOBS} jobs offered again within ${GIVE_UP_MS / 1000} s of their lease deadline`);
    const delaysMs = offered.map((t) => Math.round((t - deadline) * 10) / 10);
    const p = percentiles(delaysMs);
    return { jobs: JOBS, leaseMs: LEASE_MS, delaysMs, p50Ms: p.p50, maxMs: p.max };
  } finally {
    await client.close();
  }
}
