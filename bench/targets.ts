/**
 * Targets judged on rounds: a figure is its median over the rounds, a
 * comparison between two systems is the median of their per-round ratios (both
 * measured in the same round, so what loaded the machine then weighs on both),
 * and every verdict says how many single rounds would have met it, so that a
 * target met by the median but in one round of three reads as what it is.
 * Also the targets of issues 7 and 13 on the memory-store table.
 */
import { ceilingValue, fmt, METRICS, sys } from "./metrics.js";
import type { RunResults, SystemResults } from "./report.js";
import { perRound, range, ratioOf } from "./rounds.js";

/** A figure of one system (or of the ceiling): the median the report shows, and its value in each round (empty without rounds). */
export interface Figure {
  median: number | undefined;
  rounds: Array<number | undefined>;
}

export function figureOf<T extends object>(x: T | undefined, get: (v: T) => number | undefined): Figure {
  return { median: x ? get(x) : undefined, rounds: perRound(x, get) };
}

export type Format = (v: number | undefined, unit: string) => string;

/** " [min–max]" of the rounds, where there were two or more that differ as written. */
export function spreadText(f: Figure, unit: string, format: Format = fmt): string {
  const r = range(f.rounds);
  if (!r || f.rounds.filter((v) => v !== undefined).length < 2) return "";
  const [lo, hi] = [format(r.min, unit), format(r.max, unit)];
  // Rounds that all read the same (CPU per job in whole µs, often) need no bracket.
  return lo === hi ? "" : ` [${lo}–${hi}]`;
}

export interface Target {
  what: string;
  met: boolean | undefined;
  detail: string;
}

type Op = "<=" | ">=";
const holds = (a: number, op: Op, b: number) => (op === "<=" ? a <= b : a >= b);

/** "; met in 2 of 3 rounds" when the figure has rounds. */
function inRounds(values: Array<number | undefined>, op: Op, limit: number): string {
  const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return known.length > 1 ? `; met in ${known.filter((v) => holds(v, op, limit)).length} of ${known.length} rounds` : "";
}

/** A figure against a fixed limit, judged on its median. */
export function absolute(what: string, f: Figure, op: Op, limit: number | undefined, unit: string, format: Format = fmt): Target {
  const a = f.median;
  const known = a !== undefined && Number.isFinite(a) && limit !== undefined && Number.isFinite(limit);
  return {
    what,
    met: known ? holds(a, op, limit) : undefined,
    detail: `${format(a, unit)}${spreadText(f, unit, format)} ${op} ${format(limit, unit)} ${unit}${known ? inRounds(f.rounds, op, limit) : ""}`,
  };
}

/**
 * One system's figure against another's times `factor` (a >= 1.5 × b, say),
 * judged on the median of the per-round ratios a/b (rounds.ts ratioOf; the ratio
 * of the medians when the two have no round in common).
 */
export function relative(what: string, a: Figure, b: Figure, op: Op, factor: number, unit: string, format: Format = fmt): Target {
  const x = ratioOf(a.median, b.median, a.rounds, b.rounds);
  const r = x.ratio;
  const known = r !== undefined && Number.isFinite(r);
  const spread = range(x.perRound);
  const how = x.perRound.length > 1 && spread ? ` (median of ${x.perRound.length} rounds' ratios, ${spread.min.toFixed(2)}–${spread.max.toFixed(2)})` : "";
  return {
    what,
    met: known ? holds(r, op, factor) : undefined,
    detail:
      `${format(a.median, unit)}${spreadText(a, unit, format)} vs ${format(b.median, unit)}${spreadText(b, unit, format)} ${unit}: ` +
      `${known ? r.toFixed(2) : "–"}× ${op} ${factor.toFixed(2)}×${how}${known ? inRounds(x.perRound, op, factor) : ""}`,
  };
}

/** The targets of issues 7 and 13 (the memory store, the standard methods), as the "Targets" table lists them. */
export function memoryTargets(r: RunResults): Target[] {
  const g = sys(r, "grpc");
  const gs = sys(r, "grpc-standard");
  const h = sys(r, "http");
  const b = sys(r, "bullmq");
  const metric = (key: string) => METRICS.find((m) => m.key === key)!;
  const v = (s: SystemResults | undefined, key: string) => figureOf(s, (x) => metric(key).get(x));
  const pipelined = (key: string) => figureOf(r.ceiling, (c) => ceilingValue(metric(key), c, "pipelined"));
  return [
    absolute("gRPC dispatch p50 <= 1 ms", v(g, "dispatchP50"), "<=", 1, "ms"),
    absolute("gRPC dispatch p99 <= 5 ms", v(g, "dispatchP99"), "<=", 5, "ms"),
    relative("gRPC dispatch p99 no worse than BullMQ", v(g, "dispatchP99"), v(b, "dispatchP99"), "<=", 1, "ms"),
    relative("gRPC worker throughput >= BullMQ", v(g, "workerThroughput"), v(b, "workerThroughput"), ">=", 1, "jobs/s"),
    relative("gRPC worker throughput >= 2× BullMQ (issue 13)", v(g, "workerThroughput"), v(b, "workerThroughput"), ">=", 2, "jobs/s"),
    relative("gRPC worker throughput >= 3× HTTP", v(g, "workerThroughput"), v(h, "workerThroughput"), ">=", 3, "jobs/s"),
    relative("Sequential enqueue over gRPC >= BullMQ add", v(g, "enqueueSequential"), v(b, "enqueueSequential"), ">=", 1, "/s"),
    relative("Sequential enqueue over gRPC >= 1.5× BullMQ add (issue 13)", v(g, "enqueueSequential"), v(b, "enqueueSequential"), ">=", 1.5, "/s"),
    // Against the ceiling that moves the same bytes the same way (frames on one long-lived stream);
    // against one stream per call (the old figure) the target was met by construction.
    relative("gRPC enqueue, 32 callers >= 50 % of pipelined http2", v(g, "enqueueConcurrent"), pipelined("enqueueConcurrent"), ">=", 0.5, "/s"),
    relative("gRPC worker throughput >= 50 % of pipelined http2 (c=50)", v(g, "workerThroughput"), pipelined("workerThroughput"), ">=", 0.5, "jobs/s"),
    absolute("gRPC enqueueBatch >= 100 000 jobs/s", v(g, "enqueueBatch"), ">=", 100_000, "jobs/s"),
    absolute("gRPC worker RSS flat within 10 %", v(g, "rssGrowthPct"), "<=", 10, "%"),
    // Issue 13: against a server without the fast path (the standard ojs.v1 methods only).
    absolute("gRPC standard: enqueue, 32 callers >= 8 000/s", v(gs, "enqueueConcurrent"), ">=", 8_000, "/s"),
    absolute("gRPC standard: worker throughput >= 5 000 jobs/s", v(gs, "workerThroughput"), ">=", 5_000, "jobs/s"),
    relative("gRPC standard: sequential enqueue >= HTTP", v(gs, "enqueueSequential"), v(h, "enqueueSequential"), ">=", 1, "/s"),
    relative("gRPC standard: enqueue, 32 callers >= HTTP", v(gs, "enqueueConcurrent"), v(h, "enqueueConcurrent"), ">=", 1, "/s"),
    relative("gRPC standard: worker throughput >= HTTP", v(gs, "workerThroughput"), v(h, "workerThroughput"), ">=", 1, "jobs/s"),
    relative("gRPC standard: dispatch p99 <= HTTP", v(gs, "dispatchP99"), v(h, "dispatchP99"), "<=", 1, "ms"),
  ];
}
