/**
 * What a journal record's JSON parts become again on replay: dates that went
 * out as text or milliseconds come back as Dates, by field name (never by
 * guessing from values). Shared by the whole job record (job-record.ts) and
 * the step record (job-step.ts), which carry the same rest, errors and progress.
 */
import type { Job, JobError } from "../../../model/job.js";
import type { RestoredJob } from "../changes.js";

/** Date fields of the job rest (the job's fields a record carries as JSON). */
export const REST_DATES = ["scheduledAt", "startedAt", "completedAt", "cancelledAt", "expiresAt"] as const;

// The shared frozen empties of a job (records.ts): restored jobs take them as new ones do.
export { NO_ERRORS, NO_META, NO_TAGS } from "../records.js";

export const reviveDate = (v: unknown): Date | undefined => (v === undefined || v === null ? undefined : new Date(v as string));

export function reviveErrors(errors: JobError[]): JobError[] {
  for (const e of errors) if (e.occurredAt !== undefined) e.occurredAt = reviveDate(e.occurredAt);
  return errors;
}

/** Copies the rest onto the job, its dates as Dates. */
export function reviveRest(job: Job, rest: Record<string, unknown>): void {
  const j = job as unknown as Record<string, unknown>;
  for (const k in rest) j[k] = rest[k];
  for (const k of REST_DATES) if (j[k] !== undefined) j[k] = reviveDate(j[k]);
}

export function reviveProgress(p: RestoredJob["progress"]): RestoredJob["progress"] {
  return p && { ...p, updatedAt: reviveDate(p.updatedAt)! };
}
