/**
 * Retention on PostgreSQL (src/server/store/postgres/retention.ts): a queue's
 * rule is a row of the database, so a rule set through one server is read and
 * applied by another's pass; a pass deletes at most its budget, the oldest
 * first; a job's own keepFor is read through the ojs_keep_until index, and a
 * keepFor that is not a number in range reads as none instead of failing the
 * statement that wrote the job; dead letters are never removed. Passes are run
 * by the test (maintenance is off). A private cluster; skipped, with the
 * reason printed, where PostgreSQL is missing.
 */
import { describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { queueSummary } from "../../src/server/store/postgres/queues.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

/** queueSummary's last-hour figures are not what this file tests. */
const noLastHour = async () => ({ completed: 0, failed: 0, avgDurationMs: 0, avgWaitMs: 0, throughputPerSecond: 0 });

const pg = usePrivatePostgres();
let dbSeq = 0;

async function open(url: string): Promise<PgJobStore> {
  const s = await PgJobStore.open(url, { maintenanceIntervalMs: 60_000 });
  pg.closeAtEnd(s);
  return s;
}

/** `n` finished jobs of `queue` in `state`, finished 1 ms apart (the first the oldest); `meta` is their meta. */
async function finished(sql: Sql, queue: string, n: number, state = "completed", meta: object = {}, dead = false): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    INSERT INTO ojs_jobs (id, queue, type, state, max_attempts, run_at, created_at, finished_at, dead_letter, job, retry)
    SELECT gen_random_uuid(), ${queue}, 't', ${state}, 1, now(), now(), now() - make_interval(secs => (${n} - g) / 1000.0) - interval '1 second',
      ${dead}, jsonb_build_object('meta', ${sql.json(meta as never)}::jsonb), '{}'::jsonb
    FROM generate_series(1, ${n}) g ORDER BY g RETURNING id`;
  return rows.map((r) => r.id);
}

async function left(sql: Sql, queue: string): Promise<Record<string, number>> {
  const rows = await sql<{ state: string; n: number }[]>`SELECT state, count(*)::int AS n FROM ojs_jobs WHERE queue = ${queue} GROUP BY state`;
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

describe("retention on PostgreSQL", () => {
  it("a rule set through one server is read back and applied by another's pass, per kind", async () => {
    const url = await pg.cluster.createDatabase(`ret${++dbSeq}`);
    const [a, b] = [await open(url), await open(url)];
    const done = await finished(a.sql, "q", 5);
    await finished(a.sql, "q", 3, "cancelled");
    await finished(a.sql, "other", 4);
    await a.retention.set("q", { completed: { count: 2 } });
    // A's own pass (asked for by the set) never runs: B applies the rule, which only the database told it.
    await a.close();
    expect((await queueSummary(b.sql, "q", noLastHour)).retention).toEqual({ completed: { count: 2 } });
    expect(await b.retention.pass()).toBe(3);
    expect(await left(b.sql, "q")).toEqual({ completed: 2, cancelled: 3 });
    // The newest two stay.
    const kept = await b.sql<{ id: string }[]>`SELECT id FROM ojs_jobs WHERE queue = 'q' AND state = 'completed' ORDER BY finished_at`;
    expect(kept.map((r) => r.id)).toEqual(done.slice(3));
    expect(await left(b.sql, "other")).toEqual({ completed: 4 });
    // An age for failed jobs (all of these finished over a second ago); then cleared: nothing more goes.
    await b.sql`UPDATE ojs_queue_retention SET completed_count = NULL, discarded_age_ms = 500 WHERE queue = 'q'`;
    expect(await b.retention.pass()).toBe(3);
    expect(await left(b.sql, "q")).toEqual({ completed: 2 });
    await b.retention.set("q", undefined);
    expect((await queueSummary(b.sql, "q", noLastHour)).retention).toBeUndefined();
    await finished(b.sql, "q", 2, "discarded");
    expect(await b.retention.pass()).toBe(0);
    expect((await b.sql`SELECT 1 FROM ojs_queue_retention`).length).toBe(0);
  });

  it("a pass deletes at most its budget, the oldest first; the next passes do the rest", async () => {
    const url = await pg.cluster.createDatabase(`ret${++dbSeq}`);
    const s = await open(url);
    const ids = await finished(s.sql, "big", 2500);
    await s.sql`INSERT INTO ojs_queue_retention (queue, completed_count) VALUES ('big', 100)`;
    // One pass: its budget, no more. It asks for the next one itself, and those do the rest, oldest first.
    expect(await s.retention.pass()).toBe(1000);
    await eventually(async () => (await left(s.sql, "big")).completed === 100, 5000, 20);
    const kept = await s.sql<{ id: string }[]>`SELECT id FROM ojs_jobs WHERE queue = 'big' ORDER BY finished_at`;
    expect(kept.map((r) => r.id)).toEqual(ids.slice(2400));
    expect(s.retention.removed).toBe(2400);
  });

  it("keepFor: due jobs go, others stay; a keepFor out of range reads as none; dead letters stay", async () => {
    const url = await pg.cluster.createDatabase(`ret${++dbSeq}`);
    const s = await open(url);
    const k = "ojs-connect.keep_for";
    const [now] = await finished(s.sql, "k", 1, "completed", { [k]: { completed_ms: 0 } });
    const [later] = await finished(s.sql, "k", 1, "completed", { [k]: { completed_ms: 3_600_000 } });
    const [otherKind] = await finished(s.sql, "k", 1, "completed", { [k]: { discarded_ms: 0 } });
    const [cancelled] = await finished(s.sql, "k", 1, "cancelled", { [k]: { discarded_ms: 10 } });
    // None of these may fail the insert (the index reads them), and none is removed.
    const odd = [
      ...(await finished(s.sql, "k", 1, "completed", { [k]: { completed_ms: "0" } })),
      ...(await finished(s.sql, "k", 1, "completed", { [k]: { completed_ms: -1 } })),
      ...(await finished(s.sql, "k", 1, "completed", { [k]: { completed_ms: 1e300 } })),
      ...(await finished(s.sql, "k", 1, "completed", { [k]: [1, 2] })),
    ];
    const [dead] = await finished(s.sql, "k", 1, "discarded", { [k]: { discarded_ms: 0 } }, true);
    expect(await s.retention.pass()).toBe(2);
    const rest = new Set((await s.sql<{ id: string }[]>`SELECT id FROM ojs_jobs WHERE queue = 'k'`).map((r) => r.id));
    expect(rest.has(now!)).toBe(false);
    expect(rest.has(cancelled!)).toBe(false);
    for (const id of [later!, otherKind!, dead!, ...odd]) expect(rest.has(id)).toBe(true);
  });
});
