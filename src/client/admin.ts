/**
 * `client.admin`: the operator's side of a server (the admin-api extension),
 * for dashboards, CLIs and scripts. Input is checked before anything is sent;
 * destructive calls need `confirm: true` here and again on the server.
 */
import { HISTORY_PERIODS, isJobState } from "../codec/admin-api.js";
import type { AdminPage, AdminQueue, AdminQueueDetail, AdminStats, AdminWorker, BulkAction, BulkOptions, BulkResult, CleanOptions } from "../model/admin.js";
import type { HistoryOptions, JobFilter, JobListOptions, PageOptions, PurgeOptions, PurgeResult, StatsHistory, WorkerList } from "../model/admin.js";
import { ValidationError } from "../model/errors.js";
import { normalizeRetention } from "../codec/retention.js";
import type { QueueRetention } from "../model/retention.js";
import type { Job } from "../model/job.js";
import { parseOrThrow, queueNameSchema } from "../model/schemas.js";
import { ExtensionClient } from "./extension.js";
import type { CallOptions } from "../transport/transport.js";

export type { CallRunner } from "./extension.js";

const MAX_PER_PAGE = 100;
const MAX_BULK_LIMIT = 10_000;
/** The most jobs one clean removes (the server's limit too). */
const MAX_CLEAN_LIMIT = 100_000;
const SORTS = new Set(["created_at", "scheduled_at", "priority"]);

function invalid(operation: string, path: string, message: string): ValidationError {
  return new ValidationError(`${path}: ${message}`, { operation, issues: [{ path, message }] });
}

function checkInt(operation: string, path: string, v: unknown, min: number, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || (v as number) < min || (v as number) > max))
    throw invalid(operation, path, `must be an integer from ${min} to ${max}`);
}

function checkDate(operation: string, path: string, v: unknown): void {
  if (v !== undefined && (!(v instanceof Date) || Number.isNaN(v.getTime()))) throw invalid(operation, path, "must be a valid Date");
}

function checkId(operation: string, id: unknown): string {
  if (typeof id !== "string" || id === "") throw invalid(operation, "id", "must be a non-empty string");
  return id;
}

function checkQueue(operation: string, queue: unknown, path = "queue"): string {
  return parseOrThrow(queueNameSchema, queue, path, operation);
}

function checkPage(operation: string, p: PageOptions): void {
  checkInt(operation, "page", p.page, 1, Number.MAX_SAFE_INTEGER);
  checkInt(operation, "perPage", p.perPage, 1, MAX_PER_PAGE);
}

function checkFilter(operation: string, f: JobFilter, prefix = ""): void {
  if (f.queue !== undefined) checkQueue(operation, f.queue, `${prefix}queue`);
  if (f.state !== undefined && !isJobState(f.state)) throw invalid(operation, `${prefix}state`, "must be a job state");
  if (f.type !== undefined && (typeof f.type !== "string" || f.type === "")) throw invalid(operation, `${prefix}type`, "must be a non-empty string");
  checkDate(operation, `${prefix}since`, f.since);
  checkDate(operation, `${prefix}until`, f.until);
  if (f.deadLetter !== undefined && typeof f.deadLetter !== "boolean") throw invalid(operation, `${prefix}deadLetter`, "must be a boolean");
}

/** The interlock: a destructive call without confirm: true never leaves the process. */
function checkConfirm(operation: string, confirm: unknown): void {
  if (confirm !== true) throw invalid(operation, "confirm", "must be true: this operation changes or removes many jobs at once");
}

/**
 * The operator's side of a server (the admin-api extension), reached as
 * `client.admin`: queues with counts and throughput, job search, single and
 * bulk retry/cancel/delete, purges, workers and statistics.
 *
 * Arguments are checked before anything is sent: bad input rejects with a
 * ValidationError naming the field. Destructive calls (bulk actions, purges)
 * need `confirm: true`, checked here and again by the server; a bulk call acts
 * on at most `limit` jobs (default 1000, at most 10 000) and says how many are
 * `remaining`. Reads, pause/resume and worker directives are retried by the
 * client's retry policy; the other actions are never retried. A transport
 * without admin operations rejects with UnimplementedError. On a server that
 * checks keys, reads need the `readonly` role, cancelling a job `producer`,
 * the rest `admin` (otherwise PermissionDeniedError).
 *
 * @example
 * ```ts
 * const client = new Client({ url: "http://localhost:8080" });
 * const failed = await client.admin.listJobs({ queue: "mail", state: "discarded", perPage: 50 });
 * console.log(failed.total);
 * let r;
 * do r = await client.admin.retryJobs({ queue: "mail", deadLetter: true }, { confirm: true, limit: 500 });
 * while (r.remaining > 0 && r.succeeded > 0);
 * ```
 */
export class AdminClient extends ExtensionClient<"admin"> {
  protected readonly extension = "admin";

  // --- queues -----------------------------------------------------------------------------------

  /** Every queue with its per-state counts and throughput, a page at a time. */
  async listQueues(opts: PageOptions = {}, call?: CallOptions): Promise<AdminPage<AdminQueue>> {
    checkPage("admin.listQueues", opts);
    return this.run(true, call, (c) => this.t.listQueues(opts, c));
  }

  /** One queue: counts, depth, configuration, the last hour, the oldest waiting job. */
  async getQueue(name: string, call?: CallOptions): Promise<AdminQueueDetail> {
    const q = checkQueue("admin.getQueue", name);
    return this.run(true, call, (c) => this.t.getQueue(q, c));
  }

  /** Stops delivery from the queue; enqueueing still works and jobs accumulate as available. */
  async pauseQueue(name: string, call?: CallOptions): Promise<void> {
    const q = checkQueue("admin.pauseQueue", name);
    return this.run(true, call, (c) => this.t.pauseQueue(q, c));
  }

  /** Starts delivery from a paused queue again. */
  async resumeQueue(name: string, call?: CallOptions): Promise<void> {
    const q = checkQueue("admin.resumeQueue", name);
    return this.run(true, call, (c) => this.t.resumeQueue(q, c));
  }

  /**
   * Removes the queue's jobs in the given states, finished (or, when waiting,
   * created) before `olderThan` when given; waiting jobs are cancelled first.
   * Needs `confirm: true` and at least one state; "active" is refused by the server.
   */
  async purgeQueue(name: string, opts: PurgeOptions, call?: CallOptions): Promise<PurgeResult> {
    const op = "admin.purgeQueue";
    const q = checkQueue(op, name);
    checkConfirm(op, opts?.confirm);
    if (!Array.isArray(opts.states) || opts.states.length === 0 || !opts.states.every(isJobState))
      throw invalid(op, "states", "must be a non-empty array of job states");
    checkDate(op, "olderThan", opts.olderThan);
    if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > MAX_CLEAN_LIMIT))
      throw invalid(op, "limit", `must be a whole number from 1 to ${MAX_CLEAN_LIMIT}`);
    return this.t.purgeQueue(q, opts, call);
  }

  /**
   * Removes finished jobs of a queue (BullMQ's clean): by state (default
   * completed, discarded and cancelled), finished before `olderThan` (a Date,
   * or an age in milliseconds), at most `limit` (default 1000) at a time, the
   * oldest first. Needs `confirm: true`. Call again while `purgedCount === limit`.
   *
   * ```ts
   * await client.admin.clean("mail", { states: ["completed"], olderThan: 24 * 3600_000, limit: 5000, confirm: true });
   * ```
   */
  async clean(queue: string, opts: CleanOptions, call?: CallOptions): Promise<PurgeResult> {
    const op = "admin.clean";
    const q = checkQueue(op, queue);
    checkConfirm(op, opts?.confirm);
    const states = opts.states ?? ["completed", "discarded", "cancelled"];
    if (!Array.isArray(states) || states.length === 0 || !states.every((s) => s === "completed" || s === "discarded" || s === "cancelled"))
      throw invalid(op, "states", 'must be a non-empty array of finished states ("completed", "discarded", "cancelled")');
    const limit = opts.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CLEAN_LIMIT) throw invalid(op, "limit", `must be a whole number from 1 to ${MAX_CLEAN_LIMIT}`);
    let olderThan: Date | undefined;
    if (typeof opts.olderThan === "number") {
      if (!Number.isFinite(opts.olderThan) || opts.olderThan < 0) throw invalid(op, "olderThan", "must be a Date or a non-negative number of milliseconds");
      olderThan = new Date(Date.now() - opts.olderThan);
    } else {
      checkDate(op, "olderThan", opts.olderThan);
      olderThan = opts.olderThan;
    }
    const req = { states: [...states], confirm: true, limit, ...(olderThan ? { olderThan } : {}) };
    return this.t.purgeQueue(q, req, call);
  }

  /**
   * Sets how many finished jobs the queue keeps and for how long, completed
   * and failed (discarded or cancelled) apart; `null` removes the rule. The
   * server applies it to the jobs already there too, in bounded passes.
   *
   * ```ts
   * await client.admin.setRetention("mail", { completed: { count: 1000, age: "P1D" }, discarded: { age: "P30D" } });
   * ```
   */
  async setRetention(queue: string, retention: QueueRetention | null, call?: CallOptions): Promise<QueueRetention | undefined> {
    const op = "admin.setRetention";
    const q = checkQueue(op, queue);
    if (retention !== null) {
      try {
        normalizeRetention(retention);
      } catch (e) {
        if (e instanceof ValidationError) e.operation = op;
        throw e;
      }
    }
    return this.run(true, call, (c) => this.t.setQueueRetention(q, retention, c));
  }

  // --- jobs -------------------------------------------------------------------------------------

  /** Jobs filtered by queue, state, type ("email.*" for a prefix) and creation time, newest first by default. */
  async listJobs(opts: JobListOptions = {}, call?: CallOptions): Promise<AdminPage<Job>> {
    const op = "admin.listJobs";
    checkFilter(op, opts);
    checkPage(op, opts);
    if (opts.sort !== undefined && !SORTS.has(opts.sort)) throw invalid(op, "sort", "must be created_at, scheduled_at or priority");
    if (opts.order !== undefined && opts.order !== "asc" && opts.order !== "desc") throw invalid(op, "order", "must be asc or desc");
    return this.run(true, call, (c) => this.t.listJobs(opts, c));
  }

  /** One job by id, in any state; NotFoundError when the server has no such job. */
  async getJob(id: string, call?: CallOptions): Promise<Job> {
    const j = checkId("admin.getJob", id);
    return this.run(true, call, (c) => this.t.getJob(j, c));
  }

  /** Cancels a job that has not finished; ConflictError when it already has. */
  async cancelJob(id: string, call?: CallOptions): Promise<Job> {
    return this.t.cancelJob(checkId("admin.cancelJob", id), call);
  }

  /**
   * Puts a discarded job (in the dead-letter queue or not) back on its queue with
   * a fresh attempt budget; ConflictError for any other state (cancelled jobs stay cancelled).
   */
  async retryJob(id: string, call?: CallOptions): Promise<Job> {
    return this.t.retryJob(checkId("admin.retryJob", id), call);
  }

  /** Removes a finished job (completed, cancelled or discarded) for good; ConflictError while it is unfinished. */
  async deleteJob(id: string, call?: CallOptions): Promise<void> {
    return this.t.deleteJob(checkId("admin.deleteJob", id), call);
  }

  /**
   * Retries the discarded jobs the filter matches, up to `limit` per call;
   * needs `confirm: true`. `remaining` says how many are left; matching jobs
   * that cannot be retried count in `failed`.
   */
  retryJobs(filter: JobFilter, opts: BulkOptions, call?: CallOptions): Promise<BulkResult> {
    return this.bulk("retry", filter, opts, call);
  }

  /** Cancels the unfinished jobs the filter matches, up to `limit` per call; needs `confirm: true`. */
  cancelJobs(filter: JobFilter, opts: BulkOptions, call?: CallOptions): Promise<BulkResult> {
    return this.bulk("cancel", filter, opts, call);
  }

  /** Deletes the finished jobs the filter matches, up to `limit` per call; needs `confirm: true`. */
  deleteJobs(filter: JobFilter, opts: BulkOptions, call?: CallOptions): Promise<BulkResult> {
    return this.bulk("delete", filter, opts, call);
  }

  private async bulk(action: BulkAction, filter: JobFilter, opts: BulkOptions, call?: CallOptions): Promise<BulkResult> {
    const op = `admin.${action}Jobs`;
    checkConfirm(op, opts?.confirm);
    if (typeof filter !== "object" || filter === null) throw invalid(op, "filter", "must be an object");
    checkFilter(op, filter, "filter.");
    checkInt(op, "limit", opts.limit, 1, MAX_BULK_LIMIT);
    return this.t.bulk(action, filter, opts.limit !== undefined ? { confirm: true, limit: opts.limit } : { confirm: true }, call);
  }

  /** Removes dead-lettered jobs (of one queue, older than a time, when given); needs `confirm: true`. */
  async purgeDeadLetter(opts: { queue?: string; olderThan?: Date; confirm: boolean }, call?: CallOptions): Promise<PurgeResult> {
    const op = "admin.purgeDeadLetter";
    checkConfirm(op, opts?.confirm);
    if (opts.queue !== undefined) checkQueue(op, opts.queue);
    checkDate(op, "olderThan", opts.olderThan);
    return this.t.purgeDeadLetter(opts, call);
  }

  // --- workers ----------------------------------------------------------------------------------

  /** The workers the server knows, a page at a time, with a summary of how many are in each state and stale. */
  async listWorkers(opts: PageOptions = {}, call?: CallOptions): Promise<WorkerList> {
    checkPage("admin.listWorkers", opts);
    return this.run(true, call, (c) => this.t.listWorkers(opts, c));
  }

  /** One worker by id; NotFoundError when the server does not know it. */
  async getWorker(id: string, call?: CallOptions): Promise<AdminWorker> {
    const w = checkId("admin.getWorker", id);
    return this.run(true, call, (c) => this.t.getWorker(w, c));
  }

  /** Stop fetching, finish what it holds; heard at the worker's next heartbeat. */
  async quietWorker(id: string, call?: CallOptions): Promise<AdminWorker> {
    const w = checkId("admin.quietWorker", id);
    return this.run(true, call, (c) => this.t.directWorker(w, "quiet", c));
  }

  /** Tells the worker to shut down; heard at its next heartbeat. */
  async terminateWorker(id: string, call?: CallOptions): Promise<AdminWorker> {
    const w = checkId("admin.terminateWorker", id);
    return this.run(true, call, (c) => this.t.directWorker(w, "terminate", c));
  }

  /** Lets a quieted worker fetch again. */
  async resumeWorker(id: string, call?: CallOptions): Promise<AdminWorker> {
    const w = checkId("admin.resumeWorker", id);
    return this.run(true, call, (c) => this.t.directWorker(w, "running", c));
  }

  // --- statistics -------------------------------------------------------------------------------

  /** Counts by state across queues, queue and worker numbers, throughput per minute. */
  async stats(call?: CallOptions): Promise<AdminStats> {
    return this.run(true, call, (c) => this.t.stats(c));
  }

  /** Completions and failed attempts per period ("1m", "5m", "15m", "1h"; default "5m") within the last hour. */
  async statsHistory(opts: HistoryOptions = {}, call?: CallOptions): Promise<StatsHistory> {
    const op = "admin.statsHistory";
    if (opts.period !== undefined && !(opts.period in HISTORY_PERIODS))
      throw invalid(op, "period", `must be one of ${Object.keys(HISTORY_PERIODS).join(", ")}`);
    if (opts.queue !== undefined) checkQueue(op, opts.queue);
    checkDate(op, "since", opts.since);
    checkDate(op, "until", opts.until);
    return this.run(true, call, (c) => this.t.statsHistory(opts, c));
  }
}
