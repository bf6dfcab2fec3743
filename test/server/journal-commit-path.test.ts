/**
 * The two ways a group commit reaches the disk (store/journal/commit-path.ts):
 * small groups on the event loop or the thread pool, whichever has been
 * quicker lately (the other probed now and then), large ones on the thread
 * pool, every group on disk before it is answered either way, and a failed
 * write on either way answered as unavailable and carried by the next one.
 */
import { describe, expect, it } from "vitest";
import { ServerCore } from "../../src/server/core.js";
import { CommitPath, PROBE_EVERY, SLOW_WRITE_MS, SYNC_MAX_BYTES, SYNC_MAX_RECORDS, type CommitMode } from "../../src/server/store/journal/commit-path.js";
import { Journal } from "../../src/server/store/journal/journal.js";
import type { FsyncMode } from "../../src/server/store/journal/file.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("ojs-journal-path-");

// The way is pinned here: on a busy test machine "auto" may rightly prefer the thread pool.
async function open(dir: string, fsync: FsyncMode = "always", commitPath: CommitMode = "loop") {
  const core = new ServerCore({ maxFinishedJobs: 1000 });
  core.journal = await Journal.open(core, { dir, log: () => {}, fsync, commitPath });
  return { core, journal: core.journal };
}

const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });

describe("journal commit path", () => {
  it("small groups take the way that has been quicker lately, probing the other; large ones and slow disks go to the pool", () => {
    const p = new CommitPath();
    // Nothing timed yet: each way is tried once.
    expect(p.onLoop(1, 200)).toBe(true);
    p.took(true, 0.2);
    expect(p.onLoop(1, 200)).toBe(false);
    p.took(false, 0.35);
    const ways = (n: number) => Array.from({ length: n }, () => p.onLoop(1, 200));
    // The loop was quicker: it takes every small group but the probes.
    let w = ways(PROBE_EVERY * 2);
    expect(w.filter((x) => !x)).toHaveLength(2);
    expect(p.onLoop(SYNC_MAX_RECORDS, SYNC_MAX_BYTES)).toBe(true);
    expect(p.onLoop(SYNC_MAX_RECORDS + 1, 200)).toBe(false);
    expect(p.onLoop(1, SYNC_MAX_BYTES + 1)).toBe(false);
    // The pool turns quicker (a busy machine): small groups go there, the loop is probed.
    for (let i = 0; i < 10; i++) p.took(true, 2);
    w = ways(PROBE_EVERY * 2);
    expect(w.filter((x) => x)).toHaveLength(2);
    // A slow disk: the pool even when it is slower still.
    for (let i = 0; i < 20; i++) p.took(true, SLOW_WRITE_MS * 2);
    for (let i = 0; i < 20; i++) p.took(false, SLOW_WRITE_MS * 3);
    expect(ways(PROBE_EVERY).filter((x) => x)).toHaveLength(1);
    // Pinned ways, for tests.
    expect(new CommitPath("pool").onLoop(1, 1)).toBe(false);
    expect(new CommitPath("loop").onLoop(1, 1)).toBe(true);
    expect(new CommitPath("loop").onLoop(SYNC_MAX_RECORDS + 1, 1)).toBe(false);
  });

  for (const fsync of ["always", "none"] as const) {
    it(`fsync ${fsync}: one enqueue at a time is written on the event loop, a batch on the thread pool, and all of it replays`, async () => {
      const dir = tempDir();
      const { core, journal } = await open(dir, fsync);
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await core.jobs.submit({ type: "t.path", args: [i], queue: "p" });
        ids.push(r.rec.id);
      }
      const onLoop = journal.stats.onLoop;
      expect(onLoop).toBeGreaterThanOrEqual(20);
      const batch = await core.jobs.enqueueBatch(Array.from({ length: 1000 }, (_, i) => ({ req: { type: "t.batch", args: [i], queue: "p" } })));
      expect(journal.stats.onLoop).toBe(onLoop);
      expect(journal.stats.writes).toBeGreaterThan(onLoop);
      await journal.close();
      core.close();

      const again = await open(dir, fsync);
      for (const id of [...ids, ...batch.map((r) => r.job.id)]) expect(again.core.store.peek(id)?.job.state).toBe("available");
      await again.journal.close();
      again.core.close();
    });
  }

  it("pinned to the thread pool, small groups never block the event loop, and replay is the same", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir, "always", "pool");
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await core.jobs.submit({ type: "t.pool", args: [i], queue: "p" })).rec.id);
    expect(journal.stats.onLoop).toBe(0);
    expect(journal.stats.writes).toBeGreaterThanOrEqual(10);
    await journal.close();
    core.close();
    const again = await open(dir);
    for (const id of ids) expect(again.core.store.peek(id)?.job.state).toBe("available");
    await again.journal.close();
    again.core.close();
  });

  it("a write that fails on either path is answered unavailable, nothing of it is on disk, and the next write carries it", async () => {
    const dir = tempDir();
    const { core, journal } = await open(dir);
    let faults = 0;
    journal.faults.beforeWrite = () => {
      faults++;
      throw enospc();
    };
    const small = core.jobs.submit({ type: "t.small", args: [1], queue: "f" });
    await expect(small).rejects.toThrow(/ENOSPC/);
    const big = core.jobs.enqueueBatch(Array.from({ length: 500 }, (_, i) => ({ req: { type: "t.big", args: [i], queue: "f" } })));
    await expect(big).rejects.toThrow(/ENOSPC/);
    expect(faults).toBe(2);
    expect(journal.stats.failures).toBe(2);
    const bytes = journal.stats.bytes;
    journal.faults.beforeWrite = undefined;
    const after = await core.jobs.submit({ type: "t.after", args: [2], queue: "f" });
    expect(journal.stats.bytes).toBeGreaterThan(bytes);
    await journal.close();
    core.close();

    // Both failed groups were in memory all along: the write after them carried them to disk.
    const again = await open(dir);
    const states = [...again.core.store.jobRecords()].map((r) => r.job.type);
    expect(states.filter((t) => t === "t.small")).toHaveLength(1);
    expect(states.filter((t) => t === "t.big")).toHaveLength(500);
    expect(again.core.store.peek(after.rec.id)?.job.state).toBe("available");
    await again.journal.close();
    again.core.close();
  });
});
