/**
 * The operator's view of a server (the admin-api extension): what a dashboard,
 * a CLI or a monitoring job reads and does. Plain data, the same whichever
 * transport carried it.
 */
import type { JobState } from "./job.js";
import type { WorkerDirective } from "./system.js";

/** How many retained jobs are in each state. */
export type StateCounts = Record<JobState, number>;

export interface Throughput {
  /** Completions per minute, averaged over the last five minutes. */
  processedPerMinute: number;
  /** Failed attempts per minute, averaged over the last five minutes. */
  failedPerMinute: number;
}

export interface AdminQueue {
  name: string;
  /** "paused" when delivery is stopped, "active" otherwise. */
  state: "active" | "paused";
  paused: boolean;
  counts: StateCounts;
  /** Jobs of this queue in the dead-letter queue. */
  deadLetter: number;
  throughput: Throughput;
  createdAt?: Date;
}

export interface AdminQueueDetail extends AdminQueue {
  /** Jobs waiting to run (available, scheduled, retryable, pending). */
  depth: number;
  configuration: {
    /** Deliveries per second across all workers. */
    rateLimitPerSecond?: number;
    /** Depth bound of the backpressure extension. */
    maxDepth?: number;
  };
  lastHour: { completed: number; failed: number; avgDurationMs: number; avgWaitMs: number };
  /** When the longest-waiting available job was enqueued. */
  oldestAvailableAt?: Date;
}

/** One page of a list; `page` counts from 1. */
export interface AdminPage<T> {
  items: T[];
  total: number;
  page: number;
  perPage: number;
}

export interface PageOptions {
  /** From 1; default 1. */
  page?: number;
  /** Default 20, at most 100. */
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

export type JobSortField = "created_at" | "scheduled_at" | "priority";

export interface JobListOptions extends JobFilter, PageOptions {
  /** Default "created_at". */
  sort?: JobSortField;
  /** Default "desc" (newest first). */
  order?: "asc" | "desc";
}

export type BulkAction = "retry" | "cancel" | "delete";

export interface BulkOptions {
  /**
   * Must be true: the safety interlock of every bulk operation. Without it the
   * server refuses the call (and the client refuses before sending).
   */
  confirm: boolean;
  /** Act on at most this many of the matching jobs (default 1000, at most 10 000); `remaining` says how many are left. */
  limit?: number;
}

export interface BulkResult {
  action: BulkAction;
  /** Jobs that matched the filter. */
  matched: number;
  succeeded: number;
  failed: number;
  /** Matching jobs not acted on because of the limit; call again to go on. */
  remaining: number;
  /** Why jobs failed (at most 100 listed). */
  errors: Array<{ jobId: string; error: string }>;
}

export interface PurgeOptions {
  /** States to remove; an active job is never purged. */
  states: JobState[];
  /** Only jobs that finished (or, waiting, were created) before this. */
  olderThan?: Date;
  /** Must be true. */
  confirm: boolean;
}

export interface PurgeResult {
  purgedCount: number;
  states: JobState[];
}

export interface AdminWorker {
  id: string;
  /** What the worker last reported: running, quiet, terminate, drain. */
  state: string;
  /** What the operator told it to do. */
  directive: WorkerDirective;
  activeJobs: number;
  activeJobIds: string[];
  startedAt: Date;
  lastHeartbeatAt: Date;
  /** No heartbeat within the server's visibility timeout. */
  stale: boolean;
}

export interface WorkerList extends AdminPage<AdminWorker> {
  /** total, then how many are in each state, and how many are stale. */
  summary: { total: number; stale: number; [state: string]: number };
}

export interface AdminStats {
  queues: number;
  workers: number;
  jobs: StateCounts;
  deadLetter: number;
  throughput: Throughput;
  uptimeSeconds: number;
}

export type HistoryPeriod = "1m" | "5m" | "15m" | "1h";

export interface StatsHistory {
  period: HistoryPeriod;
  points: Array<{ timestamp: Date; processed: number; failed: number }>;
}

export interface HistoryOptions {
  period?: HistoryPeriod;
  queue?: string;
  since?: Date;
  until?: Date;
}
