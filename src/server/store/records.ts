/**
 * The state machine's records and options (the job record with its
 * bookkeeping, consumers, workers, queue summaries), its limits, and the
 * QUEUE_FULL error. Shared by every part of the Store (./store.ts).
 */
import { OjsError } from "../../model/errors.js";
import type { Job, JobError, JobState } from "../../model/job.js";
import type { JsonObject } from "../../model/json.js";
import type { WorkerDirective } from "../../model/system.js";
import { mergeRetry, type EffectiveRetry } from "./backoff.js";
import type { Clock } from "./clock.js";
import type { InFlightLimits } from "./in-flight.js";
import type { Backpressure, QueueRecord, StateCounts } from "./queue.js";
import type { QueueRetention } from "./retention.js";

export interface StoreOptions {
  clock?: Clock;
  /** Reservation length of a fetched job when neither the job nor the worker says; default 30 000 ms. */
  visibilityTimeoutMs?: number;
  /** How many finished (completed, cancelled, discarded) jobs stay readable; oldest go first. Default 100 000. */
  maxFinishedJobs?: number;
  /** Dead-letter capacity; the oldest dead job is dropped beyond it. Default 10 000. */
  maxDeadLetter?: number;
  /** Finished workflows kept readable. Default 10 000. */
  maxWorkflows?: number;
  /** Recent events kept for GET /events and SSE resume. Default 1 000. */
  eventBufferSize?: number;
  /** Random source for jitter; injectable for deterministic tests. */
  random?: () => number;
  /**
   * Test hook of the official conformance cases (docs/conformance.md): a job
   * whose meta.test_directive is "quiet" or "terminate" directs the worker that
   * fetches it. Off unless a test harness turns it on.
   */
  conformanceHooks?: boolean;
  /** Caps on jobs in flight per stream and per worker, and free reclaims of unstarted jobs (./in-flight.ts). */
  inFlight?: Partial<InFlightLimits>;
  /** Told when a job starts and stops holding memory as unfinished work (the queued-bytes limit). */
  accounting?: JobAccounting;
}

/** See src/server/queued-bytes.ts. */
export interface JobAccounting {
  enter(rec: JobRecord): void;
  leave(rec: JobRecord): void;
  clear(): void;
}

export interface Progress {
  value: number | undefined;
  message: string | undefined;
  data: JsonObject | undefined;
  updatedAt: Date;
}

/** A job plus the store's bookkeeping. `job` is the domain view and is what adapters encode. */
export interface JobRecord {
  readonly id: string;
  job: Job;
  /** Unknown top-level JSON fields, echoed back over HTTP. */
  extra: JsonObject | undefined;
  retry: EffectiveRetry;
  /** True while the job sits in its queue's ready list. */
  ready: boolean;
  /** Bumped on every state change so that stale timer entries are ignored. */
  version: number;
  /** Bumped whenever the lease changes (claim, extension, release). */
  lease: number;
  leaseDeadline: number;
  /** Bumped on every claim, so that an execution-timeout entry belongs to one attempt. */
  claim: number;
  workerId: string | undefined;
  consumer: Consumer | undefined;
  /** The worker id counted as holding the job (./in-flight.ts), until its lease ends. */
  heldBy: string | undefined;
  /**
   * Whether the holder is known to have started the job: a job handed out by
   * Fetch is; a pushed one is once its worker says so (a start call on the fast
   * path, a heartbeat, progress). See reclaim().
   */
  started: boolean;
  /** Leases of this job that ran out unstarted and cost no attempt. */
  freeReclaims: number;
  uniqueKey: string | undefined;
  deadLetter: boolean;
  finishSeq: number;
  progress: Progress | undefined;
  /** Conformance hook: direct the worker that claims this job (see docs/conformance.md). */
  directiveOnClaim: WorkerDirective | undefined;
  workflowStep: string | undefined;
  /** What the job counts against the queued-bytes limit while unfinished; 0 when it does not. */
  queuedBytes: number;
}

/** A StreamJobs subscriber: receives jobs pushed by the store, at most `credit` unsettled. */
export interface Consumer {
  readonly queues: readonly string[];
  readonly workerId: string;
  /** How many more jobs may be pushed before some are settled. */
  credit: number;
  readonly visibilityTimeoutMs: number | undefined;
  readonly deliver: (rec: JobRecord) => void;
  /** Ends the stream from the server's side: its jobs went unacknowledged past their lease, or a newer stream replaced it. */
  readonly onStale: ((reason: "lease" | "superseded") => void) | undefined;
  /** Multi-tenancy: pushed only this tenant's jobs. */
  readonly tenant?: string;
  closed: boolean;
  /** A refill of this stream is queued for the end of the tick (one for all the acks of a frame). */
  refillQueued?: boolean;
}

export interface SubmitOptions {
  /** Unknown top-level JSON fields, echoed back over HTTP. */
  extra?: JsonObject;
}

export interface SubmitResult {
  rec: JobRecord;
  /** True when a unique policy with on_conflict "ignore" returned an existing job instead. */
  deduplicated: boolean;
}

export interface FetchRequest {
  queues: readonly string[];
  count?: number;
  workerId?: string;
  visibilityTimeoutMs?: number;
  /** Multi-tenancy: only this tenant's jobs (none: every tenant's, in round-robin). */
  tenant?: string;
}

export interface NackOptions {
  /** Hand the job back untouched (a worker shutting down), without using an attempt. */
  requeue?: boolean;
  /** Handler response code (RET §7): overrides the retry policy. */
  response?: "RETRY" | "DISCARD" | "DEAD_LETTER" | "FAIL";
}

export interface HeartbeatRequest {
  workerId: string;
  /** What the worker says it is doing: running, quiet, terminate, or drain. */
  state?: string;
  jobIds: readonly string[];
  visibilityTimeoutMs?: number;
}

export interface HeartbeatOutcome {
  directive: WorkerDirective;
  extended: string[];
  /** Listed jobs this worker does not hold (unknown, finished, or leased to another worker). */
  lost: string[];
  deadline: number;
}

export interface WorkerInfo {
  id: string;
  /** The state the worker last reported. */
  state: string;
  /** What the operator told it to do. */
  directive: WorkerDirective;
  firstSeen: number;
  lastSeen: number;
  activeJobIds: string[];
  /** It sends start signals of its own (fast path), so its heartbeats only extend leases. */
  reportsStarts?: boolean;
}

export interface QueueConfig {
  paused?: boolean;
  /** Deliveries per second across all workers; 0 removes the limit. */
  rateLimitPerSecond?: number;
  /** null removes the bound. */
  backpressure?: Backpressure | null;
  /** Finished jobs kept by count and age (./retention.ts); null removes the rule. */
  retention?: QueueRetention | null;
}

export interface QueueSummary {
  name: string;
  paused: boolean;
  createdAt: Date;
  counts: StateCounts;
  dead: number;
  depth: number;
  backpressure: Backpressure | undefined;
  rateLimitPerSecond: number | undefined;
  /** The queue's retention rule (./retention.ts), undefined without one. */
  retention: QueueRetention | undefined;
  lastHour: ReturnType<QueueRecord<JobRecord>["stats"]["lastHour"]>;
}

/** QUEUE_FULL of the backpressure extension: 429 with the depth and bound in details. */
export class QueueFullError extends OjsError {
  override name = "QueueFullError";
  readonly retryAfterMs: number;
  constructor(
    message: string,
    readonly depth: number,
    readonly bound: number,
  ) {
    super(message, { code: "queue_full", retryable: true, details: { depth, bound } });
    this.retryAfterMs = 1000;
  }
}

export type TimerEntry =
  | { kind: "due"; rec: JobRecord; version: number }
  | { kind: "lease"; rec: JobRecord; lease: number }
  | { kind: "timeout"; rec: JobRecord; claim: number }
  | { kind: "expire"; rec: JobRecord; version: number }
  | { kind: "wake"; queue: string };

/**
 * The effective policy as both bindings can carry it: proto3 cannot tell [] from
 * absent, and the backoff_strategy extension has no proto field, so neither is shown.
 */
export function shownRetry(retry: EffectiveRetry): NonNullable<Job["retry"]> {
  const { nonRetryableErrors, backoffStrategy: _strategy, ...shown } = retry;
  const out: NonNullable<Job["retry"]> = { ...shown };
  if (nonRetryableErrors.length) out.nonRetryableErrors = nonRetryableErrors;
  return out;
}

export const DEFAULT_EFFECTIVE_RETRY: EffectiveRetry = Object.freeze(mergeRetry(undefined));
export const DEFAULT_SHOWN_RETRY = Object.freeze(shownRetry(DEFAULT_EFFECTIVE_RETRY));

/**
 * The meta, tags and errors of every job that has none, new (policies.ts newJob) or restored
 * (journal/job-record.ts): one frozen object each, not three per job (120 bytes that each
 * stored job kept and every young collection copied twice, to the survivor space and then to the
 * old generation; a start-up of a million jobs made three million). The store never changes them
 * in place (a failure appends to errors by copying: claims.ts; tenancy copies meta), and frozen,
 * a writer that did would throw rather than change every job.
 */
export const NO_META: JsonObject = Object.freeze({}) as JsonObject;
export const NO_TAGS: string[] = Object.freeze([]) as unknown as string[];
export const NO_ERRORS: JobError[] = Object.freeze([]) as unknown as JobError[];

export const DEFAULT_QUEUE = "default";
export const MAX_WORKERS = 10_000;
export const MAX_QUEUES = 10_000;
export const MAX_FETCH = 1000;
export const MAX_ACTIVE_IDS = 1000;
export const WAITING: ReadonlySet<JobState> = new Set(["scheduled", "available", "retryable", "pending"]);

/** Jobs a fetch passes over for their rate limit before it gives up on a queue (rate-limits.ts). */
export const MAX_PASSED_OVER = 1000;
