// Enqueue jobs and process them: a typed handler, a retry, results.
import { z } from "zod";
import { Client, Worker, NonRetryableError } from "ojs-connect";

const queue = `example-jobs-${Date.now()}`;
const client = new Client(); // OJS_URL / OJS_TRANSPORT, or defaults
const worker = new Worker({ queues: [queue], concurrency: 5, handleSignals: false });

let flaky = 0;
worker.register("math.divide", { args: z.tuple([z.number(), z.number()]) }, (ctx) => {
  const [a, b] = ctx.args;
  if (b === 0) throw new NonRetryableError("division by zero", { code: "math.div_zero" });
  return { quotient: a / b };
});
worker.register("net.flaky", (ctx) => {
  if (++flaky === 1) throw Object.assign(new Error("connection reset"), { code: "net.reset" });
  return { attempt: ctx.attempt };
});
void worker.start();

const ok = await client.enqueue("math.divide", [10, 4], { queue });
const bad = await client.enqueue("math.divide", [1, 0], { queue });
const retried = await client.enqueue("net.flaky", [], { queue, retry: { maxAttempts: 3, initialInterval: "PT0.1S", jitter: false } });

async function settled(id) {
  for (;;) {
    const job = await client.getJob(id);
    if (["completed", "discarded", "cancelled"].includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}
for (const job of await Promise.all([ok, bad, retried].map((j) => settled(j.id)))) {
  console.log(`${job.type} -> ${job.state}`, job.result ?? job.errors.at(-1)?.message);
}
await worker.stop();
await client.close();
