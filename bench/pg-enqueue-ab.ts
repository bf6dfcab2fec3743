/**
 * npx tsx bench/pg-enqueue-ab.ts --base=/tmp/pg-base [--chunks=20] [--n=200] [--pickup | --graphile]
 *
 * A/B of the PostgreSQL store's sequential enqueue in one process on one
 * private cluster (fsync and synchronous commit on): the store of this
 * checkout and that of a base checkout, each on a database of its own
 * (migrated by its own code), take turns in chunks of n sequential
 * enqueues, so both see the same machine at the same time, which separate
 * runs on a shared machine do not. Per chunk: the CPU of the backends of
 * each store's database (/proc/<pid>/schedstat, nanoseconds on a CPU) and
 * the enqueue latency; with --pickup, a consumer of the same store waits
 * for each job (the hand-off path, handoff.ts), acks it and takes the next,
 * and the latency is from the enqueue call to the delivery (the CPU then
 * covers the enqueue and the ack). With --graphile, graphile-worker's
 * addJob (bench/drivers/graphile.ts) takes its turn too, on a third database.
 * Printed, the median over the chunks, the median of the paired differences
 * this - base, and each side's statements per operation (pg_stat_statements).
 * Run it once with --base= a copy of this checkout (A/A) to see its own bias:
 * on the 2-core VM the store opened second came out 20-30 µs per enqueue
 * worse, in PostgreSQL and in this process alike. Linux only.
 */
import { resolve } from "node:path";
import postgres from "postgres";
import { STATEMENT_SETTINGS } from "./pg-statements.js";
import { graphileDriver } from "./drivers/graphile.js";
import { payload } from "./common.js";
import { onCpuNs } from "./schedstat.js";

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const CHUNKS = Number(arg("chunks", "20"));
const N = Number(arg("n", "200"));
const PICKUP = process.argv.includes("--pickup");
const GRAPHILE = process.argv.includes("--graphile") && !PICKUP;
const roots = { base: resolve(arg("base", "/tmp/pg-base")), this: resolve(".") };

interface Store {
  submit(r: { type: string; args: unknown[]; queue: string }): Promise<unknown>;
  openConsumer(c: { queues: string[]; workerId: string; credit: number; deliver: (j: { job: { id: string } }) => void }): unknown;
  ack(id: string, result: null): Promise<unknown>;
  /** Gives a consumer credit back after its job was settled. */
  grant(c: unknown, n: number): void;
  close(): Promise<void>;
}
interface StoreModule {
  PgJobStore: { open(url: string, o: { maintenanceIntervalMs: number }): Promise<Store> };
}
const { startPostgres } = (await import(`${roots.this}/test/support/postgres.ts`)) as typeof import("../test/support/postgres.js");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const cluster = await startPostgres({ durable: true, settings: STATEMENT_SETTINGS });
const admin = postgres(cluster.url, { max: 1, onnotice: () => undefined });
try {
  const sides = await Promise.all(
    (Object.keys(roots) as Array<keyof typeof roots>).map(async (name) => {
      const url = await cluster.createDatabase(`ab_${name}`);
      const { PgJobStore } = (await import(`${roots[name]}/src/server/store/postgres/pg-store.ts`)) as StoreModule;
      const store = await PgJobStore.open(url, { maintenanceIntervalMs: 250 });
      let delivered: ((acked: Promise<unknown>) => void) | undefined;
      let consumer: unknown;
      if (PICKUP) consumer = store.openConsumer({ queues: ["seq"], workerId: "pick", credit: 1, deliver: (j) => delivered?.(store.ack(j.job.id, null)) });
      // One operation, its latency in ms: an enqueue, or (--pickup) from the enqueue call to the job's delivery;
      // then the ack and the credit it gives back, so the next job finds the consumer waiting.
      const op = async (i: number): Promise<number> => {
        const t = performance.now();
        const got = new Promise<[number, Promise<unknown>]>((r) => (delivered = (acked) => r([performance.now() - t, acked])));
        await store.submit({ type: "bench", args: payload(i), queue: "seq" });
        if (!PICKUP) return performance.now() - t;
        const [ms, acked] = await got;
        await acked;
        store.grant(consumer, 1);
        // The claim the credit starts finds nothing: once it has answered, the consumer waits and the next enqueue hands off.
        await new Promise((r) => setTimeout(r, 3));
        return ms;
      };
      for (let i = 0; i < 300; i++) await op(i);
      return {
        name,
        label: roots[name],
        db: `ab_${name}`,
        close: () => store.close(),
        op,
        pgUs: [] as number[],
        nodeUs: [] as number[],
        p50Ms: [] as number[],
      };
    }),
  );
  if (GRAPHILE) {
    const g = await graphileDriver(await cluster.createDatabase("ab_graphile"), "bench");
    const op = async (i: number) => {
      const t = performance.now();
      await g.enqueue(payload(i));
      return performance.now() - t;
    };
    for (let i = 0; i < 300; i++) await op(i);
    sides.push({ name: "graphile" as never, label: "graphile-worker addJob", db: "ab_graphile", close: () => g.close(), op, pgUs: [], nodeUs: [], p50Ms: [] });
  }
  await admin`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`.catch(() => undefined);
  await admin`SELECT pg_stat_statements_reset()`.catch(() => undefined);
  for (let c = 0; c < CHUNKS; c++) {
    for (const side of c % 2 ? [...sides].reverse() : sides) {
      const pids = (await admin<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = ${side.db}`).map((r) => r.pid);
      const lat: number[] = [];
      const cpu0 = onCpuNs(pids);
      const node0 = process.cpuUsage();
      for (let i = 0; i < N; i++) lat.push(await side.op(i));
      side.pgUs.push((onCpuNs(pids) - cpu0) / 1000 / N);
      const node = process.cpuUsage(node0);
      side.nodeUs.push((node.user + node.system) / N);
      side.p50Ms.push(median(lat));
    }
  }
  for (const s of sides)
    console.log(
      `${s.name.padEnd(8)} ${s.label}: median of ${CHUNKS} chunks of ${N}: PostgreSQL CPU ${median(s.pgUs).toFixed(0)} µs/op, this process ${median(s.nodeUs).toFixed(0)} µs/op, p50 ${median(s.p50Ms).toFixed(3)} ms (PostgreSQL µs, each chunk: ${s.pgUs.map((x) => x.toFixed(0)).join(" ")}; this process: ${s.nodeUs.map((x) => x.toFixed(0)).join(" ")})`,
    );
  // Chunks of the two sides run back to back: the median of their differences is steadier than the difference of the medians.
  const paired = (k: "pgUs" | "nodeUs") => median(sides[1]![k].map((x, i) => x - sides[0]![k][i]!));
  console.log(
    `this - base, median of the ${CHUNKS} paired chunks: PostgreSQL ${paired("pgUs").toFixed(0)} µs/op, this process ${paired("nodeUs").toFixed(0)} µs/op`,
  );
  const stats = await admin<{ datname: string; calls: number; us: number; query: string }[]>`
    SELECT d.datname, s.calls::int, s.total_exec_time * 1000 / ${CHUNKS * N} AS us, left(regexp_replace(s.query, '[[:space:]]+', ' ', 'g'), 90) AS query
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname LIKE 'ab_%' AND s.calls >= ${(CHUNKS * N) / 2} ORDER BY d.datname, s.total_exec_time DESC`.catch(() => []);
  for (const r of stats)
    console.log(`${r.datname.padEnd(11)} ${(r.calls / (CHUNKS * N)).toFixed(2)} calls/op ${r.us.toFixed(1).padStart(6)} µs/op  ${r.query}`);
  for (const s of sides) await s.close();
} finally {
  await admin.end();
  await cluster.stop();
}
