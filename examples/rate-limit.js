// Rate limits (the rate-limiting extension): jobs that call one external API share a key,
// and the server never lets more of them run at once, or start per minute, than the key allows.
import { Client, Worker } from "ojs-connect";

const queue = `example-rate-limit-${Date.now()}`;
const key = `api.example.com-${Date.now()}`;
const client = new Client(); // OJS_URL / OJS_TRANSPORT, or defaults
const worker = new Worker({ queues: [queue], concurrency: 10, handleSignals: false });

let running = 0;
let most = 0;
worker.register("api.call", async (ctx) => {
  most = Math.max(most, ++running);
  await new Promise((r) => setTimeout(r, 50)); // the call to the rate-limited API
  running--;
  return { n: ctx.args[0] };
});
void worker.start();

// At most 2 at once and 600 starts a minute for this key, whatever the worker's concurrency.
const rateLimit = { key, concurrency: 2, rate: { limit: 600, period: "PT1M" } };
const jobs = await client.enqueueBatch(Array.from({ length: 8 }, (_, i) => ({ type: "api.call", args: [i], options: { queue, rateLimit } })));

for (;;) {
  const states = await Promise.all(jobs.map(async (j) => (await client.getJob(j.id)).state));
  if (states.every((s) => s === "completed")) break;
  await new Promise((r) => setTimeout(r, 50));
}
console.log(`${jobs.length} jobs done, at most ${most} at once (limit 2)`);
await worker.stop();
await client.close();
