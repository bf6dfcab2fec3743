/**
 * The enums of ojs.v1 as the wire codec writes them: JobState and
 * UniqueConflict numbers, and the backoff strategy names.
 */
import type { BackoffStrategy, JobState, UniqueConflict } from "../../model/job.js";

const STATE_NAMES: readonly (JobState | undefined)[] = [
  undefined,
  "scheduled",
  "available",
  "pending",
  "active",
  "completed",
  "retryable",
  "cancelled",
  "discarded",
];

/** ojs.v1.JobState number of a domain state; -1 for a string that is none. */
export function stateNumber(s: JobState): number {
  switch (s) {
    case "scheduled":
      return 1;
    case "available":
      return 2;
    case "pending":
      return 3;
    case "active":
      return 4;
    case "completed":
      return 5;
    case "retryable":
      return 6;
    case "cancelled":
      return 7;
    case "discarded":
      return 8;
    default:
      return -1;
  }
}

/** The domain state of an ojs.v1.JobState number; undefined for UNSPECIFIED or one unknown. */
export function stateName(n: number): JobState | undefined {
  return n >= 1 && n <= 8 ? STATE_NAMES[n] : undefined;
}

/** stateNumber(), throwing for a string that is no state (naming the field `what`). */
export function requireStateNumber(s: JobState, what: string): number {
  const n = stateNumber(s);
  if (n < 0) throw new Error(`cannot encode ${what}: unknown job state ${String(s)}`);
  return n;
}

export const CONFLICT_NAMES: readonly (UniqueConflict | undefined)[] = [undefined, "reject", "replace", "ignore", "replace_except_schedule"];

/** An unknown action goes out as UNSPECIFIED (no field), as uniqueToProto's lookup makes it. */
export function conflictNumber(c: UniqueConflict | undefined): number {
  switch (c) {
    case "reject":
      return 1;
    case "replace":
      return 2;
    case "ignore":
      return 3;
    case "replace_except_schedule":
      return 4;
    default:
      return 0;
  }
}

/** Whether `v` is one of the backoff strategies OJS names. */
export function isBackoffStrategy(v: unknown): v is BackoffStrategy {
  return v === "exponential" || v === "linear" || v === "constant" || v === "polynomial";
}
