import type { Duration } from "./duration.js";
import type { RateLimitInput, RateLimitPolicy } from "./rate-limit.js";
import type { JobCheckpoint } from "./checkpoint.js";
import type { JsonObject, JsonValue } from "./json.js";

/** The eight OJS job states, in lifecycle order. */
export const JOB_STATES = ["scheduled", "available", "pending", "active", "completed", "retryable", "cancelled", "discarded"] as const;
/** One of the eight OJS job states. */
export type JobState = (typeof JOB_STATES)[number];
/** The states a job never leaves: completed, cancelled, discarded. */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(["completed", "cancelled", "discarded"]);

/** What happens to a job whose retries are exhausted. */
export type OnExhaustion = "discard" | "dead_letter";
/** How retry delays grow (RET §3); "exponential" unless set. "none" is the spec's name for constant. */
export type BackoffStrategy = "exponential" | "linear" | "constant" | "polynomial";
/** What enqueueing a duplicate of a unique job does. */
export type UniqueConflict = "reject" | "replace" | "ignore" | "replace_except_schedule";

/**
 * How a failing job is retried. All durations the server returns are in
 * milliseconds; on input a Duration may also be an ISO 8601 string ("PT2S").
 */
export interface RetryPolicy {
  /** Total attempts including the first; 1 means never retry. */
  maxAttempts?: number;
  initialInterval?: number;
  /** 1 gives a constant delay, more than 1 exponential growth. */
  backoffCoefficient?: number;
  maxInterval?: number;
  jitter?: boolean;
  /** Error codes that go straight to onExhaustion; "auth.*" matches by prefix. */
  nonRetryableErrors?: string[];
  onExhaustion?: OnExhaustion;
  /** Extension field (RET §3): when absent the coefficient decides (1 = constant, more = exponential). */
  backoffStrategy?: BackoffStrategy;
}

/** A retry policy as passed to enqueue: intervals in ms or ISO 8601 durations. */
export interface RetryPolicyInput extends Omit<RetryPolicy, "initialInterval" | "maxInterval"> {
  initialInterval?: Duration;
  maxInterval?: Duration;
}

/** Deduplication: which parts of a job make it unique, for how long, and what a duplicate does. */
export interface UniquePolicy {
  /** Parts of the job that form the key: "type" (always), "queue", "args", "meta". */
  keys?: string[];
  /** When "args" is a key and args[0] is an object, only these of its keys count. */
  argsKeys?: string[];
  metaKeys?: string[];
  /** How long the key is held, in milliseconds. */
  period?: number;
  onConflict?: UniqueConflict;
  /** States in which an existing job blocks a new one. */
  states?: JobState[];
}

/** A unique policy as passed to enqueue: the period in ms or as an ISO 8601 duration. */
export interface UniquePolicyInput extends Omit<UniquePolicy, "period"> {
  period?: Duration;
}

/** One failed attempt. */
export interface JobError {
  /** Dot-namespaced error type, e.g. "smtp.timeout"; matched by nonRetryableErrors. */
  code: string;
  message: string;
  retryable?: boolean;
  attempt?: number;
  occurredAt?: Date;
  backtrace?: string;
  details?: JsonObject;
}

/** A job as the server reports it. The same object comes back over gRPC and HTTP. */
export interface Job<Args extends JsonValue[] = JsonValue[]> {
  id: string;
  type: string;
  queue: string;
  args: Args;
  meta: JsonObject;
  state: JobState;
  priority: number;
  /** How many times the job has been handed to a worker (0 before the first fetch). */
  attempt: number;
  maxAttempts?: number;
  retry?: RetryPolicy;
  unique?: UniquePolicy;
  /** What the handler returned, exactly. */
  result?: JsonValue;
  /** Failure history, oldest first; the last entry is the latest error. */
  errors: JobError[];
  createdAt?: Date;
  enqueuedAt?: Date;
  scheduledAt?: Date;
  startedAt?: Date;
  /** When the job finished: completed, or discarded after failing. Not set for cancelled or expired jobs. */
  completedAt?: Date;
  cancelledAt?: Date;
  expiresAt?: Date;
  /** Execution time limit of one attempt, in milliseconds. */
  timeout?: number;
  /** Reservation length after a fetch, in milliseconds. */
  visibilityTimeout?: number;
  tags: string[];
  workflowId?: string;
  /** Backoff the server applied before the current attempt (or will apply before the next one), in ms. */
  retryDelayMs?: number;
  /** Results of the workflow steps this job depends on, keyed by step. */
  parentResults?: JsonObject;
  /** The last checkpoint saved for this job, as a fetch delivered it (durable-execution extension, §6.1). */
  checkpoint?: JobCheckpoint;
  specversion: string;
}

/** Everything enqueue accepts besides type and args. */
export interface EnqueueOptions {
  /** Client-chosen id (UUID). Makes the enqueue safe to retry: a repeat is rejected as a duplicate instead of creating a second job. */
  id?: string;
  queue?: string;
  /** -100 (lowest) to 100 (highest); default 0. */
  priority?: number;
  /** Execution time limit of one attempt. */
  timeout?: Duration;
  /** Run no earlier than now + delay. */
  delay?: Duration;
  /** Run no earlier than this instant. */
  scheduledAt?: Date | string;
  /** Discard the job if it has not started by then. */
  expiresAt?: Date | string;
  retry?: RetryPolicyInput;
  unique?: UniquePolicyInput;
  tags?: string[];
  meta?: JsonObject;
  visibilityTimeout?: Duration;
  /** Name of a registered JSON schema the args must satisfy. */
  schema?: string;
  /** Rate-limiting extension: the key and limits the job shares with others (README "Rate limits"). */
  rateLimit?: RateLimitInput;
  /**
   * How long the server keeps this job once it finished, completed and failed
   * (discarded or cancelled) apart; 0 removes it at once (BullMQ's
   * removeOnComplete / removeOnFail). Our extension: carried in `meta` under
   * `ojs-connect.keep_for` (milliseconds), which other servers keep as plain meta (README "Retention").
   */
  keepFor?: { completed?: Duration; discarded?: Duration };
}

/** A job ready to be sent: what enqueue middleware sees and may change. */
export interface JobRequest {
  type: string;
  args: JsonValue[];
  options: EnqueueOptions;
}

/** A JobRequest after validation: durations in ms, dates as Date. */
export interface NormalizedJobRequest {
  id?: string;
  type: string;
  args: JsonValue[];
  queue?: string;
  priority?: number;
  timeout?: number;
  scheduledAt?: Date;
  expiresAt?: Date;
  retry?: RetryPolicy;
  unique?: UniquePolicy;
  tags?: string[];
  meta?: JsonObject;
  visibilityTimeout?: number;
  schema?: string;
  rateLimit?: RateLimitPolicy;
}
