/**
 * The durable systems of the bench (issue 11): our server on the journal store
 * (fsync always) and on PostgreSQL, BullMQ on Redis with `appendfsync always`,
 * graphile-worker and pg-boss on the same private PostgreSQL cluster as our
 * PostgreSQL store (one database each, fsync and synchronous_commit on).
 *
 * Every write here waits for a disk flush, so the counts are smaller than the
 * memory systems' (DURABLE_FULL, DURABLE_QUICK), the same for every durable
 * system, except where a system could not finish them in bounded time
 * (pg-boss, which polls: see SLOW_POLLER). Each system says why it is skipped
 * when its binaries are missing.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { findPostgresBinaries, postgresSkipReason, startPostgres, type PostgresCluster } from "../test/support/postgres.js";
import { ojsBackend, redisBackend, type Backend } from "./backends.js";
import type { DurableName, ScenarioName, Sizes } from "./common.js";
import { loadIoredis, type RedisCtor } from "./deps.js";
import { clusterCpuUs } from "./pg-cpu.js";
import { onCleanup } from "./procs.js";
import { startRedis } from "./redis.js";

export const DURABLE: DurableName[] = ["ojs-journal", "ojs-postgres", "bullmq-aof", "graphile-worker", "pg-boss"];

export const isDurable = (d: string): d is DurableName => (DURABLE as string[]).includes(d);

/** The scenarios a durable system runs (no RSS: the worker process is the same as the memory systems'). */
export function durableScenarios(d: DurableName, asked: ReadonlyArray<Exclude<ScenarioName, "produce">>): Array<Exclude<ScenarioName, "produce">> {
  const own: Array<Exclude<ScenarioName, "produce">> = ["latency", "throughput", "enqueue"];
  // Reclaim needs an OJS fetch (a worker that takes jobs and dies): our server only.
  if (d === "ojs-journal" || d === "ojs-postgres") own.push("reclaim");
  return own.filter((s) => asked.includes(s));
}

/**
 * Durable counts: every enqueue waits for a flush to disk (fsync or WAL flush).
 * The enqueue warm-up is the memory systems' (3 000): after 300 (and the
 * latency scenario's ~550) our server was still being compiled by V8 during
 * the sequential phase, which its CPU figure counted and redis-server's cannot
 * (bench/journal-seq.ts, 1 000 sequential: server CPU 454-678 µs per enqueue
 * after 850 warm-up calls, 219-352 after 3 000; memory store 236 and 71).
 * Latency counts are the memory systems' too (2 000 jobs after 100): dispatch
 * gets faster over the first ~1 000 jobs on every store, so 500 after 50 read
 * a durable store 0.01-0.21 ms (median 0.12) slower than the same run's
 * 2 000 after 100 (docs/performance-jdisp14.md).
 */
export function durableSizes(base: Sizes, quick: boolean): Sizes {
  return quick
    ? { ...base, latencyJobs: 100, warmup: 20, enqueueWarmup: 100, enqueueSequential: 200, enqueueConcurrent: 1_000, batches: 5 }
    : { ...base, enqueueWarmup: 3_000, enqueueSequential: 1_000, enqueueConcurrent: 5_000, batches: 20 };
}

/**
 * pg-boss has no push: a worker fetches a batch (here as large as the
 * concurrency), runs it, then waits out its polling interval (0.5 s at least),
 * so it moves about 100 jobs/s and each dispatch takes ~250 ms. Fewer jobs keep
 * its run bounded; rates are per second all the same.
 */
const SLOW_POLLER = { full: { latencyJobs: 40, warmup: 5, throughputJobs: 1_000 }, quick: { latencyJobs: 10, warmup: 2, throughputJobs: 200 } };

export function sizesFor(d: DurableName, base: Sizes, quick: boolean): Sizes {
  const s = durableSizes(base, quick);
  return d === "pg-boss" ? { ...s, ...SLOW_POLLER[quick ? "quick" : "full"] } : s;
}

type ServerProfile = Parameters<typeof ojsBackend>[0];

/** A running durable system: its backend, and how to stop what was started for it. */
export interface DurableSystem {
  backend: Backend;
  /** e.g. the Redis or PostgreSQL version, for the report. */
  version?: string;
  stop(): Promise<void>;
}

/** The one PostgreSQL cluster the PostgreSQL systems share: started on first use, stopped by stopCluster(). */
let cluster: Promise<PostgresCluster> | undefined;
function sharedCluster(): Promise<PostgresCluster> {
  cluster ??= startPostgres({ durable: true, database: "ojs" }).then((c) => {
    onCleanup(() => void c.stop());
    return c;
  });
  return cluster;
}
export async function stopCluster(): Promise<void> {
  const c = cluster;
  cluster = undefined;
  if (c) await (await c.catch(() => undefined))?.stop();
}

function postgresVersion(): string | undefined {
  const bins = findPostgresBinaries();
  if ("missing" in bins) return undefined;
  try {
    return execFileSync(join(bins.dir, "postgres"), ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

function postgresMissing(): string | undefined {
  const bins = findPostgresBinaries();
  if ("missing" in bins) return bins.missing;
  return postgresSkipReason();
}

/** Count of rows of one query, on a short-lived connection. */
async function count(url: string, query: string, param: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const rows = await sql.unsafe<Array<{ n: string }>>(query, [param]);
    return Number(rows[0]?.n ?? 0);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** A backend whose jobs live in PostgreSQL and whose workers run in the scenario process. */
function databaseBackend(url: string, c: PostgresCluster, completed: Backend["completed"]): Backend {
  return { target: url, pid: undefined, dbCpuUs: () => clusterCpuUs(c.pid()), completed, reset: async () => {}, close: async () => {} };
}

/** A database of its own for one system in one round, dropped when the round is over: every round starts from empty tables, and no earlier round's rows are vacuumed under a later one's CPU figures. */
async function roundDatabase(c: PostgresCluster, system: string, round: number): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${system}_r${round + 1}`;
  const url = await c.createDatabase(name);
  const drop = async () => {
    const admin = postgres(url.replace(/\/[^/]*$/, "/postgres"), { max: 1, onnotice: () => undefined });
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await admin.end({ timeout: 5 });
    }
  };
  return { url, drop };
}

/**
 * Starts one durable system for round `round` (fresh processes, an empty journal
 * directory, Redis or database), or says why it cannot run here; `profile`: a
 * V8 CPU profile of our server (--profile).
 */
export async function startDurable(d: DurableName, log: (s: string) => void, profile?: ServerProfile, round = 0): Promise<DurableSystem | { skipped: string }> {
  if (d === "ojs-journal") {
    const dir = mkdtempSync(join(os.tmpdir(), "ojs-bench-journal-"));
    const backend = await ojsBackend(profile, true, [`--data-dir=${dir}`]);
    return { backend, stop: async () => (await backend.close(), rmSync(dir, { recursive: true, force: true })) };
  }
  if (d === "bullmq-aof") {
    const Redis = await loadIoredis(true, log);
    const redis = "prototype" in Redis ? await startRedis(log, { aof: true }) : { skipped: Redis.missing };
    if ("skipped" in redis) return redis;
    onCleanup(redis.killNow);
    return { backend: await redisBackend(redis.url, redis.pid, Redis as RedisCtor), version: redis.version, stop: () => redis.stop() };
  }
  const missing = postgresMissing();
  if (missing) return { skipped: missing };
  const c = await sharedCluster();
  const version = postgresVersion();
  if (d === "ojs-postgres") {
    const db = await roundDatabase(c, "ojs", round);
    const backend = await ojsBackend(profile, true, [`--store=${db.url}`]);
    return { backend: { ...backend, dbCpuUs: () => clusterCpuUs(c.pid()) }, version, stop: async () => (await backend.close(), await db.drop()) };
  }
  if (d === "graphile-worker") {
    const { url, drop } = await roundDatabase(c, "graphile", round);
    // graphile-worker deletes a job once it completes: completed = queued - still there.
    const left = (task: string) =>
      count(
        url,
        "SELECT count(*) AS n FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id WHERE t.identifier = $1",
        task,
      );
    return { backend: databaseBackend(url, c, async (q, queued) => queued - (await left(q))), version, stop: drop };
  }
  const { url, drop } = await roundDatabase(c, "pgboss", round);
  const done = (q: string) => count(url, "SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state = 'completed'", q);
  return { backend: databaseBackend(url, c, done), version, stop: drop };
}
