/**
 * The embedded server's state machine: every job, queue and lease lives here.
 * No I/O: adapters (HTTP, gRPC) translate requests into these calls, and time
 * comes from an injected Clock so tests can drive it. Errors are thrown as the
 * SDK's OjsError classes; adapters map them to wire statuses through the one
 * error table.
 */
import { ConflictError, DuplicateJobError, NotFoundError, ValidationError } from "../../model/errors.js";
import type { OjsEvent } from "../../model/events.js";
import { TERMINAL_STATES, type Job, type JobError, type JobState, type NormalizedJobRequest, type RetryPolicy } from "../../model/job.js";
import type { JsonObject, JsonValue } from "../../model/json.js";
import type { WorkerDirective } from "../../model/system.js";
import { uuidv7 } from "../../model/uuid.js";
import { isNonRetryable, mergeRetry, retryDelayMs } from "./backoff.js";
import { systemClock, type Clock } from "./clock.js";
import { EventBus } from "./event-bus.js";
import { MinHeap } from "./heap.js";
import { ReadyQueue } from "./ready-queue.js";

export interface StoreOptions {
  clock?: Clock;
  /** Reservation length of a fetched job when neither the job nor the worker says; default 30 000 ms. */
  visibilityTimeoutMs?: number;
  /** How many finished (completed, cancelled, discarded) jobs stay readable; oldest go first. Default 100 000. */
  maxFinishedJobs?: number;
  /** Random source for jitter; injectable for deterministic tests. */
  random?: () => number;
}

/** A job plus the store's bookkeeping. `job` is the domain view and is what adapters encode. */
export interface JobRecord {
  readonly id: string;
  job: Job;
  /** Unknown top-level JSON fields, echoed back over HTTP. */
  extra: JsonObject | undefined;
  retry: Required<RetryPolicy>;
  /** True while the job sits in its queue's ready list. */
  ready: boolean;
  leaseDeadline: number;
  /** Bumped on every state change so that stale heap entries are ignored. */
  version: number;
  workerId: string | undefined;
  consumer: Consumer | undefined;
}

interface QueueRecord {
  name: string;
  paused: boolean;
  createdAt: Date;
  ready: ReadyQueue<JobRecord>;
}

/** A StreamJobs subscriber: receives jobs pushed by the store, at most `credit` unsettled. */
export interface Consumer {
  readonly queues: readonly string[];
  readonly workerId: string;
  /** How many more jobs may be pushed before some are settled. */
  credit: number;
  readonly visibilityTimeoutMs: number | undefined;
  readonly deliver: (rec: JobRecord) => void;
  closed: boolean;
}

export interface FetchRequest {
  queues: readonly string[];
  count?: number;
  workerId?: string;
  visibilityTimeoutMs?: number;
}

export interface NackOutcome {
  rec: JobRecord;
  nextAttemptAt?: Date;
  retryDelayMs?: number;
}

export interface HeartbeatRequest {
  workerId: string;
  state?: WorkerDirective;
  jobIds: readonly string[];
  visibilityTimeoutMs?: number;
}

export interface WorkerInfo {
  id: string;
  state: WorkerDirective;
  directive: WorkerDirective;
  lastSeen: number;
  activeJobIds: string[];
}

const DEFAULT_QUEUE = "default";
const MAX_WORKERS = 10_000;

export class Store {
  readonly clock: Clock;
  readonly events = new EventBus();
  readonly defaultVisibilityMs: number;
  private readonly maxFinished: number;
  private readonly random: () => number;

  private jobs = new Map<string, JobRecord>();
  private queues = new Map<string, QueueRecord>();
  /** Scheduled and retryable jobs by the time they become available. */
  private due = new MinHeap<{ rec: JobRecord; version: number }>();
  /** Active jobs by lease deadline. */
  private leases = new MinHeap<{ rec: JobRecord; version: number }>();
  /** Finished job ids, oldest first, for retention. */
  private finished: string[] = [];
  private finishedHead = 0;
  private consumersByQueue = new Map<string, Set<Consumer>>();
  private workers = new Map<string, WorkerInfo>();
  private timer: { cancel(): void } | undefined;
  private timerAt = Infinity;
  private closed = false;

  constructor(opts: StoreOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.defaultVisibilityMs = opts.visibilityTimeoutMs ?? 30_000;
    this.maxFinished = opts.maxFinishedJobs ?? 100_000;
    this.random = opts.random ?? Math.random;
  }

  // --- producing -------------------------------------------------------------

  enqueue(req: NormalizedJobRequest, extra?: JsonObject): JobRecord {
    this.tick();
    const rec = this.build(req, extra);
    this.insert(rec);
    return rec;
  }

  /** All or nothing: every entry is built (and so validated) before any is stored. */
  enqueueBatch(reqs: ReadonlyArray<{ req: NormalizedJobRequest; extra?: JsonObject }>): JobRecord[] {
    this.tick();
    const ids = new Set<string>();
    const recs = reqs.map(({ req, extra }, i) => {
      try {
        const rec = this.build(req, extra);
        if (ids.has(rec.id)) throw new ValidationError(`id ${rec.id} appears twice in the batch`, { code: "duplicate" });
        ids.add(rec.id);
        return rec;
      } catch (e) {
        if (e instanceof Error) e.message = `jobs[${i}]: ${e.message}`;
        throw e;
      }
    });
    for (const rec of recs) this.insert(rec);
    return recs;
  }

  private build(req: NormalizedJobRequest, extra: JsonObject | undefined): JobRecord {
    const now = this.clock.now();
    const id = req.id ?? uuidv7(now);
    if (this.jobs.has(id)) throw new DuplicateJobError(`a job with id ${id} already exists`, { jobId: id, details: { existing_job_id: id } });
    const retry = mergeRetry(req.retry);
    const created = new Date(now);
    const job: Job = {
      id,
      type: req.type,
      queue: req.queue ?? DEFAULT_QUEUE,
      args: req.args,
      meta: req.meta ?? {},
      state: "available",
      priority: req.priority ?? 0,
      attempt: 0,
      maxAttempts: retry.maxAttempts,
      retry,
      errors: [],
      createdAt: created,
      enqueuedAt: created,
      tags: req.tags ?? [],
      specversion: "1.0",
    };
    if (req.unique) job.unique = req.unique;
    if (req.timeout !== undefined) job.timeout = req.timeout;
    if (req.visibilityTimeout !== undefined) job.visibilityTimeout = req.visibilityTimeout;
    if (req.expiresAt) job.expiresAt = req.expiresAt;
    if (req.scheduledAt && req.scheduledAt.getTime() > now) {
      job.state = "scheduled";
      job.scheduledAt = req.scheduledAt;
    }
    return {
      id,
      job,
      extra: extra && Object.keys(extra).length ? extra : undefined,
      retry,
      ready: false,
      leaseDeadline: 0,
      version: 0,
      workerId: undefined,
      consumer: undefined,
    };
  }

  private insert(rec: JobRecord): void {
    this.jobs.set(rec.id, rec);
    this.queue(rec.job.queue);
    this.emit("job.enqueued", rec);
    if (rec.job.state === "scheduled") {
      this.emit("job.scheduled", rec, { scheduled_at: rec.job.scheduledAt!.toISOString() });
      this.pushDue(rec, rec.job.scheduledAt!.getTime());
    } else {
      this.makeAvailable(rec);
    }
  }

  // --- reading ---------------------------------------------------------------

  get(id: string): JobRecord {
    this.tick();
    const rec = this.jobs.get(id);
    if (!rec) throw new NotFoundError(`job ${id} not found`, { jobId: id });
    return rec;
  }

  has(id: string): boolean {
    return this.jobs.has(id);
  }

  // --- cancel ------------------------------------------------------------------

  cancel(id: string): JobRecord {
    const rec = this.get(id);
    const s = rec.job.state;
    if (TERMINAL_STATES.has(s)) throw new ConflictError(`job ${id} is already ${s} and cannot be cancelled`, { jobId: id, details: { state: s } });
    if (s === "active") this.releaseLease(rec);
    this.leaveReady(rec);
    rec.job.state = "cancelled";
    rec.job.completedAt = new Date(this.clock.now());
    rec.version++;
    this.emit("job.cancelled", rec);
    this.finish(rec);
    return rec;
  }

  // --- working -----------------------------------------------------------------

  fetch(req: FetchRequest): JobRecord[] {
    this.tick();
    const count = Math.max(1, Math.min(req.count ?? 1, 1000));
    const out: JobRecord[] = [];
    while (out.length < count) {
      const rec = this.takeNext(req.queues);
      if (!rec) break;
      this.claim(rec, req.workerId, req.visibilityTimeoutMs ?? rec.job.visibilityTimeout, undefined);
      out.push(rec);
    }
    return out;
  }

  ack(id: string, result: JsonValue | undefined, workerId?: string): JobRecord {
    const rec = this.activeJob(id, "acknowledge", workerId);
    this.releaseLease(rec);
    rec.job.state = "completed";
    const now = this.clock.now();
    rec.job.completedAt = new Date(now);
    if (result !== undefined) rec.job.result = result;
    rec.version++;
    this.emit("job.completed", rec, {
      attempt: rec.job.attempt,
      duration_ms: rec.job.startedAt ? now - rec.job.startedAt.getTime() : 0,
    });
    this.finish(rec);
    return rec;
  }

  nack(id: string, error: JobError, workerId?: string): NackOutcome {
    const rec = this.activeJob(id, "fail", workerId);
    this.releaseLease(rec);
    const now = this.clock.now();
    const err: JobError = { ...error, attempt: rec.job.attempt, occurredAt: new Date(now) };
    if (err.retryable === undefined) err.retryable = true;
    rec.job.errors.push(err);
    this.emit("job.failed", rec, { attempt: rec.job.attempt, error: { code: err.code, message: err.message } });
    const giveUp =
      err.retryable === false || isNonRetryable(err.code, rec.retry.nonRetryableErrors) || rec.job.attempt >= rec.retry.maxAttempts;
    if (giveUp) {
      this.discard(rec, now);
      return { rec };
    }
    const delay = retryDelayMs(rec.retry, rec.job.attempt, this.random);
    rec.job.state = "retryable";
    rec.job.scheduledAt = new Date(now + delay);
    rec.version++;
    this.emit("job.retrying", rec, { attempt: rec.job.attempt, delay_ms: delay, next_attempt_at: rec.job.scheduledAt.toISOString() });
    this.pushDue(rec, now + delay);
    return { rec, nextAttemptAt: rec.job.scheduledAt, retryDelayMs: delay };
  }

  private discard(rec: JobRecord, now: number): void {
    rec.job.state = "discarded";
    rec.job.completedAt = new Date(now);
    rec.version++;
    this.emit("job.discarded", rec, { attempt: rec.job.attempt });
    this.finish(rec);
  }

  /**
   * Extends the leases of the listed jobs this worker holds, records the worker,
   * and answers with the directive the worker should follow.
   */
  heartbeat(req: HeartbeatRequest): { directive: WorkerDirective; extended: string[]; deadline: number } {
    this.tick();
    const now = this.clock.now();
    let w = this.workers.get(req.workerId);
    if (!w) {
      if (this.workers.size >= MAX_WORKERS) this.evictStaleWorker();
      w = { id: req.workerId, state: req.state ?? "running", directive: "running", lastSeen: now, activeJobIds: [] };
      this.workers.set(req.workerId, w);
    }
    w.lastSeen = now;
    if (req.state) w.state = req.state;
    w.activeJobIds = [...req.jobIds];
    const extended: string[] = [];
    let deadline = 0;
    for (const id of req.jobIds) {
      const rec = this.jobs.get(id);
      if (!rec || rec.job.state !== "active") continue;
      if (rec.workerId && rec.workerId !== req.workerId) continue;
      const ms = req.visibilityTimeoutMs ?? rec.job.visibilityTimeout ?? this.defaultVisibilityMs;
      rec.leaseDeadline = now + ms;
      rec.version++;
      this.leases.push(rec.leaseDeadline, { rec, version: rec.version });
      deadline = Math.max(deadline, rec.leaseDeadline);
      extended.push(id);
    }
    this.armTimer();
    // A worker told to terminate stays told; quiet can be lifted by the operator.
    const directive = w.state === "terminate" ? "terminate" : w.directive;
    return { directive, extended, deadline };
  }

  /** Operator control: tell a worker (through its next heartbeat) to go quiet, terminate, or run. */
  directWorker(workerId: string, directive: WorkerDirective): WorkerInfo {
    let w = this.workers.get(workerId);
    if (!w) {
      w = { id: workerId, state: "running", directive, lastSeen: this.clock.now(), activeJobIds: [] };
      this.workers.set(workerId, w);
    }
    w.directive = directive;
    return w;
  }

  listWorkers(): WorkerInfo[] {
    return [...this.workers.values()];
  }

  private evictStaleWorker(): void {
    let oldest: WorkerInfo | undefined;
    for (const w of this.workers.values()) if (!oldest || w.lastSeen < oldest.lastSeen) oldest = w;
    if (oldest) this.workers.delete(oldest.id);
  }

  /**
   * Hands an active job back as if it had never been fetched: used when a push
   * stream closed before the job reached the worker. The attempt is not counted.
   */
  release(rec: JobRecord): void {
    if (rec.job.state !== "active") return;
    this.releaseLease(rec);
    rec.job.attempt = Math.max(0, rec.job.attempt - 1);
    delete rec.job.startedAt;
    rec.workerId = undefined;
    this.makeAvailable(rec);
  }

  // --- streaming ---------------------------------------------------------------

  /**
   * Registers a push consumer. Jobs are claimed for it and handed to `deliver`
   * while it has credit; settling one of its jobs (ack, nack, lease expiry,
   * cancel) gives the credit back.
   */
  openConsumer(c: { queues: readonly string[]; workerId: string; maxConcurrent: number; visibilityTimeoutMs?: number; deliver: (rec: JobRecord) => void }): Consumer {
    const consumer: Consumer = {
      queues: [...c.queues],
      workerId: c.workerId,
      credit: Math.max(1, c.maxConcurrent),
      visibilityTimeoutMs: c.visibilityTimeoutMs,
      deliver: c.deliver,
      closed: false,
    };
    for (const q of consumer.queues) {
      let set = this.consumersByQueue.get(q);
      if (!set) this.consumersByQueue.set(q, (set = new Set()));
      set.add(consumer);
    }
    this.tick();
    this.pump(consumer);
    return consumer;
  }

  /** Jobs already delivered stay active until settled or until their lease expires. */
  closeConsumer(consumer: Consumer): void {
    if (consumer.closed) return;
    consumer.closed = true;
    for (const q of consumer.queues) {
      const set = this.consumersByQueue.get(q);
      set?.delete(consumer);
      if (set?.size === 0) this.consumersByQueue.delete(q);
    }
  }

  private pump(consumer: Consumer): void {
    while (!consumer.closed && consumer.credit > 0) {
      const rec = this.takeNext(consumer.queues);
      if (!rec) return;
      this.claim(rec, consumer.workerId, consumer.visibilityTimeoutMs ?? rec.job.visibilityTimeout, consumer);
      consumer.deliver(rec);
    }
  }

  /**
   * Jobs became available in `queue`: offer them to that queue's push consumers
   * one job per consumer per round, so that several workers share the work.
   */
  private dispatch(queue: string): void {
    const set = this.consumersByQueue.get(queue);
    const q = this.queues.get(queue);
    if (!set || !q) return;
    let progress = true;
    while (progress && !q.paused && q.ready.size > 0) {
      progress = false;
      for (const c of [...set]) {
        if (c.closed || c.credit <= 0) continue;
        const rec = this.takeNext(c.queues);
        if (!rec) return;
        this.claim(rec, c.workerId, c.visibilityTimeoutMs ?? rec.job.visibilityTimeout, c);
        c.deliver(rec);
        progress = true;
        if (q.ready.size === 0) break;
      }
    }
  }

  // --- internals -------------------------------------------------------------------

  private queue(name: string): QueueRecord {
    let q = this.queues.get(name);
    if (!q) {
      q = { name, paused: false, createdAt: new Date(this.clock.now()), ready: new ReadyQueue<JobRecord>() };
      this.queues.set(name, q);
    }
    return q;
  }

  private makeAvailable(rec: JobRecord): void {
    rec.job.state = "available";
    rec.version++;
    rec.ready = true;
    const q = this.queue(rec.job.queue);
    q.ready.push(rec.job.priority, rec);
    // Deferred: the operation that made the job available (enqueue, retry) answers
    // with the job as it then was, before any push consumer claims it.
    if (!q.paused) this.scheduleDispatch(q.name);
  }

  private pendingDispatch = new Set<string>();

  private scheduleDispatch(queue: string): void {
    if (!this.consumersByQueue.has(queue) || this.pendingDispatch.has(queue)) return;
    this.pendingDispatch.add(queue);
    queueMicrotask(() => {
      this.pendingDispatch.delete(queue);
      if (!this.closed) this.dispatch(queue);
    });
  }

  private leaveReady(rec: JobRecord): void {
    if (!rec.ready) return;
    rec.ready = false;
    this.queues.get(rec.job.queue)?.ready.forget();
  }

  private takeNext(queues: readonly string[]): JobRecord | undefined {
    const now = this.clock.now();
    for (const name of queues) {
      const q = this.queues.get(name);
      if (!q || q.paused) continue;
      for (;;) {
        const rec = q.ready.shift();
        if (!rec) break;
        rec.ready = false;
        if (rec.job.expiresAt && rec.job.expiresAt.getTime() <= now) {
          this.expire(rec, now);
          continue;
        }
        return rec;
      }
    }
    return undefined;
  }

  private expire(rec: JobRecord, now: number): void {
    rec.job.state = "discarded";
    rec.job.completedAt = new Date(now);
    rec.version++;
    this.emit("job.expired", rec);
    this.finish(rec);
  }

  private claim(rec: JobRecord, workerId: string | undefined, visibilityMs: number | undefined, consumer: Consumer | undefined): void {
    const now = this.clock.now();
    rec.job.state = "active";
    rec.job.attempt++;
    rec.job.startedAt = new Date(now);
    rec.workerId = workerId;
    rec.consumer = consumer;
    if (consumer) consumer.credit--;
    rec.leaseDeadline = now + (visibilityMs ?? this.defaultVisibilityMs);
    rec.version++;
    this.leases.push(rec.leaseDeadline, { rec, version: rec.version });
    this.armTimer();
    this.emit("job.started", rec, { attempt: rec.job.attempt, worker_id: workerId ?? "" });
  }

  private activeJob(id: string, verb: string, workerId: string | undefined): JobRecord {
    const rec = this.get(id);
    if (rec.job.state !== "active")
      throw new ConflictError(`cannot ${verb} job ${id}: it is ${rec.job.state}, not active`, { jobId: id, details: { state: rec.job.state } });
    if (workerId && rec.workerId && workerId !== rec.workerId)
      throw new ConflictError(`cannot ${verb} job ${id}: it is reserved by another worker`, { jobId: id });
    return rec;
  }

  /** Ends the job's lease and returns its consumer's credit. */
  private releaseLease(rec: JobRecord): void {
    const c = rec.consumer;
    rec.consumer = undefined;
    rec.leaseDeadline = 0;
    if (c && !c.closed) {
      c.credit++;
      // Refill the stream straight away: this is what keeps a streaming worker busy.
      queueMicrotask(() => {
        if (!this.closed) this.pump(c);
      });
    }
  }

  private finish(rec: JobRecord): void {
    this.finished.push(rec.id);
    while (this.finished.length - this.finishedHead > this.maxFinished) {
      const old = this.finished[this.finishedHead];
      this.finished[this.finishedHead++] = "";
      const r = old ? this.jobs.get(old) : undefined;
      if (r && TERMINAL_STATES.has(r.job.state)) this.jobs.delete(old!);
    }
    if (this.finishedHead > 4096 && this.finishedHead * 2 > this.finished.length) {
      this.finished = this.finished.slice(this.finishedHead);
      this.finishedHead = 0;
    }
  }

  private pushDue(rec: JobRecord, at: number): void {
    this.due.push(at, { rec, version: rec.version });
    this.armTimer();
  }

  /**
   * Applies everything that time has made due: scheduled and retryable jobs
   * become available, expired leases are reclaimed. Called on every operation
   * and from the timer, so the state is right whenever anyone looks.
   */
  tick(): void {
    if (this.closed) return;
    const now = this.clock.now();
    while (this.due.size && this.due.peekKey()! <= now) {
      const { rec, version } = this.due.pop()!;
      if (rec.version !== version || (rec.job.state !== "scheduled" && rec.job.state !== "retryable")) continue;
      this.makeAvailable(rec);
    }
    while (this.leases.size && this.leases.peekKey()! <= now) {
      const { rec, version } = this.leases.pop()!;
      if (rec.version !== version || rec.job.state !== "active") continue;
      this.reclaim(rec, now);
    }
  }

  /** A lease ran out: the attempt counts as failed with a visibility_timeout error. */
  private reclaim(rec: JobRecord, now: number): void {
    this.releaseLease(rec);
    rec.job.errors.push({
      code: "visibility_timeout",
      message: "the worker did not settle the job before its visibility timeout",
      retryable: true,
      attempt: rec.job.attempt,
      occurredAt: new Date(now),
    });
    rec.workerId = undefined;
    if (rec.job.attempt >= rec.retry.maxAttempts) {
      this.discard(rec, now);
      return;
    }
    this.makeAvailable(rec);
  }

  private armTimer(): void {
    if (this.closed) return;
    const next = Math.min(this.due.peekKey() ?? Infinity, this.leases.peekKey() ?? Infinity);
    if (next === Infinity || next >= this.timerAt) return;
    this.timer?.cancel();
    this.timerAt = next;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.tick();
      this.armTimer();
    }, next - this.clock.now());
  }

  private emit(type: string, rec: JobRecord, data: JsonObject = {}): void {
    const e: OjsEvent = {
      id: `evt_${uuidv7(this.clock.now())}`,
      type,
      time: new Date(this.clock.now()),
      jobId: rec.id,
      jobType: rec.job.type,
      queue: rec.job.queue,
      data: { job_id: rec.id, job_type: rec.job.type, queue: rec.job.queue, ...data },
    };
    if (rec.job.workflowId) e.workflowId = rec.job.workflowId;
    const traceId = rec.job.meta["trace_id"];
    if (typeof traceId === "string") e.data["trace_id"] = traceId;
    this.events.publish(e);
  }

  /** Stops timers; the store must not be used afterwards. */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    for (const set of this.consumersByQueue.values()) for (const c of set) c.closed = true;
    this.consumersByQueue.clear();
  }

  /** Drops every job, queue and worker (test helper behind reset()). */
  reset(): void {
    this.jobs.clear();
    this.queues.clear();
    this.due.clear();
    this.leases.clear();
    this.finished = [];
    this.finishedHead = 0;
    this.workers.clear();
    this.events.clear();
  }

  /** Counts by state, for stats and tests. */
  countByState(queue?: string): Record<JobState, number> {
    const out: Record<JobState, number> = {
      scheduled: 0,
      available: 0,
      pending: 0,
      active: 0,
      completed: 0,
      retryable: 0,
      cancelled: 0,
      discarded: 0,
    };
    for (const r of this.jobs.values()) if (!queue || r.job.queue === queue) out[r.job.state]++;
    return out;
  }
}
