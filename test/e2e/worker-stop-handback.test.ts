/**
 * A graceful stop strands no job that the server handed the worker at that
 * moment (issue: "nothing lost or stranded on a graceful stop"), over real
 * sockets. Worker A connects through a proxy that can hold back the server's
 * replies, so a job is handed to A but not yet received; A's lease is 30 s,
 * so a job left to it would wait that long. Each test shows its fault happened
 * (A's `job.released` event, or the server's `streams.released.unread` count)
 * and that another worker ran the job within a couple of seconds, its attempt
 * not counted. Run over each store by the .journal and .postgres files.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Client, Job, Worker } from "../../src/index.js";
import { serverCore } from "../../src/server/internal.js";
import { client, eventually, TRANSPORTS, uniqueQueue, useServer, worker, type TransportName } from "../helpers.js";
import { Proxy } from "../support/proxy.js";

const LEASE_MS = 30_000;
const ctx = useServer({ visibilityTimeoutMs: LEASE_MS });

interface Run {
  proxy: Proxy;
  c: Client;
  a: Worker;
  queue: string;
  /** Jobs A handed back (its job.released events). */
  released: string[];
  /** Jobs A started. */
  startedOnA: string[];
}

const open: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** Worker A through the proxy, with one job run to the end, so that its stream (or long poll) is open. */
async function startA(transport: TransportName): Promise<Run> {
  const proxy = await Proxy.start(ctx.url);
  open.push(() => proxy.close());
  const c = client(ctx.url, transport);
  open.push(() => c.close());
  const queue = uniqueQueue("handback");
  const a = worker(proxy.url, transport, {
    queues: [queue],
    concurrency: 2,
    visibilityTimeoutMs: LEASE_MS,
    gracePeriodMs: 5_000,
    hardDeadlineMs: 0,
    logger: false,
  });
  const released: string[] = [];
  const startedOnA: string[] = [];
  a.register("t.stop", () => "a");
  a.on("job.released", ({ job }) => released.push(job.id));
  a.on("job.started", ({ job }) => startedOnA.push(job.id));
  void a.start();
  open.push(() => a.stop());
  const warm = await c.enqueue("t.stop", ["warm"], { queue });
  expect((await c.waitForJob(warm.id, { timeoutMs: 10_000 })).state).toBe("completed");
  return { proxy, c, a, queue, released, startedOnA };
}

/** Enqueues one job and waits until the server has handed it to A (active), while A cannot have received it. */
async function handedToA(run: Run): Promise<Job> {
  expect(run.proxy.holdReplies()).toBeGreaterThan(0);
  const job = await run.c.enqueue("t.stop", ["j"], { queue: run.queue, retry: { maxAttempts: 3, initialInterval: 60_000 } });
  await eventually(async () => (await run.c.getJob(job.id)).state === "active", 5_000);
  return job;
}

/** Worker B, straight to the server: which jobs it ran, with their attempt. */
function startB(transport: TransportName, queue: string): Map<string, number> {
  const ran = new Map<string, number>();
  const b = worker(ctx.url, transport, { queues: [queue] });
  b.register("t.stop", (jc) => {
    ran.set(jc.jobId, jc.attempt);
    return "b";
  });
  void b.start();
  open.push(() => b.stop());
  return ran;
}

describe.each(TRANSPORTS)("a graceful stop over %s", (transport) => {
  it("hands back at once a job received while stopping, without counting its attempt", async () => {
    const run = await startA(transport);
    const job = await handedToA(run);
    // The job reaches A just as it starts stopping: it must not run, and must not wait out its lease.
    run.a.on("stopping", () => run.proxy.thaw());
    const stopped = run.a.stop();
    const ran = startB(transport, run.queue);
    await eventually(() => ran.has(job.id), 2_500);
    // The event follows the server's answer, which a durable store gives once the requeue is on disk.
    await stopped;
    expect(run.released).toEqual([job.id]);
    expect(run.startedOnA).not.toContain(job.id);
    expect(ran.get(job.id)).toBe(1);
    const done = await run.c.waitForJob(job.id, { timeoutMs: 5_000 });
    expect(done).toMatchObject({ state: "completed", attempt: 1, errors: [] });
  }, 30_000);
});

describe("a graceful stop over grpc, a pushed job still on the wire", () => {
  it("is given back by the server when the stream ends, without counting its attempt", async () => {
    const counters = serverCore(ctx.server).counters;
    const before = counters.get("streams.released.unread") ?? 0;
    const run = await startA("grpc");
    const job = await handedToA(run);
    // A never receives it: the server's replies stay held while A says it stops and ends its stream.
    const stopped = run.a.stop();
    const ran = startB("grpc", run.queue);
    await eventually(() => ran.has(job.id), 3_500);
    // Counted once the store answered, which with PostgreSQL is after the commit that let B take it.
    await eventually(() => (counters.get("streams.released.unread") ?? 0) - before === 1, 2_000);
    expect(run.released).toEqual([]);
    expect(ran.get(job.id)).toBe(1);
    const done = await run.c.waitForJob(job.id, { timeoutMs: 5_000 });
    expect(done).toMatchObject({ state: "completed", attempt: 1, errors: [] });
    run.proxy.cut();
    await stopped;
  }, 30_000);
});

describe.each(TRANSPORTS)("a graceful stop over %s, a job already running", (transport) => {
  it("is not given to another worker while it runs, even before any heartbeat said it started", async () => {
    const c = client(ctx.url, transport);
    open.push(() => c.close());
    const queue = uniqueQueue("running");
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const a = worker(ctx.url, transport, { queues: [queue], visibilityTimeoutMs: LEASE_MS, gracePeriodMs: 10_000, heartbeatIntervalMs: 60_000 });
    a.register("t.stop", () => gate.then(() => "a"));
    void a.start();
    open.push(() => a.stop());
    const job = await c.enqueue("t.stop", [], { queue });
    await eventually(() => a.activeJobIds.includes(job.id));
    // Stopped before any periodic heartbeat: only the stop's own says A holds the job.
    const stopped = a.stop();
    const ran = startB(transport, queue);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(ran.has(job.id)).toBe(false);
    finish();
    await stopped;
    expect(await c.getJob(job.id)).toMatchObject({ state: "completed", attempt: 1, result: "a" });
    expect(ran.has(job.id)).toBe(false);
  }, 30_000);
});
