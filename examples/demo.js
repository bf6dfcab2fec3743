// First run: an embedded OJS server, a gRPC worker and an HTTP worker side by
// side, a few hundred jobs through both. `npm run demo` builds and runs this.
import { Client, Worker } from "ojs-connect";
import { startServer } from "ojs-connect/server";

const JOBS = Number(process.env.DEMO_JOBS ?? 600);

const server = await startServer({ port: 0 });
console.log(`embedded OJS server on ${server.url} (gRPC, Connect and HTTP/JSON on one port)`);

const client = new Client({ url: server.url }); // gRPC is the default transport
const workers = {
  grpc: new Worker({ url: server.url, transport: "grpc", queues: ["demo-grpc"], concurrency: 20, handleSignals: false }),
  http: new Worker({ url: server.url, transport: "http", queues: ["demo-http"], concurrency: 20, handleSignals: false }),
};

const done = { grpc: 0, http: 0 };
const firstAt = { grpc: 0, http: 0 };
const lastAt = { grpc: 0, http: 0 };
let finished;
const allDone = new Promise((resolve) => (finished = resolve));

for (const [name, worker] of Object.entries(workers)) {
  worker.register("demo.square", (ctx) => ({ square: ctx.args[0] ** 2 }));
  worker.on("job.completed", () => {
    const now = performance.now();
    if (done[name]++ === 0) firstAt[name] = now;
    lastAt[name] = now;
    if (done.grpc + done.http === JOBS) finished();
  });
  worker.on("job.failed", ({ error }) => console.error(`${name} worker: job failed:`, error));
  void worker.start();
}

const started = performance.now();
const ids = [];
// Half the jobs for each worker, so both transports show their pace.
for (let i = 0; i < JOBS; i++) ids.push((await client.enqueue("demo.square", [i], { queue: i % 2 ? "demo-http" : "demo-grpc" })).id);
const enqueuedIn = performance.now() - started;
await allDone;
const total = performance.now() - started;

const sample = await client.getJob(ids[7]);
console.log(`enqueued ${JOBS} jobs over gRPC in ${enqueuedIn.toFixed(0)} ms (${Math.round(JOBS / (enqueuedIn / 1000))}/s)`);
for (const name of ["grpc", "http"]) {
  const span = Math.max(1, lastAt[name] - firstAt[name]);
  console.log(`  ${name.padEnd(4)} worker: ${String(done[name]).padStart(4)} jobs, ${Math.round(done[name] / (span / 1000))} jobs/s while busy`);
}
console.log(`all ${JOBS} completed in ${total.toFixed(0)} ms; job ${sample.id} -> ${sample.state}, result ${JSON.stringify(sample.result)}`);

await Promise.all([workers.grpc.stop(), workers.http.stop()]);
await client.close();
await server.close();
