// Webhooks (the webhooks extension): the server POSTs signed job events to your endpoint.
// Here the endpoint is a local HTTP server that checks every signature before trusting the body.
import { createServer } from "node:http";
import { Client, verifyWebhookSignature } from "ojs-connect";

const queue = `example-webhooks-${Date.now()}`;
const client = new Client(); // OJS_URL / OJS_TRANSPORT, or defaults
let secret = "";
const received = [];

const endpoint = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const ok = verifyWebhookSignature(secret, { body, signature: req.headers["x-ojs-signature"], timestamp: req.headers["x-ojs-timestamp"] });
    if (!ok) return res.writeHead(401).end();
    received.push(JSON.parse(body));
    res.writeHead(204).end(); // any 2xx; a 5xx or a timeout is retried with backoff
  });
});
await new Promise((r) => endpoint.listen(0, "127.0.0.1", r));

const sub = await client.webhooks.create({
  url: `http://127.0.0.1:${endpoint.address().port}/hooks/ojs`,
  events: ["job.enqueued", "job.cancelled"],
  filter: { queues: [queue] },
});
secret = sub.secret; // shown only in this answer: keep it where the endpoint can read it

const job = await client.enqueue("report.build", [{ month: "2026-11" }], { queue });
await client.cancelJob(job.id);
while (received.length < 2) await new Promise((r) => setTimeout(r, 20));

const { deliveries } = await client.webhooks.listDeliveries({ subscriptionId: sub.id });
console.log(`received ${received.map((e) => e.type).join(", ")}; ${deliveries.length} deliveries, all ${[...new Set(deliveries.map((d) => d.status))]}`);
await client.webhooks.delete(sub.id);
await client.close();
endpoint.close();
