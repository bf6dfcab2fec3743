/**
 * A restart puts back exactly the state that was journaled: a few thousand
 * jobs in every state (queued at several priorities, scheduled, active with a
 * lease, retrying, completed, dead, cancelled), with unique keys, custom retry
 * policies, extra fields, progress, tenants and a cron schedule, compared job
 * by job (the whole job and its bookkeeping) and queue by queue, from a journal
 * of appended records and from one with snapshots. Also: the chunked reader
 * finds the same records and the same end as a scan of the whole file, and a
 * journal that is mostly live is not rewritten at start.
 */
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/model/json.js";
import { ServerCore } from "../../src/server/core.js";
import { Journal, type JournalOptions } from "../../src/server/store/journal/journal.js";
import { scanFile } from "../../src/server/store/journal/read.js";
import { frame, records, reviveJob, savedJob, scan, type JournalRecord, type SavedJob } from "../../src/server/store/journal/records.js";
import { FakeClock } from "./fake-clock.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("ojs-journal-restart-");

/** Time stands still (both servers of a test read it), so no retry falls due between the dump before and the one after. */
const clock = new FakeClock(Date.UTC(2026, 5, 1));

async function open(dir: string, opts: Partial<JournalOptions> = {}) {
  const core = new ServerCore({ maxFinishedJobs: 100_000, clock });
  core.journal = await Journal.open(core, { dir, log: () => {}, ...opts });
  return { core, journal: core.journal };
}

/** Every job with all it keeps across a restart, and every queue's statistics. */
function dump(core: ServerCore) {
  const s = core.store;
  const jobs = [...s.jobRecords()]
    .map((r) => ({
      job: JSON.parse(JSON.stringify(r.job)) as unknown,
      extra: r.extra,
      retry: r.retry,
      ready: r.ready,
      leaseDeadline: r.leaseDeadline,
      workerId: r.workerId,
      uniqueKey: r.uniqueKey,
      deadLetter: r.deadLetter,
      progress: JSON.parse(JSON.stringify(r.progress ?? null)) as unknown,
      directiveOnClaim: r.directiveOnClaim,
      workflowStep: r.workflowStep,
      queuedBytes: r.queuedBytes,
    }))
    .sort((a, b) => ((a.job as { id: string }).id < (b.job as { id: string }).id ? -1 : 1));
  const queues = s
    .queueNames()
    .sort()
    .map((n) => {
      const { createdAt: _c, lastHour: _h, ...q } = s.queueSummary(n);
      return q;
    });
  const crons = core.cron.list().map(({ schedule: _s, ...c }) => JSON.parse(JSON.stringify(c)) as unknown);
  const dead = s
    .listDeadLetter({ limit: 10_000 })
    .jobs.map((r) => r.id)
    .sort();
  return { jobs, queues, crons, dead, queuedBytes: core.queued.total, tenantDepth: core.tenants.depth("acme") };
}

const N = 3000;

/** Fetches every ready job of a queue: the order they are served in (priority, FIFO, tenants in turn). */
function drain(s: ServerCore["store"], queue: string): string[] {
  const out: string[] = [];
  for (;;) {
    const got = s.fetch({ queues: [queue], count: 1000 });
    if (got.length === 0) return out;
    out.push(...got.map((r) => r.id));
  }
}

async function build(core: ServerCore): Promise<void> {
  const s = core.store;
  const now = clock.now();
  const available: string[] = [];
  for (let i = 0; i < N; i++) {
    const kind = i % 10;
    const meta: JsonObject = i % 7 === 0 ? { tenant_id: "acme", n: i } : {};
    if (kind === 0) {
      s.enqueue({ type: "r.sched", args: [i], queue: "later", scheduledAt: new Date(now + 3_600_000 + i), expiresAt: new Date(now + 7_200_000) });
    } else if (kind === 1) {
      s.enqueue({ type: "r.unique", args: [{ k: i }], queue: "uq", unique: { keys: ["type", "args"], onConflict: "reject" } });
    } else {
      const priority = i % 3;
      const rec = s.enqueue(
        {
          type: "r.work",
          args: [i, { s: "x".repeat(i % 50) }],
          queue: `work-${i % 4}`,
          priority,
          meta,
          ...(kind === 2 ? { retry: { maxAttempts: 5, initialInterval: 2000 } } : {}),
        },
        kind === 3 ? { extra_field: i } : undefined,
      );
      available.push(rec.id);
    }
  }
  await core.durable();
  // Some of the work jobs move on: active with a lease (some with progress), completed, retrying, dead, cancelled.
  const taken = s.fetch({ queues: ["work-0", "work-1"], count: 500, workerId: "w-1", visibilityTimeoutMs: 600_000 });
  taken.forEach((r, i) => {
    const step = i % 5;
    if (step === 1) s.ack(r.id, { done: i }, "w-1");
    else if (step === 2) s.nack(r.id, { code: "boom", message: "failed once", retryable: true }, "w-1");
    else if (step === 3) s.nack(r.id, { code: "fatal", message: "no", retryable: false }, "w-1", { response: "DEAD_LETTER" });
    else if (i % 10 === 0) s.reportProgress(r.id, { progress: 0.5, message: "half", data: { i } });
  });
  const gone = new Set(taken.map((r) => r.id));
  for (const id of available.filter((x) => !gone.has(x)).slice(0, 100)) s.cancel(id);
  core.cron.register({ name: "nightly", expression: "0 3 * * *", timezone: "Europe/Paris", template: { type: "r.cron", args: [7], queue: "c" } });
  s.configureQueue("work-3", { rateLimitPerSecond: 1000, backpressure: { maxDepth: 100_000, strategy: "reject" } });
  await core.durable();
}

describe("journal restart", () => {
  it.each([
    ["appended records only", 1024 ** 3],
    ["snapshots and appended records", 256 * 1024],
  ])("a few thousand jobs in every state come back exactly as they were (%s)", async (_name, compactAtBytes) => {
    const dir = tempDir();
    const { core, journal } = await open(dir, { compactAtBytes, fsync: "none" });
    await build(core);
    if (compactAtBytes < 1024 ** 2) expect(journal.stats.compactions).toBeGreaterThan(0);
    const before = dump(core);
    const states = new Set(before.jobs.map((j) => (j.job as { state: string }).state));
    expect([...states].sort()).toEqual(["active", "available", "completed", "discarded", "cancelled", "retryable", "scheduled"].sort());
    await journal.close();
    // The order the server that wrote the journal would serve its ready jobs in (no longer journaled: closed).
    const liveOrder = new Map(["work-0", "work-1", "work-2", "work-3"].map((q) => [q, drain(core.store, q)]));
    expect(liveOrder.get("work-2")!.length).toBeGreaterThan(500);
    core.close();

    const again = await open(dir, { compactAtBytes });
    expect(again.journal.stats.replayed.jobs).toBe(N);
    const after = dump(again.core);
    expect(after.queues).toEqual(before.queues);
    expect(after.jobs.length).toBe(before.jobs.length);
    for (let i = 0; i < before.jobs.length; i++) expect(after.jobs[i]).toEqual(before.jobs[i]);
    expect(after).toEqual(before);
    // Dates are Dates again, and the restored state keeps working: unique keys hold, leases are held, the ready queues serve in the same order.
    const s = again.core.store;
    const sched = [...s.jobRecords()].find((r) => r.job.state === "scheduled")!;
    expect(sched.job.scheduledAt).toBeInstanceOf(Date);
    expect(sched.job.createdAt).toBeInstanceOf(Date);
    expect(() => s.enqueue({ type: "r.unique", args: [{ k: 1 }], queue: "uq", unique: { keys: ["type", "args"], onConflict: "reject" } })).toThrow(/unique/);
    const active = [...s.jobRecords()].find((r) => r.job.state === "active")!;
    expect(() => s.ack(active.id, null, "w-2")).toThrow();
    s.ack(active.id, null, "w-1");
    for (const q of ["work-0", "work-1", "work-2", "work-3"]) expect(drain(s, q)).toEqual(liveOrder.get(q));
    await again.journal.close();
    again.core.close();
  });

  it("a revived job has its dates back as Dates, one shared by createdAt and enqueuedAt only when they are the same instant", () => {
    const core = new ServerCore({ clock });
    const rec = core.store.enqueue({ type: "r.dates", args: [], queue: "d", scheduledAt: new Date(clock.now() + 1000) });
    const parsed = () => JSON.parse(JSON.stringify(savedJob(rec))) as SavedJob;
    const same = reviveJob(parsed());
    expect(same.job.createdAt).toBeInstanceOf(Date);
    expect(same.job.enqueuedAt).toBe(same.job.createdAt);
    expect(same.job.scheduledAt).toEqual(rec.job.scheduledAt);
    expect(JSON.parse(JSON.stringify(same.job))).toEqual(JSON.parse(JSON.stringify(rec.job)));
    const other = parsed();
    (other.job as unknown as { enqueuedAt: string }).enqueuedAt = new Date(clock.now() + 5).toISOString();
    const apart = reviveJob(other);
    expect(apart.job.enqueuedAt!.getTime() - apart.job.createdAt!.getTime()).toBe(5);
    core.close();
  });

  it("a journal that is mostly live is not rewritten at start; one that is mostly stale is compacted", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir, { fsync: "none" });
    for (let i = 0; i < 200; i++) core.store.enqueue({ type: "r.live", args: ["y".repeat(200)], queue: "live" });
    await core.durable();
    await journal.close();
    core.close();
    // Small enough that the file counts as long: each job has one record, so it is not rewritten.
    const live = await open(dir, { compactAtBytes: 4096 });
    expect(live.journal.stats.compactions).toBe(0);
    for (const r of live.core.store.fetch({ queues: ["live"], count: 150 })) live.core.store.ack(r.id, null);
    await live.core.durable();
    await live.journal.close();
    live.core.close();
    // Now each of 150 jobs has three records (queued, active, completed) beside the 50 still queued.
    const stale = await open(dir, { compactAtBytes: 1024 ** 3, fsync: "none" });
    for (const r of [...stale.core.store.jobRecords()]) if (r.job.state === "completed") stale.core.store.deleteFinished(r.id);
    await stale.core.durable();
    await stale.journal.close();
    stale.core.close();
    const again = await open(dir, { compactAtBytes: 4096 });
    expect(again.journal.stats.compactions).toBe(1);
    expect(again.core.store.countByState("live").available).toBe(50);
    await again.journal.close();
    again.core.close();
  });

  it("a journal kept at start counts as a snapshot of its live share: the next compaction still comes at twice the live state", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir, { fsync: "none" });
    for (let i = 0; i < 200; i++) core.store.enqueue({ type: "r.half", args: ["y".repeat(200)], queue: "half" });
    await core.durable();
    for (const r of core.store.fetch({ queues: ["half"], count: 150 })) core.store.ack(r.id, null);
    await core.durable();
    await journal.close();
    core.close();
    // 351 records of 201 live things: kept as it is, its live share is about 57 % of the file.
    const kept = await open(dir, { compactAtBytes: 4096, fsync: "none" });
    expect(kept.journal.stats.compactions).toBe(0);
    const size = kept.journal.stats.bytes;
    // A third more: past twice the live share (about 1.14x the file), far from twice the file.
    while (kept.journal.stats.bytes < size * 1.33 && kept.journal.stats.compactions === 0) {
      kept.core.store.enqueue({ type: "r.half", args: ["y".repeat(200)], queue: "half" });
      await kept.core.durable();
    }
    expect(kept.journal.stats.compactions).toBe(1);
    await kept.journal.close();
    kept.core.close();
  });

  it("the chunked reader finds the same records and the same end as a scan of the whole file", async () => {
    const dir = tempDir();
    const path = join(dir, "records.log");
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const recs: JournalRecord[] = Array.from({ length: 300 }, (_, i) => ({
      k: "job-",
      id: `${i}-${"z".repeat(Math.floor(rnd() * (i % 50 === 0 ? 5000 : 300)))}`,
    }));
    writeFileSync(path, Buffer.concat(recs.map(frame)));
    const whole = readFileSync(path);
    const variants: Array<[string, () => void]> = [
      ["clean", () => {}],
      ["a torn header", () => appendFileSync(path, Buffer.alloc(5))],
      ["a torn record", () => appendFileSync(path, frame({ k: "job-", id: "x".repeat(100) }).subarray(0, 60))],
      [
        "a corrupt record in the middle",
        () => {
          const b = Buffer.from(whole);
          const at = Math.floor(b.length / 2);
          b[at] = b[at]! ^ 0xff;
          writeFileSync(path, b);
        },
      ],
    ];
    for (const [name, damage] of variants) {
      writeFileSync(path, whole);
      damage();
      const expected: JournalRecord[] = [];
      const end = scan(readFileSync(path), (r) => expected.push(r));
      expect(end.kind === "clean", name).toBe(name === "clean");
      for (const chunk of [16, 100, 1024, 4093, 1 << 20]) {
        const got: JournalRecord[] = [];
        const res = await scanFile(
          path,
          records((r) => got.push(r)),
          chunk,
        );
        expect(res.end, `${name}, chunks of ${chunk}`).toEqual(end);
        expect(res.length).toBe(readFileSync(path).length);
        expect(got).toEqual(expected);
      }
    }
    expect(readdirSync(dir)).toEqual(["records.log"]);
  });
});
