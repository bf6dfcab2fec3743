/**
 * What every bench process shares: the job payload, the sizes of the run, the
 * shape of results, and the two ends of the parent/child message channel.
 */
import { performance } from "node:perf_hooks";

export const JOB_TYPE = "bench.noop";

/** The same args for every system: one small object, about the size of a typical job. */
export function payload(i: number): [{ i: number; email: string; plan: string; amount: number }] {
  return [{ i, email: `user-${i}@example.com`, plan: "pro", amount: 42.5 }];
}

/**
 * "grpc-standard": the gRPC transport against our server with its fast path off (standard ojs.v1 methods only).
 * The durable systems (bench/durable.ts): our server on the journal store and on PostgreSQL (over gRPC),
 * BullMQ on Redis with appendfsync always, graphile-worker and pg-boss on the same PostgreSQL.
 */
export type DriverName = "grpc" | "http" | "bullmq" | "grpc-standard" | DurableName;
export type DurableName = "ojs-journal" | "ojs-postgres" | "bullmq-aof" | "graphile-worker" | "pg-boss";
/** bench/peer.ts's reference: a plain connect-node client of the generated ojs.v1 service, without the SDK. */
export type ReferenceDriverName = "connect-node";
/** reclaim: how soon a job whose worker died is offered again after its lease deadline (our server only). */
export type ScenarioName = "latency" | "throughput" | "enqueue" | "rss" | "produce" | "reclaim";

export interface Sizes {
  /** Dispatch latency: measured jobs (after `warmup`). */
  latencyJobs: number;
  warmup: number;
  /** Worker throughput: jobs queued before the worker starts. */
  throughputJobs: number;
  concurrency: number;
  /**
   * Calls made (and thrown away) before the enqueue figures, by every system
   * alike: a long-running producer runs JIT-compiled code, so steady state is
   * what is compared, not V8's warm-up.
   */
  enqueueWarmup: number;
  enqueueSequential: number;
  enqueueConcurrent: number;
  callers: number;
  batchSize: number;
  batches: number;
  /** RSS: total jobs, and the early checkpoint compared with the end. */
  rssJobs: number;
  rssCheckpoint: number;
}

export const FULL: Sizes = {
  latencyJobs: 2_000,
  warmup: 100,
  throughputJobs: 20_000,
  concurrency: 50,
  enqueueWarmup: 3_000,
  enqueueSequential: 5_000,
  enqueueConcurrent: 20_000,
  callers: 32,
  batchSize: 1_000,
  batches: 50,
  rssJobs: 100_000,
  rssCheckpoint: 20_000,
};

/** Small enough to run in well under a minute on 2 cores, even while the SDK is slow. */
export const QUICK: Sizes = {
  latencyJobs: 150,
  warmup: 20,
  throughputJobs: 2_000,
  concurrency: 50,
  enqueueWarmup: 500,
  enqueueSequential: 300,
  enqueueConcurrent: 1_000,
  callers: 32,
  batchSize: 1_000,
  batches: 5,
  rssJobs: 3_000,
  rssCheckpoint: 600,
};

/** What a scenario child is told to do. */
export interface ChildSpec {
  driver: DriverName | ReferenceDriverName;
  scenario: ScenarioName;
  /** OJS server URL, or redis://host:port for BullMQ. */
  target: string;
  queue: string;
  sizes: Sizes;
  /** produce only: how many jobs to queue. */
  count?: number;
}

export interface Percentiles {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
}

export interface LatencyResult extends Percentiles {
  gapMs: string;
}
export interface ThroughputResult {
  jobs: number;
  /** CPU time of the SDK process per job (user + system), less sensitive to a busy machine than jobs/s. */
  sdkCpuUsPerJob: number;
  /** The same for the server process (or redis-server), measured by the orchestrator. */
  backendCpuUsPerJob?: number;
  /** The same for the PostgreSQL cluster, for systems on PostgreSQL. */
  dbCpuUsPerJob?: number;
  concurrency: number;
  seconds: number;
  perSec: number;
  firstJobMs: number;
  completedEvents: number;
  /** Completed jobs as the backend counts them, filled in by the orchestrator. */
  confirmed?: number;
}
export interface Rate {
  n: number;
  seconds: number;
  perSec: number;
  /** CPU time of the measuring process per operation. */
  cpuUsPerOp: number;
  /** CPU time of the backend (server, redis-server) per operation, when the orchestrator could read it. */
  backendCpuUsPerOp?: number;
  /** CPU time of the PostgreSQL cluster (all its processes) per operation, for systems on PostgreSQL. */
  dbCpuUsPerOp?: number;
  /** Per-call latency (sequential calls only). */
  p50Ms?: number;
  p99Ms?: number;
}
export interface EnqueueResult {
  sequential: Rate;
  concurrent: Rate & { callers: number };
  batch: Rate & { batchSize: number };
}
export interface MemSample {
  jobs: number;
  /** Seconds since the worker started: a long gap between samples is a stall. */
  atSec: number;
  rssMB: number;
  heapMB: number;
}
export interface RssResult {
  jobs: number;
  sdkCpuUsPerJob: number;
  backendCpuUsPerJob?: number;
  seconds: number;
  perSec: number;
  peakRssMB: number;
  /** The highest RSS seen by a 100 ms sampler while jobs ran, and how many jobs were done then. */
  highestSampledMB: number;
  highestAtJobs: number;
  samples: MemSample[];
  /** RSS at the checkpoint and at the end, and the growth between them in %. */
  rssAtCheckpointMB: number;
  rssAtEndMB: number;
  growthPct: number;
  checkpoint: number;
  confirmed?: number;
}

export function percentiles(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
  const sum = s.reduce((a, b) => a + b, 0);
  return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), mean: sum / s.length, max: s[s.length - 1] ?? NaN };
}

/** A point in time and in CPU time, to measure a section with rate(). */
export function mark(): { t: number; cpu: number } {
  return { t: performance.now(), cpu: cpuUs() };
}

export function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

export function rate(n: number, from: { t: number; cpu: number }): Rate {
  const seconds = (performance.now() - from.t) / 1000;
  return { n, seconds, perSec: n / seconds, cpuUsPerOp: Math.round((cpuUs() - from.cpu) / n) };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

// --- the child end of the channel ------------------------------------------------------

export type FromChild =
  | { type: "ready"; url?: string }
  | { type: "result"; data: unknown }
  | { type: "error"; message: string }
  /** A section of a scenario starts: the orchestrator notes the backend's CPU time. */
  | { type: "phase"; name: string };

/** Children die with their parent: the IPC channel closing means the orchestrator is gone. */
export function childSetup(): void {
  if (!process.send) throw new Error("run this file through bench/run.ts (it needs the IPC channel)");
  if (!process.connected) process.exit(1);
  process.on("disconnect", () => process.exit(1));
}

export function send(msg: FromChild): Promise<void> {
  if (!process.connected) process.exit(1);
  return new Promise((resolve) => process.send!(msg, undefined, undefined, () => resolve()));
}

/** Marks the start of a measured section (see FromChild "phase"); "end" closes the last one. */
export function phase(name: string): void {
  if (process.connected) process.send!({ type: "phase", name } satisfies FromChild);
}

/** Runs a child's work, reports its result or its error, then exits (which also writes --cpu-prof files). */
export async function runChild(work: () => Promise<unknown>): Promise<never> {
  childSetup();
  try {
    await send({ type: "result", data: await work() });
    process.exit(0);
  } catch (e) {
    await send({ type: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    process.exit(1);
  }
}
