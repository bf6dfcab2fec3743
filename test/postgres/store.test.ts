/**
 * The PostgreSQL store against a private cluster (test/support/postgres.ts):
 * several PgJobStore instances on one database stand for several servers.
 * Skipped, with the reason printed, where the PostgreSQL binaries are missing.
 */
import { describe, expect, it } from "vitest";
import { DuplicateJobError } from "../../src/model/errors.js";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { MIGRATIONS } from "../../src/server/store/postgres/schema.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

async function open(url: string, opts: Parameters<typeof PgJobStore.open>[1] = {}): Promise<PgJobStore> {
  const s = await PgJobStore.open(url, { maintenanceIntervalMs: 100, ...opts });
  pg.closeAtEnd(s);
  return s;
}

/** A fresh database per test: no test sees another's jobs. */
async function freshDb(): Promise<string> {
  return pg.cluster.createDatabase(`t${++dbSeq}`);
}

const job = (type: string, queue: string, more: Partial<NormalizedJobRequest> = {}): NormalizedJobRequest => ({ type, args: [], queue, ...more });

describe("PostgreSQL store", () => {
  it("creates the schema on start, once, even when servers start together", async () => {
    const url = await freshDb();
    const [a, b, c] = await Promise.all([open(url), open(url), open(url)]);
    const rows = await a.sql<{ version: number }[]>`SELECT version FROM ojs_migrations ORDER BY version`;
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    // A fourth start finds nothing to do.
    await open(url);
    expect((await b.sql`SELECT count(*)::int AS n FROM ojs_migrations`)[0]!.n).toBe(MIGRATIONS.length);
    expect(c).toBeDefined();
  });

  it("enqueues, claims, acks: the job completes with its result, across two servers", async () => {
    const url = await freshDb();
    const [a, b] = [await open(url), await open(url)];
    const { job: j } = await a.submit(job("email.send", "q", { args: [{ to: "x" }], priority: 5 }));
    expect(j.job.state).toBe("available");
    const [claimed] = await b.fetch({ queues: ["q"], workerId: "w1" });
    expect(claimed!.job.id).toBe(j.job.id);
    expect(claimed!.job.state).toBe("active");
    expect(claimed!.job.attempt).toBe(1);
    expect(claimed!.workerId).toBe("w1");
    const done = await a.ack(j.job.id, { sent: true }, "w1");
    expect(done.job.state).toBe("completed");
    expect((await b.get(j.job.id)).job.result).toEqual({ sent: true });
    await expect(a.ack(j.job.id, null)).rejects.toMatchObject({ code: "conflict" });
    // A job acked alone, without a result (the single-ack statement).
    const { job: bare } = await a.submit(job("t", "q"));
    await b.fetch({ queues: ["q"], workerId: "w1" });
    expect((await a.ack(bare.job.id, undefined)).job).toMatchObject({ state: "completed" });
    expect((await a.get(bare.job.id)).job.result).toBeUndefined();
    await expect(a.get("00000000-0000-4000-8000-000000000000")).rejects.toMatchObject({ code: "not_found" });
  });

  it("a client-chosen id enqueued twice is a duplicate, on any server; a batch with one is stored not at all", async () => {
    const url = await freshDb();
    const [a, b] = [await open(url), await open(url)];
    const id = "0190e6a0-0000-7000-8000-000000000001";
    await a.submit(job("t", "dup", { id }));
    await expect(b.submit(job("t", "dup", { id }))).rejects.toBeInstanceOf(DuplicateJobError);
    await expect(b.enqueueBatch([{ req: job("t", "dup") }, { req: job("t", "dup", { id }) }])).rejects.toBeInstanceOf(DuplicateJobError);
    expect((await a.queueSummary("dup")).counts.available).toBe(1);
  });

  it("acks of one tick share a statement, and each caller still gets its own answer", async () => {
    const url = await freshDb();
    const a = await open(url);
    await a.enqueueBatch(Array.from({ length: 20 }, (_, i) => ({ req: job("t", "acks", { args: [i] }) })));
    const got = await a.fetch({ queues: ["acks"], count: 20, workerId: "w" });
    const { job: idle } = await a.submit(job("t", "idle"));
    const answers = await Promise.allSettled([
      ...got.slice(0, 18).map((g, i) => a.ack(g.job.id, { i }, "w")),
      a.ack(got[18]!.job.id, null, "someone-else"),
      a.ack(idle.job.id, null),
      a.ack("00000000-0000-4000-8000-000000000000", null),
    ]);
    for (let i = 0; i < 18; i++) expect(answers[i]).toMatchObject({ status: "fulfilled", value: { job: { state: "completed", result: { i } } } });
    expect(answers[18]).toMatchObject({ status: "rejected", reason: { code: "conflict" } });
    expect(answers[19]).toMatchObject({ status: "rejected", reason: { code: "conflict" } });
    expect(answers[20]).toMatchObject({ status: "rejected", reason: { code: "not_found" } });
    expect((await a.get(got[18]!.job.id)).job.state).toBe("active");
  });

  it("claims by priority, then age; a paused queue gives nothing", async () => {
    const url = await freshDb();
    const a = await open(url);
    const low = await a.submit(job("t", "p", { priority: -1 }));
    const high = await a.submit(job("t", "p", { priority: 10 }));
    const mid = await a.submit(job("t", "p"));
    await a.pauseQueue("p");
    expect(await a.fetch({ queues: ["p"], count: 10 })).toEqual([]);
    await a.resumeQueue("p");
    const got = await a.fetch({ queues: ["p"], count: 10 });
    expect(got.map((g) => g.job.id)).toEqual([high.job.job.id, mid.job.job.id, low.job.job.id]);
  });

  it("a failed attempt is retried after the policy's backoff, then discarded into the dead letter", async () => {
    const url = await freshDb();
    const a = await open(url);
    const { job: j } = await a.submit(
      job("t", "r", { retry: { maxAttempts: 2, initialInterval: 1500, backoffCoefficient: 1, jitter: false, onExhaustion: "dead_letter" } }),
    );
    await a.fetch({ queues: ["r"], workerId: "w" });
    const failed = await a.nack(j.job.id, { code: "boom", message: "first" }, "w");
    expect(failed.job.state).toBe("retryable");
    // 1.5 s of backoff leaves room for a loaded machine between the nack and this check.
    expect(failed.job.scheduledAt!.getTime() - Date.now()).toBeGreaterThan(500);
    expect(await a.fetch({ queues: ["r"] })).toEqual([]);
    const again = await eventually(async () => (await a.fetch({ queues: ["r"], workerId: "w" }))[0], 5000, 20);
    expect(again.job.attempt).toBe(2);
    const dead = await a.nack(j.job.id, { code: "boom", message: "second" }, "w");
    expect(dead.job.state).toBe("discarded");
    expect(dead.deadLetter).toBe(true);
    expect(dead.job.errors.map((e) => e.message)).toEqual(["first", "second"]);
  });

  it("two servers claiming at once never take the same job (SKIP LOCKED)", async () => {
    const url = await freshDb();
    const [a, b] = [await open(url), await open(url)];
    await a.enqueueBatch(Array.from({ length: 300 }, (_, i) => ({ req: job("t", "race", { args: [i] }) })));
    const seen = new Map<string, number>();
    const drain = async (s: PgJobStore, w: string) => {
      for (let rounds = 0; rounds < 500; rounds++) {
        const got = await s.fetch({ queues: ["race"], count: 7, workerId: w });
        if (got.length === 0) return;
        for (const g of got) seen.set(g.job.id, (seen.get(g.job.id) ?? 0) + 1);
      }
    };
    await Promise.all([drain(a, "wa"), drain(b, "wb"), drain(a, "wa2"), drain(b, "wb2")]);
    expect(seen.size).toBe(300);
    expect([...seen.values()].filter((n) => n > 1)).toEqual([]);
  });

  it("a unique key holds across servers: of concurrent enqueues one wins", async () => {
    const url = await freshDb();
    const [a, b] = [await open(url), await open(url)];
    const req = job("report", "u", { args: [{ day: "2026-12-01" }], unique: { keys: ["type", "args"], onConflict: "reject" } });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).submit(req)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(DuplicateJobError);
    const ign = await a.submit({ ...req, unique: { keys: ["type", "args"], onConflict: "ignore" } });
    expect(ign.deduplicated).toBe(true);
  });

  it("a stream consumer on one server is woken by NOTIFY when another server enqueues (no polling)", async () => {
    const url = await freshDb();
    // Maintenance (and so the poll) once a minute: only NOTIFY can deliver within the test.
    const a = await open(url, { maintenanceIntervalMs: 60_000 });
    const b = await open(url, { maintenanceIntervalMs: 60_000 });
    const got: string[] = [];
    b.openConsumer({ queues: ["n"], workerId: "wb", credit: 10, deliver: (j) => got.push(j.job.id) });
    await new Promise((r) => setTimeout(r, 200));
    const before = b.stats.notifications;
    const { job: j } = await a.submit(job("t", "n"));
    await eventually(() => got.includes(j.job.id), 3000);
    expect(b.stats.notifications).toBeGreaterThan(before);
  });

  it("any server reaps an expired lease: the first maintenance pass that starts after its deadline has it back, and it is offered again", async () => {
    const url = await freshDb();
    const [a, b] = [await open(url), await open(url)];
    // b's passes (its timer, every 100 ms), each noted with whether it began after the deadline and
    // what had been reaped by its end: how soon is counted in passes, not in milliseconds (a bound of
    // 1 s failed on a loaded machine, where passes took seconds).
    let deadline = Infinity;
    const passes: Array<{ afterDeadline: boolean; reclaimed: number }> = [];
    const pass = b.maintain.bind(b);
    let running = false;
    b.maintain = async () => {
      if (running) return; // as the store itself does: passes never overlap
      running = true;
      const afterDeadline = Date.now() > deadline;
      try {
        await pass();
      } finally {
        running = false;
      }
      passes.push({ afterDeadline, reclaimed: a.stats.reclaimed + b.stats.reclaimed });
    };
    const { job: j } = await a.submit(job("t", "lease"));
    const [held] = await a.fetch({ queues: ["lease"], workerId: "dies", visibilityTimeoutMs: 300 });
    deadline = held!.leaseDeadline;
    await a.close();
    const got: Array<{ id: string; at: number }> = [];
    b.openConsumer({ queues: ["lease"], workerId: "lives", credit: 5, deliver: (x) => got.push({ id: x.job.id, at: Date.now() }) });
    await eventually(() => got.length > 0 && passes.some((p) => p.afterDeadline), 15_000);
    expect(passes.find((p) => p.afterDeadline)!.reclaimed).toBe(1);
    expect(got[0]!.id).toBe(j.job.id);
    expect(got[0]!.at).toBeGreaterThanOrEqual(deadline);
    const again = await b.get(j.job.id);
    expect(again.job.attempt).toBe(2);
    expect(again.job.errors[0]!.code).toBe("visibility_timeout");
    // Reaped once, by whichever server's pass came first (a's may run before it closes on a loaded machine).
    expect(a.stats.reclaimed + b.stats.reclaimed).toBe(1);
  });

  it("finished jobs are deleted after their retention; dead letters and unfinished jobs stay", async () => {
    const url = await freshDb();
    const a = await open(url, { finishedRetentionMs: 200 });
    const { job: done } = await a.submit(job("t", "keep"));
    const { job: waiting } = await a.submit(job("t", "keep2"));
    await a.fetch({ queues: ["keep"], workerId: "w" });
    await a.ack(done.job.id, null, "w");
    await eventually(() => a.stats.pruned >= 1, 5000, 50);
    await expect(a.get(done.job.id)).rejects.toMatchObject({ code: "not_found" });
    expect((await a.get(waiting.job.id)).job.state).toBe("available");
  });

  it("a cron schedule fires once per tick across three servers", async () => {
    const url = await freshDb();
    const servers = [await open(url), await open(url), await open(url)];
    await servers[0]!.registerCron({ name: "tick", expression: "@every 1s", job: { type: "cron.tick", args: [], queue: "cron" } });
    await new Promise((r) => setTimeout(r, 3600));
    const rows = await servers[0]!.sql<{ created_at: Date }[]>`SELECT created_at FROM ojs_jobs WHERE queue = 'cron' ORDER BY created_at`;
    const fired = servers.reduce((n, s) => n + s.stats.cronFired, 0);
    expect(fired).toBe(rows.length);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.length).toBeLessThanOrEqual(4);
    // Once per tick: no two runs less than most of a period apart.
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.created_at.getTime() - rows[i - 1]!.created_at.getTime()).toBeGreaterThan(700);
  });
});
