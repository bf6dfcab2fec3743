/**
 * The admin-api operations for the gRPC transport. The ojs.v1 contract has
 * RPCs for pausing and resuming a queue and for reading and cancelling a job;
 * those go over gRPC. It has none for per-state counts, job search, bulk
 * actions, workers or statistics: those reach the HTTP binding (the
 * transport's `httpUrl`, since official servers serve HTTP on another port).
 */
import type { BulkAction, HistoryOptions, JobFilter, JobListOptions, PageOptions } from "../../model/admin.js";
import type { Job, JobState } from "../../model/job.js";
import type { QueueRetention } from "../../model/retention.js";
import type { WorkerDirective } from "../../model/system.js";
import type { AdminTransport } from "../admin.js";
import type { CallOptions, Transport } from "../transport.js";

type Rpcs = Pick<Transport, "pauseQueue" | "resumeQueue" | "getJob" | "cancelJob">;

export class GrpcAdmin implements AdminTransport {
  constructor(
    private readonly rpc: Rpcs,
    /** The HTTP binding's admin operations, made on first use. */
    private readonly http: () => AdminTransport,
  ) {}

  // Over ojs.v1.
  pauseQueue(name: string, call?: CallOptions): Promise<void> {
    return this.rpc.pauseQueue(name, call);
  }
  resumeQueue(name: string, call?: CallOptions): Promise<void> {
    return this.rpc.resumeQueue(name, call);
  }
  getJob(id: string, call?: CallOptions): Promise<Job> {
    return this.rpc.getJob(id, call);
  }
  cancelJob(id: string, call?: CallOptions): Promise<Job> {
    return this.rpc.cancelJob(id, call);
  }

  // Over the HTTP binding: ojs.v1 has no RPC that can say these.
  listQueues(opts: PageOptions, call?: CallOptions) {
    return this.http().listQueues(opts, call);
  }
  getQueue(name: string, call?: CallOptions) {
    return this.http().getQueue(name, call);
  }
  purgeQueue(name: string, req: { states: JobState[]; olderThan?: Date; confirm: boolean; limit?: number }, call?: CallOptions) {
    return this.http().purgeQueue(name, req, call);
  }
  setQueueRetention(name: string, retention: QueueRetention | null, call?: CallOptions) {
    return this.http().setQueueRetention(name, retention, call);
  }
  listJobs(opts: JobListOptions, call?: CallOptions) {
    return this.http().listJobs(opts, call);
  }
  /** RetryDeadLetter covers dead-lettered jobs only; the admin retry also takes other discarded ones. */
  retryJob(id: string, call?: CallOptions) {
    return this.http().retryJob(id, call);
  }
  deleteJob(id: string, call?: CallOptions) {
    return this.http().deleteJob(id, call);
  }
  bulk(action: BulkAction, filter: JobFilter, req: { confirm: boolean; limit?: number }, call?: CallOptions) {
    return this.http().bulk(action, filter, req, call);
  }
  purgeDeadLetter(req: { queue?: string; olderThan?: Date; confirm: boolean }, call?: CallOptions) {
    return this.http().purgeDeadLetter(req, call);
  }
  listWorkers(opts: PageOptions, call?: CallOptions) {
    return this.http().listWorkers(opts, call);
  }
  getWorker(id: string, call?: CallOptions) {
    return this.http().getWorker(id, call);
  }
  directWorker(id: string, directive: WorkerDirective, call?: CallOptions) {
    return this.http().directWorker(id, directive, call);
  }
  stats(call?: CallOptions) {
    return this.http().stats(call);
  }
  statsHistory(opts: HistoryOptions, call?: CallOptions) {
    return this.http().statsHistory(opts, call);
  }
}
