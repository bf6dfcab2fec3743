/**
 * npx tsx bench/pg-drain.ts [--rounds=N] [--statements]
 *
 * The full bench's "one worker draining queued jobs" on our server with the
 * PostgreSQL store (bench/run.ts --only=ojs-postgres --scenarios=throughput),
 * without the rest of run.ts (its node:http2 ceilings, its report files): a
 * private durable cluster, a database and a server per round, 20 000 jobs
 * queued by the producer, one worker at c=50 over gRPC. Prints per round the
 * rate and the CPU per drained job of the cluster (bench/pg-cpu.ts), of the
 * server and of the worker process. With --statements, also what PostgreSQL
 * ran per job in the round (producer included): pg_stat_statements' execution
 * time (wall time, so inflated by a loaded machine), calls, rows per call and
 * WAL bytes; the extension costs some CPU itself, so compare CPU figures
 * without it. Run it from each checkout to compare two (it measures the
 * server of the checkout it runs from).
 */
import postgres from "postgres";
import { startPostgres } from "../test/support/postgres.js";
import { ojsBackend } from "./backends.js";
import { FULL } from "./common.js";
import { durableSizes } from "./durable.js";
import { runScenario } from "./measure.js";
import { clusterCpuUs } from "./pg-cpu.js";
import { STATEMENT_SETTINGS } from "./pg-statements.js";

const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 1);
const statements = process.argv.includes("--statements");
const sizes = durableSizes(FULL, false);
const jobs = sizes.throughputJobs;

const cluster = await startPostgres({ durable: true, settings: statements ? STATEMENT_SETTINGS : [] });
try {
  for (let r = 0; r < rounds; r++) {
    const url = await cluster.createDatabase(`drain_r${r + 1}`);
    const admin = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      if (statements) await admin`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
      const backend = await ojsBackend(undefined, true, [`--store=${url}`]);
      try {
        if (statements) await admin`SELECT pg_stat_statements_reset()`;
        const res = await runScenario(
          { timeoutMs: 300_000, log: (s) => console.error(s) },
          "ojs-postgres",
          { ...backend, dbCpuUs: () => clusterCpuUs(cluster.pid()) },
          "throughput",
          sizes,
          `r${r + 1}`,
        );
        if ("error" in res) throw new Error(String(res.error));
        console.log(
          JSON.stringify({
            round: r + 1,
            jobsPerSec: Math.round(Number(res.perSec)),
            pgCpuUsPerJob: res.dbCpuUsPerJob,
            serverCpuUsPerJob: res.backendCpuUsPerJob,
            workerCpuUsPerJob: res.sdkCpuUsPerJob,
          }),
        );
        if (statements) {
          const rows = await admin<{ q: string; calls: number; us: number; rpc: number; wal: number }[]>`
            SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS q, calls::int,
              round((total_exec_time * 1000 / ${jobs})::numeric, 1)::float AS us,
              round(rows::numeric / greatest(calls, 1), 1)::float AS rpc, round(wal_bytes::numeric / ${jobs})::int AS wal
            FROM pg_stat_statements
            WHERE query NOT LIKE '%pg_stat%' AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            ORDER BY total_exec_time DESC LIMIT 10`;
          for (const s of rows) console.log(`  ${s.us} µs/job, ${s.calls} calls, ${s.rpc} rows/call, ${s.wal} WAL B/job: ${s.q}`);
        }
      } finally {
        await backend.close();
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  }
} finally {
  await cluster.stop();
}
