/**
 * The admin-api operations a transport offers (ojs-admin-api): what
 * `client.admin` calls. HTTP serves them all; gRPC uses the ojs.v1 RPCs where
 * the contract has them (pause, resume, job detail, cancel) and reaches the
 * HTTP binding for the rest.
 */
import type { AdminPage, AdminQueue, AdminQueueDetail, AdminStats, AdminWorker, BulkAction, BulkResult, HistoryOptions, JobFilter } from "../model/admin.js";
import type { JobListOptions, PageOptions, PurgeResult, StatsHistory, WorkerList } from "../model/admin.js";
import type { Job, JobState } from "../model/job.js";
import type { QueueRetention } from "../model/retention.js";
import type { WorkerDirective } from "../model/system.js";
import type { CallOptions } from "./call-options.js";

/**
 * The wire side of `client.admin`, for custom transports (`Transport.admin`).
 * {@link AdminClient} checks arguments and the `confirm` interlock before it
 * calls these; an implementation only carries the call and maps the answer to
 * the model, rejecting with the OjsError subclass of the server's error.
 * HTTP paths below are under /ojs/v1.
 */
export interface AdminTransport {
  /** GET /admin/queues: one page of queues. */
  listQueues(opts: PageOptions, call?: CallOptions): Promise<AdminPage<AdminQueue>>;
  /** GET /admin/queues/\{name\}: one queue with depth, configuration and the last hour. */
  getQueue(name: string, call?: CallOptions): Promise<AdminQueueDetail>;
  /** Stops delivery from the queue (gRPC: PauseQueue). */
  pauseQueue(name: string, call?: CallOptions): Promise<void>;
  /** Starts delivery again (gRPC: ResumeQueue). */
  resumeQueue(name: string, call?: CallOptions): Promise<void>;
  /** `confirm` is sent as given: the server enforces the interlock too. */
  purgeQueue(name: string, req: { states: JobState[]; olderThan?: Date; confirm: boolean; limit?: number }, call?: CallOptions): Promise<PurgeResult>;
  /** PUT /admin/queues/\{name\}/config with `retention` (null clears it); answers the retention now in force. */
  setQueueRetention(name: string, retention: QueueRetention | null, call?: CallOptions): Promise<QueueRetention | undefined>;

  /** GET /admin/jobs: one page of the jobs the filter matches, in the given order. */
  listJobs(opts: JobListOptions, call?: CallOptions): Promise<AdminPage<Job>>;
  /** One job by id (gRPC: GetJob). */
  getJob(id: string, call?: CallOptions): Promise<Job>;
  /** Cancels one unfinished job (gRPC: CancelJob); answers the job as it now is. */
  cancelJob(id: string, call?: CallOptions): Promise<Job>;
  /** Puts one discarded job back on its queue; answers the job as it now is. */
  retryJob(id: string, call?: CallOptions): Promise<Job>;
  /** Removes one finished job. */
  deleteJob(id: string, call?: CallOptions): Promise<void>;
  /** POST /admin/jobs/bulk/\{action\}: acts on up to `limit` matching jobs; `confirm` is sent as given. */
  bulk(action: BulkAction, filter: JobFilter, req: { confirm: boolean; limit?: number }, call?: CallOptions): Promise<BulkResult>;
  /** DELETE /admin/dead-letter: removes dead-lettered jobs; `confirm` is sent as given. */
  purgeDeadLetter(req: { queue?: string; olderThan?: Date; confirm: boolean }, call?: CallOptions): Promise<PurgeResult>;

  /** GET /admin/workers: one page of workers with the state summary. */
  listWorkers(opts: PageOptions, call?: CallOptions): Promise<WorkerList>;
  /** One worker by id. */
  getWorker(id: string, call?: CallOptions): Promise<AdminWorker>;
  /** Tells a worker to go quiet, terminate, or run again; it hears it at its next heartbeat. */
  directWorker(id: string, directive: WorkerDirective, call?: CallOptions): Promise<AdminWorker>;

  /** GET /admin/stats: server-wide counts and throughput. */
  stats(call?: CallOptions): Promise<AdminStats>;
  /** GET /admin/stats/history: completions and failed attempts per period. */
  statsHistory(opts: HistoryOptions, call?: CallOptions): Promise<StatsHistory>;
}
