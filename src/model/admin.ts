/**
 * The operator's view of a server (the admin-api extension): what a dashboard,
 * a CLI or a monitoring job reads and does. Plain data, the same whichever
 * transport carried it.
 */
import type { JobState } from "./job.js";
import type { WorkerDirective } from "./system.js";
import type { QueueRetention } from "./retention.js";

/** How many retained jobs are in each state. */
export type StateCounts = Record<JobState, number>;

/** Completions and failed attempts per minute: the mean over the last five minutes, the current one included. */
export interface Throughput {
  /** Completions per minute, averaged over the last five minutes. */
  processedPerMinute: number;
  /** Failed attempts per minute, averaged over the last five minutes. */
  failedPerMinute: number;
}

/** A queue as {@link AdminClient.listQueues} lists it: its state, per-state counts, dead-letter count and throughput. */
export interface AdminQueue {
  name: string;
  /** "paused" when delivery is stopped, "active" otherwise. */
  state: "active" | "paused";
  /** The same as `state === "paused"`. */
  paused: boolean;
  /** Retained jobs of this queue in each state. */
  counts: StateCounts;
  /** Jobs of this queue in the dead-letter queue. */
  deadLetter: number;
  throughput: Throughput;
  /** When the server first saw the queue. */
  createdAt?: Date;
}

/**
 * One queue as {@link AdminClient.getQueue} returns it: the list view plus
 * depth, configuration and the last hour. A queue the server does not know
 * reads as empty (zero counts) rather than as not found.
 */
export interface AdminQueueDetail extends AdminQueue {
  /** Jobs waiting to run (available, scheduled, retryable, pending). */
  depth: number;
  configuration: {
    /** Deliveries per second across all workers. */
    rateLimitPerSecond?: number;
    /** Depth bound of the backpressure extension. */
    maxDepth?: number;
    /** Finished jobs the queue keeps, by count and age (ages in milliseconds). */
    retention?: QueueRetention;
  };
  /** Completions and failed attempts over the last hour; mean run time of the completions and mean wait before a start, in milliseconds (0 when none). */
  lastHour: { completed: number; failed: number; avgDurationMs: number; avgWaitMs: number };
  /** When the longest-waiting available job was enqueued; absent when none is available. */
  oldestAvailableAt?: Date;
}

/** One page of a list; `page` counts from 1. */
export interface AdminPage<T> {
  items: T[];
  total: number;
  page: number;
  perPage: number;
}

/** Which page of a list to read; a page past the end is empty and still gives the total. */
export interface PageOptions {
  /** From 1; default 1. */
  page?: number;
  /** Items per page: default 20, at most 100 (more is a ValidationError). */
  perPage?: number;
}

/** Which jobs a list or a bulk operation is about; every field narrows. */
export interface JobFilter {
  queue?: string;
  state?: JobState;
  /** An exact type, or a prefix ending in "*" ("email.*"). */
  type?: string;
  /** Created at or after. */
  since?: Date;
  /** Created before. */
  until?: Date;
  /** true: only jobs in the dead-letter queue; false: only jobs outside it. */
  deadLetter?: boolean;
}

/** What {@link AdminClient.listJobs} orders by: creation time, scheduled time (creation time when unscheduled) or priority; ties keep creation order. */
export type JobSortField = "created_at" | "scheduled_at" | "priority";

export interface JobListOptions extends JobFilter, PageOptions {
  /** Default "created_at". */
  sort?: JobSortField;
  /** Default "desc" (newest first). */
  order?: "asc" | "desc";
}

/** What a bulk call does to each matching job: retry a discarded one, cancel an unfinished one, delete a finished one. */
export type BulkAction = "retry" | "cancel" | "delete";

/** The safety settings of a bulk retry, cancel or delete. */
export interface BulkOptions {
  /**
   * Must be true: the safety interlock of every bulk operation. Without it the
   * server refuses the call (and the client refuses before sending).
   */
  confirm: boolean;
  /** Act on at most this many of the matching jobs (default 1000, at most 10 000); `remaining` says how many are left. */
  limit?: number;
}

/**
 * What a bulk call did. A matching job the action does not apply to (retrying
 * an active job, deleting a waiting one) counts in `failed`; the others go on.
 */
export interface BulkResult {
  action: BulkAction;
  /** Jobs that matched the filter. */
  matched: number;
  /** Jobs the action was applied to. */
  succeeded: number;
  /** Jobs the action was tried on and refused for. */
  failed: number;
  /** Matching jobs not acted on because of the limit; call again to go on. */
  remaining: number;
  /** Why jobs failed (at most 100 listed). */
  errors: Array<{ jobId: string; error: string }>;
}

/** Which of a queue's jobs {@link AdminClient.purgeQueue} removes. */
export interface PurgeOptions {
  /** States to remove, at least one; "active" is refused (a worker holds those jobs). Waiting jobs are cancelled, then removed. */
  states: JobState[];
  /** Only jobs that finished (or, waiting, were created) before this. */
  olderThan?: Date;
  /** Must be true: the safety interlock, checked by the client and again by the server. */
  confirm: boolean;
  /** At most this many jobs, the oldest first (an ojs-connect extension of the purge; other servers may ignore it). */
  limit?: number;
}

/** What {@link AdminClient.clean} removes: finished jobs of one queue, by state and age, a bounded number at a time. */
export interface CleanOptions {
  /** Finished states to remove; default all three: completed, discarded (dead-lettered ones included), cancelled. */
  states?: Array<"completed" | "discarded" | "cancelled">;
  /** Only jobs that finished before this (a Date), or longer ago than this many milliseconds. */
  olderThan?: Date | number;
  /** At most this many jobs, the oldest first; default 1000, at most 100 000. */
  limit?: number;
  /** Must be true: the safety interlock. */
  confirm: boolean;
}

/** What a purge removed. */
export interface PurgeResult {
  /** Jobs removed. */
  purgedCount: number;
  /** The states purged (["discarded"] for the dead-letter queue). */
  states: JobState[];
}

/** A worker the server has heard from, with what it reported and what the operator told it. */
export interface AdminWorker {
  id: string;
  /** What the worker last reported: running, quiet, terminate, drain. */
  state: string;
  /** What the operator told it to do. */
  directive: WorkerDirective;
  /** How many jobs it holds (the length of `activeJobIds`). */
  activeJobs: number;
  activeJobIds: string[];
  /** When the server first heard from it. */
  startedAt: Date;
  lastHeartbeatAt: Date;
  /** No heartbeat within the server's visibility timeout. */
  stale: boolean;
}

export interface WorkerList extends AdminPage<AdminWorker> {
  /** total, then how many are in each state, and how many are stale. */
  summary: { total: number; stale: number; [state: string]: number };
}

/** Server-wide figures, as {@link AdminClient.stats} returns them. */
export interface AdminStats {
  /** Queues the server knows. */
  queues: number;
  /** Workers the server knows, stale ones included. */
  workers: number;
  /** Retained jobs in each state, across all queues. */
  jobs: StateCounts;
  /** Jobs in the dead-letter queue. */
  deadLetter: number;
  /** Across all queues. */
  throughput: Throughput;
  /** Whole seconds since the server started. */
  uptimeSeconds: number;
}

/** The width of one point of {@link StatsHistory}: one, five or fifteen minutes, or one hour. */
export type HistoryPeriod = "1m" | "5m" | "15m" | "1h";

/** Completions (`processed`) and failed attempts per period, oldest first; `timestamp` is where the period starts. */
export interface StatsHistory {
  period: HistoryPeriod;
  points: Array<{ timestamp: Date; processed: number; failed: number }>;
}

/** Which history {@link AdminClient.statsHistory} reads; the server keeps the last hour only. */
export interface HistoryOptions {
  /** Default "5m". */
  period?: HistoryPeriod;
  /** Only this queue; all queues by default. */
  queue?: string;
  /** Default, and earliest honoured: one hour ago. Must not be after `until` (ValidationError). */
  since?: Date;
  /** Default, and latest honoured: now. */
  until?: Date;
}
