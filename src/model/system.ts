import type { JsonObject } from "./json.js";
import type { JobState } from "./job.js";

/** What a server says about itself (GET /ojs/manifest). */
export interface Manifest {
  specversion: string;
  implementation: { name: string; version: string; language: string };
  conformanceLevel: number;
  protocols: string[];
  backend: string;
  extensions: string[];
  schemaValidation?: boolean;
}

/** Overall health of a server. */
export type HealthStatus = "ok" | "degraded" | "unhealthy";
/** A server's health report. */
export interface Health {
  status: HealthStatus;
  timestamp?: Date;
  details?: JsonObject;
}

/** A worker's state, and what the server may tell it to become. */
export type WorkerDirective = "running" | "quiet" | "terminate";

export interface HeartbeatResult {
  /** What the server wants the worker to do next. */
  directive: WorkerDirective;
  /** Ids whose reservation was extended, when the server says. */
  extended?: string[];
  /** Ids the server says are no longer this worker's (cancelled, reclaimed, finished). */
  lost?: string[];
  newDeadline?: Date;
}

export interface NackResult {
  state: JobState;
  attempt?: number;
  nextAttemptAt?: Date;
}

/** A queue as listed by the server. */
export interface QueueInfo {
  name: string;
  paused: boolean;
  availableCount?: number;
  createdAt?: Date;
}

/** Counts by state and throughput of one queue. */
export interface QueueStats {
  queue: string;
  paused: boolean;
  available: number;
  active: number;
  scheduled: number;
  retryable: number;
  dead: number;
  completedLastHour: number;
  failedLastHour: number;
  avgDurationMs: number;
  avgWaitMs: number;
  throughputPerSecond: number;
}

/** One page of a list; pass `nextCursor` as `cursor` for the next one. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
  totalCount?: number;
}

/** A recurring job. */
export interface CronJob {
  name: string;
  /** Five or six fields, a macro like "@daily", or "@every 5m". */
  cron: string;
  /** IANA zone; "UTC" when not set. */
  timezone: string;
  type: string;
  args: import("./json.js").JsonValue[];
  /** Options of the jobs it enqueues (queue, priority, retry...). */
  options: Omit<import("./job.js").NormalizedJobRequest, "type" | "args">;
  nextRunAt?: Date;
  lastRunAt?: Date;
}

/** What registerCron accepts. */
export interface CronRegistration {
  name: string;
  cron: string;
  timezone?: string;
  type: string;
  args?: import("./json.js").JsonValue[];
  options?: import("./job.js").EnqueueOptions;
}

/** A JSON Schema registered for a job type's args. */
export interface SchemaInfo {
  type: string;
  version: number | string;
  schema: JsonObject;
  createdAt?: Date;
}

/** The last progress an active job reported. */
export interface ProgressInfo {
  jobId: string;
  /** 0..1, or undefined when nothing has been reported. */
  progress?: number;
  message?: string;
  data?: JsonObject;
  updatedAt?: Date;
}
