import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { chain, Client, NonRetryableError, step, Worker, type Job } from "../../src/index.js";
import { GrpcTransport } from "../../src/transport/grpc/transport.js";
import { HttpTransport } from "../../src/transport/http/transport.js";
import type { Transport } from "../../src/transport/transport.js";
import { currentStore, eventually, TRANSPORTS, uniqueQueue, useServer, worker as mkWorker, type TransportName } from "../helpers.js";
import { serverCore } from "../../src/server/internal.js";

const ctx = useServer({ visibilityTimeoutMs: 5000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(TRANSPORTS)("Worker over %s", (transport: TransportName) => {
  let client: Client;
  const workers: Worker[] = [];
  beforeAll(() => {
    client = new Client({ url: ctx.url, transport });
  });
  afterAll(() => client.close());
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ gracePeriodMs: 0 })));
  });
  const start = (queues: string[], opts: Parameters<typeof mkWorker>[2] = {}, setup?: (w: Worker) => void): Worker => {
    const w = mkWorker(ctx.url, transport, { queues, ...opts });
    setup?.(w);
    workers.push(w);
    void w.start();
    return w;
  };
  const waitState = (id: string, state: Job["state"], timeoutMs = 5000) =>
    eventually(async () => {
      const j = await client.getJob(id);
      return j.state === state ? j : undefined;
    }, timeoutMs);

  it("never runs more jobs at once than its concurrency", async () => {
    const queue = uniqueQueue("conc");
    let running = 0;
    let peak = 0;
    let done = 0;
    start([queue], { concurrency: 3 }, (w) =>
      w.register("t.slow", async () => {
        peak = Math.max(peak, ++running);
        await sleep(20);
        running--;
        done++;
      }),
    );
    await client.enqueueBatch(Array.from({ length: 24 }, (_, i) => ({ type: "t.slow", args: [i], options: { queue } })));
    await eventually(() => done === 24, 10_000);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBe(3);
  });

  it("gives the handler the job's context and acknowledges its result", async () => {
    const queue = uniqueQueue("ctx");
    let seen: Record<string, unknown> = {};
    start([queue], {}, (w) =>
      w.register("t.ctx", (c) => {
        seen = {
          jobId: c.jobId,
          type: c.type,
          args: c.args,
          meta: c.meta,
          attempt: c.attempt,
          queue: c.queue,
          parentResults: c.parentResults,
          aborted: c.signal.aborted,
        };
        return { ok: true, n: 0 };
      }),
    );
    const job = await client.enqueue("t.ctx", [0, "", false], { queue, meta: { who: "me" } });
    const done = await waitState(job.id, "completed");
    expect(done.result).toEqual({ ok: true, n: 0 });
    expect(seen).toEqual({ jobId: job.id, type: "t.ctx", args: [0, "", false], meta: { who: "me" }, attempt: 1, queue, parentResults: {}, aborted: false });
  });

  it("typed handlers get parsed args; args that do not parse fail the job without a retry and without calling the handler", async () => {
    const queue = uniqueQueue("typed");
    const calls: unknown[] = [];
    start([queue], {}, (w) =>
      w.register("t.typed", { args: z.tuple([z.object({ n: z.number().int() }).transform((o) => o.n * 2)]) }, (c) => {
        calls.push(c.args);
        const [doubled] = c.args;
        return doubled + 1;
      }),
    );
    const good = await client.enqueue("t.typed", [{ n: 20 }], { queue });
    const bad = await client.enqueue("t.typed", [{ n: "twenty" }], { queue, retry: { maxAttempts: 5 } });
    expect((await waitState(good.id, "completed")).result).toBe(41);
    const failed = await waitState(bad.id, "discarded");
    expect(failed.attempt).toBe(1);
    expect(failed.errors[0]).toMatchObject({ code: "validation.args", retryable: false });
    expect(failed.errors[0]!.message).toMatch(/args\[0\]\.n/);
    expect(calls).toEqual([[40]]);
  });

  it("NonRetryableError discards at once; an error's code is the recorded error type; other errors retry", async () => {
    const queue = uniqueQueue("errs");
    const attempts = new Map<string, number>();
    start([queue], {}, (w) => {
      w.register("t.fatal", () => {
        throw new NonRetryableError("card declined", { code: "payment.declined" });
      });
      w.register("t.flaky", (c) => {
        const n = (attempts.get(c.jobId) ?? 0) + 1;
        attempts.set(c.jobId, n);
        if (n < 2) throw Object.assign(new Error("try again"), { code: "net.reset" });
        return "ok";
      });
      w.register("t.notretryable", () => {
        throw Object.assign(new Error("bad input"), { retryable: false });
      });
    });
    const fatal = await client.enqueue("t.fatal", [], { queue, retry: { maxAttempts: 5 } });
    const flaky = await client.enqueue("t.flaky", [], { queue, retry: { maxAttempts: 3, initialInterval: 10, jitter: false } });
    const nr = await client.enqueue("t.notretryable", [], { queue, retry: { maxAttempts: 5 } });
    const f = await waitState(fatal.id, "discarded");
    expect(f.errors).toHaveLength(1);
    expect(f.errors[0]).toMatchObject({ code: "payment.declined", message: "card declined", retryable: false });
    expect(f.errors[0]!.backtrace).toMatch(/NonRetryableError: card declined/);
    const fl = await waitState(flaky.id, "completed");
    expect(fl.attempt).toBe(2);
    expect(fl.errors[0]).toMatchObject({ code: "net.reset", message: "try again", retryable: true });
    expect((await waitState(nr.id, "discarded")).attempt).toBe(1);
  });

  it("a job type this worker has no handler for is failed retryably, never discarded (another worker may know it)", async () => {
    const queue = uniqueQueue("nohandler");
    start([queue], {}, (w) => w.register("t.known", () => null));
    const job = await client.enqueue("t.unknown", [], { queue, retry: { maxAttempts: 3, initialInterval: 60_000 } });
    const j = await waitState(job.id, "retryable");
    expect(j.errors[0]).toMatchObject({ code: "handler_not_found", retryable: true });
  });

  it("heartbeats keep a long job active past its visibility timeout, and it runs once", async () => {
    const queue = uniqueQueue("long");
    let runs = 0;
    // The job outlasts two visibility timeouts; a beat every 200 ms leaves 1.8 s of slack per lease
    // for a late timer or a slow beat on a loaded machine (a 600 ms lease left 450 ms, and lost it).
    start([queue], { visibilityTimeoutMs: 2000, heartbeatIntervalMs: 200 }, (w) =>
      w.register("t.long", async () => {
        runs++;
        await sleep(4500);
        return "done";
      }),
    );
    const job = await client.enqueue("t.long", [], { queue });
    const j = await waitState(job.id, "completed", 15_000);
    expect(j.attempt).toBe(1);
    expect(j.errors).toEqual([]);
    expect(runs).toBe(1);
  });

  it("ctx.heartbeat() extends the reservation of a long job between regular beats", async () => {
    const queue = uniqueQueue("ctxbeat");
    // 2.4 s of work against a 1.5 s visibility timeout; each beat comes 300 ms after the last, so a
    // late timer or slow call has 1.2 s of slack (a 500 ms lease with beats 200 ms apart had 300 ms).
    start([queue], { visibilityTimeoutMs: 1500, heartbeatIntervalMs: 60_000 }, (w) =>
      w.register("t.beating", async (c) => {
        for (let i = 0; i < 8; i++) {
          await sleep(300);
          await c.heartbeat();
        }
      }),
    );
    const job = await client.enqueue("t.beating", [], { queue });
    const j = await waitState(job.id, "completed", 15_000);
    expect(j.attempt).toBe(1);
  });

  it("a quiet directive from the server stops fetching; running resumes it; terminate stops the worker", async () => {
    const queue = uniqueQueue("quiet");
    const done: string[] = [];
    const w = start([queue], { heartbeatIntervalMs: 100 }, (w) => w.register("t.q", (c) => void done.push(c.jobId)));
    const first = await client.enqueue("t.q", [], { queue });
    await waitState(first.id, "completed");
    await serverCore(ctx.server).jobs.directWorker(w.workerId, "quiet");
    await eventually(() => w.state === "quiet");
    const second = await client.enqueue("t.q", [], { queue });
    await sleep(400);
    expect((await client.getJob(second.id)).state).toBe("available");
    await serverCore(ctx.server).jobs.directWorker(w.workerId, "running");
    await eventually(() => w.state === "running");
    await waitState(second.id, "completed");
    await serverCore(ctx.server).jobs.directWorker(w.workerId, "terminate");
    await eventually(() => w.state === "terminated");
  });

  it("a job past its timeout sees its signal abort and fails with code timeout", async () => {
    const queue = uniqueQueue("timeout");
    start([queue], {}, (w) =>
      w.register("t.timeout", async (c) => {
        await new Promise((_, reject) => c.signal.addEventListener("abort", () => reject(c.signal.reason as Error)));
      }),
    );
    const job = await client.enqueue("t.timeout", [], { queue, timeout: 200, retry: { maxAttempts: 1 } });
    const j = await waitState(job.id, "discarded");
    expect(j.errors[0]).toMatchObject({ code: "timeout" });
    const took = j.completedAt!.getTime() - j.startedAt!.getTime();
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(2000);
  });

  it("a handler that ignores its timeout is failed after the abort grace but keeps its slot until it returns", async () => {
    const queue = uniqueQueue("stubborn");
    const order: string[] = [];
    start([queue], { concurrency: 1, abortGraceMs: 100 }, (w) => {
      w.register("t.stubborn", async () => {
        order.push("stubborn:start");
        await sleep(3000);
        order.push("stubborn:end");
      });
      w.register("t.next", () => void order.push("next"));
    });
    const stubborn = await client.enqueue("t.stubborn", [], { queue, timeout: 100, retry: { maxAttempts: 1 } });
    await sleep(50);
    const next = await client.enqueue("t.next", [], { queue });
    const failed = await waitState(stubborn.id, "discarded");
    expect(failed.errors[0]!.code).toBe("timeout");
    // Failed about 200 ms in (timeout + abort grace), long before the handler returns at 3 s: the
    // bound leaves a loaded machine 2 s of slack and still tells the two apart.
    expect(failed.completedAt!.getTime() - failed.startedAt!.getTime()).toBeLessThan(2500);
    await waitState(next.id, "completed", 10_000);
    expect(order).toEqual(["stubborn:start", "stubborn:end", "next"]);
  });

  it("workflow steps get the results of the steps they depend on in ctx.parentResults", async () => {
    const queue = uniqueQueue("wfw");
    const seen: unknown[] = [];
    start([queue], {}, (w) => {
      w.register("wf.first", () => ({ rows: 42 }));
      w.register("wf.second", (c) => {
        seen.push(c.parentResults, c.workflowId);
        return "ok";
      });
    });
    const wf = await client.workflow(chain("etl", [step("wf.first", [], { queue }), step("wf.second", [], { queue })]));
    await eventually(async () => (await client.getWorkflow(wf.id)).state === "completed", 8000);
    expect(seen).toEqual([{ "0": { rows: 42 } }, wf.id]);
  });

  it("stop() is idempotent: every caller gets the same promise, stopped fires once, and a stopped worker cannot start again", async () => {
    const queue = uniqueQueue("stop");
    const w = mkWorker(ctx.url, transport, { queues: [queue] });
    w.register("t.x", () => null);
    let stopped = 0;
    w.on("stopped", () => void stopped++);
    const run = w.start();
    const a = w.stop();
    const b = w.stop();
    expect(a).toBe(b);
    await Promise.all([a, b, run]);
    expect(stopped).toBe(1);
    expect(w.state).toBe("terminated");
    await expect(w.start()).rejects.toThrow(/create a new Worker/);
  });
});

describe.each(TRANSPORTS)("Worker over %s: dispatch without polling delay", (transport) => {
  // What "without polling delay" means, checked by the order of calls and not by a clock (a loaded
  // machine makes any time bound a flake): every job reaches the worker through a call it already
  // had open when the job was enqueued (gRPC: its one stream; HTTP: a long poll the server held),
  // never through a fetch made afterwards, which a polling worker would make after its poll interval.
  it("a job enqueued while the worker idles is handed to the call the worker already has open (gRPC: its stream, HTTP: a held long poll)", async () => {
    const queue = uniqueQueue("latency");
    const client = new Client({ url: ctx.url, transport });
    const calls = recordedCalls(transport === "grpc" ? new GrpcTransport({ url: ctx.url }) : new HttpTransport({ url: ctx.url }));
    const started = new Set<string>();
    // The watchdog stays out of it: its cross-check of an idle stream is a fetch.
    const w = new Worker({ transport: calls.transport, queues: [queue], handleSignals: false, watchdogIntervalMs: 600_000 });
    w.register("t.ping", (c) => void started.add(c.jobId));
    void w.start();
    // Idle: the worker has its stream or long poll open, and nothing to do.
    await eventually(() => calls.fetches.length + calls.streamsOpenedAt.length > 0);
    const enqueuedAt = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const before = calls.tick();
      const job = await client.enqueue("t.ping", [i], { queue });
      enqueuedAt.set(job.id, before);
      await eventually(() => started.has(job.id), 10_000, 1);
      await sleep(10);
    }
    await w.stop();
    if (transport === "grpc") {
      expect(calls.fetches).toEqual([]);
      expect(calls.streamsOpenedAt).toHaveLength(1);
      expect(calls.streamsOpenedAt[0]).toBeLessThan(Math.min(...enqueuedAt.values()));
    } else {
      expect(calls.streamsOpenedAt).toEqual([]);
      for (const [id, at] of enqueuedAt) {
        const by = calls.fetches.find((f) => f.ids.includes(id));
        expect(by, `job ${id} came by no fetch`).toBeDefined();
        expect(by!.waitMs ?? 0, "a long poll").toBeGreaterThan(0);
        expect(by!.at, "asked before the job was enqueued").toBeLessThan(at);
      }
    }
    await calls.transport.close();
    await client.close();
  });
});

/**
 * Wraps a real transport and numbers its fetch calls and stream opens in one
 * sequence with the test's own marks (tick()), to say which came first.
 */
function recordedCalls(inner: Transport) {
  let seq = 0;
  const fetches: Array<{ at: number; waitMs: number | undefined; ids: string[] }> = [];
  const streamsOpenedAt: number[] = [];
  const wrapped: Transport = Object.create(inner) as Transport;
  wrapped.fetch = async (req, opts) => {
    const call = { at: ++seq, waitMs: req.waitMs, ids: [] as string[] };
    fetches.push(call);
    const jobs = await inner.fetch(req, opts);
    call.ids = jobs.map((j) => j.id);
    return jobs;
  };
  if (inner.streamJobs) {
    wrapped.streamJobs = (req, opts) => {
      streamsOpenedAt.push(++seq);
      return inner.streamJobs!(req, opts);
    };
  }
  wrapped.close = () => inner.close();
  return { transport: wrapped, fetches, streamsOpenedAt, tick: () => ++seq };
}

describe("HTTP long poll (fetch with wait_ms)", () => {
  it("holds an empty fetch until work arrives, and a client that leaves gets nothing claimed for it", async () => {
    const { HttpTransport } = await import("../../src/transport/http/transport.js");
    const t = new HttpTransport({ url: ctx.url });
    const client = new Client({ url: ctx.url });
    const queue = uniqueQueue("lp");
    const t0 = Date.now();
    const pending = t.fetch({ queues: [queue], count: 2, workerId: "lp-worker", waitMs: 5000 });
    await sleep(150);
    const job = await client.enqueue("t.lp", [], { queue });
    const got = await pending;
    expect(got.map((j) => j.id)).toEqual([job.id]);
    expect(Date.now() - t0).toBeLessThan(2000);
    // Nothing arrives: the server answers empty once the wait is over.
    const t1 = Date.now();
    expect(await t.fetch({ queues: [queue], count: 1, workerId: "lp-worker", waitMs: 300 })).toEqual([]);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(250);
    // The client gives up mid-wait: a job enqueued afterwards is not lost to it.
    const abort = new AbortController();
    const gone = t.fetch({ queues: [queue], count: 1, workerId: "lp-gone", waitMs: 5000 }, { signal: abort.signal }).catch((e: unknown) => e);
    await sleep(100);
    abort.abort();
    await gone;
    await sleep(50);
    const later = await client.enqueue("t.lp", [], { queue });
    await sleep(50);
    expect((await client.getJob(later.id)).state).toBe("available");
    await t.close();
    await client.close();
  });
});
