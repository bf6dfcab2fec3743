/**
 * The journal file's spare space (store/journal/file.ts): with fsync "always"
 * the file keeps synced zeros ahead of its records, so that a durable write
 * changes no file size. What a crash leaves (a copy of the file taken while
 * the server runs) replays cleanly up to the zeros; a record torn inside the
 * zeros, or bytes after zeros, are cut off and reported; whatever followed the
 * records is gone after a start, and a clean close leaves no spare space.
 */
import { copyFileSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ServerCore } from "../../src/server/core.js";
import { SPARE_BYTES, SPARE_LOW_BYTES } from "../../src/server/store/journal/file.js";
import { Journal, type JournalOptions } from "../../src/server/store/journal/journal.js";
import { scanFile } from "../../src/server/store/journal/read.js";
import { frame, records, type JournalRecord } from "../../src/server/store/journal/records.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("ojs-journal-spare-");
const FILE = "journal-00000001.log";

async function open(dir: string, opts: Partial<JournalOptions> = {}) {
  const lines: string[] = [];
  const core = new ServerCore({ maxFinishedJobs: 1000 });
  core.journal = await Journal.open(core, { dir, log: (l) => lines.push(l), ...opts });
  return { core, journal: core.journal, lines };
}

async function close(o: { core: ServerCore; journal: Journal }): Promise<void> {
  await o.journal.close();
  o.core.close();
}

const onlyZerosFrom = (buf: Buffer, from: number): boolean => buf.subarray(from).every((b) => b === 0);

/** Waits (bounded) until the file is at least `bytes` long: a zero fill runs in the background. */
async function grownTo(path: string, bytes: number): Promise<void> {
  for (let i = 0; i < 500 && statSync(path).size < bytes; i++) await new Promise((r) => setTimeout(r, 10));
  expect(statSync(path).size).toBeGreaterThanOrEqual(bytes);
}

/** A running journal with `n` durable jobs, and a copy of its file as a crash would leave it (in a directory of its own). */
async function crashCopy(n: number) {
  const dir = tempDir();
  const o = await open(dir);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(o.core.store.enqueue({ type: "t.spare", args: [i], queue: "spare" }).id);
    await o.core.durable();
  }
  const end = o.journal.stats.bytes;
  const crashed = tempDir();
  copyFileSync(join(dir, FILE), join(crashed, FILE));
  await close(o);
  return { crashed, path: join(crashed, FILE), ids, end };
}

/** The reopened journal holds `ids`, takes one more job, and opens once more without a word. */
async function appendsGoOn(again: Awaited<ReturnType<typeof open>>, dir: string, ids: string[]): Promise<void> {
  for (const id of ids) expect(again.core.store.peek(id)?.job.state).toBe("available");
  const more = again.core.store.enqueue({ type: "t.spare", args: ["more"], queue: "spare" });
  await again.core.durable();
  await close(again);
  const third = await open(dir);
  expect(third.lines).toEqual([]);
  for (const id of [...ids, more.id]) expect(third.core.store.peek(id)).toBeDefined();
  await close(third);
}

describe("journal spare space", () => {
  it("fsync always: zeros follow the records while the server runs; a clean close cuts them off; fsync none keeps none", async () => {
    const dir = tempDir();
    const o = await open(dir);
    o.core.store.enqueue({ type: "t.spare", args: [], queue: "spare" });
    await o.core.durable();
    const path = join(dir, FILE);
    const buf = readFileSync(path);
    expect(buf.length).toBeGreaterThanOrEqual(o.journal.stats.bytes + SPARE_BYTES / 2);
    expect(onlyZerosFrom(buf, o.journal.stats.bytes)).toBe(true);
    const end = o.journal.stats.bytes;
    await close(o);
    expect(statSync(path).size).toBe(end);

    // Reopened: the space is filled again (in the background), and a close cuts it off again.
    const again = await open(dir);
    await grownTo(path, end + SPARE_BYTES);
    expect(onlyZerosFrom(readFileSync(path), end)).toBe(true);
    await close(again);
    expect(statSync(path).size).toBe(end);

    const none = tempDir();
    const n = await open(none, { fsync: "none" });
    n.core.store.enqueue({ type: "t.spare", args: [], queue: "spare" });
    await n.core.durable();
    expect(statSync(join(none, FILE)).size).toBe(n.journal.stats.bytes);
    await close(n);
  });

  it("a crash in the spare space: every record replays, the zeros are no torn tail (no line logged), and appends continue", async () => {
    const { crashed, path, ids, end } = await crashCopy(5);
    expect(statSync(path).size).toBeGreaterThan(end);
    const again = await open(crashed);
    expect(again.lines).toEqual([]);
    expect(again.journal.stats.bytes).toBe(end);
    await appendsGoOn(again, crashed, ids);
  });

  it("a record torn in the spare space (its rest still zeros) is cut off and reported; the records before it are kept", async () => {
    const { crashed, path, ids, end } = await crashCopy(3);
    const buf = readFileSync(path);
    // The first 60 bytes of a record reached the disk, the rest of it did not (zeros).
    frame({ k: "job-", id: "x".repeat(200) }).copy(buf, end, 0, 60);
    writeFileSync(path, buf);
    const again = await open(crashed);
    expect(again.lines).toHaveLength(1);
    expect(again.lines[0]).toMatch(new RegExp(`dropped ${buf.length - end} bytes at offset ${end} \\(a checksum mismatch\\); kept \\d+ whole records`));
    expect(again.journal.stats.bytes).toBe(end);
    await appendsGoOn(again, crashed, ids);
  });

  for (const fsync of ["always", "none"] as const) {
    it(`bytes after zeros (a write whose start did not reach the disk) are reported, and gone after a start with fsync ${fsync}: never read as records later`, async () => {
      const { crashed, path, ids, end } = await crashCopy(3);
      // How many bytes the next write takes (the same job into a copy of the same file).
      const probe = tempDir();
      copyFileSync(path, join(probe, FILE));
      const p = await open(probe, { fsync });
      p.core.store.enqueue({ type: "t.spare", args: ["next"], queue: "spare" });
      await p.core.durable();
      const next = p.journal.stats.bytes - end;
      await close(p);
      // A whole record where that write will end: replay stops at the zeros before it, and it must not come
      // back once the write fills the space up to it.
      const buf = readFileSync(path);
      frame({ k: "job-", id: ids[0]! }).copy(buf, end + next);
      writeFileSync(path, buf);
      const again = await open(crashed, { fsync });
      expect(again.lines).toHaveLength(1);
      expect(again.lines[0]).toContain(`at offset ${end} (a record cut short (zeros, then other bytes))`);
      for (const id of ids) expect(again.core.store.peek(id)?.job.state).toBe("available");
      again.core.store.enqueue({ type: "t.spare", args: ["next"], queue: "spare" });
      await again.core.durable();
      expect(again.journal.stats.bytes).toBe(end + next);
      const crashedAgain = tempDir();
      copyFileSync(path, join(crashedAgain, FILE));
      await close(again);
      const third = await open(crashedAgain);
      expect(third.lines).toEqual([]);
      expect(third.core.store.peek(ids[0]!)?.job.state).toBe("available");
      await close(third);
    });
  }

  it("a zero fill that fails fails no request: writes go on, the file grows as without spare space, fills resume later, and it replays", async () => {
    const dir = tempDir();
    const o = await open(dir);
    let fills = 0;
    o.journal.faults.beforeZeroFill = () => {
      fills++;
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    };
    // Enough bytes to use up the spare space and ask for more.
    const ids: string[] = [];
    const big = "y".repeat(8 * 1024);
    for (let i = 0; i < Math.ceil(SPARE_BYTES / big.length) + 8; i++) {
      ids.push(o.core.store.enqueue({ type: "t.spare", args: [big], queue: "spare" }).id);
      await o.core.durable();
    }
    expect(fills).toBeGreaterThan(0);
    expect(o.journal.failing).toBe(false);
    expect(statSync(join(dir, FILE)).size).toBe(o.journal.stats.bytes);
    // The disk has room again: a SPARE_BYTES of records later, the space is filled again.
    o.journal.faults.beforeZeroFill = undefined;
    for (let i = 0; i < Math.ceil(SPARE_BYTES / big.length) + 8; i++) {
      ids.push(o.core.store.enqueue({ type: "t.spare", args: [big], queue: "spare" }).id);
      await o.core.durable();
    }
    await grownTo(join(dir, FILE), o.journal.stats.bytes + SPARE_LOW_BYTES);
    await close(o);
    const again = await open(dir);
    expect(again.lines).toEqual([]);
    for (const id of ids) expect(again.core.store.peek(id)).toBeDefined();
    await close(again);
  });

  it("a compaction's new generation starts with its spare space", async () => {
    const dir = tempDir();
    const o = await open(dir, { compactAtBytes: 32 * 1024 });
    for (let round = 0; round < 40 && o.journal.stats.compactions === 0; round++) {
      for (let i = 0; i < 20; i++) o.core.store.enqueue({ type: "t.churn", args: ["x".repeat(100)], queue: "churn" });
      for (const r of o.core.store.fetch({ queues: ["churn"], count: 20 })) o.core.store.ack(r.id, null);
      await o.core.durable();
    }
    expect(o.journal.stats.compactions).toBeGreaterThan(0);
    const file = readdirSync(dir).find((f) => f.endsWith(".log"))!;
    const buf = readFileSync(join(dir, file));
    expect(buf.length).toBeGreaterThanOrEqual(o.journal.stats.bytes + SPARE_BYTES / 2);
    expect(onlyZerosFrom(buf, o.journal.stats.bytes)).toBe(true);
    await close(o);
  });

  it("read in chunks of any size, zeros after the records end them cleanly, and bytes after the zeros do not", async () => {
    const dir = tempDir();
    const path = join(dir, "records.log");
    const recs: JournalRecord[] = Array.from({ length: 50 }, (_, i) => ({ k: "job-", id: `${i}-${"z".repeat(i * 7)}` }));
    const whole = Buffer.concat(recs.map(frame));
    const zeros = Buffer.alloc(3000);
    for (const [name, content, end, clean] of [
      ["zeros", Buffer.concat([whole, zeros]), whole.length, true],
      ["zeros, then a byte", Buffer.concat([whole, zeros, Buffer.from([7])]), whole.length, false],
      ["zeros, then a record", Buffer.concat([whole, zeros, frame(recs[0]!)]), whole.length, false],
    ] as const) {
      writeFileSync(path, content);
      const chunks = [16, 100, 1024, 4093, 1 << 20];
      const scans = await Promise.all(
        chunks.map(async (chunk) => {
          const got: JournalRecord[] = [];
          return {
            chunk,
            got,
            res: await scanFile(
              path,
              records((r) => got.push(r)),
              chunk,
            ),
          };
        }),
      );
      for (const { chunk, got, res } of scans) {
        expect(got, `${name}, chunks of ${chunk}`).toEqual(recs);
        if (clean) expect(res, `${name}, chunks of ${chunk}`).toEqual({ end: { kind: "clean" }, length: end });
        else expect(res.end, `${name}, chunks of ${chunk}`).toEqual({ kind: "torn", offset: end, reason: "a record cut short (zeros, then other bytes)" });
      }
    }
  });
});
