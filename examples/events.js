// Following lifecycle events (gRPC StreamEvents, or server-sent events over HTTP).
import { Client, Worker } from "ojs-connect";

const queue = `example-events-${Date.now()}`;
const client = new Client();
const worker = new Worker({ queues: [queue], handleSignals: false });
worker.register("greet.say", (ctx) => `hello ${ctx.args[0]}`);

const abort = new AbortController();
const seen = (async () => {
  for await (const e of client.events({ queues: [queue], signal: abort.signal })) {
    console.log(e.time.toISOString(), e.type, e.jobId);
    if (e.type === "job.completed") abort.abort();
  }
})();
await new Promise((r) => setTimeout(r, 200)); // let the subscription start
void worker.start();
await client.enqueue("greet.say", ["world"], { queue });
await seen;
await worker.stop();
await client.close();
