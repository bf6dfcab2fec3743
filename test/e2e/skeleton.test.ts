import { afterEach, describe, expect, it } from "vitest";
import type { Client, Job, Worker } from "../../src/index.js";
import { client, eventually, TRANSPORTS, uniqueQueue, useServer, worker } from "../helpers.js";

const ctx = useServer();

describe.each(TRANSPORTS)("walking skeleton over %s", (transport) => {
  const open: Array<Client | Worker> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await (o instanceof Object && "stop" in o ? o.stop() : o.close());
  });
  const mkClient = () => {
    const c = client(ctx.url, transport);
    open.push(c);
    return c;
  };
  const mkWorker = (queues: string[], extra = {}) => {
    const w = worker(ctx.url, transport, { queues, concurrency: 4, ...extra });
    open.push(w);
    return w;
  };

  it("enqueue -> process -> completed with the handler's result", async () => {
    const queue = uniqueQueue();
    const c = mkClient();
    const w = mkWorker([queue]);
    const seen: unknown[] = [];
    w.register("math.add", async (job) => {
      seen.push(job.args);
      return { sum: (job.args[0] as number) + (job.args[1] as number), zero: 0, no: false, empty: "" };
    });
    void w.start();
    const job = await c.enqueue("math.add", [2, 3], { queue });
    expect(job.state).toBe("available");
    const done = await eventually(async () => {
      const j = await c.getJob(job.id);
      return j.state === "completed" ? j : undefined;
    });
    expect(done.result).toEqual({ sum: 5, zero: 0, no: false, empty: "" });
    expect(seen).toEqual([[2, 3]]);
  });

  it("a throwing handler makes the job retryable, then discarded after max attempts", async () => {
    const queue = uniqueQueue();
    const c = mkClient();
    const w = mkWorker([queue]);
    let runs = 0;
    w.register("always.fails", () => {
      runs++;
      throw Object.assign(new Error("boom"), { code: "test.boom" });
    });
    void w.start();
    const job = await c.enqueue("always.fails", [], { queue, retry: { maxAttempts: 2, initialInterval: 10, jitter: false } });
    const states = new Set<string>();
    const final: Job = await eventually(
      async () => {
        const j = await c.getJob(job.id);
        states.add(j.state);
        return j.state === "discarded" ? j : undefined;
      },
      5000,
      2,
    );
    expect(runs).toBe(2);
    expect(final.attempt).toBe(2);
    expect(final.errors.map((e) => e.code)).toEqual(["test.boom", "test.boom"]);
    expect(final.errors[0]!.message).toBe("boom");
  });

  it("cancel moves an available job to cancelled and get reads it back", async () => {
    const queue = uniqueQueue();
    const c = mkClient();
    const job = await c.enqueue("report.build", [{ year: 2026 }], { queue, priority: 5, meta: { who: "test" } });
    const cancelled = await c.cancelJob(job.id);
    expect(cancelled.state).toBe("cancelled");
    const got = await c.getJob(job.id);
    expect(got.state).toBe("cancelled");
    expect(got.args).toEqual([{ year: 2026 }]);
    expect(got.meta).toEqual({ who: "test" });
    expect(got.priority).toBe(5);
  });

  it("get of an unknown id fails with NotFoundError", async () => {
    const c = mkClient();
    await expect(c.getJob("019539a4-0000-7000-8000-000000000000")).rejects.toMatchObject({ name: "NotFoundError", code: "not_found" });
  });
});
