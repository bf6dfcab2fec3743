/**
 * The JobContext a handler gets (src/worker/context.ts): its fields, and its
 * methods taken off it (`const { progress } = ctx`), which must work without
 * their context as `this`. `signal` and `state` are made on first use.
 * (checkpoint() and lastCheckpoint() are taken off the context in
 * test/e2e/checkpoint tests' way too: they close over it like the others.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, Worker, type JobContext } from "../../src/index.js";
import type { JsonValue } from "../../src/model/json.js";
import { uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer();

describe("worker: the job context", () => {
  let client: Client;
  beforeAll(() => {
    client = new Client({ url: ctx.url, transport: "grpc" });
  });
  afterAll(() => client.close());

  it("has the job's fields, and its methods work when taken off it", async () => {
    const queue = uniqueQueue("ctx");
    const worker = new Worker({ url: ctx.url, transport: "grpc", queues: [queue], concurrency: 2, handleSignals: false });
    const seen: Array<Record<string, unknown>> = [];
    const states = new Set<Map<string, unknown>>();
    worker.use(async (c, next) => {
      c.state.set("from", "middleware");
      return next();
    });
    worker.register("ctx.probe", async (c: JobContext) => {
      const { progress, heartbeat, abort, signal, state, jobId, args, attempt, queue: q, workerId, parentResults, meta, type } = c;
      if (args[0] === "plain") progress(0.5);
      await heartbeat();
      states.add(state);
      seen.push({
        jobId,
        args,
        attempt,
        q,
        workerId,
        parentResults,
        meta: typeof meta,
        type,
        from: state.get("from"),
        aborted: signal.aborted,
        same: c.signal === signal,
      });
      if (args[0] === "abort") {
        abort("stop here");
        // The signal taken off the context before is the one that aborted.
        expect(signal.aborted).toBe(true);
        throw signal.reason;
      }
      return args[0] as JsonValue;
    });
    const done = new Promise<void>((resolve) => {
      let n = 0;
      const one = () => ++n === 2 && resolve();
      worker.on("job.completed", one);
      worker.on("job.failed", one);
    });
    const a = await client.enqueue("ctx.probe", ["plain"], { queue });
    const b = await client.enqueue("ctx.probe", ["abort"], { queue, retry: { maxAttempts: 1 } });
    void worker.start();
    await done;
    await worker.stop();
    expect(states.size).toBe(2); // one state map per attempt
    const byId = new Map(seen.map((s) => [s.jobId, s]));
    for (const id of [a.id, b.id]) {
      expect(byId.get(id)).toMatchObject({
        attempt: 1,
        q: queue,
        workerId: worker.workerId,
        parentResults: {},
        meta: "object",
        type: "ctx.probe",
        from: "middleware",
        aborted: false,
        same: true,
      });
    }
    expect((await client.getJob(a.id)).result).toBe("plain");
    const failed = await client.getJob(b.id);
    expect(failed.state).toBe("discarded");
    expect(failed.errors.at(-1)?.message).toMatch(/stop here/);
  });
});
