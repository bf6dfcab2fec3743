/**
 * The journal's binary job record (format 2, store/journal/job-record.ts):
 * every job the store makes is written in it and reads back exactly (dates as
 * Dates, user data as written), a job of another shape falls back to JSON, a
 * journal written in format 1 (JSON job records only) replays to the same state
 * and is appended to in format 2, a damaged binary record ends the replay as a
 * corrupt tail does, and a journal of a newer format is refused.
 */
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JsonObject, JsonValue } from "../../src/model/json.js";
import { ServerCore } from "../../src/server/core.js";
import type { RestoredJob } from "../../src/server/store/changes.js";
import { crc32 } from "../../src/server/store/journal/crc32.js";
import { JOB_BINARY } from "../../src/server/store/journal/job-record.js";
import { Journal, type JournalOptions } from "../../src/server/store/journal/journal.js";
import { frame, frameJob, HEADER_BYTES, JobFramer, savedJob, scan, type JournalRecord } from "../../src/server/store/journal/records.js";
import { FakeClock } from "./fake-clock.js";
import { kept } from "../support/restored-job.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("ojs-journal-format-");

const clock = new FakeClock(Date.UTC(2026, 5, 1));

async function open(dir: string, opts: Partial<JournalOptions> = {}) {
  const core = new ServerCore({ clock });
  core.journal = await Journal.open(core, { dir, log: () => {}, ...opts });
  return { core, journal: core.journal };
}

/** Jobs in every state, with every optional field a job can carry. */
function populate(core: ServerCore): void {
  const s = core.store;
  const now = clock.now();
  s.enqueue({ type: "f.sched", args: [1], queue: "later", scheduledAt: new Date(now + 60_000), expiresAt: new Date(now + 120_000), tags: ["a", "b"] });
  s.enqueue({ type: "f.unique", args: [{ k: 1 }], queue: "uq", unique: { keys: ["type", "args"], onConflict: "reject" } });
  s.enqueue({ type: "f.meta", args: ["é ✓ 😀", null, 1.5], queue: "q", meta: { tenant_id: "acme", n: 2 }, priority: 7, timeout: 5000 }, { extra_field: [1] });
  s.enqueue({ type: "f.retry", args: [], queue: "q", retry: { maxAttempts: 5, initialInterval: 2000, nonRetryableErrors: ["x"] }, visibilityTimeout: 9000 });
  for (let i = 0; i < 8; i++) s.enqueue({ type: "f.work", args: [i], queue: "work" });
  const taken = s.fetch({ queues: ["work"], count: 8, workerId: "w-1", visibilityTimeoutMs: 600_000 });
  s.ack(taken[0]!.id, { done: true }, "w-1");
  s.nack(taken[1]!.id, { code: "boom", message: "once", retryable: true }, "w-1");
  s.nack(taken[2]!.id, { code: "fatal", message: "no", retryable: false }, "w-1", { response: "DEAD_LETTER" });
  s.reportProgress(taken[3]!.id, { progress: 0.5, message: "half", data: { i: 3 } });
  s.cancel(s.enqueue({ type: "f.cancel", args: [], queue: "c" }).id);
}

function jobsOf(core: ServerCore) {
  return [...core.store.rawJobRecords()].map(kept).sort((a, b) => (a.job.id < b.job.id ? -1 : 1));
}

/** Decodes the framed records in `bufs` back into JournalRecords. */
function decode(bufs: Buffer[]): JournalRecord[] {
  const out: JournalRecord[] = [];
  expect(scan(Buffer.concat(bufs), (r) => out.push(r))).toEqual({ kind: "clean" });
  return out;
}

describe("journal format 2: binary job records", () => {
  it("every job the store makes is written as a binary record and reads back exactly", () => {
    const core = new ServerCore({ clock });
    populate(core);
    const recs = [...core.store.rawJobRecords()];
    expect(new Set(recs.map((r) => r.job.state)).size).toBe(7);
    const bufs = recs.map(frameJob);
    for (const b of bufs) expect(b[HEADER_BYTES]).toBe(JOB_BINARY);
    const back = decode(bufs).map((r) => kept((r as Extract<JournalRecord, { k: "job" }>).r as RestoredJob));
    expect(back).toEqual(recs.map(kept));
    // The default policy comes back as the shared default objects, not as copies.
    const plain = back.find((r) => r.job.type === "f.sched")!;
    expect(plain.retry).toBe(recs.find((r) => r.job.type === "f.sched")!.retry);
    expect(plain.job.retry).toBe(recs.find((r) => r.job.type === "f.sched")!.job.retry);
    expect(plain.job.enqueuedAt).toBe(plain.job.createdAt);
    core.close();
  });

  it("user data and dates round-trip for any JSON args, meta, tags and result (property)", () => {
    const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as JsonValue);
    const obj = fc.dictionary(fc.string(), json, { maxKeys: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as JsonObject);
    const when = fc.integer({ min: -8.64e15, max: 8.64e15 }).map((t) => new Date(t));
    fc.assert(
      fc.property(
        fc.record({
          id: fc.string({ unit: "binary" }),
          type: fc.string({ unit: "binary" }),
          queue: fc.string({ unit: "grapheme" }),
          args: fc.array(json, { maxLength: 3 }),
          meta: obj,
          tags: fc.array(fc.string(), { maxLength: 3 }),
        }),
        fc.record({
          priority: fc.double(),
          attempt: fc.nat(),
          created: when,
          enqueued: when,
          lease: fc.double(),
          result: fc.option(json, { nil: undefined }),
          started: fc.option(when, { nil: undefined }),
        }),
        (a, b) => {
          const core = new ServerCore({ clock });
          const rec = core.store.enqueue({ type: "p", args: [] });
          Object.assign(rec.job, {
            id: a.id,
            type: a.type,
            queue: a.queue,
            args: a.args,
            meta: a.meta,
            tags: a.tags,
            priority: b.priority,
            attempt: b.attempt,
          });
          Object.assign(rec.job, { createdAt: b.created, enqueuedAt: b.enqueued });
          if (b.result !== undefined) rec.job.result = b.result;
          if (b.started) rec.job.startedAt = b.started;
          const saved: RestoredJob = { ...rec, id: a.id, leaseDeadline: b.lease };
          const buf = frameJob(saved);
          // A lone surrogate in a string field sends the job the JSON way; any other job is binary.
          const wellFormed = [a.id, a.type].every((s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed());
          expect(buf[HEADER_BYTES]).toBe(wellFormed ? JOB_BINARY : "{".charCodeAt(0));
          const [r] = decode([buf]) as Array<Extract<JournalRecord, { k: "job" }>>;
          expect(kept(r!.r as RestoredJob)).toEqual(kept(saved));
          core.close();
        },
      ),
      { numRuns: 200 },
    );
  });

  it("the numbers of the fixed part read back exactly: -0, the edges of the int32 range, fractions, NaN and infinities", () => {
    const core = new ServerCore({ clock });
    const values = [0, -0, 1, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 53, 0.5, -1.5, NaN, Infinity, -Infinity];
    for (const v of values) {
      const rec = core.store.enqueue({ type: "n", args: [] });
      Object.assign(rec.job, { priority: v, attempt: v, maxAttempts: v });
      const saved: RestoredJob = { ...rec, leaseDeadline: v };
      const buf = frameJob(saved);
      expect(buf[HEADER_BYTES]).toBe(JOB_BINARY);
      const back = (decode([buf])[0] as Extract<JournalRecord, { k: "job" }>).r;
      for (const n of [back.job.priority, back.job.attempt, back.job.maxAttempts, back.leaseDeadline]) expect(Object.is(n, v), `${n} for ${v}`).toBe(true);
    }
    core.close();
  });

  it("jobs created in the same millisecond read back sharing one creation Date; another instant gets its own", () => {
    const core = new ServerCore({ clock });
    const a = core.store.enqueue({ type: "d", args: [1] });
    const b = core.store.enqueue({ type: "d", args: [2] });
    clock.advance(1);
    const c = core.store.enqueue({ type: "d", args: [3] });
    const d = core.store.enqueue({ type: "d", args: [4] });
    d.job.createdAt = d.job.enqueuedAt = new Date(a.job.createdAt!.getTime());
    const back = decode([a, b, c, d].map(frameJob)).map((r) => (r as Extract<JournalRecord, { k: "job" }>).r.job);
    expect(back.map((j) => j.createdAt!.getTime())).toEqual([a, b, c, d].map((r) => r.job.createdAt!.getTime()));
    expect(back[1]!.createdAt).toBe(back[0]!.createdAt);
    expect(back[2]!.createdAt).not.toBe(back[1]!.createdAt);
    // Only the last instant is remembered: the same instant after another one is a new Date, equal in value.
    expect(back[3]!.createdAt).not.toBe(back[0]!.createdAt);
    for (const j of back) expect(j.enqueuedAt).toBe(j.createdAt);
    core.close();
  });

  it("dates beyond the fixed part are written as milliseconds; records holding them as ISO strings (as written before) still read", () => {
    const core = new ServerCore({ clock });
    const rec = core.store.enqueue({ type: "f.dates", args: [], queue: "q", scheduledAt: new Date(clock.now() + 5_000) });
    const started = new Date(clock.now() + 1_234);
    rec.job.startedAt = started;
    const now = frameJob(rec);
    expect(now.includes(started.toISOString())).toBe(false);
    expect(now.includes(String(started.getTime()))).toBe(true);
    const [r] = decode([now]) as Array<Extract<JournalRecord, { k: "job" }>>;
    expect(r!.r.job.startedAt).toEqual(started);
    expect(r!.r.job.scheduledAt).toEqual(rec.job.scheduledAt);
    // The bytes the writer made before: the ISO string where a Date was.
    (rec.job as unknown as Record<string, unknown>).startedAt = started.toISOString();
    const before = frameJob(rec);
    expect(before.includes(started.toISOString())).toBe(true);
    const [old] = decode([before]) as Array<Extract<JournalRecord, { k: "job" }>>;
    expect(old!.r.job.startedAt).toEqual(started);
    core.close();
  });

  it("a job of another shape is written as a JSON record and still comes back", () => {
    const core = new ServerCore({ clock });
    const rec = core.store.enqueue({ type: "odd", args: [1], queue: "q" });
    delete rec.job.maxAttempts;
    const buf = frameJob(rec);
    expect(buf.toString("utf8", HEADER_BYTES, HEADER_BYTES + 1)).toBe("{");
    const [r] = decode([buf]) as Array<Extract<JournalRecord, { k: "job" }>>;
    expect(r!.r.job.maxAttempts).toBeUndefined();
    expect(r!.r.id).toBe(rec.id);
    // A lone surrogate (which UTF-8 cannot carry) in a string the binary record holds as UTF-8.
    const lone = core.store.enqueue({ type: "odd", args: [], queue: "q" });
    lone.job.type = "half \ud800 pair";
    const loneBuf = frameJob(lone);
    expect(loneBuf.toString("utf8", HEADER_BYTES, HEADER_BYTES + 1)).toBe("{");
    expect((decode([loneBuf])[0] as Extract<JournalRecord, { k: "job" }>).r.job.type).toBe("half \ud800 pair");
    core.close();
  });

  it("many records are packed into one buffer in order, JSON jobs and deletions among the binary records", () => {
    const core = new ServerCore({ clock });
    const recs = Array.from({ length: 5 }, (_, i) => core.store.enqueue({ type: "pack", args: [i], queue: "q" }));
    delete recs[2]!.job.maxAttempts;
    const out: Buffer[] = [];
    const f = new JobFramer(out);
    f.job(recs[0]!);
    f.job(recs[1]!);
    f.job(recs[2]!);
    f.gone("gone-1");
    f.job(recs[3]!);
    f.job(recs[4]!);
    f.flush();
    expect(out).toHaveLength(1);
    expect([f.records, f.buffers]).toEqual([6, 1]);
    const back = decode(out).map((r) => (r.k === "job" ? r.r.id : r.k === "job-" ? `-${r.id}` : r.k));
    expect(back).toEqual([recs[0]!.id, recs[1]!.id, recs[2]!.id, "-gone-1", recs[3]!.id, recs[4]!.id]);
    core.close();
  });

  it("a framing that failed half-way leaves nothing behind for the next write", () => {
    const core = new ServerCore({ clock });
    const ok = core.store.enqueue({ type: "ok", args: [1], queue: "q" });
    const bad = core.store.enqueue({ type: "bad", args: [2], queue: "q" });
    (bad.job.args as unknown[])[0] = 10n;
    const first = new JobFramer([]);
    first.job(ok);
    expect(() => first.job(bad)).toThrow(/BigInt/);
    const out: Buffer[] = [];
    const next = new JobFramer(out);
    next.job(ok);
    next.flush();
    expect(decode(out).map((r) => (r.k === "job" ? r.r.id : r.k))).toEqual([ok.id]);
    expect(decode([frameJob(ok)])).toHaveLength(1);
    core.close();
  });

  it("a journal written in format 1 (JSON job records) replays to the same state and is appended to in format 2", async () => {
    const src = new ServerCore({ clock });
    populate(src);
    const dir = tempDir();
    // What format 1 wrote: a header with v 1, then one JSON record per job (as savedJob gives it) and the cron schedule.
    src.cron.register({ name: "nightly", expression: "0 3 * * *", timezone: "UTC", template: { type: "f.cron", args: [], queue: "c" } });
    const v1 = [
      frame({ k: "hdr", v: 1, gen: 1, at: new Date(clock.now()).toISOString() }),
      ...[...src.store.rawJobRecords()].map((r) => frame({ k: "job", r: JSON.parse(JSON.stringify(savedJob(r))) as ReturnType<typeof savedJob> })),
      frame({ k: "cron", r: JSON.parse(JSON.stringify({ ...src.cron.list()[0], schedule: undefined })) as never }),
    ];
    writeFileSync(join(dir, "journal-00000001.log"), Buffer.concat(v1));
    const { core, journal } = await open(dir, { fsync: "none" });
    expect(journal.stats.replayed.dropped).toBeUndefined();
    expect(journal.stats.replayed.jobs).toBe(jobsOf(src).length);
    expect(jobsOf(core)).toEqual(jobsOf(src));
    expect(core.cron.list().map((c) => c.name)).toEqual(["nightly"]);
    // Appended after the JSON records: binary records, and the mixed file replays too.
    const added = core.store.enqueue({ type: "f.new", args: [2], queue: "q" });
    core.store.ack(core.store.fetch({ queues: ["q"], count: 1, workerId: "w-2" })[0]!.id, null, "w-2");
    await core.durable();
    const after = jobsOf(core);
    await journal.close();
    core.close();
    const bytes = readFileSync(join(dir, "journal-00000001.log"));
    expect(bytes.subarray(0, Buffer.concat(v1).length).equals(Buffer.concat(v1))).toBe(true);
    expect(bytes[Buffer.concat(v1).length + HEADER_BYTES]).toBe(JOB_BINARY);
    const again = await open(dir);
    expect(jobsOf(again.core)).toEqual(after);
    expect(again.core.store.peek(added.id)?.job.type).toBe("f.new");
    await again.journal.close();
    again.core.close();
    src.close();
  });

  it("a binary record that checks out but cannot be read ends the replay there, as a corrupt tail does, and says so", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir, { fsync: "none" });
    for (let i = 0; i < 5; i++) core.store.enqueue({ type: "f.ok", args: [i], queue: "q" });
    await core.durable();
    await journal.close();
    core.close();
    const path = join(dir, "journal-00000001.log");
    const good = readFileSync(path).length;
    // A job record whose state byte names no state, with a valid checksum: only the reader can tell.
    const other = new ServerCore({ clock });
    const bad = Buffer.from(frameJob(other.store.enqueue({ type: "f.bad", args: [], queue: "q" })));
    other.close();
    bad[HEADER_BYTES + 1] = 200;
    bad.writeUInt32LE(crc32(bad.subarray(HEADER_BYTES)), 4);
    appendFileSync(path, bad);
    const lines: string[] = [];
    const again = await open(dir, { log: (l) => lines.push(l) });
    expect(again.journal.stats.replayed.jobs).toBe(5);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`dropped ${bad.length} bytes at offset ${good} (a job record that cannot be read)`);
    // Cut there: the records end where they did, and only zeros (the spare space, file.ts) follow them.
    expect(again.journal.stats.bytes).toBe(good);
    expect(
      readFileSync(path)
        .subarray(good)
        .every((b) => b === 0),
    ).toBe(true);
    await again.journal.close();
    again.core.close();
  });

  it("a journal of a newer format is refused at start, not cut short", async () => {
    const dir = tempDir();
    const file = join(dir, "journal-00000001.log");
    const content = Buffer.concat([frame({ k: "hdr", v: 99, gen: 1, at: "x" }), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0])]);
    writeFileSync(file, content);
    await expect(open(dir)).rejects.toThrow(/journal format 99, newer than this version reads/);
    expect(readFileSync(file).equals(content)).toBe(true);
    expect(readdirSync(dir).filter((n) => n !== "LOCK")).toEqual(["journal-00000001.log"]);
  });
});
