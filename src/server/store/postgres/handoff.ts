/**
 * Enqueue with a hand-off: when this server holds a stream consumer that is
 * waiting for work on the job's queue, the job is inserted already leased to
 * that consumer's worker, in the enqueue's own statement, and delivered as
 * soon as it commits. That is what a claim woken by the enqueue would have
 * done a round trip later: no NOTIFY, no claim statement, and one row version
 * instead of two (an insert, not an insert and an update).
 *
 * The hand-off happens only where a claim would have taken this job first:
 * the queue is not paused or rate limited, and no due job of the queue comes
 * before it (same or higher priority). Otherwise the statement inserts the job
 * as available and notifies, as a plain enqueue does. The enqueuer is
 * answered with the job as enqueued (available), as the memory store answers
 * while a consumer takes the job at once.
 */
import type { Sql } from "postgres";
import type { NormalizedJobRequest } from "../../../model/job.js";
import type { JobRow, PgJob } from "./rows.js";
import { insertRows, rowOf, type BuiltJob } from "./enqueue.js";
import { enqueuedJob } from "./insert-rows.js";
import { boundedGuard, tenantsOf } from "./depth.js";
import { insertedEventsCte } from "./inserted-events.js";
import { unregistered } from "./known-queues.js";
import { tenantFilter } from "./tenants.js";

/** Who would take the job: the waiting consumer's worker and its lease length when the job names none. */
export interface HandoffTarget {
  workerId: string;
  visibilityTimeoutMs: number;
  /** The consumer's tenant: its claims would pass every other tenant's jobs over, so only its own can come first. */
  tenant?: string;
}

export interface HandoffOutcome {
  /** The job as enqueued (available), for the enqueuer. */
  enqueued: PgJob;
  /** The job leased to the target, to deliver; undefined when it was inserted as available instead. */
  leased: PgJob | undefined;
  /** Queues the statement registered: the caller records them (known-queues.ts) once the commit is durable. */
  registers: string[];
}

/**
 * Whether a job may be handed off at all: due now, and with nothing that
 * only the enqueue's locked path or the claim checks (a unique key, a
 * workflow step, a per-job rate limit).
 */
export function mayHandOff(b: BuiltJob, req: NormalizedJobRequest): boolean {
  return b.job.state === "available" && b.uniqueKey === undefined && b.workflowStep === undefined && !b.job.workflowId && req.rateLimit === undefined;
}

/**
 * One statement, one round trip: the depth-bound guard (depth.ts), the
 * insert (leased or available) and its events, the queue's registration when
 * this process has not seen it, and a NOTIFY only when the job was left
 * available. Only what the database decided comes back (whether it leased
 * the job, when it started, its lease); the rest of both answers is the row
 * as inserted, as the plain enqueue answers (enqueue.ts).
 *
 * `sql` runs it: the store passes a pool that commits without waiting for
 * the WAL flush, and makes the enqueue durable before answering it
 * (wal-barrier.ts). `known` is the pool whose registered queues are
 * remembered (known-queues.ts), shared with the plain enqueue; what this
 * statement registered is returned, not recorded: a commit not yet flushed
 * can still be lost.
 */
export async function enqueueHandedOff(sql: Sql, b: BuiltJob, to: HandoffTarget, known: object = sql): Promise<HandoffOutcome> {
  const r = rowOf(b);
  const queue = b.job.queue;
  const leaseMs = b.job.visibilityTimeout ?? to.visibilityTimeoutMs;
  const fresh = unregistered(known, [queue]);
  const [row] = await insertRows<Pick<JobRow, "state" | "started_at" | "lease_deadline">>(
    sql`
    WITH g AS (${boundedGuard(sql, [queue], [...tenantsOf([b]).keys()])}),
      free AS (
        SELECT NOT EXISTS (SELECT 1 FROM ojs_queues WHERE name = ${queue} AND (paused OR rate_per_sec IS NOT NULL))
          AND NOT EXISTS (
            SELECT 1 FROM ojs_jobs
            WHERE queue = ${queue} AND state IN ('available', 'scheduled', 'retryable') AND run_at <= now() AND priority >= ${b.job.priority}
              ${to.tenant === undefined ? sql`` : tenantFilter(sql, to.tenant)}
          ) AS ok
        FROM g
      ),
      ins AS (
        INSERT INTO ojs_jobs (id, queue, type, state, priority, attempt, max_attempts, run_at, expires_at, created_at, job, retry, extra,
          worker_id, started_at, lease_deadline)
        SELECT ${r.id}::uuid, ${queue}, ${r.type}, CASE WHEN free.ok THEN 'active' ELSE 'available' END, ${b.job.priority},
          CASE WHEN free.ok THEN 1 ELSE 0 END, ${b.retry.maxAttempts}, ${r.run_at}::timestamptz, ${r.expires_at}::timestamptz,
          ${r.created_at}::timestamptz, ${sql.json(r.job)}::jsonb, ${sql.json(r.retry)}::jsonb, ${r.extra === null ? null : sql.json(r.extra)}::jsonb,
          CASE WHEN free.ok THEN ${to.workerId}::text END, CASE WHEN free.ok THEN now() END,
          CASE WHEN free.ok THEN now() + make_interval(secs => ${leaseMs}::double precision / 1000.0) END
        FROM free
        RETURNING id, type, queue, workflow_id, state, run_at, attempt, worker_id, created_at, job, started_at, lease_deadline
      ),
      ${insertedEventsCte(sql)},
      ${fresh.length ? sql`q AS (INSERT INTO ojs_queues (name) VALUES (${queue}) ON CONFLICT (name) DO NOTHING),` : sql``}
      n AS (SELECT pg_notify('ojs_jobs', ${queue}) FROM ins WHERE ins.state = 'available')
    SELECT ins.state, ins.started_at, ins.lease_deadline FROM ins LEFT JOIN n ON true`,
  );
  const enqueued = enqueuedJob(b);
  if (row!.state !== "active") return { enqueued, leased: undefined, registers: fresh };
  // What fromRow gives for the row as leased: the job started, its first attempt, the lease the database set.
  const leased: PgJob = {
    ...enqueued,
    job: { ...enqueued.job, state: "active", attempt: 1, startedAt: row!.started_at! },
    workerId: to.workerId,
    leaseDeadline: row!.lease_deadline!.getTime(),
  };
  return { enqueued, leased, registers: fresh };
}
