import type { JobState } from "../../model/job.js";

/**
 * The legal moves of the 8-state lifecycle. Every state change in the store goes
 * through this table, so an illegal move is a bug that fails loudly instead of a
 * job quietly leaving a terminal state.
 *
 * - scheduled/retryable -> available when their time comes; any waiting state -> discarded on expiry.
 * - active -> available when a lease is reclaimed or a worker hands the job back.
 * - discarded -> available only through a dead-letter retry (RET, DLQ §6).
 * - completed and cancelled are final.
 */
export const TRANSITIONS: Readonly<Record<JobState, ReadonlySet<JobState>>> = {
  scheduled: new Set<JobState>(["available", "cancelled", "discarded"]),
  pending: new Set<JobState>(["available", "scheduled", "cancelled", "discarded"]),
  available: new Set<JobState>(["active", "cancelled", "discarded"]),
  active: new Set<JobState>(["completed", "retryable", "discarded", "cancelled", "available"]),
  retryable: new Set<JobState>(["available", "cancelled", "discarded"]),
  discarded: new Set<JobState>(["available"]),
  completed: new Set<JobState>(),
  cancelled: new Set<JobState>(),
};

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].has(to);
}

/** Raised for a move the table forbids: a store bug, never a client error. */
export class IllegalTransitionError extends Error {
  override name = "IllegalTransitionError";
  constructor(
    readonly from: JobState,
    readonly to: JobState,
  ) {
    super(`illegal job state transition ${from} -> ${to}`);
  }
}
