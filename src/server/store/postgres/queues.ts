/** Queue control and counts on PostgreSQL. Counts are read from the jobs table (an index scan per queue), not kept. */
import type { Sql } from "postgres";
import { JOB_STATES, type JobState } from "../../../model/job.js";
import { depthOf } from "../queue.js";
import type { QueueSummary } from "../records.js";
import { backpressureOf } from "./depth.js";
import { queueRetention } from "./retention.js";

export interface PgQueueSummary {
  name: string;
  paused: boolean;
  counts: Record<JobState, number>;
  dead: number;
}

/**
 * Pauses or resumes a queue; when that changed it, records queue.paused or
 * queue.resumed in ojs_events in the same statement, as the memory store
 * emits them (every server's event feed hands it on). The old value is read
 * with a row lock, so of two servers flipping a queue at once only one records
 * the change.
 */
async function setPaused(sql: Sql, name: string, paused: boolean): Promise<void> {
  const type = paused ? "queue.paused" : "queue.resumed";
  await sql`
    WITH old AS (SELECT paused FROM ojs_queues WHERE name = ${name} FOR UPDATE),
    up AS (INSERT INTO ojs_queues (name, paused) VALUES (${name}, ${paused}) ON CONFLICT (name) DO UPDATE SET paused = ${paused} RETURNING name)
    INSERT INTO ojs_events (type, queue, data)
    SELECT ${type}, up.name, jsonb_build_object('queue', up.name) FROM up WHERE coalesce((SELECT paused FROM old), false) <> ${paused}`;
}

export async function pauseQueue(sql: Sql, name: string): Promise<void> {
  await setPaused(sql, name, true);
}

export async function resumeQueue(sql: Sql, name: string): Promise<void> {
  await setPaused(sql, name, false);
  await sql`SELECT pg_notify('ojs_jobs', ${name})`;
}

export async function queueCounts(sql: Sql, name: string): Promise<PgQueueSummary> {
  const [q] = await sql<{ paused: boolean }[]>`SELECT paused FROM ojs_queues WHERE name = ${name}`;
  const rows = await sql<{ state: JobState; n: number; dead: number }[]>`
    SELECT state, count(*)::int AS n, count(*) FILTER (WHERE dead_letter)::int AS dead FROM ojs_jobs WHERE queue = ${name} GROUP BY state`;
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  let dead = 0;
  for (const r of rows) {
    counts[r.state] = r.n;
    dead += r.dead;
  }
  return { name, paused: q?.paused ?? false, counts, dead };
}

/** A queue's summary as the seam gives it (no per-minute history on PostgreSQL: lastHour reads zero). */
export async function queueSummary(sql: Sql, name: string, lastHour: (name: string) => Promise<QueueSummary["lastHour"]>): Promise<QueueSummary> {
  const s = await queueCounts(sql, name);
  const [q] = await sql<{ created_at: Date; rate_per_sec: number | null }[]>`SELECT created_at, rate_per_sec FROM ojs_queues WHERE name = ${name}`;
  return {
    name,
    paused: s.paused,
    createdAt: q?.created_at ?? new Date(),
    counts: s.counts,
    dead: s.dead,
    depth: depthOf({ counts: s.counts }),
    backpressure: await backpressureOf(sql, name),
    rateLimitPerSecond: q?.rate_per_sec ?? undefined,
    retention: await queueRetention(sql, name),
    lastHour: await lastHour(name),
  };
}
