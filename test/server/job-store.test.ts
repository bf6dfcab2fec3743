/**
 * The JobStore seam over the in-process state machine (src/server/store/job-store.ts,
 * sync-job-store.ts): answers say what the call did even when a push consumer
 * claims the job in the next microtask; failures reject instead of throwing;
 * calls issued together apply in order; startServer() picks the store in one place.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../src/model/errors.js";
import { startServer } from "../../src/server/index.js";
import { Store, type JobRecord } from "../../src/server/store/store.js";
import { SyncJobStore } from "../../src/server/store/sync-job-store.js";
import { serverCore } from "../../src/server/internal.js";

function setup() {
  const store = new Store();
  return { store, jobs: new SyncJobStore(store, { kind: "memory" }) };
}

describe("SyncJobStore", () => {
  it("an enqueue answers the job as enqueued, though a push consumer claims it before the answer is read", async () => {
    const { store, jobs } = setup();
    const pushed: JobRecord[] = [];
    await jobs.openConsumer({ queues: ["q"], workerId: "w", maxConcurrent: 5, deliver: (r) => pushed.push(r) });
    const { rec } = await jobs.submit({ type: "t", args: [], queue: "q" });
    expect(pushed.map((r) => r.id)).toEqual([rec.id]);
    expect(store.get(rec.id).job.state).toBe("active");
    expect(rec.job.state).toBe("available");
    const [batched] = await jobs.enqueueBatch([{ req: { type: "t", args: [], queue: "q" } }]);
    expect(store.get(batched!.job.id).job.state).toBe("active");
    expect(batched!.job.state).toBe("available");
    store.close();
  });

  it("a failure is a rejection with the store's error, never a synchronous throw", async () => {
    const { store, jobs } = setup();
    const p = jobs.ack("019a0000-0000-7000-8000-000000000000", null);
    expect(p).toBeInstanceOf(Promise);
    await expect(p).rejects.toBeInstanceOf(NotFoundError);
    await expect(jobs.get("nope")).rejects.toBeInstanceOf(NotFoundError);
    store.close();
  });

  it("calls issued together take effect in the order they were made", async () => {
    const { store, jobs } = setup();
    const made = await Promise.all([1, 2, 3].map((i) => jobs.submit({ type: "t", args: [i], queue: "o" })));
    const fetched = await jobs.fetch({ queues: ["o"], count: 3, workerId: "w" });
    expect(fetched.map((r) => r.id)).toEqual(made.map((m) => m.rec.id));
    const [acked, again] = await Promise.allSettled([jobs.ack(fetched[0]!.id, null, "w"), jobs.ack(fetched[0]!.id, null, "w")]);
    expect(acked.status).toBe("fulfilled");
    expect(again.status).toBe("rejected");
    store.close();
  });
});

describe("store selection", () => {
  it("memory by default, the journal with a data directory; writes through the journal store resolve once durable", async () => {
    const mem = await startServer();
    expect(serverCore(mem).jobs.kind).toBe("memory");
    expect(serverCore(mem).manifest().backend).toBe("memory");
    await mem.close();

    const dir = mkdtempSync(join(tmpdir(), "ojs-seam-"));
    try {
      const srv = await startServer({ dataDir: dir, fsync: "none" });
      expect(serverCore(srv).jobs.kind).toBe("journal");
      expect(serverCore(srv).manifest().backend).toBe("journal");
      await serverCore(srv).jobs.submit({ type: "t", args: [], queue: "d" });
      // Nothing left to write: the submit's promise waited for the journal.
      expect(serverCore(srv).journal!.durable()).toBeUndefined();
      await srv.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
