/**
 * The two ways a group commit reaches the disk (store/journal/commit-path.ts):
 * small groups written on the event loop, large ones on the thread pool, every
 * group on disk before it is answered either way, a failed write on either
 * way answered as unavailable and retried, and a slow disk moving small groups
 * off the event loop.
 */
import { describe, expect, it } from "vitest";
import { ServerCore } from "../../src/server/core.js";
import { CommitPath, SLOW_WRITE_MS, SYNC_MAX_BYTES, SYNC_MAX_RECORDS } from "../../src/server/store/journal/commit-path.js";
import { Journal } from "../../src/server/store/journal/journal.js";
import type { FsyncMode } from "../../src/server/store/journal/file.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("ojs-journal-path-");

// No write counts as slow here: a busy test machine must not move small groups off the event loop.
async function open(dir: string, fsync: FsyncMode = "always") {
  const core = new ServerCore({ maxFinishedJobs: 1000 });
  core.journal = await Journal.open(core, { dir, log: () => {}, fsync, slowWriteMs: Infinity });
  return { core, journal: core.journal };
}

const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });

describe("journal commit path", () => {
  it("small groups go on the event loop, large ones and any after slow writes on the thread pool", () => {
    const p = new CommitPath();
    expect(p.onLoop(1, 200)).toBe(true);
    expect(p.onLoop(SYNC_MAX_RECORDS, SYNC_MAX_BYTES)).toBe(true);
    expect(p.onLoop(SYNC_MAX_RECORDS + 1, 200)).toBe(false);
    expect(p.onLoop(1, SYNC_MAX_BYTES + 1)).toBe(false);
    for (let i = 0; i < 10; i++) p.took(SLOW_WRITE_MS * 5);
    expect(p.onLoop(1, 200)).toBe(false);
    for (let i = 0; i < 30; i++) p.took(0.2);
    expect(p.onLoop(1, 200)).toBe(true);
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
      for (const id of [...ids, ...batch.map((r) => r.id)]) expect(again.core.store.peek(id)?.job.state).toBe("available");
      await again.journal.close();
      again.core.close();
    });
  }

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
