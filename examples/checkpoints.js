// Checkpoints (the durable-execution extension): a long job saves where it got to, and when an
// attempt fails (a crash, a lost lease, a thrown error) the next attempt resumes from there.
import { Client, Worker } from "ojs-connect";

const queue = `example-checkpoints-${Date.now()}`;
const client = new Client(); // OJS_URL / OJS_TRANSPORT, or defaults
const worker = new Worker({ queues: [queue], handleSignals: false });

const TOTAL = 10;
worker.register("import.rows", async (ctx) => {
  const from = (await ctx.lastCheckpoint())?.next ?? 0; // undefined on the first attempt
  console.log(`attempt ${ctx.attempt} starts at row ${from}`);
  for (let row = from; row < TOTAL; row++) {
    // ... import the row ...
    await ctx.checkpoint({ next: row + 1 }); // saved on the server before the next row
    if (ctx.attempt === 1 && row === 5) throw new Error("the database went away");
  }
  return { imported: TOTAL };
});
void worker.start();

const job = await client.enqueue("import.rows", [], { queue, retry: { maxAttempts: 3, initialInterval: 100 } });
for (;;) {
  const j = await client.getJob(job.id);
  if (j.state === "completed") {
    console.log(`done in ${j.attempt} attempts:`, j.result);
    break;
  }
  await new Promise((r) => setTimeout(r, 50));
}
console.log("last checkpoint:", (await client.checkpoints.get(job.id))?.state);
await worker.stop();
await client.close();
