import { startServer } from "../src/server/index.js";
import { PgJobStore } from "../src/server/store/postgres/pg-store.js";
import { startPostgres } from "../test/support/postgres.js";
import { serverCore } from "../src/server/internal.js";
import { monitorEventLoopDelay } from "node:perf_hooks";

const cluster = await startPostgres({ durable: true });
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(2);
async function run(label: string, submit: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 50; i++) await submit(i);
  const lat: number[] = [];
  const h = monitorEventLoopDelay({ resolution: 1 }); h.enable();
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    await submit(i);
    lat.push(performance.now() - t);
  }
  h.disable();
  console.log(label, "p50", p50(lat), "loop delay p50", (h.percentile(50) / 1e6).toFixed(2), "max", (h.max / 1e6).toFixed(1));
}
const pg = await PgJobStore.open(cluster.url);
await run("PgJobStore alone", (i) => pg.submit({ type: "t", args: [i], queue: "a" } as never));
const server = await startServer({ port: 0, store: cluster.url });
await run("PgJobStore with a server beside", (i) => pg.submit({ type: "t", args: [i], queue: "a" } as never));
const core = serverCore(server);
await run("core.jobs.submit", (i) => core.jobs.submit({ type: "t", args: [i], queue: "b" } as never));
await server.close();
await run("PgJobStore after server closed", (i) => pg.submit({ type: "t", args: [i], queue: "a" } as never));
await pg.close();
await cluster.stop();
