/**
 * Streams that cannot hoard (issue 10, item 2), over real sockets: silent and
 * abandoned StreamJobs calls, a half-open link and a stale stream after a
 * reconnect (through a proxy that freezes). Each test shows its fault happened
 * (a counter of the server, an event of the worker) and that no job was
 * discarded: every job has maxAttempts 1, so one charged attempt would discard it.
 */
import type { ClientHttp2Session } from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { Client, Worker, type Job } from "../../src/index.js";
import type { OjsServer } from "../../src/server/index.js";
import { eventually, TRANSPORTS, uniqueQueue, useServer } from "../helpers.js";
import { Proxy } from "../support/proxy.js";
import { AbandonedStream, h2Session } from "../support/raw-stream.js";
import { serverCore } from "../../src/server/internal.js";

const once = { maxAttempts: 1 };

function enqueue(client: Client, queue: string, n: number): Promise<Job[]> {
  return client.enqueueBatch(Array.from({ length: n }, (_, i) => ({ type: "t.s", args: [i], options: { queue, retry: once } })));
}

async function states(client: Client, jobs: Job[]): Promise<Record<string, number>> {
  const all = await Promise.all(jobs.map((j) => client.getJob(j.id)));
  return all.reduce<Record<string, number>>((acc, j) => ((acc[j.state] = (acc[j.state] ?? 0) + 1), acc), {});
}

/** Jobs of a queue by state, read from the server's job store in process (whichever store it runs): cheap enough to poll. */
async function counts(server: OjsServer, queue: string): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(await serverCore(server).jobs.countByState(queue)).filter(([, n]) => n > 0));
}

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe("a StreamJobs call that receives jobs but never settles them", () => {
  const ctx = useServer({ visibilityTimeoutMs: 300 });

  it("is closed (UNAVAILABLE) at its first expired lease, gets no more jobs, and its jobs go back without using an attempt", async () => {
    const client = new Client({ url: ctx.url, transport: "http" });
    cleanup.push(() => client.close());
    const queue = uniqueQueue("silent");
    const jobs = await enqueue(client, queue, 20);
    const session = await h2Session(ctx.url);
    cleanup.push(() => session.destroy());
    const s = new AbandonedStream(session, { queues: [queue], workerId: "silent", maxConcurrent: 5 });
    await eventually(() => s.ended, 5000);
    expect(s.status).toBe("14");
    expect(serverCore(ctx.server).counters.get("streams.stale.lease")).toBe(1);
    // Before: the slot went back to the same silent stream, 5 jobs at a time, each round an attempt.
    expect(s.received).toBe(5);
    await eventually(async () => (await counts(ctx.server, queue)).available === 20, 5000);
    for (const j of await Promise.all(jobs.map((x) => client.getJob(x.id)))) expect(j).toMatchObject({ attempt: 0, errors: [] });
  });
});

describe("workers that crash right after receiving their jobs", () => {
  const ctx = useServer({ visibilityTimeoutMs: 300 });

  it("three crashes holding 10 jobs each: all 30 jobs go back without using an attempt (maxAttempts 1: none discarded)", async () => {
    const client = new Client({ url: ctx.url, transport: "http" });
    cleanup.push(() => client.close());
    const queue = uniqueQueue("crash");
    const jobs = await enqueue(client, queue, 30);
    for (let i = 0; i < 3; i++) {
      const session = await h2Session(ctx.url);
      const s = new AbandonedStream(session, { queues: [queue], workerId: `crashing-${i}`, maxConcurrent: 10 });
      await eventually(() => s.received === 10, 5000);
      // The process dies: its connection goes, the jobs it received were never started.
      session.destroy();
    }
    await eventually(async () => (await counts(ctx.server, queue)).available === 30, 5000);
    const reclaimed = await serverCore(ctx.server).jobs.recentEvents({ types: ["job.reclaimed"], queues: [queue] }, 1000);
    expect(reclaimed.length).toBe(30);
    expect(reclaimed.every((e) => (e.data as { charged?: boolean }).charged === false)).toBe(true);
    for (const j of await Promise.all(jobs.map((x) => client.getJob(x.id)))) expect(j).toMatchObject({ state: "available", attempt: 0, errors: [] });
  });
});

describe.each(TRANSPORTS)("500 abandoned StreamJobs calls and a real worker over %s", (transport) => {
  const ctx = useServer({ visibilityTimeoutMs: 1000 });

  it("do not starve the worker: all 1 000 jobs complete, none discarded or charged an attempt", async () => {
    const client = new Client({ url: ctx.url, transport: "http" });
    cleanup.push(() => client.close());
    const queue = uniqueQueue("abandoned");
    const jobs = [...(await enqueue(client, queue, 500)), ...(await enqueue(client, queue, 500))];
    const sessions: ClientHttp2Session[] = [];
    for (let i = 0; i < 4; i++) sessions.push(await h2Session(ctx.url));
    cleanup.push(() => sessions.forEach((s) => s.destroy()));
    const abandoned = Array.from({ length: 500 }, (_, i) => new AbandonedStream(sessions[i % 4]!, { queues: [queue], workerId: `abandoned-${i}` }));
    await eventually(() => abandoned.reduce((n, s) => n + s.received, 0) === 500, 10_000);

    const worker = new Worker({
      url: ctx.url,
      transport,
      queues: [queue],
      concurrency: 20,
      handleSignals: false,
      heartbeatIntervalMs: 300,
      pollIntervalMs: 50,
      // Its own leases are long: only the abandoned streams' (the server's 1 s) are meant to run out,
      // and a 1 s lease on the real worker's jobs left a loaded machine no slack before a second attempt.
      visibilityTimeoutMs: 10_000,
    });
    let ran = 0;
    worker.register("t.s", async () => void ran++);
    void worker.start();
    cleanup.push(() => worker.stop());
    await eventually(async () => (await counts(ctx.server, queue)).completed === 1000, 40_000, 50);
    expect(ran).toBe(1000);
    // The fault happened: every abandoned stream held a job until its lease ran out, and was then closed.
    expect(serverCore(ctx.server).counters.get("streams.stale.lease")).toBe(500);
    expect(abandoned.every((s) => s.received === 1 && s.status === "14")).toBe(true);
    for (const j of await Promise.all(jobs.map((x) => client.getJob(x.id)))) expect(j).toMatchObject({ attempt: 1, errors: [] });
  }, 60_000);
});

describe("a gRPC worker behind a link that freezes (no byte passes, the sockets stay open)", () => {
  const ctx = useServer({ visibilityTimeoutMs: 2000, keepaliveIntervalMs: 200, keepaliveTimeoutMs: 300 });

  it("keepalive notices on both sides within a second; every job completes, none discarded", async () => {
    const proxy = await Proxy.start(ctx.url);
    cleanup.push(() => proxy.close());
    const client = new Client({ url: ctx.url, transport: "http" });
    cleanup.push(() => client.close());
    const queue = uniqueQueue("halfopen");
    const jobs = await enqueue(client, queue, 40);
    const worker = new Worker({
      url: proxy.url,
      transport: "grpc",
      queues: [queue],
      concurrency: 5,
      handleSignals: false,
      heartbeatIntervalMs: 300,
      visibilityTimeoutMs: 2000,
      keepaliveIntervalMs: 200,
      keepaliveTimeoutMs: 300,
    });
    let completed = 0;
    const reconnects: number[] = [];
    worker.on("job.completed", () => completed++);
    worker.on("stream.reconnect", () => reconnects.push(Date.now()));
    worker.register("t.s", () => new Promise((r) => setTimeout(r, 50)));
    void worker.start();
    cleanup.push(() => worker.stop());
    await eventually(() => completed >= 10, 10_000);
    const frozenAt = Date.now();
    expect(proxy.freeze()).toBeGreaterThan(0);
    await eventually(async () => (await counts(ctx.server, queue)).completed === 40, 30_000, 50);
    // The fault happened and was noticed by pings, not by TCP (which takes minutes) nor a 25 s ping cycle.
    expect(serverCore(ctx.server).counters.get("connections.keepalive_timeout")).toBeGreaterThanOrEqual(1);
    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    expect(reconnects[0]! - frozenAt).toBeLessThan(5000);
    expect(await states(client, jobs)).toEqual({ completed: 40 });
  }, 50_000);

  it("a stale stream the server has not noticed yet is replaced by the worker's new one: none discarded", async () => {
    // The server does not ping here (an hour), so only the worker notices the frozen link.
    const server = await (await import("../../src/server/index.js")).startServer({ port: 0, visibilityTimeoutMs: 1500, keepaliveIntervalMs: 3_600_000 });
    cleanup.push(() => server.close());
    const proxy = await Proxy.start(server.url);
    cleanup.push(() => proxy.close());
    const client = new Client({ url: server.url, transport: "http" });
    cleanup.push(() => client.close());
    const queue = uniqueQueue("stale");
    const jobs = await enqueue(client, queue, 30);
    const worker = new Worker({
      url: proxy.url,
      transport: "grpc",
      queues: [queue],
      concurrency: 5,
      handleSignals: false,
      heartbeatIntervalMs: 300,
      visibilityTimeoutMs: 1500,
      keepaliveIntervalMs: 200,
      keepaliveTimeoutMs: 300,
    });
    let completed = 0;
    worker.on("job.completed", () => completed++);
    worker.register("t.s", () => new Promise((r) => setTimeout(r, 50)));
    void worker.start();
    cleanup.push(() => worker.stop());
    await eventually(() => completed >= 10, 10_000);
    proxy.freeze();
    await eventually(async () => (await counts(server, queue)).completed === 30, 30_000, 50);
    expect(serverCore(server).counters.get("streams.stale.superseded")).toBeGreaterThanOrEqual(1);
    expect(await states(client, jobs)).toEqual({ completed: 30 });
  }, 50_000);
});

describe("the start signal of a pushed job", () => {
  const ctx = useServer();

  it("a gRPC worker sends it over the fast path when the handler begins, long before any heartbeat", async () => {
    const client = new Client({ url: ctx.url, transport: "http" });
    cleanup.push(() => client.close());
    const queue = uniqueQueue("start");
    const [job] = await enqueue(client, queue, 1);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const worker = new Worker({ url: ctx.url, transport: "grpc", queues: [queue], handleSignals: false, heartbeatIntervalMs: 60_000 });
    worker.register("t.s", () => gate);
    void worker.start();
    cleanup.push(() => worker.stop());
    cleanup.push(open);
    await eventually(async () => (await serverCore(ctx.server).jobs.get(job!.id)).started, 5000);
    expect((await serverCore(ctx.server).jobs.getWorker(worker.workerId)).reportsStarts).toBe(true);
  });
});
