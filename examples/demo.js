// First run: an embedded OJS server, a gRPC worker and an HTTP worker side by
// side, a few hundred jobs each. `npm run demo` builds and runs this.
import { Client, Worker } from "ojs-connect";
import { startServer } from "ojs-connect/server";

const JOBS = Number(process.env.DEMO_JOBS ?? 600);

const server = await startServer({ port: 0 });
console.log(`embedded OJS server on ${server.url} (gRPC, Connect and HTTP/JSON on one port)`);

const client = new Client({ url: server.url }); // gRPC is the default transport

// Half the jobs for each worker's queue, enqueued before the workers start so that their pace shows.
const t0 = performance.now();
for (const queue of ["demo-grpc", "demo-http"]) {
  const jobs = Array.from({ length: JOBS / 2 }, (_, i) => ({ type: "demo.square", args: [i], options: { queue } }));
  await client.enqueueBatch(jobs);
}
console.log(`enqueued ${JOBS} jobs in ${(performance.now() - t0).toFixed(0)} ms (enqueueBatch over gRPC)`);

const workers = {
  grpc: new Worker({ url: server.url, transport: "grpc", queues: ["demo-grpc"], concurrency: 20, handleSignals: false }),
  http: new Worker({ url: server.url, transport: "http", queues: ["demo-http"], concurrency: 20, handleSignals: false }),
};
const started = performance.now();
const results = await Promise.all(
  Object.entries(workers).map(
    ([name, worker]) =>
      new Promise((resolve) => {
        let done = 0;
        worker.register("demo.square", (ctx) => ({ square: ctx.args[0] ** 2 }));
        worker.on("job.completed", () => {
          if (++done === JOBS / 2) resolve({ name, done, ms: performance.now() - started });
        });
        void worker.start();
      }),
  ),
);
for (const { name, done, ms } of results) {
  console.log(`  ${name.padEnd(4)} worker: ${String(done).padStart(4)} jobs in ${ms.toFixed(0).padStart(4)} ms, ${Math.round(done / (ms / 1000))} jobs/s`);
}
const sample = (await client.listQueues()).items.map((q) => q.name).sort();
console.log(`queues: ${sample.join(", ")}; every job completed`);
// Cold processes, a few hundred jobs, server and workers in one process: a first look, not a measurement.
console.log("(demo figures: a cold start with the server and both workers in one process; `npm run bench` measures warm, separate processes)");

await Promise.all([workers.grpc.stop(), workers.http.stop()]);
await client.close();
await server.close();
