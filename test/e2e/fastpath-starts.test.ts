import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, Worker } from "../../src/index.js";
import { serverCore } from "../../src/server/internal.js";
import { uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer();

/**
 * The start signal of a pushed job (SettleStream's `started`) exists so that a
 * lease running out before the worker began costs no attempt. A job whose ack
 * or nack is asked for before its start signal has left needs none: the settle
 * ends the attempt. Such start signals stay on the worker; a job that runs for
 * a while still sends its own, while it runs.
 */
describe("gRPC fast path: start signals", () => {
  const started: string[] = [];
  let restore: () => void;
  let client: Client;
  beforeAll(() => {
    const jobs = serverCore(ctx.server).jobs;
    const original = jobs.markStarted.bind(jobs);
    jobs.markStarted = (ids, workerId) => {
      started.push(...ids);
      return original(ids, workerId);
    };
    restore = () => void (jobs.markStarted = original);
    client = new Client({ url: ctx.url, transport: "grpc" });
  });
  afterAll(async () => {
    restore();
    await client.close();
  });

  async function run(queue: string, count: number, handler: (id: string) => Promise<void> | void, fail = false): Promise<string[]> {
    const ids = (
      await client.enqueueBatch(Array.from({ length: count }, (_, i) => ({ type: "st.x", args: [i], options: { queue, retry: { maxAttempts: 1 } } })))
    ).map((j) => j.id);
    const worker = new Worker({ url: ctx.url, transport: "grpc", queues: [queue], concurrency: 10, handleSignals: false });
    worker.register("st.x", async (c) => {
      await handler(c.jobId);
      if (fail) throw new Error("boom");
    });
    let settled = 0;
    const all = new Promise<void>((resolve) => {
      const one = () => ++settled === count && resolve();
      worker.on("job.completed", one);
      worker.on("job.failed", one);
    });
    void worker.start();
    await all;
    await worker.stop();
    return ids;
  }

  it("jobs acked or nacked in the turn they arrived send no start signal, and end as they would have", async () => {
    const queue = uniqueQueue("st");
    const before = started.length;
    const ids = await run(queue, 30, () => undefined);
    expect(started.length - before).toBe(0);
    for (const id of ids) expect((await client.getJob(id)).state).toBe("completed");
    const failed = await run(uniqueQueue("stf"), 5, () => undefined, true);
    expect(started.length - before).toBe(0);
    for (const id of failed) expect((await client.getJob(id)).state).toBe("discarded");
  });

  it("nor do they while their settles wait for room (answers held back, as a journal's fsync does)", async () => {
    const core = serverCore(ctx.server);
    const durable = core.durable.bind(core);
    // Every answer waits 20 ms, as for a slow disk: the concurrency's worth of settles (10) is soon in
    // flight, the server pushes on as it gets them, and the next jobs' settles wait for room.
    core.durable = () => new Promise<void>((r) => setTimeout(r, 20));
    try {
      const before = started.length;
      const ids = await run(uniqueQueue("stw"), 60, () => undefined);
      expect(started.length - before).toBe(0);
      for (const id of ids) expect((await client.getJob(id)).state).toBe("completed");
    } finally {
      core.durable = durable;
    }
  });

  it("a job that runs on past its arrival sends its start signal while it runs", async () => {
    const queue = uniqueQueue("sts");
    const seen: boolean[] = [];
    await run(queue, 3, async (id) => {
      // Settles only once the server has heard the start (bounded: 10 s, then the check below fails).
      for (let i = 0; i < 200 && !started.includes(id); i++) await new Promise((r) => setTimeout(r, 50));
      seen.push(started.includes(id));
    });
    expect(seen).toEqual([true, true, true]);
  });
});
