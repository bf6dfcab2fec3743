/**
 * The admin-api operations a transport offers (ojs-admin-api): what
 * `client.admin` calls. HTTP serves them all; gRPC uses the ojs.v1 RPCs where
 * the contract has them (pause, resume, job detail, cancel) and reaches the
 * HTTP binding for the rest.
 */
import type {
  AdminPage,
  AdminQueue,
  AdminQueueDetail,
  AdminStats,
  AdminWorker,
  BulkAction,
  BulkResult,
  HistoryOptions,
  JobFilter,
  JobListOptions,
  PageOptions,
  PurgeResult,
  StatsHistory,
  WorkerList,
} from "../model/admin.js";
import type { Job, JobState } from "../model/job.js";
import type { WorkerDirective } from "../model/system.js";
import type { CallOptions } from "./transport.js";

export interface AdminTransport {
  listQueues(opts: PageOptions, call?: CallOptions): Promise<AdminPage<AdminQueue>>;
  getQueue(name: string, call?: CallOptions): Promise<AdminQueueDetail>;
  pauseQueue(name: string, call?: CallOptions): Promise<void>;
  resumeQueue(name: string, call?: CallOptions): Promise<void>;
  /** `confirm` is sent as given: the server enforces the interlock too. */
  purgeQueue(name: string, req: { states: JobState[]; olderThan?: Date; confirm: boolean }, call?: CallOptions): Promise<PurgeResult>;

  listJobs(opts: JobListOptions, call?: CallOptions): Promise<AdminPage<Job>>;
  getJob(id: string, call?: CallOptions): Promise<Job>;
  cancelJob(id: string, call?: CallOptions): Promise<Job>;
  retryJob(id: string, call?: CallOptions): Promise<Job>;
  deleteJob(id: string, call?: CallOptions): Promise<void>;
  bulk(action: BulkAction, filter: JobFilter, req: { confirm: boolean; limit?: number }, call?: CallOptions): Promise<BulkResult>;
  purgeDeadLetter(req: { queue?: string; olderThan?: Date; confirm: boolean }, call?: CallOptions): Promise<PurgeResult>;

  listWorkers(opts: PageOptions, call?: CallOptions): Promise<WorkerList>;
  getWorker(id: string, call?: CallOptions): Promise<AdminWorker>;
  /** Tells a worker to go quiet, terminate, or run again; it hears it at its next heartbeat. */
  directWorker(id: string, directive: WorkerDirective, call?: CallOptions): Promise<AdminWorker>;

  stats(call?: CallOptions): Promise<AdminStats>;
  statsHistory(opts: HistoryOptions, call?: CallOptions): Promise<StatsHistory>;
}
