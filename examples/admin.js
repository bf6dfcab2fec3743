// Operating queues: stats, pause and resume, the dead-letter queue, cron schedules.
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
console.log("dead letter:", dead.items.map((j) => `${j.id} ${j.errors.at(-1)?.code}`));
console.log("retried:", (await client.retryDeadLetterJob(job.id)).state);

const name = `nightly-${Date.now()}`;
const { nextRunAt } = await client.registerCronJob({ name, cron: "0 3 * * *", timezone: "Europe/Paris", type: "report.build", args: [], options: { queue } });
console.log(`cron ${name} next runs at ${nextRunAt?.toISOString()}`);
await client.unregisterCronJob(name);
await client.close();
