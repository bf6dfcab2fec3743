/**
 * The admin views on PostgreSQL across two servers of one database: queue
 * throughput and its history read from the jobs' finish times (throughput.ts),
 * so a server that ran nothing answers the same as the one that did; and a
 * queue paused twice through two servers records one queue.paused event.
 * A private cluster; skipped, with the reason printed, where PostgreSQL is missing.
 */
import { describe, expect, it } from "vitest";
import { Client } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/server.js";
import { serverCore } from "../../src/server/internal.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

async function twoServers(): Promise<[OjsServer, OjsServer]> {
  const url = await pg.cluster.createDatabase(`adm${++dbSeq}`);
  const open = async () => pg.closeAtEnd(await startServer({ port: 0, store: url }));
  return [await open(), await open()];
}

describe("admin views on PostgreSQL, two servers", () => {
  it("throughput, last hour and history come from the database: the other server answers the same", async () => {
    const [a, b] = await twoServers();
    const ca = new Client({ url: a.url, transport: "http" });
    const cb = new Client({ url: b.url, transport: "http" });
    try {
      for (let i = 0; i < 2; i++) {
        const j = await ca.enqueue("t.done", [i], { queue: "q" });
        const [got] = await ca.transport.fetch({ queues: ["q"], count: 1, workerId: "w" });
        expect(got?.id).toBe(j.id);
        await ca.transport.ack({ jobId: j.id, result: null });
      }
      const bad = await ca.enqueue("t.bad", [], { queue: "q", retry: { maxAttempts: 1 } });
      await ca.transport.fetch({ queues: ["q"], count: 1, workerId: "w" });
      await ca.transport.nack({ jobId: bad.id, error: { code: "boom", message: "no" } });

      for (const c of [ca, cb]) {
        const q = await c.admin.getQueue("q");
        expect(q.throughput.processedPerMinute).toBeCloseTo(2 / 5);
        expect(q.throughput.failedPerMinute).toBeCloseTo(1 / 5);
        expect(q.lastHour).toMatchObject({ completed: 2, failed: 1 });
        const h = await c.admin.statsHistory({ period: "1m" });
        expect(h.points.reduce((n, p) => n + p.processed, 0)).toBe(2);
        expect(h.points.reduce((n, p) => n + p.failed, 0)).toBe(1);
      }
    } finally {
      await ca.close();
      await cb.close();
    }
  });

  it("a queue paused through both servers records one queue.paused, and its resume one queue.resumed", async () => {
    const [a, b] = await twoServers();
    const ca = new Client({ url: a.url, transport: "http" });
    const cb = new Client({ url: b.url, transport: "http" });
    try {
      await ca.admin.pauseQueue("p");
      await cb.admin.pauseQueue("p");
      await cb.admin.resumeQueue("p");
      await ca.admin.resumeQueue("p");
      const events = await serverCore(b).jobs.recentEvents({ types: ["queue.*"], queues: ["p"] }, 100);
      expect(events.map((e) => e.type).sort()).toEqual(["queue.paused", "queue.resumed"]);
      expect(events.every((e) => e.queue === "p" && (e.data as { queue?: string }).queue === "p")).toBe(true);
    } finally {
      await ca.close();
      await cb.close();
    }
  });
});
