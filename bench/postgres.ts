/**
 * npx tsx bench/postgres.ts [--quick]
 *
 * The PostgreSQL store at the store level (PgJobStore in this process, no
 * HTTP/gRPC hop: the store is not yet behind startServer), against a private
 * cluster with fsync and synchronous commit ON (durable, as production would
 * run it): sequential enqueue (rate, p50), one stream consumer draining queued
 * jobs (claim batches + one ack per job), pickup latency (enqueue committed ->
 * delivered to a waiting consumer on another store, through NOTIFY), and the
 * PostgreSQL server's CPU per enqueue and per drained job (from /proc).
 * With --statements, also what PostgreSQL ran in each section: statements per
 * operation, their time, the transactions that wrote and the WAL bytes
 * (pg-statements.ts; the extension itself costs a little CPU).
 * Writes bench/results/postgres.{json,md}.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { PgJobStore } from "../src/server/store/postgres/pg-store.js";
import { startPostgres, type PostgresCluster } from "../test/support/postgres.js";
import { clusterCpuUs } from "./pg-cpu.js";
import { STATEMENT_SETTINGS, StatementProfile } from "./pg-statements.js";

const quick = process.argv.includes("--quick");
const statements = process.argv.includes("--statements");
const N = quick ? { seq: 500, drain: 3_000, pickup: 100 } : { seq: 3_000, drain: 20_000, pickup: 500 };
const log = (s: string) => console.error(`[bench postgres] ${s}`);

/** CPU seconds used so far by the postmaster and its backends (bench/pg-cpu.ts). */
function clusterCpuSeconds(cluster: PostgresCluster): number {
  return (clusterCpuUs(cluster.pid()) ?? NaN) / 1e6;
}

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const cluster = await startPostgres({ durable: true, settings: statements ? STATEMENT_SETTINGS : [] });
const results: Record<string, number> = {};
const profileLines: string[] = [];
const admin = postgres(cluster.url, { max: 1, onnotice: () => undefined });
try {
  const profile = statements ? await StatementProfile.open(admin) : undefined;
  const a = await PgJobStore.open(cluster.url, { maintenanceIntervalMs: 250 });
  const b = await PgJobStore.open(cluster.url, { maintenanceIntervalMs: 250 });

  // Sequential enqueue.
  {
    const lat: number[] = [];
    await profile?.begin();
    const cpu0 = clusterCpuSeconds(cluster);
    const t0 = performance.now();
    for (let i = 0; i < N.seq; i++) {
      const s = performance.now();
      await a.submit({ type: "bench", args: [i], queue: "seq" });
      lat.push(performance.now() - s);
    }
    const secs = (performance.now() - t0) / 1000;
    results.seqPerSec = Math.round(N.seq / secs);
    results.seqP50Ms = +p50(lat).toFixed(2);
    results.pgCpuMsPerEnqueue = +(((clusterCpuSeconds(cluster) - cpu0) * 1000) / N.seq).toFixed(3);
    if (profile) profileLines.push(...(await profile.end("sequential enqueue", N.seq)));
    log(`sequential enqueue: ${results.seqPerSec}/s, p50 ${results.seqP50Ms} ms, PostgreSQL CPU ${results.pgCpuMsPerEnqueue} ms/enqueue`);
  }

  // One worker draining queued jobs: a stream consumer with 50 in flight, one ack each.
  {
    for (let i = 0; i < N.drain; i += 1000)
      await a.enqueueBatch(Array.from({ length: Math.min(1000, N.drain - i) }, (_, k) => ({ req: { type: "bench", args: [i + k], queue: "drain" } })));
    await profile?.begin();
    const cpu0 = clusterCpuSeconds(cluster);
    const t0 = performance.now();
    let done = 0;
    await new Promise<void>((resolve) => {
      const c = b.openConsumer({
        queues: ["drain"],
        workerId: "bench",
        credit: 50,
        deliver: (j) => {
          void b.ack(j.job.id, null).then(() => {
            b.grant(c, 1);
            if (++done === N.drain) {
              b.closeConsumer(c);
              resolve();
            }
          });
        },
      });
    });
    const secs = (performance.now() - t0) / 1000;
    results.workerJobsPerSec = Math.round(N.drain / secs);
    results.pgCpuUsPerDrainedJob = +(((clusterCpuSeconds(cluster) - cpu0) * 1e6) / N.drain).toFixed(1);
    if (profile) profileLines.push(...(await profile.end("one worker draining", N.drain)));
    log(`one worker: ${results.workerJobsPerSec} jobs/s, PostgreSQL CPU ${results.pgCpuUsPerDrainedJob} us/job`);
  }

  // Pickup: a consumer waits on server b; server a enqueues one job at a time.
  {
    const lat: number[] = [];
    let resolveOne: (() => void) | undefined;
    let sentAt = 0;
    const c = b.openConsumer({
      queues: ["pickup"],
      workerId: "pick",
      credit: 1,
      deliver: (j) => {
        lat.push(performance.now() - sentAt);
        void b.ack(j.job.id, null).then(() => {
          b.grant(c, 1);
          resolveOne?.();
        });
      },
    });
    for (let i = 0; i < N.pickup; i++) {
      const got = new Promise<void>((r) => (resolveOne = r));
      await a.submit({ type: "bench", args: [i], queue: "pickup" });
      sentAt = performance.now();
      await got;
    }
    b.closeConsumer(c);
    results.pickupP50Ms = +p50(lat).toFixed(2);
    log(`pickup (enqueue committed -> delivered on another server): p50 ${results.pickupP50Ms} ms`);
  }
  await a.close();
  await b.close();
} finally {
  await admin.end({ timeout: 5 });
  await cluster.stop();
}

const dir = fileURLToPath(new URL("./results/", import.meta.url));
mkdirSync(dir, { recursive: true });
const at = new Date().toISOString();
writeFileSync(join(dir, "postgres.json"), JSON.stringify({ at, quick, n: N, results }, null, 2));
writeFileSync(
  join(dir, "postgres.md"),
  [
    `PostgreSQL store, store level (no HTTP/gRPC hop), private cluster with fsync on, ${at}${quick ? " (--quick)" : ""}`,
    "",
    "| sequential enqueue/s | p50 ms | one worker jobs/s | pickup p50 ms | PG CPU ms/enqueue | PG CPU us/drained job |",
    "|---:|---:|---:|---:|---:|---:|",
    `| ${results.seqPerSec} | ${results.seqP50Ms} | ${results.workerJobsPerSec} | ${results.pickupP50Ms} | ${results.pgCpuMsPerEnqueue} | ${results.pgCpuUsPerDrainedJob} |`,
    "",
    ...profileLines,
  ].join("\n"),
);
if (profileLines.length) console.error(profileLines.join("\n"));
console.log(JSON.stringify(results));
