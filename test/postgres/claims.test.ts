/**
 * The PostgreSQL store's fast paths (issue 11's speed work): an enqueue that
 * hands its job to a waiting consumer in its own statement, and only where a
 * claim would have taken that job first; claims that read each listed queue in
 * order; NOTIFY waking only the consumers of the queues it names; a pushed
 * job's start confirmed without a statement.
 */
import { describe, expect, it } from "vitest";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import type { PgJob } from "../../src/server/store/postgres/rows.js";
import { recentEvents } from "../../src/server/store/postgres/events.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { PostgresJobStore } from "../../src/server/store/postgres/postgres-job-store.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

/** A server whose maintenance pass stays out of the way (it wakes consumers too): its dispatcher is idle between wake-ups. */
async function open(url: string, maintenanceIntervalMs = 60_000): Promise<PgJobStore> {
  return pg.closeAtEnd(await PgJobStore.open(url, { maintenanceIntervalMs }));
}

async function freshDb(): Promise<string> {
  return pg.cluster.createDatabase(`c${++dbSeq}`);
}

const job = (queue: string, more: Partial<NormalizedJobRequest> = {}): NormalizedJobRequest => ({ type: "t", args: [], queue, ...more });

/** A stream consumer that records what it is pushed and never settles. */
function consumer(s: PgJobStore, queues: string[], credit = 5, workerId = "w") {
  const got: PgJob[] = [];
  const c = s.openConsumer({ queues, workerId, credit, deliver: (j) => got.push(j) });
  return { got, c };
}

describe("PostgreSQL store: claims and hand-offs", () => {
  it("an enqueue hands its job to a waiting consumer of the same server: leased in the same statement, answered as available", async () => {
    const url = await freshDb();
    const [a, b] = [await open(url), await open(url)];
    const { got } = consumer(a, ["h"], 5, "w1");
    // The consumer's first claim (it found nothing) has run: the dispatcher is idle.
    await eventually(() => a.consumerClaims >= 1, 5000, 10);
    await new Promise((r) => setTimeout(r, 50));
    const notified = b.stats.notifications;
    const { job: answered } = await a.submit(job("h", { args: [1] }));
    expect(answered.job.state).toBe("available");
    expect(answered.job.attempt).toBe(0);
    expect(answered.workerId).toBeUndefined();
    expect(a.stats.handedOff).toBe(1);
    await eventually(() => got.length === 1, 5000, 10);
    expect(got[0]!.job.id).toBe(answered.job.id);
    expect(got[0]!.job.state).toBe("active");
    expect(got[0]!.job.attempt).toBe(1);
    expect(got[0]!.workerId).toBe("w1");
    expect(got[0]!.leaseDeadline).toBeGreaterThan(Date.now());
    const row = await b.get(answered.job.id);
    expect(row).toMatchObject({ workerId: "w1", job: { state: "active", attempt: 1 } });
    expect(row.job.startedAt).toBeInstanceOf(Date);
    // Handed off, nothing was left to announce: no NOTIFY reached the other server.
    await new Promise((r) => setTimeout(r, 200));
    expect(b.stats.notifications).toBe(notified);
    // The worker settles it as any claimed job.
    expect((await b.ack(answered.job.id, "ok", "w1")).job.state).toBe("completed");
    // Its history is that of a job enqueued, then claimed: the insert that leased it wrote both events.
    const events = await recentEvents(a.sql, { jobId: answered.job.id }, 10);
    expect(events.map((e) => e.type)).toEqual(["job.enqueued", "job.started", "job.completed"]);
    expect(events[1]!.data).toMatchObject({ attempt: 1, worker_id: "w1" });
  });

  it("no hand-off where a claim would not take the job first: a waiting job of the same or higher priority, a paused queue, another first queue", async () => {
    const url = await freshDb();
    const [a, b] = [await open(url), await open(url)];
    /** A due job in `queue` that no consumer was told about (moved there without a NOTIFY). */
    const hidden = async (queue: string, priority: number) => {
      const { job: j } = await b.submit(job(`${queue}-elsewhere`, { priority }));
      await b.sql`UPDATE ojs_jobs SET queue = ${queue} WHERE id = ${j.job.id}`;
      return j.job.id;
    };
    const idle = async (claimsBefore: number) => {
      await eventually(() => a.consumerClaims > claimsBefore, 5000, 10);
      await new Promise((r) => setTimeout(r, 50));
    };

    // A waiting job of the same priority is older: it goes first, the new one is enqueued as available and claimed after it.
    let k = a.consumerClaims;
    const ce = consumer(a, ["e"], 3, "w1");
    await idle(k);
    const equal = await hidden("e", 1);
    const { job: after } = await a.submit(job("e", { priority: 1 }));
    expect(a.stats.handedOff).toBe(0);
    await eventually(() => ce.got.length === 2, 5000, 10);
    expect(ce.got.map((j) => j.job.id)).toEqual([equal, after.job.id]);

    // A waiting job of lower priority does not stop it: the new job comes first in claim order too.
    k = a.consumerClaims;
    const cl = consumer(a, ["l"], 3, "w2");
    await idle(k);
    const lower = await hidden("l", 0);
    const { job: higher } = await a.submit(job("l", { priority: 2 }));
    expect(a.stats.handedOff).toBe(1);
    expect(cl.got.map((j) => j.job.id)).toEqual([higher.job.id]);
    expect((await a.get(lower)).job.state).toBe("available");

    // Paused: neither handed off nor claimed; resumed, it is claimed.
    await a.pauseQueue("p");
    k = a.consumerClaims;
    const cp = consumer(a, ["p"], 3, "w3");
    await idle(k);
    const handed = a.stats.handedOff;
    const { job: paused } = await a.submit(job("p"));
    expect(a.stats.handedOff).toBe(handed);
    expect((await a.get(paused.job.id)).job.state).toBe("available");
    await a.resumeQueue("p");
    await eventually(() => cp.got.length === 1, 5000, 10);

    // A job of a queue the consumer lists second is claimed, not handed off (its first queue may have work).
    k = a.consumerClaims;
    const cs = consumer(a, ["first", "second"], 3, "w4");
    await idle(k);
    await a.submit(job("second"));
    expect(a.stats.handedOff).toBe(handed);
    await eventually(() => cs.got.length === 1, 5000, 10);
  });

  it("an enqueue that comes while a claim statement is out is handed off once that claim answered", async () => {
    const a = await open(await freshDb());
    const { got } = consumer(a, ["r"], 5, "w1");
    await eventually(() => a.consumerClaims >= 1, 5000, 10);
    await new Promise((r) => setTimeout(r, 50));
    const k = a.consumerClaims;
    a.wake();
    // The pump starts at the end of this turn and sends its claim: the enqueue below finds it out.
    await Promise.resolve();
    const { job: answered } = await a.submit(job("r"));
    expect(a.consumerClaims).toBe(k + 1);
    expect(a.stats.handedOff).toBe(1);
    expect(a.stats.notifications).toBe(0);
    expect(got.map((j) => j.job.id)).toEqual([answered.job.id]);
    expect(got[0]!.workerId).toBe("w1");
  });

  it("claims take the first listed queue first, then priority, then age, however many wait", async () => {
    const url = await freshDb();
    const a = await open(url);
    await a.enqueueBatch(Array.from({ length: 300 }, (_, i) => ({ req: job("later", { args: [i], priority: 9 }) })));
    await a.enqueueBatch(Array.from({ length: 300 }, (_, i) => ({ req: job("first", { args: [i], priority: i % 3 }) })));
    const got = await a.fetch({ queues: ["first", "later", "first"], count: 250, workerId: "w" });
    expect(got).toHaveLength(250);
    // All from "first" (300 wait there), priority 2 (100 jobs), then 1 (100), then 0; oldest first within a priority.
    expect(got.every((j) => j.job.queue === "first")).toBe(true);
    expect(got.map((j) => j.job.priority)).toEqual([...Array(100).fill(2), ...Array(100).fill(1), ...Array(50).fill(0)]);
    const args = got.slice(0, 100).map((j) => j.job.args[0] as number);
    expect(args).toEqual([...args].sort((x, y) => x - y));
    // What is left of "first" (50), then "later".
    const rest = await a.fetch({ queues: ["first", "later"], count: 60, workerId: "w" });
    expect(rest.map((j) => j.job.queue)).toEqual([...Array(50).fill("first"), ...Array(10).fill("later")]);
  });

  it("NOTIFY wakes a server's consumers only for the queues they read", async () => {
    const url = await freshDb();
    const [a, b] = [await open(url), await open(url)];
    const { got } = consumer(b, ["mine"], 5);
    await eventually(() => b.consumerClaims >= 1, 5000, 10);
    await new Promise((r) => setTimeout(r, 50));
    const claims = b.consumerClaims;
    const notified = b.stats.notifications;
    for (let i = 0; i < 5; i++) await a.submit(job("others"));
    await eventually(() => b.stats.notifications >= notified + 5, 5000, 10);
    await new Promise((r) => setTimeout(r, 50));
    // Five notifications for a queue nobody here reads: no claim.
    expect(b.consumerClaims).toBe(claims);
    await a.submit(job("mine"));
    await eventually(() => got.length === 1, 5000, 10);
    expect(b.consumerClaims).toBe(claims + 1);
  });

  it("a worker's start of a job pushed to it is confirmed from what this server pushed; another worker's claim is looked up", async () => {
    const url = await freshDb();
    const s = pg.closeAtEnd(await PostgresJobStore.open(url, { maintenanceIntervalMs: 60_000 }));
    const pushed: string[] = [];
    await s.openConsumer({ queues: ["st"], workerId: "w1", maxConcurrent: 2, deliver: (r) => pushed.push(r.id) });
    const { rec } = await s.submit({ type: "t", args: [], queue: "st" });
    await eventually(() => pushed.length === 1, 5000, 10);
    expect(await s.markStarted([rec.id], "w1")).toEqual([]);
    // Another worker does not hold it.
    expect(await s.markStarted([rec.id], "w2")).toEqual([rec.id]);
    const { rec: other } = await s.submit({ type: "t", args: [], queue: "fetched" });
    await s.fetch({ queues: ["fetched"], workerId: "w3" });
    expect(await s.markStarted([other.id], "w3")).toEqual([]);
    expect(await s.markStarted([other.id], "w1")).toEqual([other.id]);
  });
  it("a job handed or claimed for a consumer that went away before delivery goes back to its queue at once, not a lease later", async () => {
    const url = await freshDb();
    const a = await open(url);
    // Hand-off: a long poll takes one job and goes away; the second enqueue had reserved it too.
    const got: PgJob[] = [];
    const poll = a.openConsumer({ queues: ["h"], workerId: "poll", credit: 2, deliver: (j) => (got.push(j), a.closeConsumer(poll)) });
    await eventually(() => a.consumerClaims >= 1, 5000, 10);
    await new Promise((r) => setTimeout(r, 50));
    const [first, second] = await Promise.all([a.submit(job("h", { args: [1] })), a.submit(job("h", { args: [2] }))]);
    expect(a.stats.handedOff).toBe(2);
    expect(got.map((j) => j.job.id)).toEqual([first.job.job.id]);
    await eventually(() => a.stats.givenBack === 1, 5000, 10);
    await eventually(async () => (await a.get(second.job.job.id)).job.state === "available", 5000, 20);
    expect(await a.get(second.job.job.id)).toMatchObject({ job: { attempt: 0 } });

    // Claim: the consumer goes away while its claim waits on a lock; what the claim took comes back.
    const { job: waiting } = await a.submit(job("g"));
    let unlock!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = a.sql.begin(async (tx) => {
      await tx`LOCK TABLE ojs_queues IN ACCESS EXCLUSIVE MODE`;
      locked();
      await new Promise<void>((r) => (unlock = r));
    });
    await isLocked;
    const claims = a.consumerClaims;
    const gone = a.openConsumer({ queues: ["g"], workerId: "gone", credit: 1, deliver: () => expect.fail("delivered to a closed consumer") });
    await eventually(
      async () => {
        const [r] = await a.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'`;
        return r!.n > 0;
      },
      5000,
      20,
    );
    a.closeConsumer(gone);
    unlock();
    await holder;
    await eventually(() => a.consumerClaims > claims && a.stats.givenBack === 2, 5000, 10);
    await eventually(async () => (await a.get(waiting.job.id)).job.state === "available", 5000, 20);
    const next = consumer(a, ["g"], 1, "next");
    await eventually(() => next.got.length === 1, 5000, 10);
    expect(next.got[0]!.job.id).toBe(waiting.job.id);
  });
});
