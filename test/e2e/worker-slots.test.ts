/**
 * What a worker's `concurrency` bounds: handlers running at once. A job's slot
 * frees when its handler returns; its ack or nack is in flight apart from it
 * (at most `concurrency` of those, and no job starts while that bound is
 * reached), and the job stays held (heartbeats, stop()) until the server has
 * answered. A real server and both transports; a wrapper around the real
 * transport holds, delays or fails the settles on cue and counts those in
 * flight.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, ConnectionError, Worker, type WorkerOptions } from "../../src/index.js";
import { GrpcTransport } from "../../src/transport/grpc/transport.js";
import { HttpTransport } from "../../src/transport/http/transport.js";
import type { Transport } from "../../src/transport/transport.js";
import { faulty } from "../support/faulty-transport.js";
import { eventually, TRANSPORTS, uniqueQueue, useServer, type TransportName } from "../helpers.js";

const ctx = useServer({ visibilityTimeoutMs: 5000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function transportFor(name: TransportName, url: string): Transport {
  return name === "grpc" ? new GrpcTransport({ url }) : new HttpTransport({ url });
}

describe.each(TRANSPORTS)("worker slots over %s", (name) => {
  let client: Client;
  beforeAll(() => {
    client = new Client({ url: ctx.url, transport: name });
  });
  afterAll(() => client.close());

  /** A worker on a faulty copy of the transport; stopped and closed by the test. */
  function setup(opts: Partial<WorkerOptions>) {
    const queue = uniqueQueue("slots");
    const f = faulty(transportFor(name, ctx.url));
    const w = new Worker({ transport: f.transport, queues: [queue], handleSignals: false, heartbeatIntervalMs: 200, ...opts });
    const done = async () => {
      await w.stop({ gracePeriodMs: 0 });
      await f.transport.close();
    };
    return { queue, f, w, done };
  }

  it("a job's slot frees when its handler returns: the next job runs before that job's ack is answered", async () => {
    const { queue, f, w, done } = setup({ concurrency: 2 });
    // The server takes each ack at once (and frees the stream's credit); its answer comes 400 ms later.
    f.answerLate("ack", 400);
    const completed = new Set<string>();
    w.on("job.completed", ({ job }) => void completed.add(job.id));
    let release!: () => void;
    const slowHeld = new Promise<void>((r) => (release = r));
    const seenAtStart: Record<string, { acksInFlight: number; completed: string[] }> = {};
    w.register("t.step", async (c) => {
      seenAtStart[String(c.args[0])] = { acksInFlight: f.inFlight.ack, completed: [...completed] };
      if (c.args[0] === "slow") await slowHeld;
    });
    try {
      // In order: "quick" and "slow" fill both slots; "next" waits for one.
      const [quick] = await client.enqueueBatch(["quick", "slow", "next"].map((n) => ({ type: "t.step", args: [n], options: { queue } })));
      void w.start();
      await eventually(() => seenAtStart.next, 3000);
      // "next" ran in the slot "quick" left while "quick"'s ack was still unanswered ("slow" holds the other).
      expect(seenAtStart.next).toEqual({ acksInFlight: 1, completed: [] });
      expect(completed.has(quick!.id)).toBe(false);
      await eventually(() => completed.has(quick!.id), 3000);
      release();
      await eventually(() => completed.size === 3, 3000);
    } finally {
      release();
      await done();
    }
  });

  it("never more than `concurrency` handlers running, nor settles in flight, at once", async () => {
    const { queue, f, w, done } = setup({ concurrency: 3 });
    f.answerLate("ack", 100);
    let running = 0;
    let peakRunning = 0;
    /** The most jobs held at a handler's start: handlers running (itself included) plus acks unanswered. */
    let peakHeld = 0;
    let completed = 0;
    w.on("job.completed", () => void completed++);
    w.register("t.short", async (c) => {
      peakRunning = Math.max(peakRunning, ++running);
      peakHeld = Math.max(peakHeld, running + f.inFlight.ack);
      // Handlers of different lengths (acks answered 100 ms late): some return while settles are
      // at their bound, and must wait for room.
      await sleep([2, 10, 20][Number(c.args[0]) % 3]!);
      running--;
    });
    try {
      await client.enqueueBatch(Array.from({ length: 24 }, (_, i) => ({ type: "t.short", args: [i], options: { queue } })));
      void w.start();
      await eventually(() => completed === 24, 10_000);
      expect(peakRunning).toBe(3);
      // The bound on settles was reached and never passed.
      expect(f.peakInFlight.ack).toBe(3);
      // Handlers ran beside unanswered acks: more jobs held at once than slots.
      expect(peakHeld).toBeGreaterThan(3);
      expect(peakHeld).toBeLessThanOrEqual(6);
      expect(w.activeCount).toBe(0);
    } finally {
      await done();
    }
  });

  it("a server that does not answer acks holds the worker back: `concurrency` settles in flight, as many finished handlers waiting, nothing more", async () => {
    const { queue, f, w, done } = setup({ concurrency: 2 });
    f.holdAnswers("ack");
    const started: string[] = [];
    let completed = 0;
    w.on("job.completed", () => void completed++);
    w.register("t.quick", (c) => void started.push(c.jobId));
    try {
      await client.enqueueBatch(Array.from({ length: 8 }, (_, i) => ({ type: "t.quick", args: [i], options: { queue } })));
      void w.start();
      // Two acks in flight, unanswered; two more handlers ran in the slots those left and wait to settle.
      await eventually(() => started.length === 4 && f.inFlight.ack === 2, 3000);
      await sleep(300);
      expect(started).toHaveLength(4);
      expect(f.inFlight.ack).toBe(2);
      expect(w.activeCount).toBe(4);
      f.releaseAnswers("ack");
      await eventually(() => completed === 8, 5000);
      expect(new Set(started).size).toBe(8);
    } finally {
      f.releaseAnswers("ack");
      await done();
    }
  });

  it.each([0, 5000])("stop() (grace period %i ms) resolves only after the ack in flight is answered", async (gracePeriodMs) => {
    const { queue, f, w, done } = setup({ concurrency: 2 });
    f.holdAnswers("ack");
    const order: string[] = [];
    w.on("job.completed", () => void order.push("completed"));
    w.on("stopped", () => void order.push("stopped"));
    w.register("t.ok", () => "ok");
    try {
      const job = await client.enqueue("t.ok", [], { queue });
      const run = w.start();
      // The handler returned and the server has the ack; its answer is held.
      await eventually(() => f.inFlight.ack === 1 && f.heldAnswers.ack === 1, 3000);
      expect(w.activeCount).toBe(1);
      let stopped = false;
      const stopping = w.stop({ gracePeriodMs }).then(() => void (stopped = true));
      await sleep(300);
      expect(stopped).toBe(false);
      f.releaseAnswers("ack");
      await stopping;
      await run;
      expect(order).toEqual(["completed", "stopped"]);
      expect(f.inFlight.ack).toBe(0);
      expect(w.activeCount).toBe(0);
      expect((await client.getJob(job.id)).state).toBe("completed");
    } finally {
      f.releaseAnswers("ack");
      await done();
    }
  });

  it("stop() ends soon after its grace period even when the ack in flight is never answered (a silent server)", async () => {
    const { queue, f, w, done } = setup({ concurrency: 2 });
    f.holdAnswers("ack");
    const events: string[] = [];
    w.on("job.completed", () => void events.push("completed"));
    w.on("stopped", () => void events.push("stopped"));
    w.register("t.ok", () => "ok");
    try {
      const job = await client.enqueue("t.ok", [], { queue });
      const run = w.start();
      await eventually(() => f.inFlight.ack === 1 && f.heldAnswers.ack === 1, 3000);
      const t0 = Date.now();
      let stopped = false;
      const stopping = w.stop({ gracePeriodMs: 200 }).then(() => void (stopped = true));
      // Grace (200 ms), then at most a second for the settle; the held answer would wait forever.
      await eventually(() => stopped, 5000);
      await stopping;
      await run;
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(events).toEqual(["stopped"]);
      // The server did take the ack: only its answer was lost to the worker.
      expect((await client.getJob(job.id)).state).toBe("completed");
    } finally {
      f.releaseAnswers("ack");
      await done();
    }
  });

  it("a job whose ack is slow to reach the server stays held: heartbeats extend its lease until the ack lands", async () => {
    const { queue, f, w, done } = setup({ concurrency: 2, visibilityTimeoutMs: 1000, heartbeatIntervalMs: 100 });
    // The ack leaves 2 s after the handler returns: twice the lease.
    f.delay("ack", 2000);
    const events: string[] = [];
    w.on("job.completed", () => void events.push("completed"));
    w.on("job.settleFailed", () => void events.push("settleFailed"));
    w.on("job.cancelled", () => void events.push("cancelled"));
    let runs = 0;
    w.register("t.ok", () => void runs++);
    try {
      const job = await client.enqueue("t.ok", [], { queue });
      void w.start();
      await eventually(() => events.length > 0, 6000);
      expect(events).toEqual(["completed"]);
      expect(runs).toBe(1);
      expect(await client.getJob(job.id)).toMatchObject({ state: "completed", attempt: 1 });
    } finally {
      await done();
    }
  });

  it("acks that fail and are retried free each slot once: the bounds hold, and every job completes once", async () => {
    const { queue, f, w, done } = setup({ concurrency: 2 });
    // The first six ack calls fail as if the server were unreachable; each is retried.
    f.fail("ack", () => new ConnectionError("ack lost"), 6);
    let running = 0;
    let peakRunning = 0;
    const runs = new Map<string, number>();
    const events: string[] = [];
    w.on("job.completed", () => void events.push("completed"));
    w.on("job.settleFailed", () => void events.push("settleFailed"));
    w.register("t.short", async (c) => {
      peakRunning = Math.max(peakRunning, ++running);
      runs.set(c.jobId, (runs.get(c.jobId) ?? 0) + 1);
      await sleep(10);
      running--;
    });
    try {
      await client.enqueueBatch(Array.from({ length: 12 }, (_, i) => ({ type: "t.short", args: [i], options: { queue } })));
      void w.start();
      await eventually(() => events.length === 12, 10_000);
      expect(f.injected.ack).toBe(6);
      expect(events.every((e) => e === "completed")).toBe(true);
      expect([...runs.values()]).toEqual(Array.from({ length: 12 }, () => 1));
      expect(peakRunning).toBe(2);
      expect(f.peakInFlight.ack).toBeLessThanOrEqual(2);
      expect(w.activeCount).toBe(0);
    } finally {
      await done();
    }
  });
});
