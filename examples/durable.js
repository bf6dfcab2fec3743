// The durable journal store: jobs enqueued before a restart are still there after it.
// Starts its own server on a data directory (OJS_DATA_DIR, or a temporary one), enqueues,
// stops the server, starts a new one on the same directory, and runs what was kept.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, Worker } from "ojs-connect";
import { startServer } from "ojs-connect/server";

const ownDir = !process.env.OJS_DATA_DIR;
const dataDir = process.env.OJS_DATA_DIR ?? mkdtempSync(join(tmpdir(), "ojs-durable-example-"));
const queue = "emails";

// First run of the server: enqueue three jobs, each answered only once it is on disk.
let server = await startServer({ dataDir, fsync: "always" });
let client = new Client({ url: server.url });
const ids = [];
for (const to of ["ada@example.com", "grace@example.com", "alan@example.com"]) ids.push((await client.enqueue("email.send", [{ to }], { queue })).id);
console.log(`enqueued ${ids.length} jobs on ${server.url}`);
await client.close();
await server.close();

// A new server on the same directory: the jobs come back from the journal.
server = await startServer({ dataDir });
client = new Client({ url: server.url });
console.log(`after the restart: ${(await Promise.all(ids.map((id) => client.getJob(id)))).map((j) => j.state).join(", ")}`);

const sent = [];
const worker = new Worker({ url: server.url, queues: [queue], handleSignals: false });
worker.register("email.send", (ctx) => {
  sent.push(ctx.args[0].to);
});
void worker.start();
while (sent.length < ids.length) await new Promise((r) => setTimeout(r, 20));
console.log(`sent: ${sent.sort().join(", ")}`);

await worker.stop();
await client.close();
await server.close();
if (ownDir) rmSync(dataDir, { recursive: true, force: true });
