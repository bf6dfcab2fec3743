/**
 * The contract between Client/Worker and the wire: one method per OJS logical
 * operation, taking and returning domain types. gRPC and HTTP/JSON implement
 * it; Client and Worker never know which one they hold.
 */
import type { EventFilter, OjsEvent } from "../model/events.js";
import type { Job, JobError, NormalizedJobRequest } from "../model/job.js";
import type { JsonObject, JsonValue } from "../model/json.js";
import type {
  CronJob,
  Health,
  HeartbeatResult,
  Manifest,
  NackResult,
  Page,
  ProgressInfo,
  QueueInfo,
  QueueStats,
  SchemaInfo,
  WorkerDirective,
} from "../model/system.js";
import type { Workflow, WorkflowDefinition } from "../model/workflow.js";

export interface CallOptions {
  signal?: AbortSignal;
  /** Per-call deadline; the transport's default applies when absent. */
  timeoutMs?: number;
  /** Extra request headers / metadata for this call. */
  headers?: Record<string, string>;
}

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

export interface StreamJobsRequest {
  queues: string[];
  workerId: string;
  /** How many pushed jobs may be unsettled at once. */
  maxConcurrent: number;
  visibilityTimeoutMs?: number;
}

export interface AckRequest {
  jobId: string;
  result?: JsonValue;
  workerId?: string;
}

export interface NackRequest {
  jobId: string;
  error: JobError;
  workerId?: string;
}

export interface HeartbeatRequest {
  workerId: string;
  state: WorkerDirective;
  activeJobIds: string[];
  visibilityTimeoutMs?: number;
}

export interface PageRequest {
  limit?: number;
  cursor?: string;
}

export interface CronRequest {
  name: string;
  cron: string;
  timezone?: string;
  type: string;
  args: JsonValue[];
  options: Omit<NormalizedJobRequest, "type" | "args">;
}

export interface ProgressUpdate {
  /** 0..1 */
  progress?: number;
  message?: string;
  data?: JsonObject;
}

export interface Transport {
  /** "grpc", "http", or another name for custom transports; informative only. */
  readonly name: string;

  manifest(opts?: CallOptions): Promise<Manifest>;
  health(opts?: CallOptions): Promise<Health>;

  enqueue(req: NormalizedJobRequest, opts?: CallOptions): Promise<Job>;
  /** Atomic: either every job is stored or none is. */
  enqueueBatch(reqs: NormalizedJobRequest[], opts?: CallOptions): Promise<Job[]>;
  getJob(id: string, opts?: CallOptions): Promise<Job>;
  cancelJob(id: string, opts?: CallOptions): Promise<Job>;

  fetch(req: FetchJobsRequest, opts?: CallOptions): Promise<Job[]>;
  /**
   * Server push of jobs, when the protocol has it (gRPC StreamJobs). Ends when
   * the server closes the stream or `opts.signal` aborts; throws on failure.
   */
  streamJobs?(req: StreamJobsRequest, opts: CallOptions & { signal: AbortSignal }): AsyncIterable<Job>;
  ack(req: AckRequest, opts?: CallOptions): Promise<void>;
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

  listQueues(page?: PageRequest, opts?: CallOptions): Promise<Page<QueueInfo>>;
  queueStats(queue: string, opts?: CallOptions): Promise<QueueStats>;
  pauseQueue(queue: string, opts?: CallOptions): Promise<void>;
  resumeQueue(queue: string, opts?: CallOptions): Promise<void>;

  listDeadLetter(req: PageRequest & { queue?: string }, opts?: CallOptions): Promise<Page<Job>>;
  retryDeadLetter(id: string, opts?: CallOptions): Promise<Job>;
  deleteDeadLetter(id: string, opts?: CallOptions): Promise<void>;

  /** Creates or replaces the schedule with this name. */
  registerCron(req: CronRequest, opts?: CallOptions): Promise<{ name: string; nextRunAt?: Date }>;
  unregisterCron(name: string, opts?: CallOptions): Promise<void>;
  listCron(opts?: CallOptions): Promise<CronJob[]>;

  createWorkflow(def: WorkflowDefinition, opts?: CallOptions): Promise<Workflow>;
  getWorkflow(id: string, opts?: CallOptions): Promise<Workflow>;
  cancelWorkflow(id: string, opts?: CallOptions): Promise<Workflow>;

  /**
   * Lifecycle events as the server publishes them; ends on abort or when the server closes it.
   * `lastEventId` asks the server to replay what came after that event (SSE resume; servers
   * and bindings without it start with the live events).
   */
  streamEvents(filter: EventFilter, opts: CallOptions & { signal: AbortSignal; lastEventId?: string }): AsyncIterable<OjsEvent>;

  listSchemas(opts?: CallOptions): Promise<SchemaInfo[]>;
  registerSchema(s: { type: string; version: number | string; schema: JsonObject }, opts?: CallOptions): Promise<SchemaInfo>;
  /** The latest version when `version` is omitted. */
  getSchema(type: string, version?: number | string, opts?: CallOptions): Promise<SchemaInfo>;
  deleteSchema(type: string, version: number | string, opts?: CallOptions): Promise<void>;

  /** Fire-and-forget progress of an active job. */
  reportProgress(jobId: string, update: ProgressUpdate, opts?: CallOptions): Promise<void>;
  getProgress(jobId: string, opts?: CallOptions): Promise<ProgressInfo>;

  /** Releases connections. Calls after close fail with a ConnectionError. */
  close(): Promise<void>;
}
