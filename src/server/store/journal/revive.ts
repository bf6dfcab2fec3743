/**
 * What a journal record's JSON parts become again on replay: dates that went
 * out as text or milliseconds come back as Dates, by field name (never by
 * guessing from values). Shared by the whole job record (job-record.ts) and
 * the step record (job-step.ts), which carry the same rest, errors and progress.
 */
import type { Job, JobError } from "../../../model/job.js";
import type { JsonObject } from "../../../model/json.js";
import type { RestoredJob } from "../changes.js";

/** Date fields of the job rest (the job's fields a record carries as JSON). */
export const REST_DATES = ["scheduledAt", "startedAt", "completedAt", "cancelledAt", "expiresAt"] as const;

/**
 * The meta, tags and errors of every restored job that has none: one frozen
 * object each, not three per job (a start-up of a million jobs made three
 * million empty objects, each copied by the collector). The store never changes
 * them in place (a failure appends to errors by copying: claims.ts), and
 * frozen, a writer that did would throw rather than change every job.
 */
export const NO_META: JsonObject = Object.freeze({}) as JsonObject;
export const NO_TAGS: string[] = Object.freeze([]) as unknown as string[];
export const NO_ERRORS: JobError[] = Object.freeze([]) as unknown as JobError[];

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
