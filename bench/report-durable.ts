/**
 * The "Durable stores" section of latest.md (issue 11): our journal and
 * PostgreSQL stores beside BullMQ with appendfsync always, graphile-worker and
 * pg-boss, all measured in the same run; the issue's targets as ratios of
 * those figures, each met or not; and the journal restart figure.
 */
import type { DurableName, EnqueueResult, LatencyResult, ThroughputResult } from "./common.js";
import type { RunResults, SystemResults } from "./report.js";
import { ratioOf } from "./rounds.js";
import type { ReclaimResult } from "./scenarios/reclaim.js";
import { absolute, figureOf, relative, spreadText, type Figure, type Target } from "./targets.js";

const COLUMNS: Array<{ key: DurableName | "grpc"; name: string }> = [
  { key: "grpc", name: "OJS memory store" },
  { key: "ojs-journal", name: "OJS journal" },
  { key: "ojs-postgres", name: "OJS PostgreSQL" },
  { key: "bullmq-aof", name: "BullMQ, AOF always" },
  { key: "graphile-worker", name: "graphile-worker" },
  { key: "pg-boss", name: "pg-boss" },
];

type Failed = { error: string };
const ok = <T extends object>(v: T | Failed | undefined): T | undefined => (v && !("error" in v) ? v : undefined);

/** One system's results, or undefined when it was skipped or not run. */
function sys(r: RunResults, d: DurableName | "grpc"): SystemResults | undefined {
  const s = r.systems[d];
  return s && !("skipped" in s) ? s : undefined;
}

interface Row {
  key: string;
  label: string;
  unit: string;
  get(s: SystemResults): number | undefined;
}

const enq = (s: SystemResults) => ok<EnqueueResult>(s.enqueue);
const lat = (s: SystemResults) => ok<LatencyResult>(s.latency);
const thr = (s: SystemResults) => ok<ThroughputResult>(s.throughput);
const rec = (s: SystemResults) => ok<ReclaimResult>(s.reclaim);

export const DURABLE_ROWS: Row[] = [
  { key: "enqueueSequential", label: "Enqueue, sequential", unit: "/s", get: (s) => enq(s)?.sequential.perSec },
  { key: "enqueueSequentialP50", label: "Enqueue, sequential, p50", unit: "ms", get: (s) => enq(s)?.sequential.p50Ms },
  { key: "enqueueConcurrent", label: "Enqueue, 32 callers", unit: "/s", get: (s) => enq(s)?.concurrent.perSec },
  { key: "enqueueBatch", label: "enqueueBatch of 1 000", unit: "jobs/s", get: (s) => enq(s)?.batch.perSec },
  { key: "workerThroughput", label: "One worker draining queued jobs, c=50", unit: "jobs/s", get: (s) => thr(s)?.perSec },
  { key: "dispatchP50", label: "Dispatch (pickup) latency p50", unit: "ms", get: (s) => lat(s)?.p50 },
  { key: "dispatchP99", label: "Dispatch (pickup) latency p99", unit: "ms", get: (s) => lat(s)?.p99 },
  { key: "dbCpuPerEnqueue", label: "PostgreSQL CPU per sequential enqueue", unit: "µs", get: (s) => enq(s)?.sequential.dbCpuUsPerOp },
  { key: "dbCpuPerDrainedJob", label: "PostgreSQL CPU per drained job", unit: "µs", get: (s) => thr(s)?.dbCpuUsPerJob },
  { key: "backendCpuPerEnqueue", label: "Server (or redis-server) CPU per sequential enqueue", unit: "µs", get: (s) => enq(s)?.sequential.backendCpuUsPerOp },
  { key: "backendCpuPerDrainedJob", label: "Server (or redis-server) CPU per drained job", unit: "µs", get: (s) => thr(s)?.backendCpuUsPerJob },
  { key: "workerCpuPerJob", label: "Worker process CPU per drained job", unit: "µs", get: (s) => thr(s)?.sdkCpuUsPerJob },
  { key: "reclaimP50", label: "Lease reclaim: offered again after the deadline, p50", unit: "ms", get: (s) => rec(s)?.p50Ms },
  { key: "reclaimMax", label: "Lease reclaim: offered again after the deadline, max", unit: "ms", get: (s) => rec(s)?.maxMs },
];

/** A row's figure for one system: its median, and its value in each round (targets.ts). */
const figure = (r: RunResults, d: DurableName | "grpc", key: string): Figure => figureOf(sys(r, d), DURABLE_ROWS.find((x) => x.key === key)!.get);

function fmt(v: number | undefined, unit: string): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  if (unit === "ms") return v < 10 ? v.toFixed(2) : v.toFixed(1);
  if (unit === "s") return v.toFixed(2);
  if (unit === "×" || unit === "%") return v.toFixed(2);
  return Math.round(v).toLocaleString("en-US").replace(/,/g, " ");
}

/** a/b as the targets judge it: the median of the per-round ratios (rounds.ts), to three decimals. */
function ratio(a: Figure, b: Figure): number | undefined {
  const x = ratioOf(a.median, b.median, a.rounds, b.rounds).ratio;
  return x !== undefined && Number.isFinite(x) ? Math.round(x * 1000) / 1000 : undefined;
}

/** The ratios the issue's targets are stated in, from one run (with rounds: medians of the per-round ratios). */
export interface DurableRatios {
  /** Journal sequential durable enqueue / BullMQ AOF-always add. */
  journalEnqueueVsBullmqAof?: number;
  /** Journal one-worker rate / the memory store's (OJS gRPC). */
  journalWorkerVsMemory?: number;
  /** PostgreSQL store sequential enqueue / graphile-worker addJob. */
  postgresEnqueueVsGraphile?: number;
  /** PostgreSQL store one-worker rate / graphile-worker's, unbatched. */
  postgresWorkerVsGraphile?: number;
  postgresEnqueueVsPgBoss?: number;
  postgresWorkerVsPgBoss?: number;
}

export function durableRatios(r: RunResults): DurableRatios {
  const v = (d: DurableName | "grpc", k: string) => figure(r, d, k);
  const out: DurableRatios = {
    journalEnqueueVsBullmqAof: ratio(v("ojs-journal", "enqueueSequential"), v("bullmq-aof", "enqueueSequential")),
    journalWorkerVsMemory: ratio(v("ojs-journal", "workerThroughput"), v("grpc", "workerThroughput")),
    postgresEnqueueVsGraphile: ratio(v("ojs-postgres", "enqueueSequential"), v("graphile-worker", "enqueueSequential")),
    postgresWorkerVsGraphile: ratio(v("ojs-postgres", "workerThroughput"), v("graphile-worker", "workerThroughput")),
    postgresEnqueueVsPgBoss: ratio(v("ojs-postgres", "enqueueSequential"), v("pg-boss", "enqueueSequential")),
    postgresWorkerVsPgBoss: ratio(v("ojs-postgres", "workerThroughput"), v("pg-boss", "workerThroughput")),
  };
  for (const k of Object.keys(out) as Array<keyof DurableRatios>) if (out[k] === undefined) delete out[k];
  return out;
}

export type DurableTarget = Target;

const RESTART_TARGET_JOBS = 1_000_000;

export function durableTargets(r: RunResults): DurableTarget[] {
  const v = (d: DurableName | "grpc", k: string) => figure(r, d, k);
  const once = (x: number | undefined): Figure => ({ median: x, rounds: [] });
  const restart = r.restart && !("error" in r.restart) ? r.restart : undefined;
  const restartTarget: DurableTarget =
    restart && restart.jobs < RESTART_TARGET_JOBS
      ? {
          what: "Journal: restart with 1 million jobs <= 5 s",
          met: undefined,
          detail: `not measured at 1 million in this run: ${fmt(restart.startMs / 1000, "s")} s with ${fmt(restart.jobs, "")} jobs`,
        }
      : absolute("Journal: restart with 1 million jobs <= 5 s", once(restart ? restart.startMs / 1000 : undefined), "<=", 5, "s", fmt);
  return [
    relative(
      "Journal: sequential durable enqueue >= BullMQ AOF always",
      v("ojs-journal", "enqueueSequential"),
      v("bullmq-aof", "enqueueSequential"),
      ">=",
      1,
      "/s",
      fmt,
    ),
    absolute("Journal: enqueueBatch >= 150 000 jobs/s", v("ojs-journal", "enqueueBatch"), ">=", 150_000, "jobs/s", fmt),
    relative("Journal: one worker >= 80 % of the memory store", v("ojs-journal", "workerThroughput"), v("grpc", "workerThroughput"), ">=", 0.8, "jobs/s", fmt),
    absolute("Journal: dispatch p50 <= 1 ms", v("ojs-journal", "dispatchP50"), "<=", 1, "ms", fmt),
    restartTarget,
    absolute("Journal: a dead worker's job offered again within 1 s of its lease deadline", v("ojs-journal", "reclaimMax"), "<=", 1_000, "ms", fmt),
    relative(
      "PostgreSQL: sequential enqueue >= 2× graphile-worker",
      v("ojs-postgres", "enqueueSequential"),
      v("graphile-worker", "enqueueSequential"),
      ">=",
      2,
      "/s",
      fmt,
    ),
    relative(
      "PostgreSQL: one worker >= 2× graphile-worker unbatched",
      v("ojs-postgres", "workerThroughput"),
      v("graphile-worker", "workerThroughput"),
      ">=",
      2,
      "jobs/s",
      fmt,
    ),
    absolute("PostgreSQL: pickup p50 <= 2 ms", v("ojs-postgres", "dispatchP50"), "<=", 2, "ms", fmt),
    absolute("PostgreSQL: PostgreSQL CPU <= 0.15 ms per enqueue", v("ojs-postgres", "dbCpuPerEnqueue"), "<=", 150, "µs", fmt),
    absolute("PostgreSQL: PostgreSQL CPU <= 30 µs per drained job", v("ojs-postgres", "dbCpuPerDrainedJob"), "<=", 30, "µs", fmt),
    absolute("PostgreSQL: a dead worker's job offered again within 1 s of its lease deadline", v("ojs-postgres", "reclaimMax"), "<=", 1_000, "ms", fmt),
  ];
}

/** The section's lines (empty when no durable system was run). */
export function durableMarkdown(r: RunResults): string[] {
  const present = COLUMNS.filter((c) => c.key === "grpc" || r.systems[c.key]);
  if (present.length < 2 && !r.restart) return [];
  const L: string[] = ["", "## Durable stores (issue 11)", ""];
  L.push(
    "Same run, same payload, each system in its own processes on loopback. Every write waits for stable storage: our journal with fsync always; " +
      "our PostgreSQL store, graphile-worker and pg-boss on one private PostgreSQL cluster (a database each, fsync and synchronous_commit on); " +
      "BullMQ on Redis with `appendonly yes`, `appendfsync always`. The memory store column is the OJS gRPC system above. " +
      "PostgreSQL CPU is the whole cluster's (postmaster, backends and background processes) over the measured section, from /proc. " +
      "graphile-worker runs unbatched (no local queue, no batched completion); pg-boss polls (0.5 s, its minimum) with a batch as large as the concurrency." +
      ((r.rounds ?? 1) > 1
        ? ` As above, latency, one worker and enqueue ran in ${r.rounds} rounds (each system in fresh processes and, on PostgreSQL, a fresh database each round): medians, [lowest–highest] of the rounds, targets on the median of the per-round ratios; pg-boss, whose figures are its polling interval, in the first round only.`
        : ""),
    "",
  );
  L.push(`| Measure | ${present.map((c) => c.name).join(" | ")} |`, `|---|${present.map(() => "---:").join("|")}|`);
  for (const row of DURABLE_ROWS) {
    const cells = present.map((c) => {
      const s = r.systems[c.key];
      if (s && "skipped" in s) return "skipped";
      if (!s) return "–";
      const f = figureOf(s, row.get);
      return fmt(f.median, row.unit) + spreadText(f, row.unit, fmt);
    });
    if (cells.every((c) => c === "–" || c === "skipped")) continue;
    L.push(`| ${row.label} (${row.unit}) | ${cells.join(" | ")} |`);
  }
  for (const c of present) {
    const s = r.systems[c.key];
    if (c.key === "grpc" || !s) continue;
    if ("skipped" in s) L.push("", `**${c.name} skipped:** ${s.skipped}.`);
    else for (const [k, v] of Object.entries(s)) if (v && "error" in v) L.push("", `**${c.name} ${k} failed:** ${String(v.error).split("\n")[0]}`);
  }
  const z = r.durableSizes?.["ojs-journal"] ?? r.durableSizes?.["ojs-postgres"];
  if (z)
    L.push(
      "",
      `Counts (every call waits for a flush, so fewer than the memory systems'): latency ${z.latencyJobs} jobs after ${z.warmup} warm-up; one worker ${z.throughputJobs} queued jobs at concurrency ${z.concurrency}; ` +
        `enqueue (after ${z.enqueueWarmup} warm-up calls) ${z.enqueueSequential} sequential, ${z.enqueueConcurrent} over ${z.callers} callers, ${z.batches} batches of ${z.batchSize}` +
        (r.durableSizes?.["pg-boss"]
          ? `; pg-boss, which moves about 100 jobs/s, ${r.durableSizes["pg-boss"].throughputJobs} jobs for the worker and ${r.durableSizes["pg-boss"].latencyJobs} for latency.`
          : "."),
    );
  if (r.versions) {
    // "postgres (PostgreSQL) 15.18 (Debian ...)" -> "PostgreSQL 15.18"; "Redis server v=7.0.15 sha=..." -> "Redis 7.0.15".
    const short = (v: string) => v.replace(/^postgres \(PostgreSQL\) (\S+).*$/, "PostgreSQL $1").replace(/^Redis server v=(\S+).*$/, "Redis $1");
    const on = new Map<string, string[]>();
    for (const [k, v] of Object.entries(r.versions)) on.set(short(v), [...(on.get(short(v)) ?? []), k]);
    L.push("", `On ${[...on].map(([v, ks]) => `${v} (${ks.join(", ")})`).join("; ")}.`);
  }
  if (r.restart) {
    L.push("", "### Journal restart", "");
    if ("error" in r.restart) L.push(`Failed: ${r.restart.error.split("\n")[0]}`);
    else
      L.push(
        `A server started on a journal of ${fmt(r.restart.jobs, "")} queued jobs (${fmt(r.restart.journalBytes / 2 ** 20, "")} MiB, never compacted, so the whole history is replayed) ` +
          `was ready in **${fmt(r.restart.startMs / 1000, "s")} s**` +
          (r.restart.startCpuMs === undefined
            ? ""
            : ` (${fmt(r.restart.startCpuMs / 1000, "s")} s of CPU; the machine's load stretches the wall time, hardly the CPU)`) +
          `${r.restart.jobs < RESTART_TARGET_JOBS ? ` (this run used ${fmt(r.restart.jobs, "")} jobs, not the target's 1 million: --quick)` : ""}.`,
      );
  }
  L.push("", "### Targets (issue 11)", "", "| Target | Met | Figures |", "|---|:-:|---|");
  for (const t of durableTargets(r)) L.push(`| ${t.what} | ${t.met === undefined ? "n/a" : t.met ? "yes" : "**no**"} | ${t.detail} |`);
  return L;
}
