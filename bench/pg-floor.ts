/**
 * npx tsx bench/pg-floor.ts [--n=1000] [--chunks=5]
 *
 * The floor under a sequential enqueue on PostgreSQL: on one private durable
 * cluster (fsync and synchronous_commit on, as the bench's), in interleaved
 * chunks of N sequential calls each, the PostgreSQL CPU per call of
 *  - `select`: `SELECT 1` (a round trip, no transaction that writes);
 *  - `insert-async`: a one-row INSERT into a two-column table with
 *    synchronous_commit off (a write, no waiting for its WAL flush);
 *  - `insert-sync`: the same INSERT committed synchronously, which is the
 *    least a durable enqueue can cost (one round trip, one commit, one flush);
 *  - `store`: our store's sequential enqueue (PgJobStore.submit, no server);
 * each from its own postgres.js connection (prepared statements), so the
 * difference between two lines is what the second adds. CPU is the whole
 * cluster's (bench/pg-cpu.ts, what the full bench reports) and, more precise,
 * the scheduler's time of the cluster's processes (bench/schedstat.ts).
 * Medians of the chunks. The full bench's figure also has the server's
 * maintenance pass and LISTEN connection in it; this one has not.
 */
import { readdirSync, readFileSync } from "node:fs";
import postgres from "postgres";
import { PgJobStore } from "../src/server/store/postgres/pg-store.js";
import { startPostgres } from "../test/support/postgres.js";
import { clusterCpuUs } from "./pg-cpu.js";
import { onCpuNs } from "./schedstat.js";

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const N = Number(arg("n", "1000"));
const CHUNKS = Number(arg("chunks", "5"));

/** The cluster's processes now (postmaster and children), for schedstat. */
function clusterPids(postmaster: number): number[] {
  const pids = [postmaster];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]) === postmaster) pids.push(Number(d));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const cluster = await startPostgres({ durable: true });
const url = await cluster.createDatabase("floor");
const plain = postgres(url, { max: 1, onnotice: () => undefined });
const async = postgres(url, { max: 1, onnotice: () => undefined, connection: { synchronous_commit: "off" } });
const store = await PgJobStore.open(await cluster.createDatabase("floor_store"), { maintenanceIntervalMs: 250 });
try {
  await plain`CREATE TABLE floor (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text NOT NULL)`;
  let i = 0;
  const kinds: Record<string, () => Promise<unknown>> = {
    select: () => plain`SELECT 1`,
    "insert-async": () => async`INSERT INTO floor (v) VALUES (${String(i)})`,
    "insert-sync": () => plain`INSERT INTO floor (v) VALUES (${String(i)})`,
    store: () => store.submit({ type: "bench", args: [i], queue: "seq", options: {} } as never),
  };
  // Warm-up: connections open, statements prepared, the store's queue known.
  for (const run of Object.values(kinds)) for (let k = 0; k < 100; k++) await run();
  const figures: Record<string, { cluster: number[]; sched: number[]; ms: number[] }> = {};
  for (let c = 0; c < CHUNKS; c++) {
    for (const [name, run] of Object.entries(kinds)) {
      const pids = clusterPids(cluster.pid());
      const [c0, s0, t0] = [clusterCpuUs(cluster.pid()) ?? 0, onCpuNs(pids), performance.now()];
      for (let k = 0; k < N; k++, i++) await run();
      const [c1, s1, t1] = [clusterCpuUs(cluster.pid()) ?? 0, onCpuNs(pids), performance.now()];
      const f = (figures[name] ??= { cluster: [], sched: [], ms: [] });
      f.cluster.push((c1 - c0) / N);
      f.sched.push((s1 - s0) / 1000 / N);
      f.ms.push((t1 - t0) / N);
    }
  }
  console.log(`${N} sequential calls a chunk, ${CHUNKS} chunks, medians; load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`);
  for (const [name, f] of Object.entries(figures))
    console.log(
      `${name.padEnd(13)} PostgreSQL CPU ${median(f.cluster).toFixed(0).padStart(5)} µs/call (/proc ticks), ${median(f.sched).toFixed(0).padStart(5)} µs/call (schedstat); ${median(f.ms).toFixed(2)} ms/call`,
    );
} finally {
  await store.close();
  await Promise.all([plain.end(), async.end()]);
  await cluster.stop();
}
