/**
 * The contract between Client/Worker and the wire: one method per OJS logical
 * operation, taking and returning domain types. gRPC and HTTP/JSON implement
 * it; Client and Worker never know which one they hold.
 */
import type { EventFilter, OjsEvent } from "../model/events.js";
import type { Job, JobError, NormalizedJobRequest } from "../model/job.js";
import type { JsonObject, JsonValue } from "../model/json.js";
import type { CronJob, Health, HeartbeatResult, Manifest, NackResult, Page, ProgressInfo, QueueInfo, QueueStats, SchemaInfo } from "../model/system.js";
import type { WorkerDirective } from "../model/system.js";
import type { Workflow, WorkflowDefinition } from "../model/workflow.js";
import type { AdminTransport } from "./admin.js";
import type { WebhookTransport } from "./webhooks.js";
import type { Checkpoint, CheckpointSaved } from "../model/checkpoint.js";

import type { CallOptions } from "./call-options.js";

export type { CallOptions } from "./call-options.js";

/** Asks for up to `count` available jobs from `queues` for one worker (the pull side of dispatch). */
export interface FetchJobsRequest {
  queues: string[];
  count: number;
  workerId: string;
  visibilityTimeoutMs?: number;
  /**
   * Long poll: when nothing is available, the server may hold the call this long
   * for work to arrive (HTTP `wait_ms`; servers that do not know it answer at once).
   */
  waitMs?: number;
}

/** Opens a server push of jobs for one worker (gRPC StreamJobs). */
export interface StreamJobsRequest {
  queues: string[];
  workerId: string;
  /** How many pushed jobs may be unsettled at once. */
  maxConcurrent: number;
  visibilityTimeoutMs?: number;
}

/** Completes an active job with its result. */
export interface AckRequest {
  jobId: string;
  result?: JsonValue;
  workerId?: string;
}

/** Fails an active job's attempt with an error; the server retries or discards it by its policy. */
export interface NackRequest {
  jobId: string;
  error: JobError;
  workerId?: string;
  /**
   * Hands the job back untouched: the worker never started it (it was
   * stopping). Over HTTP this is the body's `requeue: true` (the official
   * conformance case L1-WRK-003), and the job is available again at once with
   * its attempt not counted. ojs.v1 gRPC has no such field, so it travels as
   * `error.details.requeue`: ojs-connect's server requeues the same way, a
   * server that does not know it records an ordinary failure (`error.code`).
   */
  requeue?: boolean;
}

/** A worker's periodic report: its state and the jobs it holds, whose reservations are extended. */
export interface HeartbeatRequest {
  workerId: string;
  state: WorkerDirective;
  activeJobIds: string[];
  visibilityTimeoutMs?: number;
}

/** One page of a list: at most `limit` items, after `cursor` (from the previous page's nextCursor). */
export interface PageRequest {
  limit?: number;
  cursor?: string;
}

/** A validated cron registration: a schedule and the job it enqueues at each run. */
export interface CronRequest {
  name: string;
  cron: string;
  timezone?: string;
  type: string;
  args: JsonValue[];
  options: Omit<NormalizedJobRequest, "type" | "args">;
}

/** What an active job reports as its progress. */
export interface ProgressUpdate {
  /** 0..1 */
  progress?: number;
  message?: string;
  data?: JsonObject;
}

/**
 * One method per OJS operation, over one wire protocol. Implemented by GrpcTransport
 * and HttpTransport; a custom implementation can be passed as `transport` to Client and Worker.
 */
export interface Transport {
  /** "grpc", "http", or another name for custom transports; informative only. */
  readonly name: string;

  /** The server's manifest: implementation, conformance level, protocols, extensions. */
  manifest(opts?: CallOptions): Promise<Manifest>;
  /** The server's health. */
  health(opts?: CallOptions): Promise<Health>;

  /** Submits one validated job. */
  enqueue(req: NormalizedJobRequest, opts?: CallOptions): Promise<Job>;
  /** Atomic: either every job is stored or none is. */
  enqueueBatch(reqs: NormalizedJobRequest[], opts?: CallOptions): Promise<Job[]>;
  /** Reads a job by id. */
  getJob(id: string, opts?: CallOptions): Promise<Job>;
  /** Cancels a job that has not finished. */
  cancelJob(id: string, opts?: CallOptions): Promise<Job>;

  /** Claims available jobs for a worker; an empty array when there are none. */
  fetch(req: FetchJobsRequest, opts?: CallOptions): Promise<Job[]>;
  /**
   * Server push of jobs, when the protocol has it (gRPC StreamJobs). Ends when
   * the server closes the stream or `opts.signal` aborts; throws on failure.
   */
  streamJobs?(req: StreamJobsRequest, opts: CallOptions & { signal: AbortSignal }): AsyncIterable<Job>;
  /** Completes an active job. */
  ack(req: AckRequest, opts?: CallOptions): Promise<void>;
  /** Fails an active job's attempt; says whether it will be retried. */
  nack(req: NackRequest, opts?: CallOptions): Promise<NackResult>;
  /**
   * Tells the server the worker began running a job it received over
   * streamJobs, where the protocol has a way to (the ojs-connect fast path);
   * resolves false where it has none. Until then a pushed job whose lease runs
   * out costs no attempt: it only sat in the stream (docs/connections.md).
   */
  started?(req: { jobId: string; workerId: string }, opts?: CallOptions): Promise<boolean>;
  /** Reports the worker's state and extends the reservation of its active jobs. */
  heartbeat(req: HeartbeatRequest, opts?: CallOptions): Promise<HeartbeatResult>;

  /** One page of the server's queues. */
  listQueues(page?: PageRequest, opts?: CallOptions): Promise<Page<QueueInfo>>;
  /** Counts by state and throughput of one queue. */
  queueStats(queue: string, opts?: CallOptions): Promise<QueueStats>;
  /** Stops delivery from a queue; enqueueing still works. */
  pauseQueue(queue: string, opts?: CallOptions): Promise<void>;
  /** Resumes delivery from a paused queue. */
  resumeQueue(queue: string, opts?: CallOptions): Promise<void>;

  /** One page of dead-lettered jobs, optionally of one queue. */
  listDeadLetter(req?: PageRequest & { queue?: string }, opts?: CallOptions): Promise<Page<Job>>;
  /** Puts a dead-lettered job back on its queue. */
  retryDeadLetter(id: string, opts?: CallOptions): Promise<Job>;
  /** Removes a job from the dead-letter queue for good. */
  deleteDeadLetter(id: string, opts?: CallOptions): Promise<void>;

  /** Creates or replaces the schedule with this name. */
  registerCron(req: CronRequest, opts?: CallOptions): Promise<{ name: string; nextRunAt?: Date }>;
  /** Deletes a cron schedule. */
  unregisterCron(name: string, opts?: CallOptions): Promise<void>;
  /** Every cron schedule. */
  listCron(opts?: CallOptions): Promise<CronJob[]>;

  /** Starts a workflow (chain, group or batch). */
  createWorkflow(def: WorkflowDefinition, opts?: CallOptions): Promise<Workflow>;
  /** Reads a workflow and the state of its steps. */
  getWorkflow(id: string, opts?: CallOptions): Promise<Workflow>;
  /** Cancels a workflow's unfinished steps. */
  cancelWorkflow(id: string, opts?: CallOptions): Promise<Workflow>;

  /**
   * Lifecycle events as the server publishes them; ends on abort or when the server closes it.
   * `lastEventId` asks the server to replay what came after that event (SSE resume; servers
   * and bindings without it start with the live events).
   */
  streamEvents(filter: EventFilter, opts: CallOptions & { signal: AbortSignal; lastEventId?: string }): AsyncIterable<OjsEvent>;

  /** Every registered args schema. */
  listSchemas(opts?: CallOptions): Promise<SchemaInfo[]>;
  /** Registers a JSON Schema for the args of a job type. */
  registerSchema(s: { type: string; version: number | string; schema: JsonObject }, opts?: CallOptions): Promise<SchemaInfo>;
  /** The latest version when `version` is omitted. */
  getSchema(type: string, version?: number | string, opts?: CallOptions): Promise<SchemaInfo>;
  /** Deletes one version of a job type's schema. */
  deleteSchema(type: string, version: number | string, opts?: CallOptions): Promise<void>;

  /** Fire-and-forget progress of an active job. */
  reportProgress(jobId: string, update: ProgressUpdate, opts?: CallOptions): Promise<void>;
  /** The last progress an active job reported. */
  getProgress(jobId: string, opts?: CallOptions): Promise<ProgressInfo>;

  /**
   * The durable-execution extension (HTTP only: ojs.v1 has no RPC for it, so
   * the gRPC transport reaches the HTTP binding). Optional for custom
   * transports: Client and Worker fail with UnimplementedError without them.
   * Saves `state` as the job's checkpoint (replacing the previous one).
   */
  saveCheckpoint?(jobId: string, state: JsonValue, opts?: CallOptions & { workerId?: string }): Promise<CheckpointSaved>;
  /** The job's checkpoint; undefined when it has none (NotFoundError for an unknown job). */
  getCheckpoint?(jobId: string, opts?: CallOptions): Promise<Checkpoint | undefined>;
  /** Deletes the job's checkpoint; true when there was one. */
  deleteCheckpoint?(jobId: string, opts?: CallOptions): Promise<boolean>;

  /**
   * The admin-api extension (queues with counts, job search, bulk actions,
   * workers, statistics): what `client.admin` calls. Optional for custom
   * transports; `client.admin` fails with UnimplementedError without it.
   */
  readonly admin?: AdminTransport;

  /**
   * The webhooks extension (subscriptions, deliveries): what `client.webhooks`
   * calls. Optional for custom transports; `client.webhooks` fails with
   * UnimplementedError without it.
   */
  readonly webhooks?: WebhookTransport;

  /** Releases connections. Calls after close fail with a ConnectionError. */
  close(): Promise<void>;
}
