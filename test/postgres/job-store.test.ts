/**
 * The JobStore seam over PostgreSQL (PostgresJobStore): what the adapters see.
 * Stream credit given back by settling, a newer stream superseding an older
 * one, unsupported operations refused by name, database failures as
 * retryable `unavailable`.
 */
import { describe, expect, it } from "vitest";
import { freePort } from "../support/postgres.js";
import { PostgresJobStore } from "../../src/server/store/postgres/postgres-job-store.js";
import type { JobRecord } from "../../src/server/store/store.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();

async function open(): Promise<PostgresJobStore> {
  const s = await PostgresJobStore.open(pg.cluster.url, { maintenanceIntervalMs: 100 });
  pg.closeAtEnd(s);
  return s;
}

describe("PostgresJobStore (the seam)", () => {
  it("answers JobRecords: submit, fetch, ack, get", async () => {
    const s = await open();
    expect(s.kind).toBe("postgres");
    const { rec, deduplicated } = await s.submit({ type: "a.b", args: [1, "x"], queue: "seam", meta: { k: "v" } }, { extra: { custom: true } });
    expect(deduplicated).toBe(false);
    expect(rec.job).toMatchObject({ type: "a.b", args: [1, "x"], queue: "seam", meta: { k: "v" }, state: "available", attempt: 0 });
    expect(rec.extra).toEqual({ custom: true });
    const [got] = await s.fetch({ queues: ["seam"], workerId: "w" });
    expect(got!.id).toBe(rec.id);
    expect(got!.leaseDeadline).toBeGreaterThan(Date.now());
    const done = await s.ack(rec.id, [1, 2], "w");
    expect(done.job.state).toBe("completed");
    expect(done.job.completedAt).toBeInstanceOf(Date);
    expect((await s.get(rec.id)).job.result).toEqual([1, 2]);
    expect(await s.has(rec.id)).toBe(true);
    expect(await s.has("not-a-uuid")).toBe(false);
    expect((await s.countByState("seam")).completed).toBe(1);
  });

  it("a stream gets at most its credit unsettled; settling gives the credit back; a newer stream of the worker supersedes it", async () => {
    const s = await open();
    await s.enqueueBatch(Array.from({ length: 5 }, (_, i) => ({ req: { type: "t", args: [i], queue: "credit" } })));
    const got: JobRecord[] = [];
    const stale: string[] = [];
    await s.openConsumer({ queues: ["credit"], workerId: "w1", maxConcurrent: 2, deliver: (r) => got.push(r), onStale: (why) => stale.push(why) });
    await eventually(() => got.length === 2, 3000);
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toHaveLength(2);
    await s.ack(got[0]!.id, null, "w1");
    await eventually(() => got.length === 3, 3000);
    const second: JobRecord[] = [];
    await s.openConsumer({ queues: ["credit"], workerId: "w1", maxConcurrent: 5, deliver: (r) => second.push(r) });
    expect(stale).toEqual(["superseded"]);
    await eventually(() => second.length === 2, 3000);
  });

  it("keeps a queue rate limit; takes a per-job rate limit and refuses the on_limit it does not offer, naming it", async () => {
    const s = await open();
    expect((await s.configureQueue("limited", { rateLimitPerSecond: 5 })).rateLimitPerSecond).toBe(5);
    expect((await s.queueSettings("limited"))?.rateLimitPerSecond).toBe(5);
    expect((await s.configureQueue("limited", { rateLimitPerSecond: 0 })).rateLimitPerSecond).toBeUndefined();
    const { rec } = await s.submit({ type: "t", args: [], queue: "keyed", rateLimit: { key: "k", concurrency: 1 } });
    expect(await s.rateLimits.inspect("k")).toMatchObject({ key: "k", concurrency: { limit: 1, active: 0 }, waiting_count: 1 });
    expect((await s.fetch({ queues: ["keyed"], workerId: "w", count: 5 })).map((r) => r.id)).toEqual([rec.id]);
    await expect(s.submit({ type: "t", args: [], rateLimit: { key: "k", concurrency: 1, onLimit: "drop" } })).rejects.toMatchObject({
      code: "unsupported",
      message: expect.stringMatching(/on_limit/),
    });
  });

  it("progress lives in the jobs row: clamped, merged, seen by another server, cleared by the next claim", async () => {
    const s = await open();
    const other = await open();
    const { rec } = await s.submit({ type: "t", args: [], queue: "prg", retry: { maxAttempts: 3, initialInterval: 0, jitter: false } });
    await expect(s.reportProgress(rec.id, { progress: 0.5 })).rejects.toMatchObject({ code: "conflict" });
    await expect(s.reportProgress("00000000-0000-4000-8000-000000000000", { progress: 0.5 })).rejects.toMatchObject({ code: "not_found" });
    await s.fetch({ queues: ["prg"], workerId: "w" });
    const p1 = await s.reportProgress(rec.id, { progress: 1.7, message: "half", data: { rows: 10 } });
    expect(p1).toMatchObject({ value: 1, message: "half", data: { rows: 10 } });
    expect(p1.updatedAt).toBeInstanceOf(Date);
    const p2 = await other.reportProgress(rec.id, { progress: -3 });
    expect(p2).toMatchObject({ value: 0, message: "half", data: { rows: 10 } });
    expect((await other.get(rec.id)).progress).toMatchObject({ value: 0, message: "half", data: { rows: 10 } });
    await s.nack(rec.id, { code: "x", message: "y" }, "w");
    await eventually(async () => (await s.fetch({ queues: ["prg"], workerId: "w" })).length === 1, 3000);
    expect((await s.get(rec.id)).progress).toBeUndefined();
  });

  it("nack honours the handler's response: DISCARD, DEAD_LETTER, FAIL, RETRY (decideFailure of policies.ts)", async () => {
    const s = await open();
    const take = async (response: "DISCARD" | "DEAD_LETTER" | "FAIL" | "RETRY", maxAttempts: number) => {
      const queue = `resp-${response.toLowerCase()}`;
      const { rec } = await s.submit({ type: "t", args: [], queue, retry: { maxAttempts, initialInterval: 0, jitter: false } });
      await s.fetch({ queues: [queue], workerId: "w" });
      return s.nack(rec.id, { code: "boom", message: "m" }, "w", { response });
    };
    // Attempts left: only RETRY retries.
    const discarded = await take("DISCARD", 5);
    expect(discarded.job.state).toBe("discarded");
    expect(discarded.deadLetter).toBe(false);
    const dead = await take("DEAD_LETTER", 5);
    expect(dead.job.state).toBe("discarded");
    expect(dead.deadLetter).toBe(true);
    expect((await s.listDeadLetter({ queue: "resp-dead_letter" })).total).toBe(1);
    const failed = await take("FAIL", 5);
    expect(failed.job.state).toBe("discarded");
    expect(failed.deadLetter).toBe(false);
    expect((await take("RETRY", 5)).job.state).toBe("retryable");
  });

  it("a depth bound holds across servers: concurrent enqueues stop at max_depth, batches all or nothing, claims make room", async () => {
    const a = await open();
    const b = await open();
    await a.submit({ type: "t", args: [], queue: "free" });
    const summary = await a.configureQueue("bounded", { backpressure: { maxDepth: 3, strategy: "reject", warningThreshold: 0.5 } });
    expect(summary.backpressure).toEqual({ maxDepth: 3, strategy: "reject", warningThreshold: 0.5 });
    await expect(a.configureQueue("bounded", { backpressure: { maxDepth: 0, strategy: "reject" } })).rejects.toMatchObject({ code: "invalid_request" });
    const tries = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).submit({ type: "t", args: [i], queue: "bounded" })));
    const ok = tries.filter((t) => t.status === "fulfilled").length;
    const full = tries.filter((t) => t.status === "rejected" && (t.reason as { code?: string }).code === "queue_full").length;
    expect({ ok, full }).toEqual({ ok: 3, full: 7 });
    expect(await b.pressure("bounded")).toEqual({ depth: 3, backpressure: { maxDepth: 3, strategy: "reject", warningThreshold: 0.5 } });
    expect(await b.pressure("free")).toBeUndefined();
    // A batch naming a bounded queue takes the locked path; past the bound nothing of it is stored.
    await expect(b.enqueueBatch([{ req: { type: "t", args: [], queue: "free" } }, { req: { type: "t", args: [], queue: "bounded" } }])).rejects.toMatchObject({
      code: "queue_full",
    });
    expect((await a.countByState("free")).available).toBe(1);
    await a.fetch({ queues: ["bounded"], workerId: "w" });
    await b.enqueueBatch([{ req: { type: "t", args: [], queue: "free" } }, { req: { type: "t", args: [], queue: "bounded" } }]);
    expect((await a.countByState("free")).available).toBe(2);
    await expect(a.submit({ type: "t", args: [], queue: "bounded" })).rejects.toMatchObject({ code: "queue_full", details: { depth: 3, bound: 3 } });
    // Cleared: the bound no longer applies.
    expect((await b.configureQueue("bounded", { backpressure: null })).backpressure).toBeUndefined();
    await a.submit({ type: "t", args: [], queue: "bounded" });
    expect(await a.pressure("bounded")).toBeUndefined();
  });

  it("a database that cannot be reached is the retryable unavailable error", async () => {
    const s = await open();
    await s.pg.sql.end({ timeout: 1 });
    const e = await s.submit({ type: "t", args: [] }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "unavailable", retryable: true });
    const port = await freePort();
    await expect(PostgresJobStore.open(`postgres://nobody@127.0.0.1:${port}/none`, { maintenanceIntervalMs: 100 })).rejects.toThrow(
      /PostgreSQL store postgres:\/\/nobody@127\.0\.0\.1/,
    );
  });
});
