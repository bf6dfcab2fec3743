/**
 * Claims are recorded a little late (store/journal/late-claims.ts): never
 * later than CLAIM_DELAY_MS plus a write, in one record with the job's next
 * change when that comes first (a claim and its ack: one record), and every
 * claim still waiting is written by close().
 */
import { copyFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ServerCore } from "../../src/server/core.js";
import { Journal } from "../../src/server/store/journal/journal.js";
import { CLAIM_DELAY_MS } from "../../src/server/store/journal/late-claims.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("ojs-journal-claims-");

async function open(dir: string) {
  const core = new ServerCore({ maxFinishedJobs: 1000 });
  core.journal = await Journal.open(core, { dir, log: () => {} });
  return { core, journal: core.journal };
}

async function close(o: { core: ServerCore; journal: Journal }): Promise<void> {
  await o.journal.close();
  o.core.close();
}

/** What a kill -9 would leave now: the journal file copied into a directory of its own, opened there. */
async function crashCopy(dir: string) {
  const crashed = tempDir();
  for (const f of readdirSync(dir)) if (f.endsWith(".log")) copyFileSync(join(dir, f), join(crashed, f));
  return open(crashed);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("journal late claims", () => {
  it(`a claim is on disk within ${CLAIM_DELAY_MS} ms and a write: active, with its worker and lease, after a crash`, async () => {
    const dir = tempDir();
    const o = await open(dir);
    const job = o.core.store.enqueue({ type: "t.claim", args: [], queue: "claims" });
    await o.core.durable();
    const before = o.journal.stats.records;
    const [claimed] = o.core.store.fetch({ queues: ["claims"], count: 1, workerId: "w-1", visibilityTimeoutMs: 60_000 });
    expect(claimed?.id).toBe(job.id);
    // Bounded wait for the claim's record (the write itself may take a while on a busy machine).
    for (let i = 0; i < 200 && o.journal.stats.records === before; i++) await sleep(10);
    expect(o.journal.stats.records).toBe(before + 1);
    const crashed = await crashCopy(dir);
    const back = crashed.core.store.peek(job.id);
    expect(back?.job.state).toBe("active");
    expect(back?.workerId).toBe("w-1");
    expect(back?.leaseDeadline).toBe(claimed!.leaseDeadline);
    await close(crashed);
    await close(o);
  });

  it("a job claimed and acknowledged within the delay is written once, as completed", async () => {
    const dir = tempDir();
    const o = await open(dir);
    const jobs = Array.from({ length: 10 }, (_, i) => o.core.store.enqueue({ type: "t.claim", args: [i], queue: "claims" }));
    await o.core.durable();
    const before = o.journal.stats.records;
    const claimed = o.core.store.fetch({ queues: ["claims"], count: 10, workerId: "w-1", visibilityTimeoutMs: 60_000 });
    expect(claimed).toHaveLength(10);
    for (const r of claimed) o.core.store.ack(r.id, { ok: true }, "w-1");
    await o.core.durable();
    // Past the delay: nothing more is written for these claims.
    await sleep(CLAIM_DELAY_MS * 3);
    await o.core.durable();
    expect(o.journal.stats.records - before).toBe(10);
    const crashed = await crashCopy(dir);
    for (const j of jobs) expect(crashed.core.store.peek(j.id)?.job.state).toBe("completed");
    await close(crashed);
    await close(o);
  });

  it("close() writes the claims still waiting", async () => {
    const dir = tempDir();
    const o = await open(dir);
    const job = o.core.store.enqueue({ type: "t.claim", args: [], queue: "claims" });
    await o.core.durable();
    const [claimed] = o.core.store.fetch({ queues: ["claims"], count: 1, workerId: "w-1", visibilityTimeoutMs: 60_000 });
    await close(o);
    const again = await open(dir);
    const back = again.core.store.peek(job.id);
    expect(back?.job.state).toBe("active");
    expect(back?.leaseDeadline).toBe(claimed!.leaseDeadline);
    await close(again);
  });
});
