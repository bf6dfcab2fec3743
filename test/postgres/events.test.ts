/**
 * Events on PostgreSQL (src/server/store/postgres/events.ts): written in the
 * statement that changes the job (the inserting statement's own CTE, or a
 * trigger for updates and other connections' inserts), so two real servers on one
 * database read the same history (GET /ojs/v1/events), a live SSE stream on
 * one server sees what was done through the other, a resume after
 * Last-Event-ID replays from the database, and the table is trimmed by count
 * and age. A private cluster; skipped, with the reason printed, where
 * PostgreSQL is missing.
 */
import { openSse } from "../support/sse.js";
import { describe, expect, it } from "vitest";
import { startServer, type OjsServer } from "../../src/server/server.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { EventFeed, newestEventSeq, recentEvents, trimEvents } from "../../src/server/store/postgres/events.js";
import { buildJob, insertBuilt } from "../../src/server/store/postgres/enqueue.js";
import type { OjsEvent } from "../../src/model/events.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

async function twoServers(): Promise<[OjsServer, OjsServer]> {
  const url = await pg.cluster.createDatabase(`ev${++dbSeq}`);
  const open = async () => pg.closeAtEnd(await startServer({ port: 0, store: url }));
  return [await open(), await open()];
}

async function call(s: OjsServer, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

interface EventJson {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

async function events(s: OjsServer, query: string): Promise<EventJson[]> {
  const r = await call(s, "GET", `/ojs/v1/events?${query}`);
  expect(r.status).toBe(200);
  // Newest first, as the route answers.
  return r.json.events as EventJson[];
}

const frameTypes = (text: string) =>
  text
    .split("\n\n")
    .filter((f) => f.startsWith("id:"))
    .map((f) => /event: (.+)/.exec(f)![1]);

describe("events on PostgreSQL, two servers", () => {
  it("a job enqueued through one server and run through the other: both servers list the same events", async () => {
    const [a, b] = await twoServers();
    const job = (await call(a, "POST", "/ojs/v1/jobs", { type: "ev.echo", args: [1], options: { queue: "evq" } })).json.job as { id: string };
    const got = await call(b, "POST", "/ojs/v1/workers/fetch", { queues: ["evq"], worker_id: "wb" });
    expect((got.json.jobs as unknown[]).length).toBe(1);
    expect((await call(b, "POST", "/ojs/v1/workers/ack", { job_id: job.id, result: { ok: true } })).status).toBe(200);
    for (const s of [a, b]) {
      const list = await events(s, "queues=evq");
      expect(list.map((e) => e.type)).toEqual(["job.completed", "job.started", "job.enqueued"]);
      expect(list[0]!.data).toMatchObject({ job_id: job.id, job_type: "ev.echo", queue: "evq", attempt: 1, result: { ok: true } });
      expect(typeof list[0]!.data.duration_ms).toBe("number");
      expect(list[1]!.data).toMatchObject({ attempt: 1, worker_id: "wb" });
    }
    // The same ids on both: one history, not one per server.
    expect((await events(a, "queues=evq")).map((e) => e.id)).toEqual((await events(b, "queues=evq")).map((e) => e.id));
    expect(await events(a, "types=job.completed&queues=elsewhere")).toEqual([]);
  }, 30_000);

  it("a live SSE stream on one server sees what is done through the other; a resume on the other replays from the database", async () => {
    const [a, b] = await twoServers();
    const sse = await openSse(a.url, "/ojs/v1/events/stream?queues=live");
    const job = (await call(b, "POST", "/ojs/v1/jobs", { type: "ev.live", args: [], options: { queue: "live" } })).json.job as { id: string };
    expect((await call(b, "DELETE", `/ojs/v1/jobs/${job.id}`)).status).toBe(200);
    await eventually(() => frameTypes(sse.text()).length >= 2, 5000);
    sse.close();
    expect(frameTypes(sse.text())).toEqual(["job.enqueued", "job.cancelled"]);
    const firstId = /id: (.+)/.exec(sse.text())![1]!;
    const resumed = await openSse(b.url, "/ojs/v1/events/stream?queues=live", { "last-event-id": firstId });
    await eventually(() => frameTypes(resumed.text()).length >= 1, 5000);
    await new Promise((r) => setTimeout(r, 300));
    resumed.close();
    // Replayed once: not again by the live feed that was polling meanwhile.
    expect(frameTypes(resumed.text())).toEqual(["job.cancelled"]);
  }, 30_000);
});

/** A live feed over the store's database from its newest event on, polled by hand (its own timer is a minute away). */
async function feedFrom(s: PgJobStore, publish: (e: OjsEvent) => void): Promise<EventFeed> {
  const onError = (e: unknown) => {
    throw e;
  };
  return new EventFeed(s.sql, { hasListeners: true, publish }, 60_000, onError, await newestEventSeq(s.sql));
}

describe("events on PostgreSQL, the store", () => {
  it("the live feed publishes an event whose transaction committed after a later one (a hole it asked for again)", async () => {
    const url = await pg.cluster.createDatabase(`ev${++dbSeq}`);
    const s = pg.closeAtEnd(await PgJobStore.open(url));
    const got: string[] = [];
    const feed = await feedFrom(s, (e) => got.push(e.queue ?? ""));
    try {
      let commitLate!: () => void;
      const late = new Promise<void>((r) => (commitLate = r));
      // The first insert (the store's, which writes the job's event) takes its seq, then waits uncommitted while a second one commits.
      const slow = s.sql.begin(async (tx) => {
        await insertBuilt(tx, [buildJob({ type: "t", args: [], queue: "late" }, undefined, Date.now())]);
        await late;
      });
      await eventually(async () => (await s.sql`SELECT 1 FROM pg_stat_activity WHERE state = 'idle in transaction'`).length > 0, 5000);
      await s.submit({ type: "t", args: [], queue: "early" });
      await feed.poll();
      expect(got).toEqual(["early"]);
      commitLate();
      await slow;
      await feed.poll();
      expect(got).toEqual(["early", "late"]);
      expect(feed.published).toBe(2);
    } finally {
      feed.close();
    }
  });

  it("events past evt_9 come in the order of their seq: the newest ones, and the live feed's pages read once each", async () => {
    const url = await pg.cluster.createDatabase(`ev${++dbSeq}`);
    const s = pg.closeAtEnd(await PgJobStore.open(url, { maintenanceIntervalMs: 3_600_000 }));
    const got: number[] = [];
    const feed = await feedFrom(s, (e) => got.push(Number(e.id.slice("evt_".length))));
    try {
      // A fresh database: twelve enqueues are evt_1 ... evt_12, whose text order is not their order.
      await s.enqueueBatch(Array.from({ length: 12 }, (_, i) => ({ req: { type: "t", args: [i], queue: "digits" } })));
      const newest = await recentEvents(s.sql, {}, 3);
      expect(newest.map((e) => e.id)).toEqual(["evt_10", "evt_11", "evt_12"]);
      await feed.poll();
      await feed.poll();
      expect(got).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(feed.published).toBe(12);
    } finally {
      feed.close();
    }
  }, 30_000);

  it("a failed attempt, a retry and a cancellation are events; the table is trimmed by count and by age", async () => {
    const url = await pg.cluster.createDatabase(`ev${++dbSeq}`);
    const s = pg.closeAtEnd(await PgJobStore.open(url));
    const out = await s.submit({ type: "t", args: [], queue: "f", retry: { maxAttempts: 3, initialInterval: 60_000 } } as never);
    const id = out.job.job.id;
    await s.fetch({ queues: ["f"], workerId: "w" });
    await s.nack(id, { code: "boom", message: "it broke" }, "w");
    await s.cancel(id);
    const mine = await recentEvents(s.sql, { jobId: id }, 100);
    expect(mine.map((e) => e.type)).toEqual(["job.enqueued", "job.started", "job.failed", "job.retrying", "job.cancelled"]);
    expect(mine[2]!.data).toMatchObject({ attempt: 1, error: { code: "boom", message: "it broke" } });
    expect(mine[3]!.data).toMatchObject({ attempt: 1 });
    await s.enqueueBatch(Array.from({ length: 20 }, (_, i) => ({ req: { type: "t", args: [i], queue: "bulk" } })));
    expect((await recentEvents(s.sql, {}, 1000)).length).toBe(25);
    expect(await trimEvents(s.sql, { maxEvents: 5 })).toBe(20);
    const left = await recentEvents(s.sql, {}, 1000);
    expect(left).toHaveLength(5);
    expect(left.every((e) => e.queue === "bulk")).toBe(true);
    expect(await trimEvents(s.sql, { maxAgeMs: 0 })).toBe(5);
  }, 30_000);

  it("the trim by age takes the old events and keeps the young ones, in batches, whatever the count", async () => {
    const url = await pg.cluster.createDatabase(`ev${++dbSeq}`);
    const s = pg.closeAtEnd(await PgJobStore.open(url, { maintenanceIntervalMs: 3_600_000 }));
    await s.enqueueBatch(Array.from({ length: 30 }, (_, i) => ({ req: { type: "t", args: [i], queue: "age" } })));
    // The first 12 events (in seq order) are two hours old; the others are young.
    await s.sql`UPDATE ojs_events SET at = now() - interval '2 hours' WHERE seq IN (SELECT seq FROM ojs_events ORDER BY seq LIMIT 12)`;
    expect(await trimEvents(s.sql, { maxAgeMs: 3600_000 }, 5)).toBe(5);
    expect(await trimEvents(s.sql, { maxAgeMs: 3600_000 })).toBe(7);
    expect(await trimEvents(s.sql, { maxAgeMs: 3600_000 })).toBe(0);
    const left = await recentEvents(s.sql, {}, 1000);
    expect(left).toHaveLength(18);
    expect(left.every((e) => e.time.getTime() > Date.now() - 3600_000)).toBe(true);
    // The count bound still applies on top of the age.
    expect(await trimEvents(s.sql, { maxEvents: 10, maxAgeMs: 3600_000 })).toBe(8);
  }, 30_000);
});
