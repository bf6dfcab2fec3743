/** BullMQ on a local Redis, configured as its docs suggest, with the same payload. */
import { Queue, Worker } from "bullmq";
import { JOB_TYPE } from "../common.js";
import { loadIoredis } from "../deps.js";
import type { Args, Driver, WorkerHooks } from "./index.js";

export async function bullmqDriver(target: string, name: string): Promise<Driver> {
  const Redis = await loadIoredis();
  if (!("prototype" in Redis)) throw new Error(Redis.missing);
  // BullMQ takes ready-made ioredis clients; workers need maxRetriesPerRequest: null.
  const clients: Array<InstanceType<typeof Redis>> = [];
  const connect = () => {
    const c = new Redis(target, { maxRetriesPerRequest: null });
    clients.push(c);
    return c as never;
  };
  const queue = new Queue(name, { connection: connect() });
  const workers: Worker[] = [];
  return {
    enqueue: (args) => queue.add(JOB_TYPE, { args }),
    enqueueBatch: (list: Args[]) => queue.addBulk(list.map((args) => ({ name: JOB_TYPE, data: { args } }))),
    async startWorker(h: WorkerHooks) {
      const w = new Worker(
        name,
        async (job) => {
          h.onStart((job.data as { args: Args }).args);
        },
        { connection: connect(), concurrency: h.concurrency },
      );
      workers.push(w);
      w.on("completed", () => h.onCompleted());
      w.on("error", (e) => console.error(`[bench] bullmq worker error: ${String(e)}`));
      await w.waitUntilReady();
      return { stop: () => w.close() };
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await queue.close();
      // Clients we hand to BullMQ stay ours to close.
      for (const c of clients) c.disconnect();
    },
  };
}
