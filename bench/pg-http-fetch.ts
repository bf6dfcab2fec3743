/**
 * HTTP `POST /ojs/v1/workers/fetch` + `POST /ojs/v1/workers/ack` over the PostgreSQL store, one job at a
 * time, two checkouts alternating on one private cluster (a database each): what the fetch envelope's
 * checkpoint lookup (one more query per non-empty fetch) costs. Reports, per round, µs of this
 * process's CPU (server and client share it) and wall time per fetch+ack cycle.
 *
 *   npx tsx bench/pg-http-fetch.ts --base=/tmp/base-checkout [--rounds=3] [--jobs=1000]
 */
import { resolve } from "node:path";
import { startPostgres } from "../test/support/postgres.js";

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const base = arg("base", "");
const rounds = Math.min(10, Number(arg("rounds", "3")));
const jobs = Math.min(20_000, Number(arg("jobs", "1000")));
if (!base) throw new Error("--base=<checkout> required");

type Start = (o: { port: number; store: string }) => Promise<{ url: string; close(): Promise<void> }>;
const roots = { base: resolve(base), change: resolve(import.meta.dirname, "..") };
const cluster = await startPostgres();
const results: Record<string, { cpu: number[]; wall: number[] }> = { base: { cpu: [], wall: [] }, change: { cpu: [], wall: [] } };
let db = 0;
try {
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 ? (["change", "base"] as const) : (["base", "change"] as const)) {
      const { startServer } = (await import(`${roots[side]}/src/server/server.ts`)) as { startServer: Start };
      const server = await startServer({ port: 0, store: await cluster.createDatabase(`f${++db}`) });
      const post = async (path: string, body: unknown) => {
        const res = await fetch(server.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
        return (await res.json()) as { jobs?: Array<{ id: string }> };
      };
      try {
        for (let at = 0; at < jobs; at += 500)
          // a batch holds at most 1000 jobs
          await post("/ojs/v1/jobs/batch", {
            jobs: Array.from({ length: Math.min(500, jobs - at) }, (_, i) => ({ type: "b.f", args: [at + i], options: { queue: "f" } })),
          });
        for (let i = 0; i < 50; i++) await post("/ojs/v1/workers/fetch", { queues: ["nothing"], worker_id: "w" }); // warm-up
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        let done = 0;
        const deadline = t0 + 120_000;
        while (done < jobs && performance.now() < deadline) {
          const got = await post("/ojs/v1/workers/fetch", { queues: ["f"], worker_id: "w" });
          const id = got.jobs?.[0]?.id;
          if (!id) break;
          await post("/ojs/v1/workers/ack", { job_id: id, worker_id: "w" });
          done++;
        }
        const cpu = process.cpuUsage(cpu0);
        if (done === 0) throw new Error(`${side}: no job fetched`);
        results[side]!.cpu.push((cpu.user + cpu.system) / done);
        results[side]!.wall.push(((performance.now() - t0) * 1000) / done);
        console.log(
          `round ${r + 1} ${side}: ${done} cycles, ${((cpu.user + cpu.system) / done).toFixed(0)} µs CPU, ${(((performance.now() - t0) * 1000) / done).toFixed(0)} µs wall per cycle`,
        );
      } finally {
        await server.close();
      }
    }
  }
} finally {
  await cluster.stop();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const side of ["base", "change"] as const)
  console.log(
    `${side}: median ${median(results[side]!.cpu).toFixed(0)} µs CPU (this process), ${median(results[side]!.wall).toFixed(0)} µs wall per fetch+ack`,
  );
