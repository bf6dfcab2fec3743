/**
 * The contract between Client/Worker and the wire: one method per OJS logical
 * operation, taking and returning domain types. gRPC and HTTP/JSON implement
 * it; Client and Worker never know which one they hold.
 */
import type { Job, JobError, NormalizedJobRequest } from "../model/job.js";
import type { JsonValue } from "../model/json.js";
import type { Health, HeartbeatResult, Manifest, NackResult, WorkerDirective } from "../model/system.js";

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
  /** Reports the worker's state and extends the reservation of its active jobs. */
  heartbeat(req: HeartbeatRequest, opts?: CallOptions): Promise<HeartbeatResult>;

  /** Releases connections. Calls after close fail with a ConnectionError. */
  close(): Promise<void>;
}
