/**
 * The storage seam the protocol adapters call: every read and write of jobs,
 * queues, dead letters and workers, as promises, so that a store which cannot
 * answer in the same tick (PostgreSQL, several servers on one database) fits
 * behind the same adapters as the in-process state machine.
 *
 * Two parts: `JobReads` (answers questions, changes nothing a client can see
 * beyond a worker's last-seen time) and `JobStore` (the mutations, plus the
 * reads). Errors are the SDK's OjsError classes, rejected rather than thrown:
 * NotFoundError (`not_found`) for an unknown job, queue or worker,
 * ConflictError (`invalid_state`/`conflict`) for a transition the job's state
 * does not allow, DuplicateJobError for a unique-policy rejection,
 * QueueFullError (`queue_full`) past a queue's depth bound, ValidationError for
 * bad input, and a retryable `unavailable` OjsError when the store cannot be
 * reached or written. Adapters map them through the one error table.
 *
 * Durability: a mutation's promise resolves once its change survives a crash
 * in the store's terms (nothing for the memory store; the journal's group
 * commit; the database's commit). Claims (`fetch`, `openConsumer` deliveries,
 * `heartbeat`, `markStarted`) need not wait: a claim lost in a crash only means
 * the job is offered again (at-least-once).
 *
 * Ordering: calls made by one caller without awaiting in between take effect
 * in the order they were made. The memory and journal stores apply each call
 * synchronously when it is made (their promises only report the outcome), so
 * the pipelined fast path (grpc/raw.ts) can issue a whole frame of calls and
 * await them together.
 *
 * Records: a `JobRecord` returned is a view of the job at the time of the
 * answer. Adapters encode `rec.job` and must not keep or change it; the memory
 * store returns its live record, a database store a fresh copy.
 *
 * Implementations: SyncJobStore (./sync-job-store.ts) over the in-process
 * state machine, for the memory and journal stores; startServer() picks one
 * through selectJobStore() (../job-stores.ts), where a database store is one
 * more JobStoreFactory. See docs/stores.md "The seam".
 */
import type { JobError } from "../../model/job.js";
import type { JsonObject, JsonValue } from "../../model/json.js";
import type { EventFilter, OjsEvent } from "../../model/events.js";
import type { WorkerDirective } from "../../model/system.js";
import type { NormalizedJobRequest } from "../../model/job.js";
import type { Backpressure, MinuteCounts, StateCounts } from "./queue.js";
import type { WorkflowService } from "./workflow-service.js";
import type { RateLimitAdmin } from "./rate-limit-admin.js";
import type * as records from "./records.js";
import type { CheckpointRecord } from "./checkpoints.js";
import type { TenantAdmin } from "../tenancy/admin.js";

/** One entry of an atomic batch. */
export interface BatchEntry {
  req: NormalizedJobRequest;
  /** Unknown top-level JSON fields, echoed back over HTTP. */
  extra?: JsonObject;
}

/**
 * What a batch answers per entry: the job as it was stored and the entry's extra, all that the
 * bindings send back. Not the whole record: copying a record of some twenty fields per job only
 * to read two of them was 2.5 % of a batched enqueue's server CPU. A full record is one too.
 */
export type BatchEnqueued = Pick<records.JobRecord, "job" | "extra">;

/** What a StreamJobs subscriber asks for (see JobStore.openConsumer). */
export interface ConsumerSpec {
  queues: readonly string[];
  workerId: string;
  /** How many jobs may be pushed unsettled; capped by the server's in-flight limits. */
  maxConcurrent: number;
  /** Lease length of the jobs pushed; the job's own or the server default when absent. */
  visibilityTimeoutMs?: number;
  /**
   * Called with each job claimed for this consumer, in the store's own turn:
   * it must not throw and must not wait. A job it cannot hand on goes back
   * with `release` (or a nack when it never can be encoded).
   */
  deliver: (rec: records.JobRecord) => void;
  /** The store ended the subscription: its jobs outlived their lease unsettled, or a newer stream of the worker replaced it. */
  onStale?: (reason: "lease" | "superseded") => void;
  /** Multi-tenancy: push only this tenant's jobs. */
  tenant?: string;
}

/** A queue's operator settings as stored, without its statistics. */
export interface QueueSettings {
  paused: boolean;
  rateLimitPerSecond: number | undefined;
  backpressure: Backpressure | undefined;
}

/** Progress a worker reports for an active job (PRG). */
export interface ProgressUpdate {
  /** Fraction done; clamped to [0, 1]. */
  progress?: number;
  message?: string;
  data?: JsonObject;
}

/**
 * The durable-execution extension's checkpoints: one per job, kept with the
 * job and dropped with it, read-only once it is finished. The rules are
 * store/checkpoints.ts's, on every store.
 */
export interface JobCheckpoints {
  /**
   * Saves `state` as the job's checkpoint; its sequence is one more than the
   * last save's (1 for the first, and again after a delete). Rejects with
   * NotFoundError for an unknown job, ConflictError once the job is finished
   * (completed, cancelled, discarded). Resolves once durable. The caller checks the size.
   */
  save(jobId: string, state: JsonValue): Promise<CheckpointRecord>;
  /** The job's checkpoint, undefined when it has none. Rejects with NotFoundError for an unknown job. */
  get(jobId: string): Promise<CheckpointRecord | undefined>;
  /** Deletes the job's checkpoint; true when there was one (idempotent). Rejects with NotFoundError for an unknown job. */
  delete(jobId: string): Promise<boolean>;
  /** The checkpoints of these jobs by id, for the envelope of fetched jobs: one lookup, the jobs themselves not checked; a job without one is absent. */
  of(jobIds: readonly string[]): Promise<ReadonlyMap<string, CheckpointRecord>>;
}

/** The reads of the seam. None of them changes a job. */
export interface JobReads {
  /** The job. Rejects with NotFoundError (`not_found`) when no job has the id (never existed, or dropped by retention). */
  get(id: string): Promise<records.JobRecord>;
  /** Whether a job with this id is known (it may be finished). Never rejects for an unknown id. */
  has(id: string): Promise<boolean>;
  /**
   * Every job the store holds, for the admin listing and bulk actions, which
   * filter and page it themselves. The memory store answers with its live
   * iterator (do not change the store while iterating); a database store with
   * a snapshot. Cost: all jobs; keep it off hot paths.
   */
  jobRecords(): Promise<Iterable<records.JobRecord>>;
  /** Every known queue with its statistics, ordered by name. */
  listQueues(): Promise<records.QueueSummary[]>;
  /** One queue's settings and statistics; a queue never seen answers with zero counts (never rejects for an unknown name). */
  queueSummary(name: string): Promise<records.QueueSummary>;
  /** Per-minute completed/failed counts of the last hour, oldest first; empty for an unknown queue. */
  queueHistory(name: string): Promise<MinuteCounts[]>;
  /** Depth and bound of a queue with a backpressure bound, or undefined when it has none (the X-Queue-Depth hint). */
  pressure(name: string): Promise<{ depth: number; backpressure: Backpressure } | undefined>;
  /** A queue's operator settings, or undefined for a queue the store does not know. */
  queueSettings(name: string): Promise<QueueSettings | undefined>;
  /** Jobs per state, in one queue or all of them. */
  countByState(queue?: string): Promise<StateCounts>;
  /** Dead-lettered jobs, oldest first, filtered by queue and paged; `total` counts the whole filtered set. */
  listDeadLetter(opts?: { queue?: string; offset?: number; limit?: number }): Promise<{ jobs: records.JobRecord[]; total: number }>;
  /** How many dead-lettered jobs there are, in one queue or all. */
  deadLetterCount(queue?: string): Promise<number>;
  /** A worker as last seen. Rejects with NotFoundError for a worker the store does not know (or has forgotten). */
  getWorker(workerId: string): Promise<records.WorkerInfo>;
  /** Every worker the store remembers (bounded; least recently seen forgotten first). */
  listWorkers(): Promise<records.WorkerInfo[]>;
  /** The newest events matching the filter, oldest first, at most `limit` (bounded by the event buffer). */
  recentEvents(filter: EventFilter, limit: number): Promise<OjsEvent[]>;
}

/** The mutations of the seam, and its reads. */
export interface JobStore extends JobReads {
  /** What the manifest and health report as the backend: "memory", "journal", "postgres"... */
  readonly kind: string;
  /** Workflows kept by the store itself (a database store); absent: the in-process engine runs them (ServerCore.workflows). */
  readonly workflows?: WorkflowService;
  /** Per-job rate limits kept by the store itself (a database store); absent: the in-process RateLimits answer (ServerCore.rateLimits). */
  readonly rateLimits?: RateLimitAdmin;
  /** The jobs' checkpoints (durable-execution extension), where the jobs are. */
  readonly checkpoints: JobCheckpoints;
  /** Tenant counts and limits kept by the store itself (a database store); absent: the in-process TenantLimits and retained jobs answer (ServerCore.tenantAdmin). */
  readonly tenants?: TenantAdmin;

  /**
   * Stores one validated job: scheduled when it has a future `scheduledAt`,
   * available otherwise. A unique policy may answer with the existing job
   * instead (`deduplicated: true`, on_conflict "ignore") or replace it
   * ("replace"). Rejects with DuplicateJobError (on_conflict "reject"),
   * QueueFullError past the queue's depth bound.
   */
  submit(req: NormalizedJobRequest, opts?: records.SubmitOptions): Promise<records.SubmitResult>;
  /**
   * submit, applied and answered now, by a store that applies writes in this process as they are
   * made (memory, journal): the outcome, or the error submit would reject with, thrown. What it
   * changed is durable once durable() says so. Absent where a write is a round trip (PostgreSQL).
   */
  submitNow?(req: NormalizedJobRequest, opts?: records.SubmitOptions): records.SubmitResult;
  /**
   * Stores every entry or none (atomic): each entry is checked (unique
   * policies, including duplicates within the batch, and depth bounds) before
   * any is stored. Answers the jobs (as they were stored) in entry order; rejects as `submit`.
   */
  enqueueBatch(entries: readonly BatchEntry[]): Promise<BatchEnqueued[]>;

  /**
   * Claims up to `count` (default 1, at most 1000) ready jobs of the listed
   * queues, highest priority then oldest first, for `workerId`, leased for the
   * request's visibility timeout (else the job's, else the server's). Paused
   * queues and rate-limited jobs are passed over. A worker told to stop (quiet,
   * terminate) gets nothing. Answers [] when nothing is ready; never waits for
   * work (long polling is the adapter's).
   */
  fetch(req: records.FetchRequest): Promise<records.JobRecord[]>;
  /**
   * Registers a push subscriber (StreamJobs): jobs are claimed for it and
   * handed to `spec.deliver` while it has credit; settling one gives the
   * credit back. A newer consumer of the same worker supersedes the older one
   * (whose onStale runs). Resolves with the handle to pass to closeConsumer.
   */
  openConsumer(spec: ConsumerSpec): Promise<records.Consumer>;
  /**
   * Ends a subscription; its delivered jobs stay active until settled or their lease ends.
   * Idempotent. With `releaseUnstarted` (a StreamJobs stream ended) and a worker that said it is
   * terminating, which starts nothing more, the jobs pushed to it that it did not start (on the
   * wire, never read) go back at once, as `release` does. Answers how many did.
   */
  closeConsumer(consumer: records.Consumer, opts?: { releaseUnstarted?: boolean }): Promise<number>;
  /**
   * Hands an active job back as though never fetched (the attempt is not
   * counted): a pushed job whose stream closed before it reached the worker.
   * Does nothing for a job that is no longer active.
   */
  release(rec: records.JobRecord): Promise<void>;

  /**
   * Completes an active job with its result. With `workerId`, the job must be
   * leased to that worker. Rejects with NotFoundError for an unknown job,
   * ConflictError (`invalid_state`) when it is not active or leased to another
   * worker. Answers the completed record.
   */
  ack(id: string, result: JsonValue | undefined, workerId?: string): Promise<records.JobRecord>;
  /**
   * Fails the current attempt of an active job. The retry policy (or the
   * handler's `response`) decides: retryable with a backoff, discarded, or
   * dead-lettered; `requeue` hands it back without using an attempt. Rejects
   * as `ack`. Answers the record in its new state (`scheduledAt` is the next
   * attempt when retryable).
   */
  nack(id: string, error: JobError, workerId?: string, opts?: records.NackOptions): Promise<records.JobRecord>;
  /** Cancels a job not yet finished (an active one loses its lease). Rejects with NotFoundError, or ConflictError for a finished job. */
  cancel(id: string): Promise<records.JobRecord>;
  /**
   * A worker's heartbeat: records its state and last-seen time, extends the
   * leases of the listed jobs it holds, and tells it what the operator asked
   * (the directive). Jobs it lists but does not hold come back in `lost`.
   */
  heartbeat(req: records.HeartbeatRequest): Promise<records.HeartbeatOutcome>;
  /** The worker started these pushed jobs (fast path). Answers the ids it does not hold. */
  markStarted(jobIds: readonly string[], workerId: string): Promise<string[]>;
  /** Progress of an active job (values clamped, not refused). Rejects with NotFoundError, or ConflictError when the job is not active. */
  reportProgress(id: string, update: ProgressUpdate): Promise<records.Progress>;

  /** Stops deliveries from a queue (created if unknown). Answers its summary. */
  pauseQueue(name: string): Promise<records.QueueSummary>;
  /** Resumes deliveries from a queue (created if unknown). Answers its summary. */
  resumeQueue(name: string): Promise<records.QueueSummary>;
  /** Changes a queue's settings (pause, rate limit, depth bound); rejects with ValidationError for bad values. */
  configureQueue(name: string, cfg: records.QueueConfig): Promise<records.QueueSummary>;

  /** Puts a dead-lettered job back as available with a fresh attempt count. Rejects with NotFoundError when it is not in the dead letter. */
  retryDeadLetter(id: string): Promise<records.JobRecord>;
  /** Forgets a dead-lettered job. Rejects with NotFoundError when it is not in the dead letter. */
  deleteDeadLetter(id: string): Promise<void>;
  /** Puts a discarded (or dead-lettered) job back as available with a fresh attempt count. Rejects with NotFoundError, or ConflictError for another state. */
  retryDiscarded(id: string): Promise<records.JobRecord>;
  /** Forgets a finished job (completed, cancelled, discarded) for good. Rejects with NotFoundError, or ConflictError when the job is not finished. */
  deleteFinished(id: string): Promise<void>;

  /** Tells a worker what to do at its next heartbeat (quiet, terminate, running; an unknown worker is registered); "running" wakes its streams. */
  directWorker(workerId: string, directive: WorkerDirective): Promise<records.WorkerInfo>;
  /** Forgets a worker (its leases are untouched). Rejects with NotFoundError for a worker the store does not know. */
  removeWorker(workerId: string): Promise<void>;

  /**
   * Resolves once every change this store made so far is durable; undefined
   * when there is nothing to wait for. Adapters whose writes bypass the seam
   * (workflows, cron, schemas) await it before answering.
   */
  durable(): Promise<void> | undefined;
  /** Releases what the store holds (files, connections) once the server stops; idempotent. */
  close(): Promise<void>;
}

/**
 * Makes the store a server uses. Given what the server already built (the
 * in-process state machine, which a database store may use for its local
 * parts: clock, events, workflows, rate limits), it answers the store once it
 * is ready to serve (the journal replayed, the database reached).
 */
export type JobStoreFactory<Core = unknown> = (core: Core) => Promise<JobStore>;
