import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, Worker } from "../../src/index.js";
import { uniqueQueue, useServer } from "../helpers.js";

const fast = useServer();
const standard = useServer({ fastPath: false });

/**
 * An enqueue that hands its job straight to a waiting streaming worker: the
 * job leaves before the answer (src/server/grpc/push-order.ts), through the
 * fast path's enqueue and through the standard Enqueue (the server's fast path
 * off; src/server/grpc/raw-unary.ts). node:http2 would otherwise send the
 * answer first (written inside its own session's receive callback) and the
 * push a check phase later; with producer and worker in one process (here, and
 * in the bench's dispatch latency) the worker then waited while the producer
 * read its answer.
 */
describe.each([
  ["fast path", fast],
  ["standard Enqueue", standard],
])("gRPC %s: a pushed job leaves before the enqueue answer", (_name, ctx) => {
  let client: Client;
  let worker: Worker;
  const queue = uniqueQueue("order");
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
