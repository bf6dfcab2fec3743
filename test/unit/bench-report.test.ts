/**
 * The bench report (bench/report.ts, bench/report-durable.ts) on a run where
 * some durable systems were skipped (no PostgreSQL here, say): the skipped
 * systems say why, their targets are "n/a" rather than met or failed, and the
 * targets of the systems that ran are still evaluated as ratios of that run.
 * Fast: no bench is run, no database is started.
 */
import { describe, expect, it } from "vitest";
import { FULL, type EnqueueResult, type LatencyResult, type Rate, type ThroughputResult } from "../../bench/common.js";
import { durableSizes, durableScenarios, sizesFor } from "../../bench/durable.js";
import { durableTargets } from "../../bench/report-durable.js";
import { markdown, type RunResults, type SystemResults } from "../../bench/report.js";

const rate = (perSec: number, extra: Partial<Rate> = {}): Rate => ({ n: 100, seconds: 100 / perSec, perSec, cpuUsPerOp: 10, ...extra });
const latency = (p50: number): LatencyResult => ({ n: 100, p50, p90: p50 * 2, p99: p50 * 3, mean: p50, max: p50 * 4, gapMs: "ack + 1..5" });
const throughput = (perSec: number): ThroughputResult => ({
  jobs: 1000,
  sdkCpuUsPerJob: 20,
  concurrency: 50,
  seconds: 1000 / perSec,
  perSec,
  firstJobMs: 1,
  completedEvents: 1000,
  confirmed: 1000,
});
const enqueue = (seq: number, batch: number): EnqueueResult => ({
  sequential: rate(seq, { p50Ms: 0.4 }),
  concurrent: { ...rate(seq * 4), callers: 32 },
  batch: { ...rate(batch), batchSize: 1000 },
});
const system = (seq: number, batch: number, worker: number, p50: number): SystemResults => ({
  latency: latency(p50),
  throughput: throughput(worker),
  enqueue: enqueue(seq, batch),
});

const PG_MISSING = "PostgreSQL binaries (initdb, pg_ctl, postgres) not found in /usr/local/bin";

function run(): RunResults {
  return {
    date: "2026-12-02T00:00:00.000Z",
    mode: "quick",
    command: "npm run bench -- --quick",
    machine: { cpu: "test", cores: 2, memoryGB: 8, node: "v20", platform: "linux" },
    loadBefore: [0, 0, 0],
    git: { commit: "abc", dirty: false },
    sizes: FULL,
    wire: { requestBytes: 100, responseBytes: 200 },
    systems: {
      grpc: system(10_000, 200_000, 10_000, 0.3),
      "ojs-journal": { ...system(4_000, 160_000, 9_000, 0.8), reclaim: { jobs: 5, leaseMs: 1000, delaysMs: [12], p50Ms: 12, maxMs: 12 } },
      "bullmq-aof": system(3_000, 50_000, 12_000, 0.5),
      "ojs-postgres": { skipped: PG_MISSING },
      "graphile-worker": { skipped: PG_MISSING },
      "pg-boss": { skipped: PG_MISSING },
    },
    restart: { jobs: 1_000_000, journalBytes: 400 * 2 ** 20, fillSec: 40, startMs: 6_000 },
  };
}

describe("bench report with skipped durable systems", () => {
  it("says why each skipped system was skipped, in the Durable stores section", () => {
    const md = markdown(run());
    const section = md.slice(md.indexOf("## Durable stores"));
    expect(section).toContain(`**OJS PostgreSQL skipped:** ${PG_MISSING}.`);
    expect(section).toContain(`**graphile-worker skipped:** ${PG_MISSING}.`);
    expect(section).toContain(`**pg-boss skipped:** ${PG_MISSING}.`);
    expect(section).toMatch(/\| Enqueue, sequential \(\/s\) \| 10 000 \| 4 000 \| skipped \| 3 000 \| skipped \| skipped \|/);
  });

  it("leaves the skipped systems' targets n/a and evaluates the others as ratios of the same run", () => {
    const byWhat = new Map(durableTargets(run()).map((t) => [t.what, t]));
    expect(byWhat.get("Journal: sequential durable enqueue >= BullMQ AOF always")?.met).toBe(true);
    expect(byWhat.get("Journal: enqueueBatch >= 150 000 jobs/s")?.met).toBe(true);
    expect(byWhat.get("Journal: one worker >= 80 % of the memory store")?.met).toBe(true);
    expect(byWhat.get("Journal: dispatch p50 <= 1 ms")?.met).toBe(true);
    expect(byWhat.get("Journal: restart with 1 million jobs <= 5 s")?.met).toBe(false);
    expect(byWhat.get("Journal: a dead worker's job offered again within 1 s of its lease deadline")?.met).toBe(true);
    const pg = [...byWhat.values()].filter((t) => t.what.startsWith("PostgreSQL:"));
    expect(pg).toHaveLength(6);
    for (const t of pg) expect(t.met, t.what).toBeUndefined();
    expect(markdown(run())).toContain("| PostgreSQL: pickup p50 <= 2 ms | n/a |");
  });

  it("does not judge the 1 million job restart target on a smaller journal (--quick)", () => {
    const r = run();
    r.restart = { jobs: 100_000, journalBytes: 40 * 2 ** 20, fillSec: 2, startMs: 1_000 };
    const t = durableTargets(r).find((x) => x.what.startsWith("Journal: restart"));
    expect(t?.met).toBeUndefined();
    expect(t?.detail).toContain("100 000 jobs");
  });

  it("gives pg-boss, which polls, fewer jobs, and runs lease reclaim on our servers only", () => {
    const full = durableSizes(FULL, false);
    // Fewer enqueues measured, but as long a warm-up as the memory systems': a JIT-compiled server is measured warm.
    expect(full.enqueueSequential).toBeLessThan(FULL.enqueueSequential);
    expect(full.enqueueWarmup).toBe(FULL.enqueueWarmup);
    expect(sizesFor("pg-boss", FULL, false).throughputJobs).toBeLessThan(full.throughputJobs);
    expect(sizesFor("graphile-worker", FULL, false)).toEqual(full);
    const all = ["latency", "throughput", "enqueue", "rss", "reclaim"] as const;
    expect(durableScenarios("ojs-postgres", all)).toContain("reclaim");
    expect(durableScenarios("graphile-worker", all)).not.toContain("reclaim");
    expect(durableScenarios("ojs-journal", all)).not.toContain("rss");
  });
});
