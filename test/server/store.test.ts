/** The store's state machine driven directly, with a fake clock: no sockets, no real time. */
import { describe, expect, it } from "vitest";
import { ConflictError, DuplicateJobError, NotFoundError } from "../../src/model/errors.js";
import { JOB_STATES } from "../../src/model/job.js";
import { canTransition, TRANSITIONS } from "../../src/server/store/transitions.js";
import { setup } from "./store-setup.js";

describe("lifecycle", () => {
  it("available -> active -> completed, with attempt, timestamps and result", () => {
    const { store, job, take, clock, types } = setup();
    const rec = job({ args: [1] });
    expect(rec.job).toMatchObject({ state: "available", attempt: 0, queue: "q" });
    expect(rec.job.startedAt).toBeUndefined();
    clock.advance(10);
    const got = take();
    expect(got.id).toBe(rec.id);
    expect(got.job).toMatchObject({ state: "active", attempt: 1 });
    expect(got.job.startedAt!.getTime()).toBe(clock.now());
    clock.advance(25);
    store.ack(rec.id, { ok: true });
    expect(rec.job).toMatchObject({ state: "completed", result: { ok: true } });
    expect(rec.job.completedAt!.getTime()).toBe(clock.now());
    expect(types()).toEqual(["job.enqueued", "job.started", "job.completed"]);
  });

  it("terminal states stay terminal: ack, nack and cancel of a completed job are conflicts", () => {
    const { store, job, take } = setup();
    const rec = job();
    take();
    store.ack(rec.id, undefined);
    expect(() => store.ack(rec.id, undefined)).toThrow(ConflictError);
    expect(() => store.nack(rec.id, { code: "x", message: "" })).toThrow(ConflictError);
    expect(() => store.cancel(rec.id)).toThrow(ConflictError);
    expect(rec.job.state).toBe("completed");
  });

  it("ack or nack of a job that is not active is a conflict (scheduled, available, cancelled)", () => {
    const { store, job, clock } = setup();
    const scheduled = job({ scheduledAt: new Date(clock.now() + 60_000) });
    const available = job();
    const cancelled = store.cancel(job().id);
    for (const r of [scheduled, available, cancelled]) {
      expect(() => store.ack(r.id, undefined)).toThrow(ConflictError);
      expect(() => store.nack(r.id, { code: "x", message: "" })).toThrow(ConflictError);
    }
    expect(scheduled.job.state).toBe("scheduled");
  });

  it("cancel sets cancelled_at (not completed_at) from available, scheduled and active", () => {
    const { store, job, take, clock } = setup();
    const a = store.cancel(job().id);
    const s = store.cancel(job({ scheduledAt: new Date(clock.now() + 1000) }).id);
    const act = job();
    take();
    store.cancel(act.id);
    for (const r of [a, s, act]) {
      expect(r.job.state).toBe("cancelled");
      expect(r.job.cancelledAt).toBeInstanceOf(Date);
      expect(r.job.completedAt).toBeUndefined();
    }
    expect(act.job.startedAt).toBeInstanceOf(Date);
    // A cancelled job is never handed out, even though it was in the ready list.
    clock.advance(2000);
    expect(store.fetch({ queues: ["q"] })).toEqual([]);
  });

  it("the transition table allows only the lifecycle's moves; completed and cancelled have none", () => {
    expect(TRANSITIONS.completed.size).toBe(0);
    expect(TRANSITIONS.cancelled.size).toBe(0);
    expect(canTransition("active", "completed")).toBe(true);
    expect(canTransition("available", "completed")).toBe(false);
    expect(canTransition("scheduled", "active")).toBe(false);
    expect(canTransition("discarded", "available")).toBe(true);
    for (const from of JOB_STATES) expect(TRANSITIONS[from].has(from)).toBe(false);
  });

  it("unknown ids are NotFoundError; a duplicate client id is DuplicateJobError", () => {
    const { store, job } = setup();
    expect(() => store.get("019539a4-0000-7000-8000-000000000000")).toThrow(NotFoundError);
    job({ id: "019539a4-0000-7000-8000-000000000001" });
    expect(() => job({ id: "019539a4-0000-7000-8000-000000000001" })).toThrow(DuplicateJobError);
  });

  it("higher priority first, FIFO within a priority, queues in the order the fetch names them", () => {
    const { store, job } = setup();
    const low = job({ priority: -10 });
    const high1 = job({ priority: 10 });
    const normal = job();
    const high2 = job({ priority: 10 });
    const other = job({ queue: "first" });
    const order = store.fetch({ queues: ["first", "q"], count: 10 }).map((r) => r.id);
    expect(order).toEqual([other.id, high1.id, high2.id, normal.id, low.id]);
  });
});

describe("scheduling and expiry", () => {
  it("a job scheduled in the future waits, then becomes available on time", () => {
    const { store, job, clock } = setup();
    const rec = job({ scheduledAt: new Date(clock.now() + 5000) });
    expect(rec.job.state).toBe("scheduled");
    clock.advance(4999);
    expect(store.fetch({ queues: ["q"] })).toEqual([]);
    clock.advance(1);
    expect(rec.job.state).toBe("available");
  });

  it("a scheduled_at in the past is an immediate job", () => {
    const { job, clock } = setup();
    expect(job({ scheduledAt: new Date(clock.now() - 1000) }).job.state).toBe("available");
  });

  it("a job not started by expires_at is discarded without completed_at", () => {
    const { store, job, clock, types } = setup();
    const rec = job({ expiresAt: new Date(clock.now() + 2000) });
    clock.advance(2000);
    expect(rec.job.state).toBe("discarded");
    expect(rec.job.completedAt).toBeUndefined();
    expect(store.fetch({ queues: ["q"] })).toEqual([]);
    expect(types()).toContain("job.expired");
  });

  it("a job already running when it expires is not interrupted", () => {
    const { store, job, take, clock } = setup();
    const rec = job({ expiresAt: new Date(clock.now() + 1000) });
    take();
    clock.advance(2000);
    expect(rec.job.state).toBe("active");
    store.ack(rec.id, undefined);
  });
});

describe("retry", () => {
  it("a failure with attempts left is retryable after its backoff, with the delay on the job", () => {
    const { store, job, take, clock } = setup();
    const rec = job({ retry: { maxAttempts: 3, initialInterval: 1000, backoffCoefficient: 2, jitter: false } });
    take();
    store.nack(rec.id, { code: "boom", message: "first" });
    expect(rec.job).toMatchObject({ state: "retryable", retryDelayMs: 1000 });
    expect(rec.job.scheduledAt!.getTime()).toBe(clock.now() + 1000);
    clock.advance(999);
    expect(store.fetch({ queues: ["q"] })).toEqual([]);
    clock.advance(1);
    expect(take().job.attempt).toBe(2);
    store.nack(rec.id, { code: "boom", message: "second" });
    expect(rec.job.retryDelayMs).toBe(2000);
    expect(rec.job.errors.map((e) => [e.attempt, e.message])).toEqual([
      [1, "first"],
      [2, "second"],
    ]);
  });

  it("the last attempt's failure discards, with completed_at; dead_letter puts it in the DLQ", () => {
    const { store, job, take } = setup();
    const discard = job({ retry: { maxAttempts: 1 } });
    take();
    store.nack(discard.id, { code: "boom", message: "" });
    expect(discard.job.state).toBe("discarded");
    expect(discard.job.completedAt).toBeInstanceOf(Date);
    const dead = job({ retry: { maxAttempts: 1, onExhaustion: "dead_letter" } });
    take();
    store.nack(dead.id, { code: "boom", message: "" });
    expect(store.listDeadLetter().jobs.map((r) => r.id)).toEqual([dead.id]);
  });

  it("retryable:false and non_retryable_errors (exact and prefix) skip the remaining attempts", () => {
    const { store, job, take } = setup();
    const a = job({ retry: { maxAttempts: 5 } });
    take();
    store.nack(a.id, { code: "boom", message: "", retryable: false });
    const b = job({ retry: { maxAttempts: 5, nonRetryableErrors: ["auth.*"] } });
    take();
    store.nack(b.id, { code: "auth.expired", message: "" });
    const c = job({ retry: { maxAttempts: 5, nonRetryableErrors: ["auth.*"] } });
    take();
    store.nack(c.id, { code: "auth", message: "" });
    expect([a.job.state, b.job.state, c.job.state]).toEqual(["discarded", "discarded", "retryable"]);
  });

  it("max_attempts 0 means a first failure is final", () => {
    const { store, job, take } = setup();
    const rec = job({ retry: { maxAttempts: 0 } });
    take();
    store.nack(rec.id, { code: "x", message: "" });
    expect(rec.job.state).toBe("discarded");
  });

  it("handler response codes override the policy (DISCARD, DEAD_LETTER)", () => {
    const { store, job, take } = setup();
    const a = job({ retry: { maxAttempts: 5 } });
    take();
    store.nack(a.id, { code: "x", message: "" }, undefined, { response: "DEAD_LETTER" });
    expect(a.job.state).toBe("discarded");
    expect(store.listDeadLetter().total).toBe(1);
  });

  it("requeue hands the job back without using an attempt", () => {
    const { store, job, take } = setup();
    const rec = job();
    take();
    store.nack(rec.id, { code: "cancelled", message: "shutting down" }, "w1", { requeue: true });
    expect(rec.job).toMatchObject({ state: "available", attempt: 0 });
    expect(take("q", "w2").job.attempt).toBe(1);
  });
});

describe("leases", () => {
  it("an unsettled job comes back after its visibility timeout, the attempt counted as failed", () => {
    const { store, job, take, clock, types } = setup();
    const rec = job({ visibilityTimeout: 3000 });
    take();
    clock.advance(2999);
    expect(rec.job.state).toBe("active");
    clock.advance(1);
    expect(rec.job.state).toBe("available");
    expect(rec.job.errors[0]).toMatchObject({ code: "visibility_timeout", attempt: 1 });
    expect(types()).toContain("job.reclaimed");
    expect(take("q", "w2").job.attempt).toBe(2);
    // The first worker lost it: its late ack is refused.
    expect(() => store.ack(rec.id, undefined, "w1")).toThrow(ConflictError);
  });

  it("a reclaim on the last attempt exhausts the job", () => {
    const { job, take, clock } = setup();
    const rec = job({ retry: { maxAttempts: 1 } });
    take("q", "w1", 1000);
    clock.advance(1000);
    expect(rec.job.state).toBe("discarded");
  });

  it("heartbeats extend the lease of the worker's jobs and report the ones it does not hold", () => {
    const { store, job, take, clock } = setup();
    const rec = job({ visibilityTimeout: 1000 });
    take();
    clock.advance(800);
    const out = store.heartbeat({ workerId: "w1", jobIds: [rec.id, "019539a4-0000-7000-8000-00000000dead"] });
    expect(out).toMatchObject({ directive: "running", extended: [rec.id], lost: ["019539a4-0000-7000-8000-00000000dead"] });
    clock.advance(800);
    expect(rec.job.state).toBe("active");
    expect(store.heartbeat({ workerId: "intruder", jobIds: [rec.id] }).lost).toEqual([rec.id]);
    clock.advance(200);
    expect(rec.job.state).toBe("available");
  });

  it("an attempt past the job's execution timeout fails with code timeout and retries", () => {
    const { job, take, clock } = setup();
    const rec = job({ timeout: 2000, retry: { maxAttempts: 2, initialInterval: 1000, jitter: false } });
    take();
    clock.advance(2000);
    expect(rec.job.state).toBe("retryable");
    expect(rec.job.errors[0]).toMatchObject({ code: "timeout" });
    clock.advance(1000);
    expect(rec.job.state).toBe("available");
  });
});

describe("workers", () => {
  it("an operator directive reaches the worker in its next heartbeat; a quiet or draining worker gets nothing new", () => {
    const { store, job } = setup();
    job();
    store.directWorker("w1", "quiet");
    expect(store.heartbeat({ workerId: "w1", jobIds: [] }).directive).toBe("quiet");
    expect(store.fetch({ queues: ["q"], workerId: "w1" })).toEqual([]);
    store.directWorker("w1", "running");
    store.heartbeat({ workerId: "w2", state: "drain", jobIds: [] });
    expect(store.fetch({ queues: ["q"], workerId: "w2" })).toEqual([]);
    expect(store.fetch({ queues: ["q"], workerId: "w1" })).toHaveLength(1);
    expect(store.heartbeat({ workerId: "w3", state: "terminate", jobIds: [] }).directive).toBe("terminate");
  });

  it("a quiet streaming worker gets no pushes; resumed, its stream is refilled at once", async () => {
    const { store, job } = setup();
    const got: string[] = [];
    store.directWorker("s1", "quiet");
    store.openConsumer({ queues: ["q"], workerId: "s1", maxConcurrent: 2, deliver: (r) => got.push(r.id) });
    job();
    await Promise.resolve();
    expect(got).toEqual([]);
    store.directWorker("s1", "running");
    await Promise.resolve();
    expect(got).toHaveLength(1);
  });

  it("with conformance hooks on, meta.test_directive directs the worker that fetches the job", () => {
    const { store, job, take } = setup({ conformanceHooks: true });
    job({ meta: { test_directive: "terminate" } });
    take("q", "w9");
    expect(store.heartbeat({ workerId: "w9", jobIds: [] }).directive).toBe("terminate");
    const off = setup();
    off.job({ meta: { test_directive: "terminate" } });
    off.take("q", "w9");
    expect(off.store.heartbeat({ workerId: "w9", jobIds: [] }).directive).toBe("running");
  });
});

describe("queues", () => {
  it("pause stops delivery (enqueue still works), resume restores it", () => {
    const { store, job } = setup();
    store.pauseQueue("q");
    job();
    expect(store.fetch({ queues: ["q"] })).toEqual([]);
    store.resumeQueue("q");
    expect(store.fetch({ queues: ["q"] })).toHaveLength(1);
  });

  it("counts by state are maintained on every transition", () => {
    const { store, job, take } = setup();
    for (let i = 0; i < 3; i++) job();
    expect(store.queueSummary("q").counts).toMatchObject({ available: 3, active: 0, completed: 0 });
    const r = take();
    expect(store.queueSummary("q").counts).toMatchObject({ available: 2, active: 1, completed: 0 });
    store.ack(r.id, undefined);
    expect(store.queueSummary("q")).toMatchObject({ depth: 2, counts: { available: 2, active: 0, completed: 1 } });
  });

  it("a rate limit delivers at most N per second and reopens when the window passes", () => {
    const { store, job, clock } = setup();
    store.configureQueue("q", { rateLimitPerSecond: 1 });
    job();
    job();
    expect(store.fetch({ queues: ["q"], count: 5 })).toHaveLength(1);
    expect(store.fetch({ queues: ["q"] })).toHaveLength(0);
    clock.advance(1000);
    expect(store.fetch({ queues: ["q"] })).toHaveLength(1);
  });

  it("the jobs of a batch share one creation Date, which the job's lifecycle never changes in place", () => {
    const { store, clock, take } = setup();
    const t0 = clock.now();
    const recs = store.enqueueBatch([0, 1, 2].map((i) => ({ req: { type: "t.x", args: [i], queue: "q", retry: { maxAttempts: 3 } } })));
    const created = recs[0]!.job.createdAt!;
    // One object (a stored job keeps ~100 bytes less), the same instant for created and enqueued.
    for (const r of recs) {
      expect(r.job.createdAt).toBe(created);
      expect(r.job.enqueuedAt).toBe(created);
    }
    // A claim, a failure with a retry, a second claim, an ack, a cancel: each sets Dates of its own.
    clock.advance(10);
    const first = take();
    store.nack(first.id, { code: "x", message: "" });
    clock.advance(60_000);
    store.ack(take().id, null);
    store.cancel(recs[2]!.id);
    expect(created.getTime()).toBe(t0);
    for (const r of recs) {
      const job = store.get(r.id).job;
      expect(job.createdAt!.getTime()).toBe(t0);
      expect(job.enqueuedAt!.getTime()).toBe(t0);
    }
  });

  it("a depth bound refuses jobs beyond it with queue_full", () => {
    const { store, job } = setup();
    store.configureQueue("q", { backpressure: { maxDepth: 2, strategy: "reject" } });
    job();
    job();
    expect(() => job()).toThrow(expect.objectContaining({ code: "queue_full", details: { depth: 2, bound: 2 } }));
    expect(() => store.enqueueBatch([{ req: { type: "t.x", args: [], queue: "q" } }])).toThrow(expect.objectContaining({ code: "queue_full" }));
  });
});

describe("push consumers (StreamJobs)", () => {
  it("never more than max_concurrent unsettled; settling one refills the stream", async () => {
    const { store, job } = setup();
    const got: string[] = [];
    for (let i = 0; i < 5; i++) job();
    store.openConsumer({ queues: ["q"], workerId: "s1", maxConcurrent: 2, deliver: (r) => got.push(r.id) });
    expect(got).toHaveLength(2);
    store.ack(got[0]!, undefined);
    await Promise.resolve();
    expect(got).toHaveLength(3);
    const late = job();
    await Promise.resolve();
    expect(got).not.toContain(late.id);
  });

  it("a rate-limited queue pushes its next job to a consumer when the window reopens", async () => {
    const { store, job, clock } = setup();
    store.configureQueue("q", { rateLimitPerSecond: 1 });
    const got: string[] = [];
    job();
    job();
    store.openConsumer({ queues: ["q"], workerId: "s1", maxConcurrent: 5, deliver: (r) => got.push(r.id) });
    expect(got).toHaveLength(1);
    clock.advance(1000);
    await Promise.resolve();
    expect(got).toHaveLength(2);
  });

  it("a job enqueued while the consumer has credit is pushed after the enqueue answered", async () => {
    const { store, job } = setup();
    const got: string[] = [];
    store.openConsumer({ queues: ["q"], workerId: "s1", maxConcurrent: 1, deliver: (r) => got.push(r.id) });
    const rec = job();
    expect(rec.job.state).toBe("available");
    await Promise.resolve();
    expect(got).toEqual([rec.id]);
  });
});

describe("retention and close", () => {
  it("finished jobs beyond the retention bound are forgotten, oldest first", () => {
    const { store, job } = setup({ maxFinishedJobs: 2 });
    const ids = [0, 1, 2].map(() => store.cancel(job().id).id);
    expect(ids.map((id) => store.has(id))).toEqual([false, true, true]);
    expect(store.countByState("q").cancelled).toBe(2);
  });

  it("timer entries of settled jobs are dropped in bulk instead of piling up until they fall due", () => {
    const { store, job, take } = setup({ visibilityTimeoutMs: 3_600_000 });
    for (let i = 0; i < 20_000; i++) {
      job();
      store.ack(take().id, undefined);
    }
    const timers = (store as unknown as { timers: { size: number } }).timers;
    expect(timers.size).toBeLessThan(10_000);
  });

  it("close() cancels the store's timer", () => {
    const { store, job, take, clock } = setup();
    job({ visibilityTimeout: 1000 });
    take();
    expect(clock.pending).toBeGreaterThan(0);
    store.close();
    expect(clock.pending).toBe(0);
  });
});
