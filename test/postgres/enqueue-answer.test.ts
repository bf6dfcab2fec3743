/**
 * The single-statement enqueue (enqueue.ts) does not read its rows back: it
 * answers with the job built from what it inserted. That answer must be the
 * job the database holds (what get() reads), for every kind of job the
 * statement takes; a queue is registered once per server and stays
 * registered; and the event triggers still carry a job's trace_id and
 * tenant_id with ojs_event_meta inlined (migration 12). A private cluster;
 * skipped, with the reason printed, where PostgreSQL is missing.
 */
import { describe, expect, it } from "vitest";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import type { PgJob } from "../../src/server/store/postgres/rows.js";
import { recentEvents } from "../../src/server/store/postgres/events.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

async function open(url: string): Promise<PgJobStore> {
  const s = await PgJobStore.open(url, { maintenanceIntervalMs: 100 });
  pg.closeAtEnd(s);
  return s;
}

const later = new Date(Date.now() + 3_600_000);
const requests: NormalizedJobRequest[] = [
  { type: "plain", args: [], queue: "a" },
  { type: "nested", args: [{ b: 1, a: [1.5, "x", null, { z: true }] }, "é", -3], queue: "a", priority: 7 },
  { type: "meta", args: [1], queue: "b", meta: { trace_id: "t-1", tenant_id: "acme", other: { k: 1 } } },
  { type: "scheduled", args: [], queue: "b", scheduledAt: later },
  { type: "expiring", args: [], queue: "c", expiresAt: later, timeout: 5_000 },
  { type: "retry", args: [], queue: "c", retry: { maxAttempts: 7, initialInterval: 2_000, backoffCoefficient: 3 } },
];

describe("PostgreSQL enqueue answer", () => {
  it("answers submit and enqueueBatch with the job the database holds", async () => {
    const url = await pg.cluster.createDatabase(`ea${++dbSeq}`);
    const [a, b] = [await open(url), await open(url)];
    for (const req of requests) {
      const { job } = await a.submit(req);
      expect(job).toEqual(await b.get(job.job.id));
    }
    const batch = await a.enqueueBatch(requests.map((req) => ({ req, extra: { source: "batch" } })));
    for (const job of batch) expect(job).toEqual(await b.get(job.job.id));
  });

  it("answers a hand-off with the job the database holds: the enqueued job to the caller, the leased one to the consumer", async () => {
    const url = await pg.cluster.createDatabase(`ea${++dbSeq}`);
    const [a, b] = [await open(url), await open(url)];
    const delivered: PgJob[] = [];
    a.openConsumer({ queues: ["h"], workerId: "w1", credit: 1, deliver: (j) => delivered.push(j) });
    // The consumer's first claim finds nothing; then it waits, and the next enqueue hands its job off.
    const deadline = Date.now() + 5_000;
    let answer: PgJob | undefined;
    while (Date.now() < deadline && a.stats.handedOff === 0) {
      await new Promise((r) => setTimeout(r, 50));
      if (a.stats.handedOff === 0 && delivered.length === 0) answer = (await a.submit({ type: "h", args: [{ k: 1 }], queue: "h", meta: { m: "x" } })).job;
    }
    expect(a.stats.handedOff).toBe(1);
    const leased = delivered[0]!;
    expect(leased.job.id).toBe(answer!.job.id);
    expect(leased).toEqual(await b.get(leased.job.id));
    expect(answer).toEqual({ ...leased, job: { ...leased.job, state: "available", attempt: 0, startedAt: undefined }, workerId: undefined, leaseDeadline: 0 });
  });

  it("registers each queue once and keeps it registered for every server", async () => {
    const url = await pg.cluster.createDatabase(`ea${++dbSeq}`);
    const [a, b] = [await open(url), await open(url)];
    for (let i = 0; i < 3; i++) await a.submit({ type: "t", args: [i], queue: "reg" });
    await b.submit({ type: "t", args: [], queue: "reg" });
    await a.submit({ type: "t", args: [], queue: "other" });
    const names = await b.sql<{ name: string }[]>`SELECT name FROM ojs_queues ORDER BY name`;
    expect(names.map((r) => r.name)).toEqual(["other", "reg"]);
    expect((await b.queueSummary("reg")).counts.available).toBe(4);
  });

  it("keeps a job's trace_id and tenant_id in its events, the meta function inlined", async () => {
    const url = await pg.cluster.createDatabase(`ea${++dbSeq}`);
    const a = await open(url);
    const [fn] = await a.sql<{ volatility: string }[]>`SELECT provolatile AS volatility FROM pg_proc WHERE proname = 'ojs_event_meta'`;
    expect(fn!.volatility).toBe("s");
    const { job } = await a.submit({ type: "t", args: [], queue: "m", meta: { trace_id: "tr", tenant_id: "te", n: 1 } });
    const [claimed] = await a.fetch({ queues: ["m"], workerId: "w" });
    await a.ack(claimed!.job.id, { ok: true }, "w");
    const events = await recentEvents(a.sql, { jobId: job.job.id }, 10);
    expect(events.map((e) => e.type)).toEqual(["job.enqueued", "job.started", "job.completed"]);
    for (const e of events) expect(e.data).toMatchObject({ trace_id: "tr", tenant_id: "te" });
  });
});
