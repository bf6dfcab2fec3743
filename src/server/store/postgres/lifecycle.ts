/**
 * Claim, ack, nack, heartbeat, cancel and the lease reaper on PostgreSQL.
 * Each is one statement or one short transaction; time is the database's
 * now(), so servers with skewed clocks agree on leases and schedules.
 * Retry decisions are the memory store's pure functions (backoff.ts).
 */
import type { PendingQuery, Row, Sql, TransactionSql } from "postgres";
import { ConflictError, NotFoundError } from "../../../model/errors.js";
import type { JobError } from "../../../model/job.js";
import type { JsonValue } from "../../../model/json.js";
import { decideFailure } from "../policies.js";
import type { NackOptions as StoreNackOptions } from "../records.js";
import { fromRow, type JobRow, type PgJob } from "./rows.js";
import { tenantFilter } from "./tenants.js";

export interface ClaimRequest {
  queues: readonly string[];
  /**
   * One entry per job wanted: who gets it and its lease length when the job
   * names none. Several consumers of the same queues are served by one claim
   * (the slots of each in turn), so a server costs one statement per wake-up,
   * not one per consumer.
   */
  slots: ReadonlyArray<{ workerId: string; visibilityTimeoutMs: number }>;
  /** Multi-tenancy: only jobs whose meta.tenant_id is this string (tenants.ts); none: every job. */
  tenant?: string;
}

export interface Claimed {
  /** Index into the request's slots. */
  slot: number;
  job: PgJob;
}

/**
 * The per-queue LIMIT of a claim of n jobs, written into the statement as a
 * constant: n rounded up to a power of two (1, 2, 4 ... 256), so at most nine
 * statement texts, each prepared once per connection. As a parameter it made
 * the claim planned again on every call once ojs_jobs had statistics: a plan
 * made without the parameter's value (PostgreSQL's generic plan) expects an
 * unknown LIMIT to keep a tenth of the rows, so with thousands of waiting
 * jobs it looks far dearer than a plan made for LIMIT 50, and PostgreSQL's
 * plan cache then chose a fresh plan each time (0.5-0.7 ms of planning a
 * claim, a tenth of the PostgreSQL CPU of a drained job). With a constant the
 * generic plan costs what the per-call one does and is kept. The statement's
 * outer LIMIT stays the exact n; the first queue may lock up to the rounded
 * limit (less than 2n) rows and drop the excess, whose locks end with the
 * statement, as the later queues' excess always did.
 */
export function perQueueLimit(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/**
 * Takes up to slots.length due jobs from the queues, the first listed queue
 * first (OJS: left to right), then highest priority, then oldest due,
 * and leases each to its slot's worker. SKIP LOCKED: servers claiming at once
 * take different rows instead of waiting on each other. Paused queues and
 * expired jobs are passed over, and so are rate-limited queues unless the
 * caller holds the queue's rate row (rate-limits.ts). It takes the jobs of
 * one rate-limit key (`rateKey`, under that key's lock: job-rate-limits.ts)
 * or, by default, only jobs without a key.
 *
 * Each queue is read on its own (a LATERAL subquery per queue, in the
 * listed order) in the order of the claim index (queue, priority DESC,
 * run_at, id), so a claim reads about as many index entries as it takes
 * jobs, however many wait: one ORDER BY over all the queues together
 * cannot use the index and sorts every waiting job on every claim. With
 * several queues the later ones may lock a few rows the outer LIMIT then
 * drops; those locks end with the statement. (row_number() lives in its own
 * CTE because PostgreSQL does not allow window functions beside FOR UPDATE.)
 *
 * The key test is `rate_key IS NULL` or `rate_key = $key`, two texts, not one
 * `IS NOT DISTINCT FROM $key`: PostgreSQL estimates that one as matching no
 * row at all (it takes IS DISTINCT FROM a NULL constant as true for every
 * row), so once the table has statistics (any autovacuum analyze) the index
 * scan, which it then expects to read every waiting job of the queue for
 * nothing, costs more than a sequential scan of the whole table and a sort:
 * every claim read every row (24 ms for 50 jobs with 10 000 waiting).
 */
export async function claimJobs(sql: Sql | TransactionSql, req: ClaimRequest, includeRateLimited = false, rateKey: string | null = null): Promise<Claimed[]> {
  if (req.slots.length === 0 || req.queues.length === 0) return [];
  // A queue listed twice is read once, at its first place.
  const queues = [...new Set(req.queues)];
  const workers = req.slots.map((s) => s.workerId);
  const leases = req.slots.map((s) => s.visibilityTimeoutMs);
  const n = req.slots.length;
  const rows = await sql<(JobRow & { rn: string })[]>`
    WITH locked AS (
      SELECT c.id, q.ord, c.priority, c.run_at
      FROM unnest(${queues}::text[]) WITH ORDINALITY AS q(name, ord)
      CROSS JOIN LATERAL (
        SELECT id, priority, run_at FROM ojs_jobs
        WHERE queue = q.name
          AND state IN ('available', 'scheduled', 'retryable')
          AND run_at <= now()
          AND (expires_at IS NULL OR expires_at > now())
          AND ${rateKey === null ? sql`rate_key IS NULL` : sql`rate_key = ${rateKey}::text`}
          ${req.tenant === undefined ? sql`` : tenantFilter(sql, req.tenant)}
        ORDER BY priority DESC, run_at, id
        LIMIT ${sql.unsafe(String(perQueueLimit(n)))}
        FOR UPDATE SKIP LOCKED
      ) c
      WHERE q.name NOT IN (SELECT name FROM ojs_queues WHERE paused OR (rate_per_sec IS NOT NULL AND NOT ${includeRateLimited}::boolean))
      ORDER BY q.ord, c.priority DESC, c.run_at, c.id
      LIMIT ${n}
    ), at AS (
      -- Inside a longer transaction (a rate-limited or keyed claim under its lock) the claim's
      -- time is the clock's, not the transaction's start: the lease and started_at begin now.
      SELECT CASE WHEN ${includeRateLimited}::boolean OR ${rateKey}::text IS NOT NULL THEN clock_timestamp() ELSE now() END AS t
    ), numbered AS (
      SELECT id, row_number() OVER (ORDER BY ord, priority DESC, run_at, id) AS rn FROM locked
    )
    UPDATE ojs_jobs j SET
      state = 'active',
      attempt = j.attempt + 1,
      worker_id = (${workers}::text[])[numbered.rn],
      started_at = at.t,
      progress = NULL,
      lease_deadline = at.t + make_interval(secs => coalesce((j.job->>'visibilityTimeout')::double precision, (${leases}::double precision[])[numbered.rn]) / 1000.0)
    FROM numbered, at WHERE j.id = numbered.id
    RETURNING j.*, numbered.rn`;
  return rows.map((r) => ({ slot: Number(r.rn) - 1, job: fromRow(r) })).sort((a, b) => a.slot - b.slot);
}

export async function getJob(sql: Sql, id: string): Promise<PgJob> {
  const [row] = await sql<JobRow[]>`SELECT * FROM ojs_jobs WHERE id = ${uuidOrNull(id)}`;
  if (!row) throw new NotFoundError(`job ${id} not found`, { jobId: id });
  return fromRow(row);
}

/** A malformed id is simply not found (ids are uuids in the table). */
export function uuidOrNull(id: string): string {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? id : "00000000-0000-0000-0000-000000000000";
}

async function notActive(sql: Sql, id: string, what: string): Promise<never> {
  const job = await getJob(sql, id);
  throw new ConflictError(`cannot ${what} job ${id}: it is ${job.job.state}, not active`, { jobId: id, details: { state: job.job.state } });
}

export async function ackJob(sql: Sql, id: string, result: JsonValue | undefined, workerId?: string): Promise<PgJob> {
  // The result travels as JSON text: undefined (no result) is SQL NULL and leaves the document as it is.
  const text = result === undefined ? null : JSON.stringify(result);
  const [row] = await sql<JobRow[]>`
    UPDATE ojs_jobs SET state = 'completed', finished_at = now(), lease_deadline = NULL, worker_id = NULL,
      job = CASE WHEN ${text}::text IS NULL THEN job ELSE job || jsonb_build_object('result', (${text}::text)::jsonb) END
    WHERE id = ${uuidOrNull(id)} AND state = 'active' AND (${workerId ?? null}::text IS NULL OR worker_id = ${workerId ?? null})
    RETURNING *`;
  if (!row) return notActive(sql, id, "ack");
  return fromRow(row);
}

export interface NackOptions {
  /** Hand the job back untouched (a worker shutting down), without using an attempt. */
  requeue?: boolean;
  /** The handler's answer (RETRY, FAIL, DISCARD, DEAD_LETTER): decideFailure() of policies.ts weighs it as the memory store does. */
  response?: StoreNackOptions["response"];
}

/**
 * RET: a failed attempt is retried after the policy's backoff while attempts
 * remain and the error is retryable; otherwise it is discarded, or kept as a
 * dead letter when the policy says so.
 */
export async function nackJob(
  sql: Sql,
  id: string,
  error: JobError,
  workerId?: string,
  opts: NackOptions = {},
  random: () => number = Math.random,
): Promise<PgJob> {
  return sql.begin(async (tx) => {
    const [row] = await tx<JobRow[]>`SELECT * FROM ojs_jobs WHERE id = ${uuidOrNull(id)} FOR UPDATE`;
    if (!row) throw new NotFoundError(`job ${id} not found`, { jobId: id });
    if (row.state !== "active" || (workerId !== undefined && row.worker_id !== workerId))
      throw new ConflictError(`cannot nack job ${id}: it is ${row.state}, not active`, { jobId: id, details: { state: row.state } });
    if (opts.requeue) {
      const [r] = await tx<JobRow[]>`
        UPDATE ojs_jobs SET state = 'available', attempt = greatest(attempt - 1, 0), run_at = now(), lease_deadline = NULL, worker_id = NULL, started_at = NULL
        WHERE id = ${row.id} RETURNING *`;
      await tx`SELECT pg_notify('ojs_jobs', ${row.queue})`;
      return fromRow(r!);
    }
    const errors = [...(row.job.errors ?? []), { ...error, attempt: row.attempt, occurredAt: new Date() }];
    const decision = decideFailure(row.attempt, { ...row.retry, maxAttempts: row.max_attempts }, error, opts.response, random);
    const doc = JSON.parse(JSON.stringify({ errors })) as JsonValue;
    if (decision.kind === "retry") {
      const delay = decision.delayMs;
      const [r] = await tx<JobRow[]>`
        UPDATE ojs_jobs SET state = 'retryable', run_at = now() + make_interval(secs => ${delay / 1000}), lease_deadline = NULL, worker_id = NULL,
          job = job || ${tx.json(doc)}::jsonb || jsonb_build_object('retryDelayMs', ${delay}::int)
        WHERE id = ${row.id} RETURNING *`;
      if (delay === 0) await tx`SELECT pg_notify('ojs_jobs', ${row.queue})`;
      return fromRow(r!);
    }
    const dead = decision.deadLetter;
    const [r] = await tx<JobRow[]>`
      UPDATE ojs_jobs SET state = 'discarded', finished_at = now(), lease_deadline = NULL, worker_id = NULL, dead_letter = ${dead},
        job = job || ${tx.json(doc)}::jsonb
      WHERE id = ${row.id} RETURNING *`;
    return fromRow(r!);
  });
}

export interface HeartbeatResult {
  extended: string[];
  /** Listed jobs this worker does not hold (unknown, finished, or leased to another worker). */
  lost: string[];
}

/** Extends the leases of the listed jobs the worker holds. */
export async function heartbeatJobs(sql: Sql, workerId: string, jobIds: readonly string[], visibilityTimeoutMs: number): Promise<HeartbeatResult> {
  if (jobIds.length === 0) return { extended: [], lost: [] };
  const ids = jobIds.map(uuidOrNull);
  const rows = await sql<{ id: string }[]>`
    UPDATE ojs_jobs SET lease_deadline = now() + make_interval(secs => coalesce((job->>'visibilityTimeout')::double precision, ${visibilityTimeoutMs}) / 1000.0)
    WHERE id = ANY(${ids}::uuid[]) AND state = 'active' AND worker_id = ${workerId}
    RETURNING id`;
  const held = new Set(rows.map((r) => r.id));
  return { extended: jobIds.filter((id) => held.has(id)), lost: jobIds.filter((id) => !held.has(id)) };
}

export async function cancelJob(sql: Sql, id: string): Promise<PgJob> {
  const [row] = await sql<JobRow[]>`
    UPDATE ojs_jobs SET state = 'cancelled', finished_at = now(), lease_deadline = NULL, worker_id = NULL
    WHERE id = ${uuidOrNull(id)} AND state IN ('scheduled', 'pending', 'available', 'active', 'retryable')
    RETURNING *`;
  if (row) return fromRow(row);
  const job = await getJob(sql, id);
  throw new ConflictError(`cannot cancel job ${id}: it is ${job.job.state}`, { jobId: id, details: { state: job.job.state } });
}

/**
 * What each reaper looks for, as WHERE conditions on ojs_jobs: the reapers
 * below and the maintenance probe that asks whether any is due
 * (maintenance-probe.ts) read the same rows.
 */
export const leaseExpired = (sql: Sql) => sql`state = 'active' AND lease_deadline < now()`;
/** The predicate of the ojs_jobs_expiry index (migration 9), so the reaper reads only jobs that can expire. */
export const waitingExpired = (sql: Sql) => sql`expires_at IS NOT NULL AND state IN ('scheduled','available','retryable','pending') AND expires_at < now()`;
/** Execution timeout (job.timeout, ms): an attempt running past it has failed with "timeout", whatever its lease. */
export const attemptTimedOut = (sql: Sql) =>
  sql`state = 'active' AND job ? 'timeout' AND started_at + make_interval(secs => (job->>'timeout')::double precision / 1000.0) < now()`;

/**
 * Any server reaps: an active job whose lease ran out is offered again (its
 * attempt counts as failed with visibility_timeout) or, with no attempts
 * left, discarded; a waiting job past its expiry is discarded. SKIP LOCKED
 * lets several servers reap at once without waiting on each other. Returns
 * the queues that got jobs back, for the caller to wake.
 */
export async function reapExpired(
  sql: Sql,
  limit = 1000,
  /** Pushed jobs never started that this server gives back itself, free (lease-release.ts): not charged here. */
  spare: readonly string[] = [],
): Promise<{ reclaimed: number; discarded: number; queues: string[] }> {
  const rows = await failAttempts(
    sql,
    sql`SELECT id FROM ojs_jobs WHERE ${leaseExpired(sql)} AND id <> ALL(${spare as string[]}::uuid[]) ORDER BY lease_deadline LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
    "visibility_timeout",
    "the lease ran out before the job was acknowledged",
  );
  const expired = await sql<{ id: string }[]>`
    WITH gone AS (
      SELECT id FROM ojs_jobs WHERE ${waitingExpired(sql)}
      LIMIT ${limit} FOR UPDATE SKIP LOCKED
    )
    UPDATE ojs_jobs j SET state = 'discarded', finished_at = now(), job = j.job || '{"expired": true}'::jsonb FROM gone WHERE j.id = gone.id RETURNING j.id`;
  const timedOut = await failAttempts(
    sql,
    sql`SELECT id FROM ojs_jobs WHERE ${attemptTimedOut(sql)}
      LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
    "timeout",
    "the attempt ran past the job's timeout",
  );
  rows.push(...timedOut);
  const back = rows.filter((r) => r.state === "available");
  return { reclaimed: back.length, discarded: rows.length - back.length + expired.length, queues: [...new Set(back.map((r) => r.queue))] };
}

/**
 * The attempts of the active jobs `due` selects (ids, locked) failed with
 * `code`: offered again while attempts remain, else discarded (a dead letter
 * when the policy says so), the error on record.
 */
function failAttempts(sql: Sql, due: PendingQuery<Row[]>, code: string, message: string): Promise<Array<{ queue: string; state: string }>> {
  return sql<{ queue: string; state: string }[]>`
    WITH due AS (${due})
    UPDATE ojs_jobs j SET
      state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded' ELSE 'available' END,
      dead_letter = (j.attempt >= j.max_attempts AND j.retry->>'onExhaustion' = 'dead_letter'),
      finished_at = CASE WHEN j.attempt >= j.max_attempts THEN now() ELSE NULL END,
      run_at = now(), lease_deadline = NULL, worker_id = NULL,
      job = jsonb_set(j.job, '{errors}', coalesce(j.job->'errors', '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
        'code', ${code}::text, 'message', ${message}::text, 'attempt', j.attempt, 'occurredAt', now())))
    FROM due WHERE j.id = due.id
    RETURNING j.queue, j.state`;
}

/**
 * Retention: finished jobs (completed, cancelled, discarded but not dead
 * letters) older than `olderThanMs` are deleted, at most `limit` per call, so
 * the table does not grow without bound. Dead letters stay until retried or
 * deleted.
 */
export async function pruneFinished(sql: Sql, olderThanMs: number, limit = 1000): Promise<number> {
  const r = await sql`
    DELETE FROM ojs_jobs WHERE id IN (
      SELECT id FROM ojs_jobs
      WHERE state IN ('completed', 'cancelled', 'discarded') AND NOT dead_letter
        AND finished_at < now() - make_interval(secs => ${olderThanMs / 1000})
      LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
  return r.count;
}
