/**
 * The durable journal store driven directly (ServerCore + Journal, real files
 * in a temporary directory): every kind of state survives a reopen, a torn or
 * corrupt tail is cut off and reported, compaction bounds the file, and a
 * failing disk makes writes fail instead of being acknowledged.
 */
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { flattenWorkflow } from "../../src/codec/workflow.js";
import { ServerCore } from "../../src/server/core.js";
import { crc32, crc32Range, tableCrc32 } from "../../src/server/store/journal/crc32.js";
import { Journal, type JournalOptions } from "../../src/server/store/journal/journal.js";
import { startServer } from "../../src/server/server.js";
import { Client } from "../../src/index.js";
import { serverCore } from "../../src/server/internal.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("ojs-journal-test-");

async function open(dir: string, opts: Partial<JournalOptions> = {}, core = new ServerCore({ maxFinishedJobs: 1000 })) {
  const lines: string[] = [];
  core.journal = await Journal.open(core, { dir, log: (l) => lines.push(l), ...opts });
  return { core, journal: core.journal, lines };
}

function onlyZerosFrom(buf: Buffer, from: number): boolean {
  return buf.subarray(from).every((b) => b === 0);
}

async function durable(core: ServerCore): Promise<void> {
  await core.durable();
}

/** Everything a user can read back, in a comparable form. */
function dump(core: ServerCore) {
  const s = core.store;
  const jobs = [...s.jobRecords()]
    .map((r) => ({
      job: JSON.parse(JSON.stringify(r.job)),
      worker: r.workerId,
      lease: r.leaseDeadline,
      dead: r.deadLetter,
      progress: r.progress?.value,
      step: r.workflowStep,
    }))
    .sort((a, b) => (a.job.id < b.job.id ? -1 : 1));
  const queues = s
    .queueNames()
    .sort()
    .map((n) => ({ n, ...s.queueConfig(n), counts: s.queueSummary(n).counts, dead: s.queueSummary(n).dead }));
  const crons = core.cron.list().map(({ schedule: _s, ...c }) => JSON.parse(JSON.stringify(c)));
  const schemas = JSON.parse(JSON.stringify(core.schemas.list()));
  const workflows = [...s.workflows.records()].map((w) => JSON.parse(JSON.stringify(s.workflows.get(w.id))));
  return { jobs, queues, crons, schemas, workflows, dead: s.listDeadLetter().jobs.map((r) => r.id) };
}

describe("journal store", () => {
  it("crc32: the native and the table-driven implementation agree", () => {
    const data = Buffer.from("the quick brown fox jumps over the lazy dog \u00e9\u{1d11e}");
    expect(crc32(data)).toBe(tableCrc32(data));
    expect(tableCrc32(Buffer.from("123456789"))).toBe(0xcbf43926);
  });

  it("crc32Range: the CRC of any range, on both sides of the native threshold, as crc32 of its bytes", () => {
    const data = Buffer.alloc(2100);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919 + (i >> 3)) & 0xff;
    for (const len of [0, 1, 7, 8, 9, 63, 255, 256, 257, 1000, 2000])
      for (const start of [0, 1, 5, 13]) expect(crc32Range(data, start, start + len), `${start}+${len}`).toBe(crc32(data.subarray(start, start + len)));
  });

  it("every kind of state survives a close and a reopen", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir);
    const s = core.store;
    const q = "rt";
    const now = Date.now();
    const avail = s.enqueue(
      { type: "t.avail", args: [1, { deep: ["x", null, true] }], queue: q, priority: 5, tags: ["a"], meta: { m: 1 } },
      { extra_field: "kept" },
    );
    s.enqueue({ type: "t.sched", args: [], queue: q, scheduledAt: new Date(now + 3_600_000), expiresAt: new Date(now + 7_200_000) });
    s.enqueue({ type: "t.unique", args: [{ k: 1 }], queue: "uq", unique: { keys: ["type", "args"], onConflict: "reject" } });
    for (const t of ["t.active", "t.done", "t.retry", "t.dead", "t.cancel"])
      s.enqueue({ type: t, args: [], queue: "work", retry: t === "t.dead" ? { maxAttempts: 1, onExhaustion: "dead_letter" } : { maxAttempts: 3 } });
    const took = s.fetch({ queues: ["work"], count: 4, workerId: "w-1", visibilityTimeoutMs: 60_000 });
    const byType = (t: string) => took.find((r) => r.job.type === t)!;
    s.reportProgress(byType("t.active").id, { progress: 0.5, message: "half" });
    s.ack(byType("t.done").id, { ok: [1, 2] }, "w-1");
    s.nack(byType("t.retry").id, { code: "boom", message: "failed once", retryable: true }, "w-1");
    s.nack(byType("t.dead").id, { code: "fatal", message: "no", retryable: false }, "w-1");
    const cancelled = [...s.jobRecords()].find((r) => r.job.type === "t.cancel")!;
    s.cancel(cancelled.id);
    s.pauseQueue("paused-q");
    s.configureQueue("limited", { rateLimitPerSecond: 50, backpressure: { maxDepth: 10, strategy: "reject" } });
    core.cron.register({
      name: "nightly",
      expression: "0 3 * * *",
      timezone: "Europe/Paris",
      template: { type: "t.cron", args: [7], queue: "c", scheduledAt: new Date(now + 1000) },
      description: "d",
    });
    core.cron.register({ name: "off", expression: "*/5 * * * *", template: { type: "t.cron2", args: [], queue: "c" }, enabled: false });
    core.schemas.register("t.avail", 1, { type: "array" }, new Date(now));
    core.schemas.register("t.avail", "2.0", { type: "array", items: {} }, new Date(now));
    const flat = flattenWorkflow({
      kind: "chain",
      name: "wf",
      steps: [
        { type: "w.a", args: [], options: { queue: "wfq" } },
        { type: "w.b", args: [], options: { queue: "wfq" } },
      ],
    });
    s.workflows.create(flat.name, flat.kind, flat.steps);
    const [step1] = s.fetch({ queues: ["wfq"], workerId: "w-2" });
    s.ack(step1!.id, { step: 1 }, "w-2");
    await durable(core);
    const before = dump(core);
    expect(before.jobs.map((j) => j.job.state).sort()).toEqual([
      "active",
      "available",
      "available",
      "available",
      "cancelled",
      "completed",
      "completed",
      "discarded",
      "retryable",
      "scheduled",
    ]);
    await journal.close();
    core.close();

    const again = await open(dir);
    expect(dump(again.core)).toEqual(before);
    expect(again.journal.stats.replayed.jobs).toBe(before.jobs.length);
    // The restored state keeps working: unique keys hold, the ready queue serves in priority order, the lease holder can ack.
    expect(() =>
      again.core.store.enqueue({ type: "t.unique", args: [{ k: 1 }], queue: "uq", unique: { keys: ["type", "args"], onConflict: "reject" } }),
    ).toThrow(/unique/);
    expect(again.core.store.fetch({ queues: [q] })[0]!.id).toBe(avail.id);
    again.core.store.ack(byType("t.active").id, null, "w-1");
    expect(again.core.store.peek(avail.id)!.extra).toEqual({ extra_field: "kept" });
    await again.journal.close();
    again.core.close();
  });

  it("a thing deleted after it was written stays deleted after a reopen (the deletion record replays last)", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir);
    const s = core.store;
    const gone = s.enqueue({ type: "t.del", args: [], queue: "del" });
    const kept = s.enqueue({ type: "t.del", args: [1], queue: "del" });
    core.cron.register({ name: "gone", expression: "0 3 * * *", template: { type: "t.cron", args: [], queue: "c" } });
    core.schemas.register("t.del", 1, { type: "array" }, new Date());
    await durable(core);
    s.cancel(gone.id);
    s.deleteFinished(gone.id);
    core.cron.unregister("gone");
    core.schemas.delete("t.del", 1);
    await durable(core);
    await journal.close();
    core.close();

    const again = await open(dir);
    expect(again.core.store.peek(gone.id)).toBeUndefined();
    expect(again.core.store.peek(kept.id)?.job.state).toBe("available");
    expect(again.core.cron.list()).toEqual([]);
    expect(again.core.schemas.list()).toEqual([]);
    await again.journal.close();
    again.core.close();
  });

  it("a change whose write failed is written with the next write once the disk recovers", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir);
    let faults = 0;
    journal.faults.beforeWrite = () => {
      faults++;
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    };
    const during = core.store.enqueue({ type: "t.retry-write", args: [1], queue: "rw" });
    await expect(durable(core)).rejects.toThrow(/ENOSPC/);
    expect(faults).toBeGreaterThan(0);
    journal.faults.beforeWrite = undefined;
    const after = core.store.enqueue({ type: "t.retry-write", args: [2], queue: "rw" });
    await durable(core);
    await journal.close();
    core.close();

    const again = await open(dir);
    expect(again.core.store.peek(during.id)?.job.state).toBe("available");
    expect(again.core.store.peek(after.id)?.job.state).toBe("available");
    await again.journal.close();
    again.core.close();
  });

  it("a torn last record is cut off with one line naming what was dropped; every whole record is kept", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir);
    const ids = Array.from({ length: 5 }, (_, i) => core.store.enqueue({ type: "t.torn", args: [i], queue: "torn" }).id);
    await durable(core);
    await journal.close();
    core.close();
    const file = readdirSync(dir).find((f) => f.endsWith(".log"));
    const path = join(dir, file!);
    const whole = statSync(path).size;
    // Half of a sixth record, as a crash in the middle of a write leaves it.
    const half = Buffer.alloc(40);
    half.writeUInt32LE(500, 0);
    appendFileSync(path, half);

    const again = await open(dir);
    expect(again.lines).toHaveLength(1);
    expect(again.lines[0]).toMatch(new RegExp(`dropped 40 bytes at offset ${whole} \\(a record cut short\\); kept \\d+ whole records`));
    // Cut there: the records end where they did, and only zeros (the spare space, file.ts) follow them.
    expect(again.journal.stats.bytes).toBe(whole);
    expect(onlyZerosFrom(readFileSync(path), whole)).toBe(true);
    for (const id of ids) expect(again.core.store.peek(id)?.job.state).toBe("available");
    // Appends continue after the cut.
    const more = again.core.store.enqueue({ type: "t.torn", args: [], queue: "torn" });
    await durable(again.core);
    await again.journal.close();
    again.core.close();
    const third = await open(dir);
    expect(third.lines).toEqual([]);
    expect(third.core.store.peek(more.id)).toBeDefined();
    await third.journal.close();
    third.core.close();
  });

  it("a corrupted last record fails its checksum: dropped and reported, the records before it kept", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir);
    const first = core.store.enqueue({ type: "t.c", args: ["first"], queue: "c" });
    await durable(core);
    // Where the records end (the file itself is longer while open: its spare space, file.ts).
    const sizeAfterFirst = journal.stats.bytes;
    const second = core.store.enqueue({ type: "t.c", args: ["second"], queue: "c" });
    await durable(core);
    await journal.close();
    core.close();
    const path = join(
      dir,
      readdirSync(dir).find((f) => f.endsWith(".log"))!,
    );
    const buf = readFileSync(path);
    buf[buf.length - 5] = buf[buf.length - 5]! ^ 0xff; // one flipped byte inside the last record's payload
    writeFileSync(path, buf);

    const again = await open(dir);
    expect(again.lines).toHaveLength(1);
    expect(again.lines[0]).toContain(`at offset ${sizeAfterFirst} (a checksum mismatch)`);
    expect(again.core.store.peek(first.id)).toBeDefined();
    expect(again.core.store.peek(second.id)).toBeUndefined();
    await again.journal.close();
    again.core.close();
  });

  it("compaction keeps the file bounded while jobs come and go, and nothing live is lost", async () => {
    const dir = tempDir();
    const compactAtBytes = 64 * 1024;
    const { core, journal } = await open(dir, { compactAtBytes, fsync: "none" }, new ServerCore({ maxFinishedJobs: 10 }));
    let maxBytes = 0;
    const keep: string[] = [];
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 50; i++) core.store.enqueue({ type: "t.churn", args: ["x".repeat(100)], queue: "churn" });
      if (round % 3 === 0) keep.push(core.store.enqueue({ type: "t.keep", args: [round], queue: "keep" }).id);
      for (const r of core.store.fetch({ queues: ["churn"], count: 50 })) core.store.ack(r.id, null);
      await durable(core);
      for (const f of readdirSync(dir)) maxBytes = Math.max(maxBytes, statSync(join(dir, f)).size);
    }
    expect(journal.stats.compactions).toBeGreaterThan(3);
    // Without compaction this run writes ~2.5 MB. Live state (20 kept + 10 retained finished jobs) is far
    // below half the threshold, so the file never exceeds the threshold plus one batch.
    expect(maxBytes).toBeLessThan(compactAtBytes + 64 * 1024);
    expect(readdirSync(dir).filter((f) => f.endsWith(".log"))).toHaveLength(1);
    await journal.close();
    core.close();
    const again = await open(dir, { compactAtBytes });
    for (const id of keep) expect(again.core.store.peek(id)?.job.state).toBe("available");
    expect(again.core.store.queueSummary("churn").counts.available).toBe(0);
    await again.journal.close();
    again.core.close();
  });

  it("a full disk: the enqueue is answered with a retryable 503, not acknowledged; writes resume when space is back", async () => {
    const dir = tempDir();
    const server = await startServer({ dataDir: dir });
    try {
      const journal = serverCore(server).journal!;
      let faults = 0;
      journal.faults.beforeWrite = () => {
        faults++;
        throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      };
      const post = (body: object) =>
        fetch(`${server.url}/ojs/v1/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const r = await post({ type: "t.full", args: [] });
      expect(faults).toBeGreaterThan(0);
      expect(r.status).toBe(503);
      const body = (await r.json()) as { error: { code: string; retryable: boolean; message: string } };
      expect(body.error).toMatchObject({ code: "unavailable", retryable: true });
      expect(body.error.message).toContain("ENOSPC");
      expect(((await (await fetch(`${server.url}/ojs/v1/health`)).json()) as { status: string }).status).toBe("degraded");

      journal.faults.beforeWrite = undefined;
      const ok = await post({ type: "t.full", args: [] });
      expect(ok.status).toBe(201);
      expect(journal.stats.failures).toBe(faults);
    } finally {
      await server.close();
    }
  });

  it.each(["grpc", "http"] as const)(
    "a full disk over %s through the SDK: enqueue, batch and ack fail as unavailable, none is acknowledged",
    async (transport) => {
      const dir = tempDir();
      const server = await startServer({ dataDir: dir });
      const client = new Client({ url: server.url, transport });
      try {
        const held = await client.enqueue("t.disk", [], { queue: "disk" });
        const [claimed] = await client.transport.fetch({ queues: ["disk"], count: 1, workerId: "w" });
        expect(claimed!.id).toBe(held.id);
        let faults = 0;
        serverCore(server).journal!.faults.beforeWrite = () => {
          faults++;
          throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        };
        await expect(client.enqueue("t.disk", [], { queue: "disk" })).rejects.toMatchObject({ code: "unavailable" });
        await expect(
          client.enqueueBatch([
            { type: "t.disk", args: [] },
            { type: "t.disk", args: [1] },
          ]),
        ).rejects.toMatchObject({ code: "unavailable" });
        await expect(client.transport.ack({ jobId: held.id, workerId: "w" })).rejects.toMatchObject({ code: "unavailable" });
        expect(faults).toBeGreaterThanOrEqual(3);
      } finally {
        await client.close();
        await server.close();
      }
    },
  );

  it("one server per data directory: a second is refused while the first runs, and may start once it stopped", async () => {
    const dir = tempDir();
    const first = await startServer({ dataDir: dir });
    await expect(startServer({ dataDir: dir })).rejects.toThrow(/is in use by another server \(pid \d+/);
    await first.close();
    const second = await startServer({ dataDir: dir });
    await second.close();
  });

  it("an unusable data directory is refused at start with the reason", async () => {
    const file = join(tempDir(), "not-a-dir");
    writeFileSync(file, "x");
    await expect(startServer({ dataDir: file })).rejects.toThrow(/data directory .*not-a-dir is not usable: (EEXIST|ENOTDIR)/);
    await expect(startServer({ dataDir: join(file, "sub") })).rejects.toThrow(/is not usable: ENOTDIR/);
  });
});
