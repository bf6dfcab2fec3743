/**
 * Faults a worker must survive without losing a job or running one twice: a
 * failing ack or nack, work arriving during shutdown, heartbeats while draining,
 * stream faults, directives, abandoned reservations and cancellation.
 * The server and the connections are real; where a fault cannot be produced on
 * cue by a real server, a wrapper around the real transport injects it.
 */
import { getEventListeners } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, ConnectionError, UnimplementedError, Worker, type Job } from "../../src/index.js";
import { GrpcTransport } from "../../src/transport/grpc/transport.js";
import { HttpTransport } from "../../src/transport/http/transport.js";
import type { Transport } from "../../src/transport/transport.js";
import { faulty } from "../support/faulty-transport.js";
import { Proxy } from "../support/proxy.js";
import { eventually, TRANSPORTS, uniqueQueue, useServer, type TransportName } from "../helpers.js";
import { serverCore } from "../../src/server/internal.js";

const ctx = useServer({ visibilityTimeoutMs: 4000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until every job of the queue is completed, asking with one call at a time (the queue's
 * counts), then reads each job once. Reading hundreds of jobs on every poll starves the worker
 * and the server in this same process on a loaded machine (a round took seconds on two busy cores).
 */
async function allCompleted(client: Client, queue: string, jobs: Job[], timeoutMs: number): Promise<void> {
  await eventually(
    async () => {
      const s = await client.queueStats(queue);
      return s.available + s.active + s.scheduled + s.retryable === 0 && s.completedLastHour >= jobs.length;
    },
    timeoutMs,
    100,
  );
  const states = (await Promise.all(jobs.map((j) => client.getJob(j.id)))).map((j) => j.state);
  expect(states.filter((s) => s !== "completed")).toEqual([]);
}

function transportFor(name: TransportName, url: string): Transport {
  return name === "grpc" ? new GrpcTransport({ url }) : new HttpTransport({ url });
}

describe.each(TRANSPORTS)("worker faults over %s", (name) => {
  let client: Client;
  beforeAll(() => {
    client = new Client({ url: ctx.url, transport: name });
  });
  afterAll(() => client.close());
  const jobState = async (id: string) => (await client.getJob(id)).state;

  it("an ack that fails is never turned into a nack, and the job is not reported failed", async () => {
    const queue = uniqueQueue("ackfail");
    const f = faulty(transportFor(name, ctx.url));
    f.fail("ack", () => new ConnectionError("ack lost"));
    // Retried for 1.5 s (the default, 30 s, outlasts a server restart) and then given up.
    const w = new Worker({ transport: f.transport, queues: [queue], handleSignals: false, settleRetryMs: 1500 });
    let runs = 0;
    const events: string[] = [];
    w.register("t.ok", () => void runs++);
    w.on("job.failed", () => void events.push("failed"));
    w.on("job.settleFailed", (e) => void events.push(`settleFailed:${e.outcome}`));
    void w.start();
    const job = await client.enqueue("t.ok", [], { queue });
    await eventually(() => events.length > 0, 15_000);
    expect(events).toEqual(["settleFailed:ack"]);
    expect(f.calls.nack).toBe(0);
    expect(f.calls.ack).toBeGreaterThan(1); // retried
    expect(f.injected.ack).toBe(f.calls.ack); // and every try failed by the injected fault
    expect(runs).toBe(1);
    expect(await jobState(job.id)).toBe("active"); // left to its visibility timeout, not failed
    await w.stop({ gracePeriodMs: 0 });
    await f.transport.close();
  }, 20_000);

  it("a retry that arrives before the answer to its nack runs after that attempt, not at its lease's end", async () => {
    const queue = uniqueQueue("earlyretry");
    const f = faulty(transportFor(name, ctx.url));
    // The server takes each nack at once; its answer reaches the worker 400 ms later, while the
    // retry is due after 10 ms (a slow disk, a long link): the next attempt arrives first.
    f.answerLate("nack", 400);
    const w = new Worker({ transport: f.transport, queues: [queue], handleSignals: false });
    const runs: number[] = [];
    w.register("t.again", (c) => {
      runs.push(c.attempt);
      if (c.attempt === 1) throw new Error("once");
    });
    void w.start();
    try {
      const started = Date.now();
      const job = await client.enqueue("t.again", [], { queue, retry: { maxAttempts: 3, initialInterval: 10, jitter: false } });
      // The lease is 4 s (useServer above): a dropped delivery would come back only after it.
      await eventually(async () => (await jobState(job.id)) === "completed", 3_000);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(runs).toEqual([1, 2]);
      expect(f.heldAnswers.nack).toBe(1);
      expect((await client.getJob(job.id)).attempt).toBe(2);
    } finally {
      await w.stop({ gracePeriodMs: 0 });
      await f.transport.close();
    }
  }, 20_000);

  it("a listener that throws on job.completed does not fail the job", async () => {
    const queue = uniqueQueue("listener");
    const w = new Worker({ url: ctx.url, transport: name, queues: [queue], handleSignals: false });
    const errors: unknown[] = [];
    w.register("t.ok", () => "fine");
    w.on("job.completed", () => {
      throw new Error("listener bug");
    });
    w.on("error", (e) => void errors.push(e.context));
    void w.start();
    const job = await client.enqueue("t.ok", [], { queue });
    await eventually(async () => (await jobState(job.id)) === "completed");
    await sleep(50);
    expect(await jobState(job.id)).toBe("completed");
    expect(errors).toEqual(["listener of job.completed"]);
    await w.stop();
  });

  it("a nack that keeps failing does not crash the process (no unhandled rejection)", async () => {
    const queue = uniqueQueue("nackfail");
    const f = faulty(transportFor(name, ctx.url));
    f.fail("nack", () => new ConnectionError("server gone"));
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    const w = new Worker({ transport: f.transport, queues: [queue], handleSignals: false, settleRetryMs: 1500 });
    const settleFailed: string[] = [];
    w.register("t.fail", () => {
      throw new Error("boom");
    });
    w.on("job.settleFailed", (e) => void settleFailed.push(e.outcome));
    void w.start();
    await client.enqueue("t.fail", [], { queue });
    await eventually(() => settleFailed.length === 1, 15_000);
    await sleep(100);
    process.off("unhandledRejection", onUnhandled);
    expect(unhandled).toEqual([]);
    expect(settleFailed).toEqual(["nack"]);
    expect(f.injected.nack).toBeGreaterThan(1); // the fault happened, on every retry
    expect(f.injected.nack).toBe(f.calls.nack);
    await w.stop({ gracePeriodMs: 0 });
    await f.transport.close();
  }, 20_000);

  it("jobs that arrive after stop() began are handed back, not orphaned", async () => {
    const queue = uniqueQueue("orphan");
    const f = faulty(transportFor(name, ctx.url));
    // The server claims the jobs at once, but the answer reaches the worker only after
    // stop() began (and cancelled the call): the jobs are the worker's, and it must hand them back.
    f.holdFetchAnswers(300);
    const w = new Worker({ transport: f.transport, queues: [queue], handleSignals: false, dispatch: "poll" });
    let runs = 0;
    w.register("t.x", () => void runs++);
    const jobs = await client.enqueueBatch(Array.from({ length: 5 }, () => ({ type: "t.x", args: [], options: { queue } })));
    const claimed = f.claimed();
    const run = w.start();
    expect((await claimed).map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
    await w.stop({ gracePeriodMs: 2000 });
    await run;
    // The fault happened: all five were delivered to a caller that had already given up.
    expect(f.late).toEqual({ answers: 1, jobs: 5 });
    expect(runs).toBe(0);
    // Never started, so requeued: available again at once, the attempt not counted, no failure recorded.
    for (const j of jobs) expect(await client.getJob(j.id)).toMatchObject({ state: "available", attempt: 0, errors: [] });
    await f.transport.close();
  });

  it("jobs handed over beyond the free slots wait in the backlog, and are handed back unrun when stop() begins", async () => {
    const queue = uniqueQueue("backlog");
    const f = faulty(transportFor(name, ctx.url));
    // More jobs than free slots in one answer: what a stream's credit allows when a job was
    // failed after an ignored abort and its handler still holds the slot.
    f.overdeliver(2);
    const w = new Worker({ transport: f.transport, queues: [queue], handleSignals: false, dispatch: "poll", concurrency: 1, heartbeatIntervalMs: 100 });
    const started: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    w.register("t.x", async (c) => {
      started.push(c.jobId);
      await held;
    });
    const jobs = await client.enqueueBatch(Array.from({ length: 3 }, () => ({ type: "t.x", args: [], options: { queue } })));
    const run = w.start();
    await eventually(() => started.length === 1);
    expect(f.overdelivered).toEqual({ calls: 1, jobs: 2 });
    const waiting = jobs.filter((j) => j.id !== started[0]);
    const stopping = w.stop({ gracePeriodMs: 5000 });
    // Handed back at once, while the running job still drains.
    await eventually(async () => (await Promise.all(waiting.map((j) => jobState(j.id)))).every((s) => s !== "active"), 3000);
    release();
    await stopping;
    await run;
    expect(started).toHaveLength(1);
    expect(await jobState(started[0]!)).toBe("completed");
    // Never started, so requeued: available again at once, the attempt not counted, no failure recorded.
    for (const j of waiting) expect(await client.getJob(j.id)).toMatchObject({ state: "available", attempt: 0, errors: [] });
    await f.transport.close();
  });

  it("heartbeats continue while draining, and what is left at the end of the grace period is failed with shutdown", async () => {
    const queue = uniqueQueue("drain");
    const f = faulty(transportFor(name, ctx.url));
    // Slack for a loaded machine: a lease of 1.5 s renewed every 100 ms, a drain that ends 1.5 s before the grace does.
    const w = new Worker({
      transport: f.transport,
      queues: [queue],
      handleSignals: false,
      visibilityTimeoutMs: 1500,
      heartbeatIntervalMs: 100,
      concurrency: 2,
    });
    let finished = 0;
    w.register("t.drains", async () => {
      await sleep(2000); // longer than the visibility timeout: only heartbeats keep it ours
      finished++;
    });
    w.register("t.stuck", async () => {
      await sleep(10_000); // ignores its signal, outlives the grace period
    });
    void w.start();
    const drains = await client.enqueue("t.drains", [], { queue });
    const stuck = await client.enqueue("t.stuck", [], { queue, retry: { maxAttempts: 3, initialInterval: 60_000 } });
    await eventually(async () => (await jobState(stuck.id)) === "active" && (await jobState(drains.id)) === "active");
    const t0 = Date.now();
    const beatsBefore = f.calls.heartbeat;
    await w.stop({ gracePeriodMs: 3500 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3400);
    // Beats went on through the drain (every 100 ms for 3.5 s), not just the final one.
    expect(f.calls.heartbeat - beatsBefore).toBeGreaterThanOrEqual(5);
    const d = await client.getJob(drains.id);
    expect(d.state).toBe("completed");
    expect(d.attempt).toBe(1); // never reclaimed during the drain
    expect(finished).toBe(1);
    const s = await client.getJob(stuck.id);
    expect(s.state).toBe("retryable");
    expect(s.errors.at(-1)).toMatchObject({ code: "shutdown", retryable: true });
    await f.transport.close();
  });

  it("job timeouts are milliseconds in the model (a 2 s job timeout does not abort after 2 ms)", async () => {
    const queue = uniqueQueue("units");
    const w = new Worker({ url: ctx.url, transport: name, queues: [queue], handleSignals: false });
    w.register("t.unit", async (c) => {
      await sleep(100);
      return c.signal.aborted;
    });
    void w.start();
    const job = await client.enqueue("t.unit", [], { queue, timeout: "PT2S" });
    expect(job.timeout).toBe(2000);
    await eventually(async () => (await jobState(job.id)) === "completed");
    expect((await client.getJob(job.id)).result).toBe(false);
    await w.stop();
  });

  it("calls with one long-lived AbortSignal leave no listener behind", async () => {
    const t = transportFor(name, ctx.url);
    const signal = new AbortController().signal;
    for (let i = 0; i < 200; i++) await t.health({ signal });
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
    await t.close();
  });

  it("a stopped worker does not restart, and concurrent stop() calls share one shutdown", async () => {
    const w = new Worker({ url: ctx.url, transport: name, queues: [uniqueQueue()], handleSignals: false });
    w.register("t.x", () => null);
    const run = w.start();
    let stopped = 0;
    w.on("stopped", () => void stopped++);
    await Promise.all([w.stop(), w.stop(), w.stop()]);
    await run;
    expect(stopped).toBe(1);
    await expect(w.start()).rejects.toThrow();
  });
});

describe("stream faults (gRPC)", () => {
  it("a stream cut mid-run reconnects, and every job completes exactly once", async () => {
    const proxy = await Proxy.start(ctx.url);
    const queue = uniqueQueue("cut");
    const client = new Client({ url: ctx.url });
    const w = new Worker({ url: proxy.url, queues: [queue], concurrency: 8, handleSignals: false, heartbeatIntervalMs: 200, visibilityTimeoutMs: 1500 });
    const runs = new Map<string, number>();
    let reconnects = 0;
    w.register("t.work", async (c) => {
      runs.set(c.jobId, (runs.get(c.jobId) ?? 0) + 1);
      await sleep(5);
    });
    w.on("stream.reconnect", () => void reconnects++);
    void w.start();
    const N = 300;
    const jobs = await client.enqueueBatch(Array.from({ length: N }, (_, i) => ({ type: "t.work", args: [i], options: { queue } })));
    await eventually(() => runs.size > 60, 10_000, 1);
    expect(proxy.cut()).toBeGreaterThan(0); // the worker's connection was among those broken
    await eventually(() => runs.size > 180, 15_000, 1);
    expect(proxy.cut()).toBeGreaterThan(0);
    await allCompleted(client, queue, jobs, 20_000);
    expect(reconnects).toBeGreaterThanOrEqual(1);
    expect(runs.size).toBe(N);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    await w.stop();
    await client.close();
    await proxy.close();
  }, 40_000);

  it("watchdog: a stream that stops pushing while slots are free is detected, and the work gets done", async () => {
    const queue = uniqueQueue("stall");
    const client = new Client({ url: ctx.url });
    const f = faulty(new GrpcTransport({ url: ctx.url }));
    // An official backend bug: the stream stays open but never pushes again.
    f.overrideStream(async function* (_req, opts) {
      await new Promise<void>((resolve) => opts.signal.addEventListener("abort", () => resolve(), { once: true }));
    });
    const w = new Worker({ transport: f.transport, queues: [queue], handleSignals: false, watchdogIntervalMs: 200 });
    const done: string[] = [];
    w.register("t.w", (c) => void done.push(c.jobId));
    void w.start();
    await client.enqueueBatch(Array.from({ length: 5 }, () => ({ type: "t.w", args: [], options: { queue } })));
    await eventually(() => done.length === 5, 10_000);
    expect(f.calls.streamJobs).toBeGreaterThan(0); // the silent stream was opened
    expect(f.calls.fetch).toBeGreaterThan(0); // and the watchdog's fetch found the work
    await w.stop();
    await f.transport.close();
    await client.close();
  });

  it("falls back to polling when the server answers StreamJobs with UNIMPLEMENTED", async () => {
    const queue = uniqueQueue("fallback");
    const client = new Client({ url: ctx.url });
    const f = faulty(new GrpcTransport({ url: ctx.url }));
    f.fail("streamJobs", () => new UnimplementedError("StreamJobs is not implemented"));
    const w = new Worker({ transport: f.transport, queues: [queue], handleSignals: false });
    const fallbacks: string[] = [];
    const done: string[] = [];
    w.on("dispatch.fallback", (e) => void fallbacks.push(e.to));
    w.register("t.p", (c) => void done.push(c.jobId));
    void w.start();
    await client.enqueue("t.p", [], { queue });
    await eventually(() => done.length === 1, 5000);
    expect(fallbacks).toEqual(["poll"]);
    expect(f.injected.streamJobs).toBe(1);
    expect(f.calls.fetch).toBeGreaterThan(0); // the job came by polling
    await w.stop();
    await f.transport.close();
    await client.close();
  });
});

describe("directives from servers that answer like the official backends", () => {
  let stub: Server;
  let url = "";
  let directive = "quiet";
  beforeAll(async () => {
    // The reference backends answer a heartbeat with {"state":"active","directive":"quiet"}.
    stub = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        if (req.url === "/ojs/v1/workers/heartbeat") res.end(JSON.stringify({ state: "active", directive }));
        else if (req.url === "/ojs/v1/workers/fetch") res.end(JSON.stringify({ jobs: [] }));
        else res.end("{}");
      });
    });
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => stub.close(() => r())));

  it("the directive is read from `directive` as well as `state`", async () => {
    const w = new Worker({ url, transport: "http", queues: ["default"], handleSignals: false, heartbeatIntervalMs: 50 });
    w.register("t.x", () => null);
    void w.start();
    await eventually(() => w.state === "quiet");
    directive = "terminate";
    await eventually(() => w.state === "terminated");
  });
});

describe("abandoned job reservations", () => {
  it("a job whose worker died is handed out again after its visibility timeout and completes", async () => {
    const queue = uniqueQueue("crash");
    const client = new Client({ url: ctx.url });
    const job: Job = await client.enqueue("t.crash", [], { queue, visibilityTimeout: 300 });
    const [taken] = await client.transport.fetch({ queues: [queue], count: 1, workerId: "crashed-worker", visibilityTimeoutMs: 300 });
    expect(taken!.id).toBe(job.id);
    const w = new Worker({ url: ctx.url, queues: [queue], handleSignals: false });
    w.register("t.crash", () => "recovered");
    void w.start();
    await eventually(async () => (await client.getJob(job.id)).state === "completed", 5000);
    const j = await client.getJob(job.id);
    expect(j.attempt).toBe(2);
    expect(j.result).toBe("recovered");
    await w.stop();
    await client.close();
  });
});

describe("streams ended by the server", () => {
  it("the server ends every job stream mid-run: the worker reopens it, and every job completes exactly once", async () => {
    const queue = uniqueQueue("srvend");
    const client = new Client({ url: ctx.url });
    const f = faulty(new GrpcTransport({ url: ctx.url }));
    // The watchdog stays out of it (its probe is a fetch): every job must come over a stream, the reopened one.
    const w = new Worker({
      transport: f.transport,
      queues: [queue],
      concurrency: 8,
      handleSignals: false,
      heartbeatIntervalMs: 200,
      watchdogIntervalMs: 600_000,
    });
    const runs = new Map<string, number>();
    w.register("t.work", async (c) => {
      runs.set(c.jobId, (runs.get(c.jobId) ?? 0) + 1);
      await sleep(3);
    });
    void w.start();
    const jobs = await client.enqueueBatch(Array.from({ length: 200 }, (_, i) => ({ type: "t.work", args: [i], options: { queue } })));
    await eventually(() => runs.size > 50, 10_000, 1);
    // What the server does to its streams when it shuts down or sheds load: it ends them.
    const ended = [...serverCore(ctx.server).streams];
    const opensBefore = f.calls.streamJobs;
    for (const stop of ended) stop();
    await allCompleted(client, queue, jobs, 20_000);
    expect(ended.length).toBeGreaterThan(0); // the worker's stream was among those ended
    expect(f.calls.streamJobs).toBeGreaterThan(opensBefore); // and the worker reopened it
    expect(f.calls.fetch).toBe(0); // the rest came over the reopened stream, not by polling
    expect(runs.size).toBe(200);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    await w.stop();
    await f.transport.close();
    await client.close();
  }, 30_000);
});

describe.each(TRANSPORTS)("cancelling a running job over %s", (name) => {
  it("aborts the handler's signal at the worker's next heartbeat, and the job stays cancelled", async () => {
    const queue = uniqueQueue("cancel-run");
    const client = new Client({ url: ctx.url, transport: name });
    const f = faulty(transportFor(name, ctx.url));
    const w = new Worker({ transport: f.transport, queues: [queue], handleSignals: false, heartbeatIntervalMs: 100 });
    const settleFailed: string[] = [];
    w.on("job.settleFailed", (e) => void settleFailed.push(e.outcome));
    let returned = false;
    let reason: unknown;
    const cancelled: string[] = [];
    w.on("job.cancelled", (e) => void cancelled.push(e.job.id));
    w.register("t.long", async (c) => {
      await new Promise((resolve) => c.signal.addEventListener("abort", () => resolve((reason = c.signal.reason))));
      returned = true; // the handler returns normally: the cancelled job must not be acked all the same
      return "too late";
    });
    void w.start();
    const job = await client.enqueue("t.long", [], { queue });
    await eventually(async () => (await client.getJob(job.id)).state === "active");
    await client.cancelJob(job.id);
    await eventually(() => cancelled.length === 1, 5000);
    expect(cancelled).toEqual([job.id]);
    expect((reason as Error).name).toBe("JobCancelledError");
    await eventually(() => returned);
    await sleep(100);
    expect((await client.getJob(job.id)).state).toBe("cancelled");
    // The server cancelled it: the worker settles nothing (neither an ack nor a nack is even tried).
    expect(f.calls.ack + f.calls.nack).toBe(0);
    expect(settleFailed).toEqual([]);
    await w.stop();
    await f.transport.close();
    await client.close();
  });
});
