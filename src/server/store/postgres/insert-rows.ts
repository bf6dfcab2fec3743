/**
 * The rows of ojs_jobs an enqueue writes, and the answer built from them
 * without reading them back: PostgreSQL holds exactly what was inserted (no
 * column the insert leaves to a default), so the job is answered from the row
 * as sent, which spares PostgreSQL the output of the jsonb documents and this
 * process their parsing.
 */
import { DuplicateJobError } from "../../../model/errors.js";
import type { JsonObject, JsonValue } from "../../../model/json.js";
import type { EffectiveRetry } from "../backoff.js";
import type { JobRow, PgJob, StoredJob } from "./rows.js";
import type { Job } from "../../../model/job.js";
import type { RateLimitPolicy } from "../../../model/rate-limit.js";

/** A job ready to insert: the Job and what its row keeps beside it (enqueue.ts buildJob). */
export interface BuiltJob {
  job: Job;
  retry: EffectiveRetry;
  uniqueKey: string | undefined;
  extra: JsonObject | undefined;
  /** The workflow step the job runs (workflows.ts); its workflow is job.workflowId. */
  workflowStep?: string;
  /** The per-job rate limit (job-rate-limits.ts). */
  rateLimit?: RateLimitPolicy;
}

/** What an enqueue answers. */
export interface EnqueueOutcome {
  job: PgJob;
  /** True when a unique policy with on_conflict "ignore" returned an existing job instead. */
  deduplicated: boolean;
}

/** Runs an insert of jobs; a client-chosen id that exists already is DuplicateJobError. */
export async function insertRows<T = JobRow>(q: PromiseLike<readonly unknown[]>): Promise<T[]> {
  try {
    return (await q) as T[];
  } catch (e) {
    throw insertError(e);
  }
}

/** The error an insert of jobs answers: a client-chosen id that exists already is DuplicateJobError, the rest as it came. */
export function insertError(e: unknown): unknown {
  if ((e as { code?: string }).code !== "23505") return e;
  const id = /\(id\)=\(([^)]+)\)/.exec(String((e as { detail?: string }).detail))?.[1];
  return new DuplicateJobError(`a job with id ${id ?? "(given)"} already exists`, { jobId: id, details: id ? { existing_job_id: id } : {} });
}

/** A row of ojs_jobs as inserted: the job document and retry policy as objects bound as JSON (dates as ISO strings once bound). */
export interface InsertRow {
  id: string;
  queue: string;
  type: string;
  state: string;
  priority: number;
  attempt: number;
  max_attempts: number;
  run_at: Date;
  expires_at: Date | null;
  unique_key: string | null;
  created_at: Date;
  job: JsonValue;
  retry: JsonValue;
  extra: JsonObject | null;
  workflow_id: string | null;
  workflow_step: string | null;
}

export function rowOf(b: BuiltJob): InsertRow {
  const j = b.job;
  return {
    id: j.id,
    queue: j.queue,
    type: j.type,
    state: j.state,
    priority: j.priority,
    attempt: 0,
    max_attempts: b.retry.maxAttempts,
    run_at: j.scheduledAt ?? j.createdAt!,
    expires_at: j.expiresAt ?? null,
    unique_key: b.uniqueKey ?? null,
    created_at: j.createdAt!,
    // Not copied: postgres.js serialises them with JSON.stringify as it binds them (dates become ISO
    // strings there), and the answer built from this row (insertedRow, fromRow) reads Date or ISO string alike.
    job: j as unknown as JsonValue,
    retry: b.retry as unknown as JsonValue,
    extra: b.extra ?? null,
    workflow_id: j.workflowId ?? null,
    workflow_step: b.workflowStep ?? null,
  };
}

/** The row PostgreSQL holds after inserting `r` (no column has a default the insert leaves to the database). */
export function insertedRow(r: InsertRow): JobRow {
  return {
    ...r,
    state: r.state as JobRow["state"],
    job: r.job as unknown as StoredJob,
    retry: r.retry as unknown as EffectiveRetry,
    lease_deadline: null,
    worker_id: null,
    dead_letter: false,
    started_at: null,
    finished_at: null,
    progress: null,
  };
}

/**
 * The answer to an enqueue of `b`, inserted as built (plain-insert.ts): what
 * fromRow(insertedRow(rowOf(b))) gives, without its work. A job just built
 * (policies.ts newJob) has no start, end or expiry mark to clear, its dates
 * are Dates already and its columns (state, priority, attempt, max_attempts,
 * run_at) were taken from it; fromRow's copies and deletes (which leave the
 * copy a dictionary-mode object, slower for every reader after it) cost more
 * than the statement's share of a batch in this process. The job is a copy:
 * the answer may be changed by its reader.
 */
export function enqueuedJob(b: BuiltJob): PgJob {
  return {
    job: { ...b.job, errors: [] },
    extra: b.extra,
    workerId: undefined,
    leaseDeadline: 0,
    retry: b.retry,
    uniqueKey: b.uniqueKey,
    deadLetter: false,
    progress: undefined,
    workflowStep: b.workflowStep,
  };
}
