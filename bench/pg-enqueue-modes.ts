/**
 * npx tsx bench/pg-enqueue-modes.ts --base=/tmp/base-pgenq [--chunks=6] [--modes=seq,c32,batch] [--graphile]
 *
 * A/B of the PostgreSQL store's enqueue paths at the store level, in one
 * process on one private cluster (fsync and synchronous commit on): the store
 * of a base checkout and of this one, each on its own database, take turns in
 * chunks, so both see the same machine at the same time. Modes: `seq`, 150
 * enqueues one after the other; `c32`, 960 enqueues from 32 concurrent
 * callers; `batch`, 3 enqueueBatch calls of 1 000 jobs. Per chunk: the CPU
 * of the backends of each side's database (/proc/<pid>/schedstat, nanoseconds
 * on a CPU) and of this process, per job, and the rate. With --graphile,
 * graphile-worker's addJob / addJobs (bench/drivers/graphile.ts) takes its
 * turn on a third database. Printed: medians over the chunks. Linux only.
 */
import { resolve } from "node:path";
import postgres from "postgres";
import { graphileDriver } from "./drivers/graphile.js";
import { payload } from "./common.js";
import { onCpuNs } from "./schedstat.js";

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const CHUNKS = Number(arg("chunks", "6"));
const MODES = arg("modes", "seq,c32,batch").split(",") as Mode[];
const roots = { base: resolve(arg("base", "/tmp/base-pgenq")), this: resolve(".") };
type Mode = "seq" | "c32" | "batch";
const JOBS: Record<Mode, number> = { seq: 150, c32: 960, batch: 3000 };

interface Side {
  name: string;
  db: string;
  one: (i: number) => Promise<unknown>;
  many: (from: number, n: number) => Promise<unknown>;
  close: () => Promise<void>;
  figures: Map<Mode, { pgUs: number[]; nodeUs: number[]; rate: number[]; p50: number[] }>;
}
interface Store {
  submit(r: { type: string; args: unknown[]; queue: string }): Promise<unknown>;
  enqueueBatch(items: Array<{ req: { type: string; args: unknown[]; queue: string } }>): Promise<unknown>;
  close(): Promise<void>;
}
const { startPostgres } = (await import(`${roots.this}/test/support/postgres.ts`)) as typeof import("../test/support/postgres.js");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const newFigures = () => new Map(MODES.map((m) => [m, { pgUs: [] as number[], nodeUs: [] as number[], rate: [] as number[], p50: [] as number[] }]));

const cluster = await startPostgres({ durable: true });
const admin = postgres(cluster.url, { max: 1, onnotice: () => undefined });
let seq = 0;
try {
  const sides: Side[] = [];
  for (const name of Object.keys(roots) as Array<keyof typeof roots>) {
    const url = await cluster.createDatabase(`m_${name}`);
    const { PgJobStore } = (await import(`${roots[name]}/src/server/store/postgres/pg-store.ts`)) as {
      PgJobStore: { open(u: string, o: object): Promise<Store> };
    };
    const store = await PgJobStore.open(url, { maintenanceIntervalMs: 250 });
    const req = (i: number) => ({ type: "bench", args: payload(i), queue: "q" });
    sides.push({
      name,
      db: `m_${name}`,
      one: (i) => store.submit(req(i)),
      many: (from, n) => store.enqueueBatch(Array.from({ length: n }, (_, k) => ({ req: req(from + k) }))),
      close: () => store.close(),
      figures: newFigures(),
    });
  }
  if (process.argv.includes("--graphile")) {
    const g = await graphileDriver(await cluster.createDatabase("m_graphile"), "bench");
    sides.push({
      name: "graphile",
      db: "m_graphile",
      one: (i) => g.enqueue(payload(i)),
      many: (from, n) => g.enqueueBatch(Array.from({ length: n }, (_, k) => payload(from + k))),
      close: () => g.close(),
      figures: newFigures(),
    });
  }
  // Warm-up: prepared statements, JIT, the queue registered.
  for (const s of sides) {
    for (let i = 0; i < 200; i++) await s.one(seq++);
    await Promise.all(Array.from({ length: 32 }, () => s.one(seq++)));
    await s.many(seq, 1000);
    seq += 1000;
  }
  const run = async (s: Side, mode: Mode): Promise<number[]> => {
    const lat: number[] = [];
    if (mode === "seq")
      for (let n = 0; n < JOBS.seq; n++) {
        const t = performance.now();
        await s.one(seq++);
        lat.push(performance.now() - t);
      }
    else if (mode === "c32") {
      let left = JOBS.c32;
      const caller = async () => {
        for (; left > 0; left--) await s.one(seq++);
      };
      await Promise.all(Array.from({ length: 32 }, caller));
    } else
      for (let b = 0; b < JOBS.batch / 1000; b++) {
        await s.many(seq, 1000);
        seq += 1000;
      }
    return lat;
  };
  for (let c = 0; c < CHUNKS; c++)
    for (const mode of MODES)
      for (const s of c % 2 ? [...sides].reverse() : sides) {
        const pids = (await admin<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = ${s.db}`).map((r) => r.pid);
        const cpu0 = onCpuNs(pids);
        const node0 = process.cpuUsage();
        const t0 = performance.now();
        const lat = await run(s, mode);
        const ms = performance.now() - t0;
        const f = s.figures.get(mode)!;
        f.pgUs.push((onCpuNs(pids) - cpu0) / 1000 / JOBS[mode]);
        const node = process.cpuUsage(node0);
        f.nodeUs.push((node.user + node.system) / JOBS[mode]);
        f.rate.push((JOBS[mode] / ms) * 1000);
        if (lat.length) f.p50.push(median(lat));
      }
  for (const mode of MODES)
    for (const s of sides) {
      const f = s.figures.get(mode)!;
      console.log(
        `${mode.padEnd(5)} ${s.name.padEnd(8)} jobs/s ${median(f.rate).toFixed(0).padStart(6)}${f.p50.length ? `, p50 ${median(f.p50).toFixed(2)} ms` : ""}; per job: PostgreSQL backends ${median(f.pgUs).toFixed(0)} µs [${f.pgUs.map((x) => x.toFixed(0)).join(" ")}], this process ${median(f.nodeUs).toFixed(0)} µs [${f.nodeUs.map((x) => x.toFixed(0)).join(" ")}]`,
      );
    }
  for (const s of sides) await s.close();
} finally {
  await admin.end();
  await cluster.stop();
}
