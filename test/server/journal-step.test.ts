/**
 * Job step records (format 3, store/journal/job-step.ts): a job's first
 * record is whole, its later changes (claim, ack, nack, progress, lease,
 * cancel, retry) are steps without what it was created with, and a replay of
 * steps gives the state the whole records gave. A job made anew under the id
 * of a dropped one starts whole again; a file of an older format gets whole
 * records only (an older server can still read it) until its next
 * compaction; a step with no earlier record of its job is skipped and said once.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ServerCore } from "../../src/server/core.js";
import type { RestoredJob } from "../../src/server/store/changes.js";
import { ScratchWriter } from "../../src/server/store/journal/binary.js";
import { JOB_BINARY } from "../../src/server/store/journal/job-record.js";
import { JOB_STEP, writeJobStep } from "../../src/server/store/journal/job-step.js";
import { Journal, type JournalOptions } from "../../src/server/store/journal/journal.js";
import { frame, HEADER_BYTES, records, scanFrames, type JournalRecord } from "../../src/server/store/journal/records.js";
import { FakeClock } from "./fake-clock.js";
import { kept } from "../support/restored-job.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("ojs-journal-step-");
const clock = new FakeClock(Date.UTC(2026, 5, 1));

async function open(dir: string, opts: Partial<JournalOptions> = {}) {
  const lines: string[] = [];
  const core = new ServerCore({ clock, maxFinishedJobs: 10_000 });
  core.journal = await Journal.open(core, { dir, log: (l) => lines.push(l), fsync: "none", ...opts });
  return { core, journal: core.journal, lines };
}

const jobsOf = (core: ServerCore) => [...core.store.rawJobRecords()].map(kept).sort((a, b) => (a.job.id < b.job.id ? -1 : 1));

/** The first payload byte of every record of the file (JOB_BINARY, JOB_STEP, or "{" for JSON). */
function kinds(path: string): number[] {
  const out: number[] = [];
  scanFrames(readFileSync(path), (buf, start) => void out.push(buf[start]!));
  return out;
}

const FILE = "journal-00000001.log";

/** Jobs made in one write, then changed in later writes in every way the store changes a job. */
async function lifecycles(core: ServerCore): Promise<void> {
  const s = core.store;
  const now = clock.now();
  s.enqueue(
    { type: "s.meta", args: ["é ✓ 😀", { a: [1, null] }], queue: "q", meta: { tenant_id: "t", n: 2 }, priority: 7, timeout: 5000, tags: ["x"] },
    { extra_field: [1] },
  );
  s.enqueue({ type: "s.retry", args: [], queue: "q", retry: { maxAttempts: 3, initialInterval: 1000 }, visibilityTimeout: 9000 });
  s.enqueue({ type: "s.unique", args: [{ k: 1 }], queue: "q", unique: { keys: ["type", "args"], onConflict: "reject" }, expiresAt: new Date(now + 3_600_000) });
  for (let i = 0; i < 8; i++) s.enqueue({ type: "s.work", args: [i], queue: "q" });
  const later = s.enqueue({ type: "s.later", args: [], queue: "later", scheduledAt: new Date(now + 60_000) });
  await core.durable();
  // Claimed in one write; acked, failed, extended and reported in the next ones.
  const taken = s.fetch({ queues: ["q"], count: 11, workerId: "w-1", visibilityTimeoutMs: 600_000 });
  await core.durable();
  s.ack(taken[0]!.id, { done: [1, "two"] }, "w-1");
  s.ack(taken[1]!.id, undefined, "w-1");
  s.nack(taken[2]!.id, { code: "boom", message: "once", retryable: true }, "w-1");
  s.nack(taken[3]!.id, { code: "fatal", message: "no", retryable: false }, "w-1", { response: "DEAD_LETTER" });
  s.reportProgress(taken[4]!.id, { progress: 0.5, message: "half", data: { i: 4 } });
  s.heartbeat({ workerId: "w-1", jobIds: [taken[5]!.id], visibilityTimeoutMs: 900_000 });
  s.cancel(taken[6]!.id);
  s.cancel(later.id);
  await core.durable();
  // A dead letter retried, a retryable job due and claimed again, then acked.
  s.retryDeadLetter(taken[3]!.id);
  clock.advance(120_000);
  s.tick();
  await core.durable();
  const again = s.fetch({ queues: ["q"], count: 10, workerId: "w-2", visibilityTimeoutMs: 600_000 });
  await core.durable();
  for (const r of again) s.ack(r.id, { again: true }, "w-2");
  await core.durable();
}

describe("journal format 3: job steps", () => {
  it("a job's first record is whole and its later ones are steps; a reopen gives the same jobs", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir);
    await lifecycles(core);
    const before = jobsOf(core);
    await journal.close();
    core.close();
    const k = kinds(join(dir, FILE));
    expect(k.filter((b) => b === JOB_STEP).length).toBeGreaterThan(20);
    // The 12 jobs made in the first write: whole, binary.
    expect(k.slice(1, 13).every((b) => b === JOB_BINARY)).toBe(true);
    const { core: back, journal: j2, lines } = await open(dir);
    expect(lines).toEqual([]);
    expect(jobsOf(back)).toEqual(before);
    // The tool's reading of the file ends with the same jobs (a step read as the job it leaves).
    const last = new Map<string, RestoredJob>();
    scanFrames(
      readFileSync(join(dir, FILE)),
      records((r: JournalRecord) => void (r.k === "job" && last.set(r.r.id, r.r as RestoredJob))),
    );
    expect([...last.values()].map(kept).sort((a, b) => (a.job.id < b.job.id ? -1 : 1))).toEqual(before);
    await j2.close();
    back.close();
  });

  it("a step carries nothing of what the job was made with, and is about half a whole record", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir);
    const rec = core.store.enqueue({
      type: "s.secret-type",
      args: ["a-long-argument-value"],
      queue: "s-queue",
      meta: { m: "meta-value" },
      tags: ["tag-value"],
    });
    await core.durable();
    const whole = readFileSync(join(dir, FILE)).length;
    core.store.fetch({ queues: ["s-queue"], count: 1, workerId: "w" });
    await core.durable();
    await journal.close();
    core.close();
    const bytes = readFileSync(join(dir, FILE));
    const step = bytes.subarray(whole);
    expect(step[HEADER_BYTES]).toBe(JOB_STEP);
    for (const s of ["s.secret-type", "a-long-argument-value", "s-queue", "meta-value", "tag-value"]) expect(step.includes(s)).toBe(false);
    expect(step.includes(rec.id)).toBe(true);
  });

  it("a job made anew under the id of a dropped one is written whole, in the same write or a later one", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir);
    const s = core.store;
    s.enqueue({ id: "same-id", type: "s.first", args: [1], queue: "q", meta: { v: 1 } });
    s.enqueue({ id: "other-id", type: "s.first", args: [1], queue: "q" });
    await core.durable();
    // Dropped and made again between two writes: the file holds the old job's whole record, not the new one's.
    s.cancel("same-id");
    s.deleteFinished("same-id");
    s.enqueue({ id: "same-id", type: "s.second", args: [2], queue: "q2", meta: { v: 2 } });
    await core.durable();
    // Dropped in one write, made again in the next.
    s.cancel("other-id");
    s.deleteFinished("other-id");
    await core.durable();
    s.enqueue({ id: "other-id", type: "s.third", args: [3], queue: "q3" });
    await core.durable();
    const before = jobsOf(core);
    await journal.close();
    core.close();
    const { core: back, journal: j2 } = await open(dir);
    expect(jobsOf(back)).toEqual(before);
    expect(back.store.peek("same-id")?.job.type).toBe("s.second");
    expect(back.store.peek("same-id")?.job.meta).toEqual({ v: 2 });
    expect(back.store.peek("other-id")?.job.queue).toBe("q3");
    await j2.close();
    back.close();
  });

  it("a job changed and dropped between two writes stays dropped: its change's record is not written for it", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir);
    const s = core.store;
    s.enqueue({ id: "gone-id", type: "s.gone", args: [1], queue: "q" });
    s.enqueue({ id: "kept-id", type: "s.kept", args: [1], queue: "q" });
    await core.durable();
    // Both marked with their records by the cancel; the drop of one marks it again, without one.
    s.cancel("gone-id");
    s.cancel("kept-id");
    s.deleteFinished("gone-id");
    await core.durable();
    await journal.close();
    core.close();
    const { core: back, journal: j2 } = await open(dir);
    expect(back.store.peek("gone-id")).toBeUndefined();
    expect(back.store.peek("kept-id")?.job.state).toBe("cancelled");
    await j2.close();
    back.close();
  });

  it("a journal of format 2 gets whole records only (an older server still reads it) until its next compaction, which writes format 3", async () => {
    const dir = tempDir();
    // What format 2 wrote: its header, then whole records (binary here, as this version writes them).
    const first = await open(dir);
    for (let i = 0; i < 20; i++) first.core.store.enqueue({ type: "s.old", args: [i], queue: "q" });
    await first.core.durable();
    await first.journal.close();
    first.core.close();
    const path = join(dir, FILE);
    const bytes = readFileSync(path);
    const hdrLen = HEADER_BYTES + bytes.readUInt32LE(0);
    const v2 = frame({ k: "hdr", v: 2, gen: 1, at: new Date(clock.now()).toISOString() });
    writeFileSync(path, Buffer.concat([v2, bytes.subarray(hdrLen)]));
    const { core, journal } = await open(dir, { compactAtBytes: 8 * 1024 });
    expect(journal.stats.replayed.version).toBe(2);
    const taken = core.store.fetch({ queues: ["q"], count: 20, workerId: "w" });
    await core.durable();
    for (const r of taken.slice(0, 5)) core.store.ack(r.id, null, "w");
    await core.durable();
    expect(kinds(path).includes(JOB_STEP)).toBe(false);
    // Grown past the threshold and twice its snapshot: compacted into generation 2, format 3, where steps go.
    for (let round = 0; round < 40 && journal.stats.compactions === 0; round++) {
      for (let i = 0; i < 20; i++) core.store.enqueue({ type: "s.fill", args: ["x".repeat(100)], queue: "fill" });
      await core.durable();
    }
    expect(journal.stats.compactions).toBe(1);
    for (const r of taken.slice(5, 10)) core.store.ack(r.id, null, "w");
    await core.durable();
    const before = jobsOf(core);
    await journal.close();
    core.close();
    const next = join(dir, "journal-00000002.log");
    const h = JSON.parse(
      readFileSync(next)
        .subarray(HEADER_BYTES, HEADER_BYTES + readFileSync(next).readUInt32LE(0))
        .toString(),
    ) as { v: number };
    expect(h.v).toBe(3);
    expect(kinds(next).filter((b) => b === JOB_STEP)).toHaveLength(5);
    const back = await open(dir);
    expect(jobsOf(back.core)).toEqual(before);
    await back.journal.close();
    back.core.close();
  });

  it("a step with no earlier record of its job is skipped and said once; the records after it are kept", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir);
    core.store.enqueue({ type: "s.kept", args: [1], queue: "q" });
    await core.durable();
    await journal.close();
    core.close();
    const other = new ServerCore({ clock });
    const stray = other.store.enqueue({ type: "s.stray", args: [], queue: "q" });
    other.store.fetch({ queues: ["q"], count: 1, workerId: "w" });
    const w = new ScratchWriter();
    expect(writeJobStep(w, stray)).toBe(true);
    other.close();
    const path = join(dir, FILE);
    // A cleanly closed journal ends with its last record (no spare space): the stray step and a record after it go there.
    appendFileSync(path, Buffer.concat([w.take()!, frame({ k: "queue", name: "q", paused: true })]));
    const back = await open(dir);
    expect(back.lines).toEqual([`ojs-connect journal: ${path}: skipped 1 job step records with no earlier record of their job`]);
    expect(back.journal.stats.replayed.jobs).toBe(1);
    expect(back.core.store.queueConfig("q")?.paused).toBe(true);
    await back.journal.close();
    back.core.close();
  });
});
