/**
 * The event feed of a server nobody listens to (store/postgres/events.ts,
 * event-watch.ts): it sends no statement of its own while the maintenance
 * probe brings it the newest seq and the gaps, and a listener that comes
 * later still gets every event committed after it subscribed, written by
 * any server on the database, including an insert that took its seq before
 * the watch was read and committed after the subscription, and one committed
 * while the watch was being read. Webhooks on one server deliver what
 * another server did. A private cluster; skipped, with the reason printed,
 * where PostgreSQL is missing.
 */
import { describe, expect, it } from "vitest";
import type { OjsEvent } from "../../src/model/events.js";
import { Client } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/server.js";
import { serverCore } from "../../src/server/internal.js";
import { EventBus } from "../../src/server/store/event-bus.js";
import { buildJob, insertBuilt } from "../../src/server/store/postgres/enqueue.js";
import { EventFeed } from "../../src/server/store/postgres/events.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { PostgresJobStore } from "../../src/server/store/postgres/postgres-job-store.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";
import { Receiver } from "../support/webhook-receiver.js";

const pg = usePrivatePostgres();
let dbSeq = 0;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const job = (queue: string) => ({ type: "t", args: [], queue });

function feedOf(store: PostgresJobStore): EventFeed {
  const feed = store.pg.eventWatch;
  if (!(feed instanceof EventFeed)) throw new Error("the store has no event feed");
  return feed;
}

/** Server A, whose feed and maintenance the test drives by hand, and B, another server writing to the same database. */
async function twoStores(): Promise<{ url: string; a: PostgresJobStore; feed: EventFeed; bus: EventBus; b: PgJobStore }> {
  const url = await pg.cluster.createDatabase(`idle${++dbSeq}`);
  const a = pg.closeAtEnd(await PostgresJobStore.open(url, { maintenanceIntervalMs: 3_600_000, eventPollMs: 3_600_000 }));
  const bus = new EventBus();
  a.attachEvents(bus);
  const b = pg.closeAtEnd(await PgJobStore.open(url, { maintenanceIntervalMs: 3_600_000 }));
  return { url, a, feed: feedOf(a), bus, b };
}

const queuesOf = (got: OjsEvent[]) => got.map((e) => e.queue);

describe("an idle server's event feed on PostgreSQL", () => {
  it("sends no statement while nobody listens and the maintenance pass runs; reads its watch itself, once a second, when the pass is off", async () => {
    const url = await pg.cluster.createDatabase(`idle${++dbSeq}`);
    const server = pg.closeAtEnd(await startServer({ port: 0, store: url }));
    const store = serverCore(server).jobs;
    if (!(store instanceof PostgresJobStore)) throw new Error("not the PostgreSQL store");
    const feed = feedOf(store);
    // Another server writes meanwhile: the idle one's probe sees its events go by, its feed still sends nothing.
    const other = pg.closeAtEnd(await PgJobStore.open(url, { maintenanceIntervalMs: 3_600_000 }));
    for (let i = 0; i < 10; i++) {
      await other.submit(job("elsewhere"));
      await pause(200);
    }
    expect(feed.reads).toBe(0);

    // No maintenance pass: the feed keeps up by itself, but not at its poll rate.
    const off = pg.closeAtEnd(await PostgresJobStore.open(url, { maintenanceIntervalMs: 3_600_000, eventPollMs: 20 }));
    const offFeed = off.attachEvents(new EventBus());
    await pause(2500);
    expect(offFeed.reads).toBeGreaterThanOrEqual(1);
    expect(offFeed.reads).toBeLessThanOrEqual(3);
  }, 30_000);

  it("a listener that comes after an idle spell gets what another server commits after it subscribed, not what came before the watch", async () => {
    const { a, feed, bus, b } = await twoStores();
    await b.submit(job("before"));
    await a.pg.maintain();
    // Committed after the watch and before the subscription: may be delivered (the watch is up to one pass old).
    await b.submit(job("between"));
    const got: OjsEvent[] = [];
    bus.subscribe((e) => got.push(e));
    await b.submit(job("after"));
    await feed.poll();
    expect(queuesOf(got)).toEqual(["between", "after"]);
    expect(feed.reads).toBe(1);
  }, 30_000);

  it("an insert that took its seq before the watch and commits after the subscription is delivered (a gap of the watch)", async () => {
    const { a, feed, bus, b } = await twoStores();
    let commitLate!: () => void;
    const late = new Promise<void>((r) => (commitLate = r));
    const slow = b.sql.begin(async (tx) => {
      await insertBuilt(tx, [buildJob(job("late"), undefined, Date.now())]);
      await late;
    });
    await eventually(async () => (await b.sql`SELECT 1 FROM pg_stat_activity WHERE state = 'idle in transaction'`).length > 0, 5000);
    await b.submit(job("early"));
    // The watch sees "early" (a higher seq) and not "late": "late"'s seq is a gap.
    await a.pg.maintain();
    const got: OjsEvent[] = [];
    bus.subscribe((e) => got.push(e));
    commitLate();
    await slow;
    await feed.poll();
    expect(queuesOf(got)).toEqual(["late"]);
  }, 30_000);

  it("a watch whose snapshot is younger than a listener is not taken: what committed in between is delivered", async () => {
    const { url, a, feed, bus, b } = await twoStores();
    await a.pg.maintain();
    // The probe waits for a lock on ojs_cron, so it takes its snapshot only after the subscription and B's commit below.
    const locker = pg.closeAtEnd(await PgJobStore.open(url, { maintenanceIntervalMs: 3_600_000 }));
    let unlock!: () => void;
    const unlocked = new Promise<void>((r) => (unlock = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holding = locker.sql.begin(async (tx) => {
      await tx`LOCK TABLE ojs_cron IN ACCESS EXCLUSIVE MODE`;
      locked();
      await unlocked;
    });
    await isLocked;
    const pass = a.pg.maintain();
    await eventually(async () => (await b.sql`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'`).length > 0, 5000);
    const got: OjsEvent[] = [];
    bus.subscribe((e) => got.push(e));
    await b.submit(job("during"));
    unlock();
    await holding;
    await pass;
    await feed.poll();
    expect(queuesOf(got)).toEqual(["during"]);
  }, 30_000);

  it("listeners coming and going while another server writes: each gets every event whose enqueue began after it subscribed, once", async () => {
    const url = await pg.cluster.createDatabase(`idle${++dbSeq}`);
    // Real timers, short ones, so that probes, polls and subscriptions interleave.
    const a = pg.closeAtEnd(await PostgresJobStore.open(url, { maintenanceIntervalMs: 30, eventPollMs: 15 }));
    const bus = new EventBus();
    const feed = a.attachEvents(bus);
    const b = pg.closeAtEnd(await PgJobStore.open(url, { maintenanceIntervalMs: 3_600_000 }));
    const jobIds: Array<{ id: string; started: number; done: number }> = [];
    let writing = true;
    let clock = 0;
    const writers = Array.from({ length: 4 }, async () => {
      while (writing) {
        const started = ++clock;
        const out = await b.submit(job("w"));
        jobIds.push({ id: out.job.job.id, started, done: ++clock });
      }
    });
    const listeners: Array<{ from: number; until: number; got: string[] }> = [];
    for (let round = 0; round < 8; round++) {
      await pause(40 + ((round * 37) % 90));
      const l = { from: clock, until: Infinity, got: [] as string[] };
      listeners.push(l);
      const unsubscribe = bus.subscribe((e) => {
        if (e.type === "job.enqueued" && e.jobId) l.got.push(e.jobId);
      });
      await pause(150 + ((round * 53) % 200));
      l.until = clock;
      // The feed gets what committed up to now before this listener leaves (a poll's snapshot after the last answered enqueue).
      await feed.catchUp();
      unsubscribe();
    }
    writing = false;
    await Promise.all(writers);
    expect(jobIds.length).toBeGreaterThan(50);
    for (const l of listeners) {
      expect(new Set(l.got).size).toBe(l.got.length);
      const due = jobIds.filter((j) => j.started > l.from && j.done <= l.until).map((j) => j.id);
      expect(due.length).toBeGreaterThan(0);
      const got = new Set(l.got);
      expect(due.filter((id) => !got.has(id))).toEqual([]);
    }
  }, 60_000);

  it("webhooks: a subscription on an idle server delivers what is enqueued through another server", async () => {
    const url = await pg.cluster.createDatabase(`idle${++dbSeq}`);
    const open = async (): Promise<OjsServer> => pg.closeAtEnd(await startServer({ port: 0, store: url, webhooks: { backoffMs: [50], timeoutMs: 2000 } }));
    const [a, b] = [await open(), await open()];
    const rx = new Receiver();
    await rx.start();
    const ca = new Client({ url: a.url, transport: "http" });
    const cb = new Client({ url: b.url, transport: "http" });
    try {
      await cb.enqueue("wh.idle", [0], { queue: "whq" });
      await pause(600);
      const sub = await ca.webhooks.create({ url: rx.url, events: ["job.enqueued"], filter: { queues: ["whq"] } });
      const enqueued = await cb.enqueue("wh.idle", [1], { queue: "whq" });
      await eventually(() => rx.got.length >= 1, 5000);
      await pause(300);
      expect(rx.got.map((r) => (JSON.parse(r.body) as { job_id: string }).job_id)).toEqual([enqueued.id]);
      const { deliveries } = await ca.webhooks.listDeliveries({ subscriptionId: sub.id });
      expect(deliveries.map((d) => [d.jobId, d.status])).toEqual([[enqueued.id, "delivered"]]);
    } finally {
      await ca.close();
      await cb.close();
      await rx.stop();
    }
  }, 30_000);
});
