import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, Worker } from "../../src/index.js";
import { uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer({ fastPath: false });

/**
 * As test/e2e/fastpath-push-order.test.ts, over the standard methods (the
 * server's fast path off): a standard Enqueue that hands its job straight to
 * a waiting StreamJobs worker is answered after the push has left
 * (src/server/grpc/raw-unary.ts, ./push-order.ts), so that with producer and
 * worker in one process the worker does not wait while the producer reads
 * its answer.
 */
describe("gRPC standard Enqueue: a pushed job leaves before the enqueue answer", () => {
  let client: Client;
  let worker: Worker;
  const queue = uniqueQueue("std-order");
  const seen: Array<{ answered: boolean }> = [];
  let answered = false;
  let completed: (() => void) | undefined;

  beforeAll(async () => {
    client = new Client({ url: ctx.url, transport: "grpc" });
    worker = new Worker({ url: ctx.url, transport: "grpc", queues: [queue], concurrency: 5, handleSignals: false });
    worker.register("order.x", () => void seen.push({ answered }));
    worker.on("job.completed", () => completed?.());
    void worker.start();
    // The worker's stream is open and idle once a first job went through it.
    const first = new Promise<void>((r) => (completed = r));
    await client.enqueue("order.x", [0], { queue });
    await first;
    seen.length = 0;
  });
  afterAll(async () => {
    await worker.stop({ gracePeriodMs: 1_000 });
    await client.close();
  });

  it("starts the handler of each job before the producer has its answer", async () => {
    for (let i = 1; i <= 5; i++) {
      const done = new Promise<void>((r) => (completed = r));
      answered = false;
      await client.enqueue("order.x", [i], { queue });
      answered = true;
      await done;
    }
    expect(seen).toEqual(Array.from({ length: 5 }, () => ({ answered: false })));
  });
});
