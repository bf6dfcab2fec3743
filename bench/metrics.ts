/**
 * The figures of the memory-store table (latest.md), how each is read from a
 * system's results and from the ceiling, and how numbers are written. Shared by
 * report.ts (the table, ratios, chart) and targets.ts (issues 7 and 13).
 */
import type { CeilingResult } from "./ceiling.js";
import type { DriverName } from "./common.js";
import type { RunResults, SystemResults } from "./report.js";
import type { Failed } from "./rounds.js";

export type Ceiling = "ceiling" | "pipelined";

/**
 * Which ceiling moves bytes the way each system does, so that every ratio
 * compares like with like: the gRPC transport pipelines enqueue, ack and nack
 * on long-lived streams (the fast path) and receives jobs over StreamJobs; the
 * HTTP transport sends one request per call; BullMQ pipelines commands on one
 * Redis connection.
 */
export const LIKE: Partial<Record<DriverName, Ceiling>> = { grpc: "pipelined", "grpc-standard": "ceiling", http: "ceiling", bullmq: "pipelined" };

export const ok = <T extends object>(v: T | Failed | undefined): T | undefined => (v && !("error" in v) ? v : undefined);
export const sys = (r: RunResults, d: DriverName): SystemResults | undefined => {
  const s = r.systems[d];
  return s && !("skipped" in s) ? s : undefined;
};

/** One row of figures: how to read it from a system, and what in the ceiling it compares with. */
export interface Metric {
  key: string;
  label: string;
  unit: string;
  lowerIsBetter?: boolean;
  get(s: SystemResults): number | undefined;
  /** The same measure for bare http2, one stream per call. */
  ceiling?(c: CeilingResult): number | undefined;
  /** The same measure for bare http2, calls pipelined in frames on one long-lived stream. */
  pipelined?(c: CeilingResult): number | undefined;
}

export const METRICS: Metric[] = [
  {
    key: "dispatchP50",
    label: "Dispatch latency p50",
    unit: "ms",
    lowerIsBetter: true,
    get: (s) => ok(s.latency)?.p50,
    ceiling: (c) => c.modes.sequential?.rtt?.p50,
    pipelined: (c) => c.pipelined?.sequential?.rtt?.p50,
  },
  {
    key: "dispatchP90",
    label: "Dispatch latency p90",
    unit: "ms",
    lowerIsBetter: true,
    get: (s) => ok(s.latency)?.p90,
    ceiling: (c) => c.modes.sequential?.rtt?.p90,
    pipelined: (c) => c.pipelined?.sequential?.rtt?.p90,
  },
  {
    key: "dispatchP99",
    label: "Dispatch latency p99",
    unit: "ms",
    lowerIsBetter: true,
    get: (s) => ok(s.latency)?.p99,
    ceiling: (c) => c.modes.sequential?.rtt?.p99,
    pipelined: (c) => c.pipelined?.sequential?.rtt?.p99,
  },
  {
    key: "workerThroughput",
    label: "Worker throughput, no-op, c=50",
    unit: "jobs/s",
    get: (s) => ok(s.throughput)?.perSec,
    ceiling: (c) => c.modes.c50?.perSec,
    pipelined: (c) => c.pipelined?.c50?.perSec,
  },
  {
    key: "enqueueSequential",
    label: "Enqueue, sequential",
    unit: "/s",
    get: (s) => ok(s.enqueue)?.sequential.perSec,
    ceiling: (c) => c.modes.sequential?.perSec,
    pipelined: (c) => c.pipelined?.sequential?.perSec,
  },
  {
    key: "enqueueConcurrent",
    label: "Enqueue, 32 callers",
    unit: "/s",
    get: (s) => ok(s.enqueue)?.concurrent.perSec,
    ceiling: (c) => c.modes.c32?.perSec,
    pipelined: (c) => c.pipelined?.c32?.perSec,
  },
  // A batch is one call either way: one stream carrying a thousand requests' bytes.
  {
    key: "enqueueBatch",
    label: "enqueueBatch of 1 000",
    unit: "jobs/s",
    get: (s) => ok(s.enqueue)?.batch.perSec,
    ceiling: (c) => c.batch?.perSec,
    pipelined: (c) => c.batch?.perSec,
  },
  {
    key: "workerCpu",
    label: "CPU per job, worker process",
    unit: "µs",
    lowerIsBetter: true,
    get: (s) => ok(s.throughput)?.sdkCpuUsPerJob,
    ceiling: (c) => c.modes.c50?.cpuUsPerOp,
    pipelined: (c) => c.pipelined?.c50?.cpuUsPerOp,
  },
  {
    key: "workerBackendCpu",
    label: "CPU per job, server process",
    unit: "µs",
    lowerIsBetter: true,
    get: (s) => ok(s.throughput)?.backendCpuUsPerJob,
    ceiling: (c) => c.serverCpuUsPerOp,
    pipelined: (c) => c.pipelinedServerCpuUsPerOp,
  },
  {
    key: "enqueueCpu",
    label: "CPU per enqueue (32 callers), client",
    unit: "µs",
    lowerIsBetter: true,
    get: (s) => ok(s.enqueue)?.concurrent.cpuUsPerOp,
    ceiling: (c) => c.modes.c32?.cpuUsPerOp,
    pipelined: (c) => c.pipelined?.c32?.cpuUsPerOp,
  },
  {
    key: "enqueueBackendCpu",
    label: "CPU per enqueue (32 callers), server",
    unit: "µs",
    lowerIsBetter: true,
    get: (s) => ok(s.enqueue)?.concurrent.backendCpuUsPerOp,
    ceiling: (c) => c.serverCpuUsPerOp,
    pipelined: (c) => c.pipelinedServerCpuUsPerOp,
  },
  {
    key: "batchCpu",
    label: "CPU per batched job, client",
    unit: "µs",
    lowerIsBetter: true,
    get: (s) => ok(s.enqueue)?.batch.cpuUsPerOp,
    ceiling: (c) => c.batch?.cpuUsPerOp,
    pipelined: (c) => c.batch?.cpuUsPerOp,
  },
  { key: "batchBackendCpu", label: "CPU per batched job, server", unit: "µs", lowerIsBetter: true, get: (s) => ok(s.enqueue)?.batch.backendCpuUsPerOp },
  { key: "rssCheckpoint", label: "Worker RSS at checkpoint", unit: "MB", lowerIsBetter: true, get: (s) => ok(s.rss)?.rssAtCheckpointMB },
  { key: "rssEnd", label: "Worker RSS at end", unit: "MB", lowerIsBetter: true, get: (s) => ok(s.rss)?.rssAtEndMB },
  { key: "rssGrowthPct", label: "Worker RSS growth", unit: "%", lowerIsBetter: true, get: (s) => ok(s.rss)?.growthPct },
  {
    key: "rssPeak",
    label: "Worker peak RSS",
    unit: "MB",
    lowerIsBetter: true,
    get: (s) => ok(s.rss)?.peakRssMB,
    ceiling: (c) => c.peakRssMB,
    pipelined: (c) => c.peakRssMB,
  },
];

/** A measure's figure for one ceiling. */
export const ceilingValue = (m: Metric, c: CeilingResult, which: Ceiling): number | undefined => (which === "ceiling" ? m.ceiling?.(c) : m.pipelined?.(c));

export function fmt(v: number | undefined, unit = ""): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  const s =
    unit === "ms"
      ? v < 10
        ? v.toFixed(2)
        : v.toFixed(1)
      : unit === "%"
        ? v.toFixed(1)
        : unit === "MB"
          ? v.toFixed(0)
          : Math.round(v).toLocaleString("en-US").replace(/,/g, " ");
  return s;
}
