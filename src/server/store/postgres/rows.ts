/**
 * One row of ojs_jobs and the Job the API shows. The job document (jsonb)
 * holds what does not change by state (args, meta, policies) plus errors and
 * result; the columns hold what claims and the reaper query, and are
 * authoritative: fromRow() lays them over the document.
 */
import type { Job, JobError } from "../../../model/job.js";
import type { JsonObject } from "../../../model/json.js";
import type { EffectiveRetry } from "../backoff.js";
import type { Progress } from "../records.js";

export interface JobRow {
  id: string;
  queue: string;
  type: string;
  state: Job["state"];
  priority: number;
  attempt: number;
  max_attempts: number;
  run_at: Date;
  expires_at: Date | null;
  lease_deadline: Date | null;
  worker_id: string | null;
  unique_key: string | null;
  dead_letter: boolean;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  job: StoredJob;
  retry: EffectiveRetry;
  extra: JsonObject | null;
  /** Progress of the running attempt, as stored (updatedAt an ISO string); null before any report. Absent before migration 3. */
  progress?: StoredProgress | null;
  /** The workflow step this job runs, until its workflow took the outcome (workflows.ts). Absent before migration 7. */
  workflow_step?: string | null;
}

/** Progress as the jobs row keeps it. */
export interface StoredProgress {
  value?: number;
  message?: string;
  data?: JsonObject;
  updatedAt: string;
}

/** The job document as stored: dates as ISO strings (JSON). */
export type StoredJob = Omit<Job, "errors"> & { errors: JobError[] };

/** A job as the PostgreSQL store hands it out: the Job plus the lease it holds, if any. */
export interface PgJob {
  job: Job;
  extra: JsonObject | undefined;
  workerId: string | undefined;
  /** Epoch ms; 0 when the job holds no lease. */
  leaseDeadline: number;
  retry: EffectiveRetry;
  uniqueKey: string | undefined;
  deadLetter: boolean;
  progress: Progress | undefined;
  /** Set while the job's workflow has yet to take its outcome (see workflows.ts). */
  workflowStep: string | undefined;
}

const DOC_DATES = ["createdAt", "enqueuedAt", "expiresAt"] as const;

function date(v: unknown): Date | undefined {
  if (v === undefined || v === null) return undefined;
  return v instanceof Date ? v : new Date(String(v));
}

export function fromRow(r: JobRow): PgJob {
  const doc = { ...(r.job as Job & Record<string, unknown>) };
  // Marks a job discarded because it expired before it ran (lifecycle.ts reapExpired): like the memory store, it shows no completedAt.
  const expired = doc["expired"] === true;
  delete doc["expired"];
  for (const f of DOC_DATES) if (doc[f] !== undefined) doc[f] = date(doc[f]);
  doc.errors = (doc.errors ?? []).map((e: JobError) => (e.occurredAt !== undefined ? { ...e, occurredAt: date(e.occurredAt) } : e));
  const job: Job = { ...doc, state: r.state, priority: r.priority, attempt: r.attempt, maxAttempts: r.max_attempts };
  if (r.state === "scheduled" || r.state === "retryable" || doc.scheduledAt !== undefined) job.scheduledAt = r.run_at;
  if (r.started_at) job.startedAt = r.started_at;
  else delete job.startedAt;
  delete job.completedAt;
  delete job.cancelledAt;
  if (r.finished_at) {
    if (r.state === "cancelled") job.cancelledAt = r.finished_at;
    else if (r.state === "completed" || (r.state === "discarded" && !expired)) job.completedAt = r.finished_at;
  }
  return {
    job,
    extra: r.extra ?? undefined,
    workerId: r.worker_id ?? undefined,
    leaseDeadline: r.lease_deadline ? r.lease_deadline.getTime() : 0,
    retry: r.retry,
    uniqueKey: r.unique_key ?? undefined,
    deadLetter: r.dead_letter,
    progress: r.progress
      ? { value: r.progress.value, message: r.progress.message, data: r.progress.data, updatedAt: new Date(r.progress.updatedAt) }
      : undefined,
    workflowStep: r.workflow_step ?? undefined,
  };
}
