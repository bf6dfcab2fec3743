/**
 * Cron on PostgreSQL: every server ticks, and a tick fires a schedule by
 * moving its next_run_at forward with a compare-and-set in the same
 * transaction as the enqueue. Of the servers that see the same due tick one
 * wins the row lock and the others find next_run_at already moved: each tick
 * fires once across all servers. A run missed while every server was down
 * fires once (the next time is computed from now, not from the missed tick).
 */
import type { Sql } from "postgres";
import type { NormalizedJobRequest } from "../../../model/job.js";
import type { JsonValue } from "../../../model/json.js";
import { parseSchedule } from "../cron-expr.js";
import { buildJob } from "./enqueue.js";
import { keyJobs } from "./job-rate-limits.js";
import { insertedEventsCte, returningEventColumns } from "./inserted-events.js";

export interface PgCronRegistration {
  name: string;
  expression: string;
  timezone?: string;
  /** The job each tick enqueues. */
  job: { type: string; args: JsonValue[]; queue?: string; meta?: NormalizedJobRequest["meta"]; priority?: number };
}

export async function registerCron(sql: Sql, reg: PgCronRegistration, now = Date.now()): Promise<Date> {
  const tz = reg.timezone ?? "UTC";
  const next = parseSchedule(reg.expression, tz, now).next(new Date(now));
  if (!next) throw new Error(`cron ${reg.name}: the expression ${reg.expression} never fires`);
  await sql`
    INSERT INTO ojs_cron (name, expression, timezone, template, next_run_at) VALUES (${reg.name}, ${reg.expression}, ${tz}, ${sql.json(reg.job as unknown as JsonValue)}, ${next})
    ON CONFLICT (name) DO UPDATE SET expression = EXCLUDED.expression, timezone = EXCLUDED.timezone, template = EXCLUDED.template, next_run_at = EXCLUDED.next_run_at`;
  return next;
}

export async function removeCron(sql: Sql, name: string): Promise<boolean> {
  const r = await sql`DELETE FROM ojs_cron WHERE name = ${name}`;
  return r.count > 0;
}

/** next_run_at of a schedule that never fires (disabled, or an expression with no next time). */
export const NEVER = new Date("9999-01-01T00:00:00Z");

/**
 * Fires every due schedule this server wins. Returns the names it fired. The
 * overlap policy (CRON, as the memory store's CronScheduler) is weighed in the
 * same transaction: "skip" passes a tick while the previous run is unfinished,
 * "cancel_previous" cancels that run first.
 */
export async function fireDueCron(sql: Sql): Promise<string[]> {
  const due = await sql<{ name: string; next_run_at: Date }[]>`SELECT name, next_run_at FROM ojs_cron WHERE next_run_at <= now() AND enabled LIMIT 100`;
  const fired: string[] = [];
  for (const d of due) {
    const won = await sql.begin(async (tx) => {
      const [row] = await tx<
        { name: string; expression: string; timezone: string; template: NormalizedJobRequest; overlap_policy: string; last_job_id: string | null; now: Date }[]
      >`
        SELECT name, expression, timezone, template, overlap_policy, last_job_id, now() AS now FROM ojs_cron
        WHERE name = ${d.name} AND next_run_at = ${d.next_run_at} AND enabled FOR UPDATE SKIP LOCKED`;
      if (!row) return false;
      const now = row.now.getTime();
      const next = parseSchedule(row.expression, row.timezone, now).next(new Date(now));
      // A schedule that never fires again keeps its row far in the future rather than firing on every tick.
      await tx`UPDATE ojs_cron SET next_run_at = ${next ?? NEVER}, last_run_at = now() WHERE name = ${row.name}`;
      if (row.last_job_id && (row.overlap_policy === "skip" || row.overlap_policy === "cancel_previous")) {
        const unfinished = ["scheduled", "available", "pending", "active", "retryable"];
        if (row.overlap_policy === "skip") {
          const [prev] = await tx`SELECT 1 FROM ojs_jobs WHERE id = ${row.last_job_id} AND state = ANY(${unfinished})`;
          if (prev) return false;
        } else {
          await tx`UPDATE ojs_jobs SET state = 'cancelled', finished_at = now(), lease_deadline = NULL, worker_id = NULL WHERE id = ${row.last_job_id} AND state = ANY(${unfinished})`;
        }
      }
      const t = row.template;
      const built = buildJob({ ...t, meta: { ...(t.meta ?? {}), cron_name: row.name } }, undefined, now);
      const j = built.job;
      await tx`
        WITH ins AS (
          INSERT INTO ojs_jobs (id, queue, type, state, priority, max_attempts, run_at, created_at, job, retry, expires_at)
          VALUES (${j.id}, ${j.queue}, ${j.type}, 'available', ${j.priority}, ${built.retry.maxAttempts}, now(), now(),
            ${tx.json(JSON.parse(JSON.stringify({ ...j, state: "available", scheduledAt: undefined })) as JsonValue)}, ${tx.json(JSON.parse(JSON.stringify(built.retry)) as JsonValue)}, ${j.expiresAt ?? null})
          ${returningEventColumns(tx)}),
        ${insertedEventsCte(tx)}
        SELECT 1`;
      if (built.rateLimit) await keyJobs(tx, [built]);
      await tx`UPDATE ojs_cron SET last_job_id = ${j.id}, run_count = run_count + 1 WHERE name = ${row.name}`;
      await tx`INSERT INTO ojs_queues (name) VALUES (${j.queue}) ON CONFLICT (name) DO NOTHING`;
      await tx`SELECT pg_notify('ojs_jobs', ${j.queue})`;
      return true;
    });
    if (won) fired.push(d.name);
  }
  return fired;
}
