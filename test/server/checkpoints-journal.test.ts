/**
 * Checkpoints through the journal's compaction (a new generation is a
 * snapshot of the live state: a checkpoint must be in it), driven directly
 * with real files. The restart path over the network is in
 * test/e2e/checkpoints.journal.test.ts.
 */
import { expect, it } from "vitest";
import { useTempDirs } from "../support/temp-dirs.js";
import { ServerCore } from "../../src/server/core.js";
import { Journal } from "../../src/server/store/journal/journal.js";

const tempDir = useTempDirs("ojs-cp-compact-");

async function open(dir: string) {
  const core = new ServerCore({ maxFinishedJobs: 1000 });
  core.journal = await Journal.open(core, { dir, log: () => {}, compactAtBytes: 16 * 1024, fsync: "none" });
  return { core, journal: core.journal };
}

it("a checkpoint is carried into every new generation and survives a reopen", async () => {
  const dir = tempDir();
  const { core, journal } = await open(dir);
  const keep = core.store.enqueue({ type: "t.keep", args: [], queue: "cp" } as never);
  core.store.checkpoints.save(keep.id, { cursor: "c-1", n: 1 });
  // Enough churn to compact several times; the checkpoint is written once, before all of it.
  for (let i = 0; i < 400; i++) {
    const r = core.store.enqueue({ type: "t.churn", args: ["x".repeat(100)], queue: "churn" } as never);
    core.store.cancel(r.id);
    if (i % 50 === 0) await core.durable();
  }
  await core.durable();
  expect(journal.stats.compactions).toBeGreaterThan(0);
  await journal.close();
  core.store.close();

  const again = await open(dir);
  expect(again.core.store.checkpoints.peek(keep.id)).toMatchObject({ jobId: keep.id, state: { cursor: "c-1", n: 1 }, sequence: 1 });
  await again.journal.close();
  again.core.store.close();
});
