// Multi-tenancy: each client and worker acts for one tenant (the X-OJS-Tenant header on every
// call). A tenant sees, works and counts only its own jobs; a worker without a tenant serves
// all of them in turn, so a tenant with a backlog cannot starve the others.
import { Client, NotFoundError, Worker } from "ojs-connect";

const queue = `example-tenants-${Date.now()}`;
const acme = new Client({ tenant: "acme" });
const beta = new Client({ tenant: "beta" });

const job = await acme.enqueue("report.build", [{ month: "2026-11" }], { queue });
console.log(`acme's job carries meta.tenant_id = ${job.meta.tenant_id}`);
try {
  await beta.getJob(job.id);
} catch (e) {
  if (e instanceof NotFoundError) console.log("beta cannot see it (not found)");
  else throw e;
}

// acme has a backlog of 20; beta enqueues 2 after it. A shared worker takes them in turn.
await acme.enqueueBatch(Array.from({ length: 20 }, (_, i) => ({ type: "report.build", args: [i], options: { queue } })));
await beta.enqueueBatch([0, 1].map((i) => ({ type: "report.build", args: [i], options: { queue } })));
const order = [];
const worker = new Worker({ queues: [queue], concurrency: 1, handleSignals: false });
worker.register("report.build", (ctx) => void order.push(ctx.job.meta.tenant_id));
void worker.start();
while (order.length < 23) await new Promise((r) => setTimeout(r, 20));
console.log(`beta's jobs ran at positions ${order.flatMap((t, i) => (t === "beta" ? [i + 1] : [])).join(" and ")} of 23`);
await worker.stop();
await acme.close();
await beta.close();
