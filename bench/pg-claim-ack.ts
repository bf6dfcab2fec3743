/**
 * npx tsx bench/pg-claim-ack.ts [--root=<checkout>] [--n=5000] [--rounds=1] [--no-events]
 *
 * The PostgreSQL CPU of the drain's two statements alone, per job: N jobs
 * enqueued (enqueueBatch) in a fresh database of a private durable cluster,
 * VACUUM ANALYZE (a table with statistics, as a long-lived database has),
 * then claims of 50 (the store's claimJobs) each followed by the ack of its
 * 50 jobs (the store's AckBatcher: one statement, a synchronous commit), all
 * on one connection, whose backend's CPU is read from the scheduler
 * (bench/schedstat.ts) around each statement: claim and ack apart. No
 * server, no maintenance pass, no NOTIFY: what is left is what the two
 * statements, their event triggers and their commits cost. --root runs the
 * store of another checkout (a base, for A/B: alternate the two).
 * --no-events runs with triggers off (session_replication_role = replica):
 * a lower bound of what the events cost, not a mode of the store.
 */
import { resolve } from "node:path";
import postgres from "postgres";
import { onCpuNs } from "./schedstat.js";

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const root = resolve(arg("root", "."));
const N = Number(arg("n", "5000"));
const ROUNDS = Number(arg("rounds", "1"));
const noEvents = process.argv.includes("--no-events");

type Lifecycle = typeof import("../src/server/store/postgres/lifecycle.js");
type Store = typeof import("../src/server/store/postgres/pg-store.js");
type Acks = typeof import("../src/server/store/postgres/ack-batcher.js");
const { claimJobs } = (await import(`${root}/src/server/store/postgres/lifecycle.ts`)) as Lifecycle;
const { PgJobStore } = (await import(`${root}/src/server/store/postgres/pg-store.ts`)) as Store;
const { AckBatcher } = (await import(`${root}/src/server/store/postgres/ack-batcher.ts`)) as Acks;
const { startPostgres } = (await import(`${root}/test/support/postgres.ts`)) as typeof import("../test/support/postgres.js");

const cluster = await startPostgres({ durable: true });
try {
  for (let r = 0; r < ROUNDS; r++) {
    const url = await cluster.createDatabase(`claim_ack_${r + 1}`);
    const store = await PgJobStore.open(url, { maintenanceIntervalMs: 3_600_000 });
    const batch = Array.from({ length: 1000 }, (_, i) => ({ req: { type: "bench", args: [i], queue: "drain" } }));
    for (let i = 0; i < N / 1000; i++) await store.enqueueBatch(batch);
    await store.close();
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      if (noEvents) await sql`SET session_replication_role = replica`;
      await sql`VACUUM ANALYZE ojs_jobs`;
      const [row] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      const pid = row!.pid;
      const acks = new AckBatcher(sql);
      const slots = Array.from({ length: 50 }, () => ({ workerId: "w", visibilityTimeoutMs: 30_000 }));
      let [claimNs, ackNs, jobs] = [0, 0, 0];
      for (let k = 0; k <= N / 50; k++) {
        const t0 = onCpuNs([pid]);
        const got = await claimJobs(sql, { queues: ["drain"], slots });
        const t1 = onCpuNs([pid]);
        if (got.length === 0) break;
        await Promise.all(got.map((g) => acks.ack(g.job.job.id, undefined, "w")));
        ackNs += onCpuNs([pid]) - t1;
        claimNs += t1 - t0;
        jobs += got.length;
      }
      const us = (ns: number) => Math.round(ns / 1000 / jobs);
      console.log(
        JSON.stringify({ root, round: r + 1, jobs, claimUsPerJob: us(claimNs), ackUsPerJob: us(ackNs), totalUsPerJob: us(claimNs + ackNs), noEvents }),
      );
    } finally {
      await sql.end();
    }
  }
} finally {
  await cluster.stop();
}
