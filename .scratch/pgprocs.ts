// Per-process CPU of the cluster over N sequential enqueues (store level), to see where PostgreSQL's CPU goes.
import { readdirSync, readFileSync } from "node:fs";
import { PgJobStore } from "../src/server/store/postgres/pg-store.js";
import { startPostgres } from "../test/support/postgres.js";

function procs(pm: number): Map<string, { name: string; ticks: number }> {
  const out = new Map<string, { name: string; ticks: number }>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      if (Number(f[1]) !== pm && Number(d) !== pm) continue;
      const name = readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      out.set(d, { name, ticks: Number(f[11]) + Number(f[12]) + (Number(d) === pm ? Number(f[13]) + Number(f[14]) : 0) });
    } catch {}
  }
  return out;
}
const N = Number(process.argv[2] ?? 1000);
const cluster = await startPostgres({ durable: true, settings: (process.env.PGSET ?? "").split(";").filter(Boolean) });
const pg = await PgJobStore.open(cluster.url);
for (let i = 0; i < 100; i++) await pg.submit({ type: "t", args: [i], queue: "w" } as never);
const before = procs(cluster.pid());
const t0 = performance.now();
for (let i = 0; i < N; i++) await pg.submit({ type: "t", args: [i], queue: "q" } as never);
const ms = performance.now() - t0;
const after = procs(cluster.pid());
let total = 0;
for (const [pid, a] of after) {
  const d = a.ticks - (before.get(pid)?.ticks ?? 0);
  total += d;
  if (d > 0) console.log(pid, (d * 10_000 / N).toFixed(0), "us/op", a.name);
}
console.log("total", (total * 10_000 / N).toFixed(0), "us/op", (N / ms * 1000).toFixed(0), "/s");
await pg.close();
await cluster.stop();
