/**
 * Retention per queue: how many finished jobs a queue keeps, and for how long
 * (BullMQ's removeOnComplete / removeOnFail; the admin API's queue `retention`).
 */
import type { Duration } from "./duration.js";

/** One kind's limits; either or both. */
export interface RetentionRule {
  /** Keep at most this many jobs of the kind, the newest (0: remove each as it finishes). */
  count?: number;
  /** Remove a job this long after it finished: milliseconds or an ISO 8601 duration ("P7D"). */
  age?: Duration;
}

/** A queue's retention: completed jobs, and failed ones (discarded or cancelled; never dead-lettered ones), apart. */
export interface QueueRetention {
  completed?: RetentionRule;
  discarded?: RetentionRule;
}

/**
 * The meta key that carries a job's `keepFor` enqueue option, as
 * `{completed_ms, discarded_ms}`: meta travels unchanged over both bindings,
 * and servers without retention keep it as plain meta.
 */
export const KEEP_FOR_META = "ojs-connect.keep_for";
