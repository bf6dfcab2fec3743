/** ojs-connect through its public API: Client and Worker. */
import { Client, grpcTransport, Worker } from "../../src/index.js";
import type { JsonValue } from "../../src/model/json.js";
import { normalizeJobRequest } from "../../src/model/schemas.js";
import { JOB_TYPE } from "../common.js";
import type { Args, Driver, WorkerHooks } from "./index.js";

type BatchClient = { enqueueBatch?: (jobs: Array<{ type: string; args: JsonValue[]; options?: object }>) => Promise<unknown> };

export function ojsDriver(url: string, kind: "grpc" | "http", queue: string): Driver {
  // OJS_BENCH_HTTP2_CLIENT=node: the gRPC transport's node:http2 wire instead of its own HTTP/2 client (A/B in one tree).
  const http2Client = process.env.OJS_BENCH_HTTP2_CLIENT === "node" ? "node" : undefined;
  const own: Array<ReturnType<typeof grpcTransport>> = [];
  const transport = () => (kind === "grpc" && http2Client ? own[own.push(grpcTransport({ url, http2Client })) - 1]! : kind);
  const client = new Client({ url, transport: transport() });
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
      const w = new Worker({ url, transport: transport(), queues: [queue], concurrency: h.concurrency, handleSignals: false });
      workers.push(w);
      w.register(JOB_TYPE, (ctx) => {
        h.onStart(ctx.args as Args);
      });
      w.on("job.completed", () => h.onCompleted());
      w.on("job.settleFailed", ({ error }) => console.error(`[bench] ${kind} settle failed: ${String(error)}`));
      w.on("error", ({ error, context }) => console.error(`[bench] ${kind} worker error (${context}): ${String(error)}`));
      w.on("stream.reconnect", ({ attempt, error }) => console.error(`[bench] ${kind} stream reconnect #${attempt}: ${String(error)}`));
      void w.start();
      return { stop: () => w.stop({ gracePeriodMs: 2_000 }) };
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop({ gracePeriodMs: 2_000 })));
      await client.close();
      await Promise.all(own.map((t) => t.close()));
    },
  };
}
