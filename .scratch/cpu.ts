import { startServer } from "../src/server/index.js";
import { PgJobStore } from "../src/server/store/postgres/pg-store.js";
import { startPostgres } from "../test/support/postgres.js";
import { serverCore } from "../src/server/internal.js";
const cluster = await startPostgres({ durable: true });
async function run(label: string, n: number, submit: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 200; i++) await submit(i);
  const c0 = process.cpuUsage(); const t0 = performance.now();
  for (let i = 0; i < n; i++) await submit(i);
  const c = process.cpuUsage(c0);
  console.log(label, ((c.user + c.system) / n).toFixed(0), "us cpu/op", (n / (performance.now() - t0) * 1000).toFixed(0), "/s");
}
const pg = await PgJobStore.open(cluster.url);
await run("PgJobStore.submit", 1000, (i) => pg.submit({ type: "t", args: [i], queue: "a" } as never));
await pg.close();
const server = await startServer({ port: 0, store: cluster.url });
const core = serverCore(server);
await run("core.jobs.submit (server idle otherwise)", 1000, (i) => core.jobs.submit({ type: "t", args: [i], queue: "b" } as never));
await server.close();
await cluster.stop();
