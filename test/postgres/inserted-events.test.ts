/**
 * The events of inserted jobs: the store's statements write them themselves
 * (inserted-events.ts), on a pool whose connections carry the setting
 * ojs.events_inline = on, so the insert trigger (row-level since migration
 * 13, WHEN the setting is not on) skips their rows; an insert from any other
 * connection (a server older than migration 13 during a rolling upgrade, a row
 * inserted by hand) gets them from the trigger. Every path writes each event
 * once, in the shape and order the trigger writes them; a database at schema
 * version 12 migrates on start and both hold there. A private cluster;
 * skipped, with the reason printed, where PostgreSQL is missing.
 */
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import type { OjsEvent } from "../../src/model/events.js";
import { recentEvents, seqOf } from "../../src/server/store/postgres/events.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { migrate, MIGRATIONS } from "../../src/server/store/postgres/schema.js";
import { flattenWorkflow } from "../../src/codec/workflow.js";
import { setBackpressure } from "../../src/server/store/postgres/depth.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

async function open(url: string, maintenanceIntervalMs = 60_000): Promise<PgJobStore> {
  return pg.closeAtEnd(await PgJobStore.open(url, { maintenanceIntervalMs }));
}

/** A job's events in the order they were written (by seq as a number: recentEvents orders by its text, so evt_10 comes before evt_9). */
async function eventsOf(s: PgJobStore, jobId: string): Promise<OjsEvent[]> {
  const events = await recentEvents(s.sql, { jobId }, 20);
  return events.sort((a, b) => (seqOf(a.id)! < seqOf(b.id)! ? -1 : 1));
}

const types = (events: OjsEvent[]) => events.map((e) => e.type);

describe("PostgreSQL: events of inserted jobs", () => {
  it("every path that inserts a job writes its events once: submit, batch, unique, rate-limited, bounded, hand-off, cron, workflow", async () => {
    const url = await pg.cluster.createDatabase(`ie${++dbSeq}`);
    const s = await open(url, 200);
    const later = new Date(Date.now() + 3_600_000);

    // The single statement: a job due now, one due later, one with a trace and a tenant.
    const plain = (await s.submit({ type: "plain", args: [], queue: "p" })).job.job.id;
    const [ev] = await eventsOf(s, plain);
    expect(types(await eventsOf(s, plain))).toEqual(["job.enqueued"]);
    expect(ev).toMatchObject({ jobId: plain, jobType: "plain", queue: "p", data: { job_id: plain, job_type: "plain", queue: "p" } });
    const scheduled = (await s.submit({ type: "sch", args: [], queue: "p", scheduledAt: later })).job.job.id;
    const sch = await eventsOf(s, scheduled);
    expect(types(sch)).toEqual(["job.enqueued", "job.scheduled"]);
    expect(new Date(sch[1]!.data["scheduled_at"] as string).getTime()).toBe(later.getTime());
    const traced = (await s.submit({ type: "m", args: [], queue: "p", meta: { trace_id: "tr", tenant_id: "te" } })).job.job.id;
    expect((await eventsOf(s, traced))[0]!.data).toMatchObject({ trace_id: "tr", tenant_id: "te" });

    // A batch in one statement: each job's events, the jobs in order.
    const batch = await s.enqueueBatch([{ req: { type: "b1", args: [], queue: "p" } }, { req: { type: "b2", args: [], queue: "p", scheduledAt: later } }]);
    const since = await recentEvents(s.sql, { queues: ["p"], types: ["job.enqueued", "job.scheduled"] }, 3);
    expect(since.map((e) => [e.jobId, e.type])).toEqual([
      [batch[0]!.job.id, "job.enqueued"],
      [batch[1]!.job.id, "job.enqueued"],
      [batch[1]!.job.id, "job.scheduled"],
    ]);

    // The locked path: a unique key, a per-job rate limit, a bounded queue.
    const unique = (await s.submit({ type: "u", args: [], queue: "p", unique: { keys: ["type"] } })).job.job.id;
    expect(types(await eventsOf(s, unique))).toEqual(["job.enqueued"]);
    const keyed = (await s.submit({ type: "k", args: [], queue: "p", rateLimit: { key: "k1", concurrency: 1 } })).job.job.id;
    expect(types(await eventsOf(s, keyed))).toEqual(["job.enqueued"]);
    await setBackpressure(s.sql, "bounded", { maxDepth: 5, strategy: "reject" });
    const bounded = (await s.submit({ type: "d", args: [], queue: "bounded" })).job.job.id;
    expect(types(await eventsOf(s, bounded))).toEqual(["job.enqueued"]);

    // Handed to a waiting consumer: enqueued and started, with the attempt and the worker. On a server whose
    // maintenance pass (which wakes consumers too) stays out of the way, once the consumer's first claim found nothing.
    const quiet = await open(url);
    const got: string[] = [];
    quiet.openConsumer({ queues: ["h"], workerId: "w1", credit: 1, deliver: (j) => got.push(j.job.id) });
    await eventually(() => quiet.consumerClaims >= 1, 5000, 10);
    await new Promise((r) => setTimeout(r, 50));
    const handed = (await quiet.submit({ type: "h", args: [], queue: "h" })).job.job.id;
    expect(quiet.stats.handedOff).toBe(1);
    await eventually(() => got.length === 1, 5000, 10);
    const h = await eventsOf(s, handed);
    expect(types(h)).toEqual(["job.enqueued", "job.started"]);
    expect(h[1]!.data).toMatchObject({ attempt: 1, worker_id: "w1" });

    // A cron tick (the maintenance pass fires it) and a workflow's first step.
    await s.registerCron({ name: "tick", expression: "@every 1s", job: { type: "cron.t", args: [], queue: "cron" } });
    await eventually(async () => s.stats.cronFired >= 1, 5000, 50);
    const [tick] = await s.sql<{ id: string }[]>`SELECT id FROM ojs_jobs WHERE queue = 'cron' ORDER BY created_at LIMIT 1`;
    expect(types(await eventsOf(s, tick!.id))).toEqual(["job.enqueued"]);
    const flat = flattenWorkflow({ kind: "chain", name: "wf", steps: [{ type: "s.a", args: [], options: { queue: "wq" } }] });
    const { workflow } = await s.workflows.create(flat.name, flat.kind, flat.steps);
    const [step] = await s.sql<{ id: string }[]>`SELECT id FROM ojs_jobs WHERE workflow_id = ${workflow.id}`;
    const w = await eventsOf(s, step!.id);
    expect(types(w)).toEqual(["job.enqueued"]);
    expect(w[0]!.workflowId).toBe(workflow.id);

    // Nothing else (the trigger did not fire for any of them): one enqueued event per job in the table.
    const [dup] = await s.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM (SELECT job_id FROM ojs_events WHERE type = 'job.enqueued' GROUP BY job_id HAVING count(*) > 1) d`;
    expect(dup!.n).toBe(0);
    const [jobs] = await s.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ojs_jobs`;
    const [enq] = await s.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ojs_events WHERE type = 'job.enqueued'`;
    expect(enq!.n).toBe(jobs!.n);
  });

  it("an insert from a connection without the setting (an older server, by hand) gets its events once from the trigger; updates write none twice", async () => {
    const url = await pg.cluster.createDatabase(`ie${++dbSeq}`);
    const s = await open(url);
    const hand = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      const later = new Date(Date.now() + 3_600_000);
      const ids = [1, 2, 3, 4].map((n) => `019a0000-0000-7000-8000-00000000010${n}`);
      // One statement, four rows, as an older server or a hand-written INSERT gives them.
      const rows = [
        oldRow(hand, ids[0]!, "available", new Date()),
        oldRow(hand, ids[1]!, "scheduled", later),
        { ...oldRow(hand, ids[2]!, "active", new Date()), attempt: 1, worker_id: "w9", started_at: new Date() },
        { ...oldRow(hand, ids[3]!, "available", new Date()), job: hand.json({ id: ids[3]!, type: "old", queue: "hand", args: [], meta: { trace_id: "tr" } }) },
      ];
      await hand`INSERT INTO ojs_jobs ${hand(rows)}`;
      expect(types(await eventsOf(s, ids[0]!))).toEqual(["job.enqueued"]);
      const sch = await eventsOf(s, ids[1]!);
      expect(types(sch)).toEqual(["job.enqueued", "job.scheduled"]);
      expect(new Date(sch[1]!.data["scheduled_at"] as string).getTime()).toBe(later.getTime());
      const act = await eventsOf(s, ids[2]!);
      expect(types(act)).toEqual(["job.enqueued", "job.started"]);
      expect(act[1]!.data).toMatchObject({ attempt: 1, worker_id: "w9" });
      expect((await eventsOf(s, ids[3]!))[0]).toMatchObject({ jobType: "old", queue: "hand", data: { trace_id: "tr" } });

      // The same events as the store's own statement writes for such a job (the CTE).
      const mine = (await s.submit({ type: "old", args: [], queue: "mine", scheduledAt: later })).job.job.id;
      const shape = (e: OjsEvent[]) => e.map((x) => [x.type, x.jobType, Object.keys(x.data).sort()]);
      expect(shape(await eventsOf(s, ids[1]!))).toEqual(shape(await eventsOf(s, mine)));

      // Updates from either connection write their own events only: a claim, an ack, a change of no state.
      const [claimed] = await s.fetch({ queues: ["hand"], workerId: "w" });
      expect(claimed!.job.id).toBe(ids[0]);
      await s.ack(ids[0]!, null, "w");
      await hand`UPDATE ojs_jobs SET priority = priority + 1`;
      await s.sql`UPDATE ojs_jobs SET priority = priority + 1`;
      expect(types(await eventsOf(s, ids[0]!))).toEqual(["job.enqueued", "job.started", "job.completed"]);
      expect(types(await eventsOf(s, ids[3]!))).toEqual(["job.enqueued"]);
      const [n] = await s.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ojs_events WHERE type = 'job.enqueued'`;
      expect(n!.n).toBe(5);
    } finally {
      await hand.end();
    }
  });

  it("a database at schema version 12 migrates on start while an older server keeps inserting: every job's events once", async () => {
    const url = await pg.cluster.createDatabase(`ie${++dbSeq}`);
    // The older server: its own pool, and its insert (the column list of version 12).
    const old = postgres(url, { max: 1, onnotice: () => undefined });
    const oldInsert = (id: string) => old`INSERT INTO ojs_jobs (id, queue, type, state, max_attempts, run_at, created_at, job, retry)
        VALUES (${id}, 'q', 'old', 'available', 3, now(), now(), ${old.json({ id, type: "old", queue: "q", args: [] })}, ${old.json({ maxAttempts: 3 })})
        RETURNING *`;
    try {
      // The schema as a server of version 12 left it, and a job it enqueued (its trigger wrote the event).
      await migrate(old, 12);
      const before = "019a0000-0000-7000-8000-0000000000aa";
      await oldInsert(before);
      expect((await old`SELECT type FROM ojs_events WHERE job_id = ${before}`).map((r) => r.type)).toEqual(["job.enqueued"]);

      // A newer server starts and migrates.
      const s = await open(url);
      const versions = await s.sql<{ version: number }[]>`SELECT version FROM ojs_migrations ORDER BY version`;
      expect(versions.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      const triggers = await s.sql<
        { tgname: string }[]
      >`SELECT tgname FROM pg_trigger WHERE tgrelid = 'ojs_jobs'::regclass AND NOT tgisinternal ORDER BY tgname`;
      expect(triggers.map((t) => t.tgname)).toEqual(["ojs_jobs_inserted_events", "ojs_jobs_updated_events"]);

      // The older server inserts again, with the statement it prepared before (its result unchanged, it runs as
      // prepared, the job document intact): the trigger writes the event, once.
      const after = "019a0000-0000-7000-8000-0000000000ab";
      const [row] = await oldInsert(after);
      expect(row!["job"]).toEqual({ id: after, type: "old", queue: "q", args: [] });
      expect((await old`SELECT type FROM ojs_events WHERE job_id = ${after}`).map((r) => r.type)).toEqual(["job.enqueued"]);
      // The newer server's enqueue: once, from its statement.
      const { job } = await s.submit({ type: "new", args: [], queue: "q" });
      expect(types(await eventsOf(s, job.job.id))).toEqual(["job.enqueued"]);
      // The jobs from before and during the upgrade run on: their history is whole, each event once.
      for (const id of [before, after]) {
        const [claimed] = await s.fetch({ queues: ["q"], workerId: "w" });
        expect(claimed!.job.id).toBe(id);
        await s.ack(id, null, "w");
        expect(types(await eventsOf(s, id))).toEqual(["job.enqueued", "job.started", "job.completed"]);
      }
    } finally {
      await old.end();
    }
  });
});

/** A row as an older server's insert or a hand-written one gives it. */
function oldRow(sql: postgres.Sql, id: string, state: string, runAt: Date) {
  return {
    id,
    queue: "hand",
    type: "old",
    state,
    attempt: 0,
    worker_id: null as string | null,
    started_at: null as Date | null,
    max_attempts: 3,
    run_at: runAt,
    created_at: new Date(),
    job: sql.json({ id, type: "old", queue: "hand", args: [] }),
    retry: sql.json({ maxAttempts: 3 }),
  };
}
