/**
 * The events of inserted jobs are written by the statements that insert them
 * (inserted-events.ts), not by a trigger since migration 13: every path that
 * inserts a job writes its events once, in the shape and order the trigger
 * wrote them; and a database at schema version 12 (the trigger in place, its
 * events stored) migrates on start and does not write them twice. A private
 * cluster; skipped, with the reason printed, where PostgreSQL is missing.
 */
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import type { OjsEvent } from "../../src/model/events.js";
import { recentEvents } from "../../src/server/store/postgres/events.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { MIGRATIONS } from "../../src/server/store/postgres/schema.js";
import { flattenWorkflow } from "../../src/codec/workflow.js";
import { setBackpressure } from "../../src/server/store/postgres/depth.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

async function open(url: string, maintenanceIntervalMs = 60_000): Promise<PgJobStore> {
  return pg.closeAtEnd(await PgJobStore.open(url, { maintenanceIntervalMs }));
}

async function eventsOf(s: PgJobStore, jobId: string): Promise<OjsEvent[]> {
  return recentEvents(s.sql, { jobId }, 20);
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

    // Nothing else: one enqueued event per job in the table.
    const [dup] = await s.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM (SELECT job_id FROM ojs_events WHERE type = 'job.enqueued' GROUP BY job_id HAVING count(*) > 1) d`;
    expect(dup!.n).toBe(0);
    const [jobs] = await s.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ojs_jobs`;
    const [enq] = await s.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ojs_events WHERE type = 'job.enqueued'`;
    expect(enq!.n).toBe(jobs!.n);
  });

  it("a database at schema version 12 migrates on start: the insert trigger goes, old events stay, new ones are written once", async () => {
    const url = await pg.cluster.createDatabase(`ie${++dbSeq}`);
    const old = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      // The schema as a server of version 12 left it, and a job it enqueued (its trigger wrote the event).
      await old.begin(async (tx) => {
        await tx`CREATE TABLE ojs_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
        for (const m of MIGRATIONS.filter((x) => x.version <= 12)) {
          await tx.unsafe(m.sql);
          await tx`INSERT INTO ojs_migrations (version, name) VALUES (${m.version}, ${m.name})`;
        }
      });
      const id = "019a0000-0000-7000-8000-0000000000aa";
      await old`INSERT INTO ojs_jobs (id, queue, type, state, max_attempts, run_at, created_at, job, retry)
        VALUES (${id}, 'q', 'old', 'available', 3, now(), now(), ${old.json({ id, type: "old", queue: "q", args: [] })}, ${old.json({ maxAttempts: 3 })})`;
      expect((await old`SELECT type FROM ojs_events WHERE job_id = ${id}`).map((r) => r.type)).toEqual(["job.enqueued"]);

      const s = await open(url);
      const versions = await s.sql<{ version: number }[]>`SELECT version FROM ojs_migrations ORDER BY version`;
      expect(versions.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      const triggers = await s.sql<
        { tgname: string }[]
      >`SELECT tgname FROM pg_trigger WHERE tgrelid = 'ojs_jobs'::regclass AND NOT tgisinternal ORDER BY tgname`;
      expect(triggers.map((t) => t.tgname)).toEqual(["ojs_jobs_updated_events"]);
      // The job from before the upgrade runs on: its history is whole, each event once.
      const { job } = await s.submit({ type: "new", args: [], queue: "q" });
      expect(types(await eventsOf(s, job.job.id))).toEqual(["job.enqueued"]);
      const [claimed] = await s.fetch({ queues: ["q"], workerId: "w" });
      expect(claimed!.job.id).toBe(id);
      await s.ack(id, null, "w");
      expect(types(await eventsOf(s, id))).toEqual(["job.enqueued", "job.started", "job.completed"]);
    } finally {
      await old.end();
    }
  });
});
