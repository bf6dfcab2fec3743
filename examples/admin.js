// Operating queues: stats, pause and resume, the dead-letter queue, cron schedules, and client.admin
// (per-state counts, job search, bulk actions behind confirm: true, workers, throughput).
import { Client } from "ojs-connect";

const client = new Client();
const queue = `example-admin-${Date.now()}`;

await client.enqueueBatch([1, 2, 3].map((n) => ({ type: "report.build", args: [n], options: { queue } })));
console.log("stats", await client.queueStats(queue));
await client.pauseQueue(queue);
console.log("paused:", (await client.queueStats(queue)).paused);
await client.resumeQueue(queue);

// A job that exhausts its single attempt goes to the dead-letter queue.
const job = await client.enqueue("report.fail", [], { queue: `${queue}-dlq`, retry: { maxAttempts: 1, onExhaustion: "dead_letter" } });
const [taken] = await client.transport.fetch({ queues: [`${queue}-dlq`], count: 1, workerId: "example" });
await client.transport.nack({ jobId: taken.id, error: { code: "report.broken", message: "no data" } });
const dead = await client.listDeadLetterJobs({ queue: `${queue}-dlq` });
console.log(
  "dead letter:",
  dead.items.map((j) => `${j.id} ${j.errors.at(-1)?.code}`),
);
console.log("retried:", (await client.retryDeadLetterJob(job.id)).state);

// client.admin: what a dashboard or a CLI reads and does.
const detail = await client.admin.getQueue(`${queue}-dlq`);
console.log("counts:", detail.counts, "throughput/min:", detail.throughput);
await client.enqueueBatch([1, 2, 3, 4].map((n) => ({ type: "report.stale", args: [n], options: { queue } })));
const found = await client.admin.listJobs({ queue, type: "report.*", state: "available", perPage: 2 });
console.log(`search: ${found.total} available report.* jobs, page 1 has ${found.items.length}`);
try {
  await client.admin.cancelJobs({ queue, type: "report.stale" }, { confirm: false });
} catch (e) {
  console.log("without confirm:", e.name, e.message);
}
const cancelled = await client.admin.cancelJobs({ queue, type: "report.stale" }, { confirm: true });
console.log(`bulk cancel: matched ${cancelled.matched}, cancelled ${cancelled.succeeded}`);
const purged = await client.admin.purgeQueue(queue, { states: ["cancelled"], confirm: true });
console.log(`purged ${purged.purgedCount} cancelled jobs`);
const stats = await client.admin.stats();
console.log(`server: ${stats.queues} queues, ${stats.workers} workers, ${stats.jobs.available} available, ${stats.throughput.processedPerMinute}/min`);

const name = `nightly-${Date.now()}`;
const { nextRunAt } = await client.registerCronJob({ name, cron: "0 3 * * *", timezone: "Europe/Paris", type: "report.build", args: [], options: { queue } });
console.log(`cron ${name} next runs at ${nextRunAt?.toISOString()}`);
await client.unregisterCronJob(name);
await client.close();
