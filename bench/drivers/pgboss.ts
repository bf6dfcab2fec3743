/**
 * pg-boss on PostgreSQL, as its docs set it up: createQueue first (v10+), send
 * for one job, insert for a batch, and work() with a batch as large as the
 * scenario's concurrency, polling every 0.5 s (pg-boss's minimum). pg-boss has
 * no push: a worker waits out its polling interval after each fetch, so its
 * dispatch latency and its one-worker rate are set by that interval.
 */
import PgBoss from "pg-boss";
import type { Args, Driver, WorkerHooks } from "./index.js";

const POLL_SECONDS = 0.5;

export async function pgBossDriver(connectionString: string, queue: string): Promise<Driver> {
  // No maintenance or cron loops: the bench measures jobs, not housekeeping.
  const boss = new PgBoss({ connectionString, supervise: false, schedule: false, max: 60 });
  boss.on("error", (e) => console.error(`[bench] pg-boss error: ${String(e)}`));
  await boss.start();
  if (!(await boss.getQueue(queue))) await boss.createQueue(queue);
  const workers: string[] = [];
  return {
    enqueue: (args) => boss.send(queue, { args }),
    enqueueBatch: (list: Args[]) => boss.insert(list.map((args) => ({ name: queue, data: { args } }))),
    async startWorker(h: WorkerHooks) {
      const id = await boss.work<{ args: Args }>(queue, { batchSize: h.concurrency, pollingIntervalSeconds: POLL_SECONDS }, (jobs) => {
        for (const j of jobs) h.onStart(j.data.args);
        // pg-boss completes the batch once this resolves, without awaiting the commit: counted
        // here, and checked against the database's own count afterwards (as for every system).
        for (let k = 0; k < jobs.length; k++) h.onCompleted();
        return Promise.resolve();
      });
      workers.push(id);
      return { stop: () => boss.offWork({ id }) };
    },
    async close() {
      await boss.stop({ graceful: true, wait: true, timeout: 5_000 });
    },
  };
}
