import type { JsonObject } from "./json.js";
import type { JobState } from "./job.js";

export interface Manifest {
  specversion: string;
  implementation: { name: string; version: string; language: string };
  conformanceLevel: number;
  protocols: string[];
  backend: string;
  extensions: string[];
  schemaValidation?: boolean;
}

export type HealthStatus = "ok" | "degraded" | "unhealthy";
export interface Health {
  status: HealthStatus;
  timestamp?: Date;
  details?: JsonObject;
}

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

export interface QueueInfo {
  name: string;
  paused: boolean;
  availableCount?: number;
  createdAt?: Date;
}

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

export interface ProgressInfo {
  jobId: string;
  /** 0..1, or undefined when nothing has been reported. */
  progress?: number;
  message?: string;
  data?: JsonObject;
  updatedAt?: Date;
}
