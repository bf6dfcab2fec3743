/**
 * Issue 13 item 5: after repeated stalls of StreamJobs the worker polls with
 * Fetch for a while, says so once, and then tries the stream again. The stall
 * is a real server's stream made silent by a fault wrapper (what the official
 * Go backends do); every stall and every stream opened is counted.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Client, Worker } from "../../src/index.js";
import { GrpcTransport } from "../../src/transport/grpc/transport.js";
import { StallPolicy } from "../../src/worker/stall-policy.js";
import { ValidationError } from "../../src/model/errors.js";
import { faulty } from "../support/faulty-transport.js";
import { eventually, uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer({ visibilityTimeoutMs: 4000 });

describe("StallPolicy", () => {
  it("falls back at the count-th stall within the window, and starts counting afresh after", () => {
    let t = 0;
    const p = new StallPolicy({ count: 3, withinMs: 1000, pollForMs: 5000 }, () => t);
    expect(p.recordStall()).toBeUndefined();
    t = 400;
    expect(p.recordStall()).toBeUndefined();
    t = 900;
    const f = p.recordStall();
    expect(f).toMatchObject({ stalls: 3, withinMs: 1000, pollForMs: 5000 });
    expect(f!.message).toMatch(/stalled 3 times within 1 s.*polling with Fetch for 5 s, then trying the stream again/);
    t = 950;
    expect(p.recordStall()).toBeUndefined();
    expect(p.total).toBe(4);
  });

  it("stalls spread wider than the window never add up to a fallback", () => {
    let t = 0;
    const p = new StallPolicy({ count: 3, withinMs: 1000 }, () => t);
    for (let i = 0; i < 20; i++) {
      t += 600;
      expect(p.recordStall()).toBeUndefined();
    }
  });

  it("refuses options that are not whole numbers", () => {
    expect(() => new StallPolicy({ count: 0 })).toThrow(ValidationError);
    expect(() => new StallPolicy({ withinMs: 1.5 })).toThrow(/stallFallback.withinMs/);
  });
});

describe("a worker whose stream keeps stalling (gRPC, real server)", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  it("polls after three stalls, says so once, gets the work done by Fetch, then tries the stream again", async () => {
    const queue = uniqueQueue("stalls");
    const client = new Client({ url: ctx.url });
    const f = faulty(new GrpcTransport({ url: ctx.url }));
    /** Streams opened, and streams ended by the worker's watchdog while silent (each one a stall it found). */
    const stream = { opened: 0, stalledAndClosed: 0 };
    f.overrideStream(async function* (_req, opts) {
      stream.opened++;
      await new Promise<void>((resolve) => opts.signal.addEventListener("abort", () => resolve(), { once: true }));
      stream.stalledAndClosed++;
    });
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (line: string) => void (/StreamJobs stalled/.test(line) && warnings.push(line)), error: () => {} };
    const w = new Worker({
      transport: f.transport,
      queues: [queue],
      handleSignals: false,
      watchdogIntervalMs: 100,
      pollIntervalMs: 50,
      longPollMs: 0,
      stallFallback: { count: 3, withinMs: 60_000, pollForMs: 2_000 },
      logger,
    });
    cleanup.push(async () => {
      await w.stop();
      await f.transport.close();
      await client.close();
    });
    const fallbacks: Array<{ stalls?: number; pollForMs?: number; reason: string }> = [];
    w.on("dispatch.fallback", (e) => void fallbacks.push(e));
    const done: string[] = [];
    w.register("t.s", (c) => void done.push(c.jobId));
    void w.start();

    // Three stalls: each job waits on a silent stream until the watchdog's Fetch finds it.
    for (let i = 1; i <= 3; i++) {
      await client.enqueue("t.s", [i], { queue });
      await eventually(() => done.length === i, 5_000);
    }
    await eventually(() => fallbacks.length === 1, 5_000);
    expect(stream.stalledAndClosed).toBe(3);
    expect(fallbacks[0]).toMatchObject({ stalls: 3, pollForMs: 2_000 });
    const openedAtFallback = stream.opened;
    const fetchesAtFallback = f.calls.fetch;

    // While polling: the work is done by Fetch, no stream is opened, and the log said it once.
    await client.enqueueBatch(Array.from({ length: 5 }, (_, i) => ({ type: "t.s", args: [10 + i], options: { queue } })));
    await eventually(() => done.length === 8, 5_000);
    expect(stream.opened).toBe(openedAtFallback);
    expect(f.calls.fetch).toBeGreaterThan(fetchesAtFallback);
    await eventually(() => warnings.length === 1, 2_000);
    expect(warnings[0]).toMatch(/StreamJobs stalled 3 times/);

    // Then the stream is tried again.
    await eventually(() => stream.opened > openedAtFallback, 5_000);
    expect(warnings).toHaveLength(1);
    expect(fallbacks).toHaveLength(1);
  }, 30_000);

  it("with stallFallback: false it keeps streaming through any number of stalls", async () => {
    const queue = uniqueQueue("stalls-off");
    const client = new Client({ url: ctx.url });
    const f = faulty(new GrpcTransport({ url: ctx.url }));
    let stalls = 0;
    f.overrideStream(async function* (_req, opts) {
      await new Promise<void>((resolve) => opts.signal.addEventListener("abort", () => resolve(), { once: true }));
      stalls++;
    });
    const w = new Worker({ transport: f.transport, queues: [queue], handleSignals: false, watchdogIntervalMs: 100, stallFallback: false });
    cleanup.push(async () => {
      await w.stop();
      await f.transport.close();
      await client.close();
    });
    let fallbacks = 0;
    w.on("dispatch.fallback", () => void fallbacks++);
    const done: string[] = [];
    w.register("t.s", (c) => void done.push(c.jobId));
    void w.start();
    for (let i = 1; i <= 4; i++) {
      await client.enqueue("t.s", [i], { queue });
      await eventually(() => done.length === i, 5_000);
    }
    await eventually(() => stalls >= 4, 2_000);
    expect(fallbacks).toBe(0);
  }, 30_000);
});
