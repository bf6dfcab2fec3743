import { startServer } from "../src/server/index.js";
import { Client } from "../src/index.js";
import { startPostgres } from "../test/support/postgres.js";
import { serverCore } from "../src/server/internal.js";

const cluster = await startPostgres({ durable: true });
const server = await startServer({ port: 0, store: cluster.url });
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(2);
try {
  for (const transport of ["grpc", "http"] as const) {
    const client = new Client({ url: server.url, transport });
    for (let i = 0; i < 50; i++) await client.enqueue("t", [i], { queue: "warm" });
    const lat: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await client.enqueue("t", [i], { queue: "q" + transport });
      lat.push(performance.now() - t);
    }
    console.log(transport, "client enqueue p50", p50(lat));
    await client.close();
  }
  const core = serverCore(server);
  const lat: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    await core.jobs.submit({ type: "t", args: [i], queue: "direct" } as never);
    lat.push(performance.now() - t);
  }
  console.log("core.jobs.submit p50", p50(lat));
} finally {
  await server.close();
  await cluster.stop();
}
