/** ojs-connect through its public API: Client and Worker. */
import { Client, Worker } from "../../src/index.js";
import type { JsonValue } from "../../src/model/json.js";
import { normalizeJobRequest } from "../../src/model/schemas.js";
import { JOB_TYPE } from "../common.js";
import type { Args, Driver, WorkerHooks } from "./index.js";

type BatchClient = { enqueueBatch?: (jobs: Array<{ type: string; args: JsonValue[]; options?: object }>) => Promise<unknown> };

export function ojsDriver(url: string, transport: "grpc" | "http", queue: string): Driver {
  const client = new Client({ url, transport });
  const workers: Worker[] = [];
  return {
    enqueue: (args) => client.enqueue(JOB_TYPE, args, { queue }),
    enqueueBatch(list: Args[]) {
      const batch = (client as unknown as BatchClient).enqueueBatch;
      // Client.enqueueBatch when it exists, else the transport (the same call underneath).
      if (batch)
        return batch.call(
          client,
          list.map((args) => ({ type: JOB_TYPE, args, options: { queue } })),
        );
      return client.transport.enqueueBatch(list.map((args) => normalizeJobRequest({ type: JOB_TYPE, args, options: { queue } })));
    },
    async startWorker(h: WorkerHooks) {
      const w = new Worker({ url, transport, queues: [queue], concurrency: h.concurrency, handleSignals: false });
      workers.push(w);
      w.register(JOB_TYPE, (ctx) => {
        h.onStart(ctx.args as Args);
      });
      w.on("job.completed", () => h.onCompleted());
      w.on("job.settleFailed", ({ error }) => console.error(`[bench] ${transport} settle failed: ${String(error)}`));
      w.on("error", ({ error, context }) => console.error(`[bench] ${transport} worker error (${context}): ${String(error)}`));
      w.on("stream.reconnect", ({ attempt, error }) => console.error(`[bench] ${transport} stream reconnect #${attempt}: ${String(error)}`));
      void w.start();
      return { stop: () => w.stop({ gracePeriodMs: 2_000 }) };
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop({ gracePeriodMs: 2_000 })));
      await client.close();
    },
  };
}
