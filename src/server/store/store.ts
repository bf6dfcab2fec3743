/**
 * The embedded server's state machine: every job, queue, lease, worker and the
 * dead-letter set live here. No I/O: adapters (HTTP, gRPC) translate requests
 * into these calls, and time comes from an injected Clock so tests can drive it.
 * Errors are thrown as the SDK's OjsError classes; adapters map them to wire
 * statuses through the one error table.
 *
 * Cost model: enqueue, fetch, ack, nack and a StreamJobs push are O(log n) at
 * worst (a heap push for timers); queue statistics read maintained counters.
 * Memory is bounded: finished jobs, dead letters, workers, queues, events and
 * workflows each have a cap or a retention policy.
 */
import { ConflictError, DuplicateJobError, NotFoundError, OjsError, ValidationError } from "../../model/errors.js";
import type { EventFilter, OjsEvent } from "../../model/events.js";
import { TERMINAL_STATES, type Job, type JobError, type JobState, type NormalizedJobRequest } from "../../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import type { WorkerDirective } from "../../model/system.js";
import { uuidv7 } from "../../model/uuid.js";
import type { RateLimitPolicy } from "../../model/rate-limit.js";
import { putBack, RateLimits } from "./rate-limits.js";

/** Jobs a fetch passes over for their rate limit before it gives up on a queue (rate-limits.ts). */
const MAX_PASSED_OVER = 1000;
import { isNonRetryable, mergeRetry, retryDelayMs, type EffectiveRetry } from "./backoff.js";
import { systemClock, type Clock } from "./clock.js";
import { EventBus } from "./event-bus.js";
import { MinHeap } from "./heap.js";
import { InFlight, type InFlightLimits } from "./in-flight.js";
import { depthOf, isIdle, newQueue, RateWindow, zeroCounts, type Backpressure, type MinuteCounts, type QueueRecord, type StateCounts } from "./queue.js";
import { IllegalTransitionError, TRANSITIONS } from "./transitions.js";
import { blocks, uniqueKey } from "./unique.js";
import { WorkflowEngine } from "./workflows.js";
import type { ChangeSink, RestoredJob } from "./changes.js";
import { Checkpoints } from "./checkpoints.js";
import { keepForOf, Retention, type QueueRetention } from "./retention.js";

export interface StoreOptions {
  clock?: Clock;
  /** Reservation length of a fetched job when neither the job nor the worker says; default 30 000 ms. */
  visibilityTimeoutMs?: number;
  /** How many finished (completed, cancelled, discarded) jobs stay readable; oldest go first. Default 100 000. */
  maxFinishedJobs?: number;
  /** Dead-letter capacity; the oldest dead job is dropped beyond it. Default 10 000. */
  maxDeadLetter?: number;
  /** Finished workflows kept readable. Default 10 000. */
  maxWorkflows?: number;
  /** Recent events kept for GET /events and SSE resume. Default 1 000. */
  eventBufferSize?: number;
  /** Random source for jitter; injectable for deterministic tests. */
  random?: () => number;
  /**
   * Test hook of the official conformance cases (docs/conformance.md): a job
   * whose meta.test_directive is "quiet" or "terminate" directs the worker that
   * fetches it. Off unless a test harness turns it on.
   */
  conformanceHooks?: boolean;
  /** Caps on jobs in flight per stream and per worker, and free reclaims of unstarted jobs (./in-flight.ts). */
  inFlight?: Partial<InFlightLimits>;
  /** Told when a job starts and stops holding memory as unfinished work (the queued-bytes limit). */
  accounting?: JobAccounting;
}

/** See src/server/queued-bytes.ts. */
export interface JobAccounting {
  enter(rec: JobRecord): void;
  leave(rec: JobRecord): void;
  clear(): void;
}

export interface Progress {
  value: number | undefined;
  message: string | undefined;
  data: JsonObject | undefined;
  updatedAt: Date;
}

/** A job plus the store's bookkeeping. `job` is the domain view and is what adapters encode. */
export interface JobRecord {
  readonly id: string;
  job: Job;
  /** Unknown top-level JSON fields, echoed back over HTTP. */
  extra: JsonObject | undefined;
  retry: EffectiveRetry;
  /** True while the job sits in its queue's ready list. */
  ready: boolean;
  /** Bumped on every state change so that stale timer entries are ignored. */
  version: number;
  /** Bumped whenever the lease changes (claim, extension, release). */
  lease: number;
  leaseDeadline: number;
  /** Bumped on every claim, so that an execution-timeout entry belongs to one attempt. */
  claim: number;
  workerId: string | undefined;
  consumer: Consumer | undefined;
  /** The worker id counted as holding the job (./in-flight.ts), until its lease ends. */
  heldBy: string | undefined;
  /**
   * Whether the holder is known to have started the job: a job handed out by
   * Fetch is; a pushed one is once its worker says so (a start call on the fast
   * path, a heartbeat, progress). See reclaim().
   */
  started: boolean;
  /** Leases of this job that ran out unstarted and cost no attempt. */
  freeReclaims: number;
  uniqueKey: string | undefined;
  deadLetter: boolean;
  finishSeq: number;
  progress: Progress | undefined;
  /** Conformance hook: direct the worker that claims this job (see docs/conformance.md). */
  directiveOnClaim: WorkerDirective | undefined;
  workflowStep: string | undefined;
  /** What the job counts against the queued-bytes limit while unfinished; 0 when it does not. */
  queuedBytes: number;
}

/** A StreamJobs subscriber: receives jobs pushed by the store, at most `credit` unsettled. */
export interface Consumer {
  readonly queues: readonly string[];
  readonly workerId: string;
  /** How many more jobs may be pushed before some are settled. */
  credit: number;
  readonly visibilityTimeoutMs: number | undefined;
  readonly deliver: (rec: JobRecord) => void;
  /** Ends the stream from the server's side: its jobs went unacknowledged past their lease, or a newer stream replaced it. */
  readonly onStale: ((reason: "lease" | "superseded") => void) | undefined;
  closed: boolean;
}

export interface SubmitOptions {
  /** Unknown top-level JSON fields, echoed back over HTTP. */
  extra?: JsonObject;
}

export interface SubmitResult {
  rec: JobRecord;
  /** True when a unique policy with on_conflict "ignore" returned an existing job instead. */
  deduplicated: boolean;
}

export interface FetchRequest {
  queues: readonly string[];
  count?: number;
  workerId?: string;
  visibilityTimeoutMs?: number;
}

export interface NackOptions {
  /** Hand the job back untouched (a worker shutting down), without using an attempt. */
  requeue?: boolean;
  /** Handler response code (RET §7): overrides the retry policy. */
  response?: "RETRY" | "DISCARD" | "DEAD_LETTER" | "FAIL";
}

export interface HeartbeatRequest {
  workerId: string;
  /** What the worker says it is doing: running, quiet, terminate, or drain. */
  state?: string;
  jobIds: readonly string[];
  visibilityTimeoutMs?: number;
}

export interface HeartbeatOutcome {
  directive: WorkerDirective;
  extended: string[];
  /** Listed jobs this worker does not hold (unknown, finished, or leased to another worker). */
  lost: string[];
  deadline: number;
}

export interface WorkerInfo {
  id: string;
  /** The state the worker last reported. */
  state: string;
  /** What the operator told it to do. */
  directive: WorkerDirective;
  firstSeen: number;
  lastSeen: number;
  activeJobIds: string[];
  /** It sends start signals of its own (fast path), so its heartbeats only extend leases. */
  reportsStarts?: boolean;
}

export interface QueueConfig {
  paused?: boolean;
  /** Deliveries per second across all workers; 0 removes the limit. */
  rateLimitPerSecond?: number;
  /** null removes the bound. */
  backpressure?: Backpressure | null;
  /** Finished jobs kept by count and age (./retention.ts); null removes the rule. */
  retention?: QueueRetention | null;
}

export interface QueueSummary {
  name: string;
  paused: boolean;
  createdAt: Date;
  counts: StateCounts;
  dead: number;
  depth: number;
  backpressure: Backpressure | undefined;
  rateLimitPerSecond: number | undefined;
  lastHour: ReturnType<QueueRecord<JobRecord>["stats"]["lastHour"]>;
}

/** QUEUE_FULL of the backpressure extension: 429 with the depth and bound in details. */
export class QueueFullError extends OjsError {
  override name = "QueueFullError";
  readonly retryAfterMs: number;
  constructor(message: string, readonly depth: number, readonly bound: number) {
    super(message, { code: "queue_full", retryable: true, details: { depth, bound } });
    this.retryAfterMs = 1000;
  }
}

type TimerEntry =
  | { kind: "due"; rec: JobRecord; version: number }
  | { kind: "lease"; rec: JobRecord; lease: number }
  | { kind: "timeout"; rec: JobRecord; claim: number }
  | { kind: "expire"; rec: JobRecord; version: number }
  | { kind: "wake"; queue: string };

/**
 * The effective policy as both bindings can carry it: proto3 cannot tell [] from
 * absent, and the backoff_strategy extension has no proto field, so neither is shown.
 */
function shownRetry(retry: EffectiveRetry): NonNullable<Job["retry"]> {
  const { nonRetryableErrors, backoffStrategy: _strategy, ...shown } = retry;
  const out: NonNullable<Job["retry"]> = { ...shown };
  if (nonRetryableErrors.length) out.nonRetryableErrors = nonRetryableErrors;
  return out;
}

export const DEFAULT_EFFECTIVE_RETRY: EffectiveRetry = Object.freeze(mergeRetry(undefined));
export const DEFAULT_SHOWN_RETRY = Object.freeze(shownRetry(DEFAULT_EFFECTIVE_RETRY));

const DEFAULT_QUEUE = "default";
const MAX_WORKERS = 10_000;
const MAX_QUEUES = 10_000;
const MAX_FETCH = 1000;
const MAX_ACTIVE_IDS = 1000;
const WAITING: ReadonlySet<JobState> = new Set(["scheduled", "available", "retryable", "pending"]);

export class Store {
  readonly clock: Clock;
  readonly events: EventBus;
  readonly rateLimits: RateLimits;
  /** The durable-execution extension's checkpoints (./checkpoints.ts); dropped with their job. */
  readonly checkpoints: Checkpoints;
  /** Finished jobs kept per queue by count and age (./retention.ts). */
  readonly retention: Retention;
  readonly defaultVisibilityMs: number;
  readonly workflows: WorkflowEngine;
  readonly inFlight: InFlight<Consumer>;
  private readonly maxFinished: number;
  private readonly maxDeadLetter: number;
  private readonly random: () => number;
  private readonly hooks: boolean;
  private readonly accounting: JobAccounting | undefined;

  private jobs = new Map<string, JobRecord>();
  private queues = new Map<string, QueueRecord<JobRecord>>();
  private timers = new MinHeap<TimerEntry>();
  private timersAfterCompaction = 0;
  /** Finished jobs, oldest first, for retention; an entry counts only while its seq matches the job's. */
  private finished: Array<{ id: string; seq: number } | undefined> = [];
  private finishedHead = 0;
  private finishSeq = 0;
  private deadLetter = new Map<string, JobRecord>();
  private uniqueIndex = new Map<string, string>();
  private consumersByQueue = new Map<string, Set<Consumer>>();
  private pendingDispatch = new Set<string>();
  private workers = new Map<string, WorkerInfo>();
  private timer: { cancel(): void } | undefined;
  private timerAt = Infinity;
  private closed = false;
  /** Where state changes are reported (the durable journal); none for the memory store. */
  changes: ChangeSink | undefined;

  constructor(opts: StoreOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.defaultVisibilityMs = opts.visibilityTimeoutMs ?? 30_000;
    this.maxFinished = opts.maxFinishedJobs ?? 100_000;
    this.maxDeadLetter = opts.maxDeadLetter ?? 10_000;
    this.random = opts.random ?? Math.random;
    this.hooks = opts.conformanceHooks ?? false;
    this.accounting = opts.accounting;
    this.inFlight = new InFlight(opts.inFlight);
    this.events = new EventBus(opts.eventBufferSize ?? 1000);
    this.rateLimits = new RateLimits({
      now: () => this.clock.now(),
      wake: (queue) => this.scheduleDispatch(queue),
      publish: (type, data, jobId) => this.events.publish({ id: `evt_${uuidv7(this.clock.now())}`, type, time: new Date(this.clock.now()), ...(jobId ? { jobId } : {}), data }),
    });
    this.checkpoints = new Checkpoints({ now: () => this.clock.now(), jobState: (id) => this.get(id).job.state, changed: (id) => this.changes?.checkpoint(id) });
    this.retention = new Retention({
      clock: this.clock,
      maxEntries: this.maxFinished,
      live: (id, seq) => this.jobs.get(id)?.finishSeq === seq,
      remove: (id, seq) => this.dropFinished(id, seq),
      finishedOf: (q) => this.finishedOf(q),
    });
    this.workflows = new WorkflowEngine(
      {
        now: () => this.clock.now(),
        enqueueSteps: (items) => this.enqueueSteps(items),
        cancelJob: (id) => {
          const rec = this.jobs.get(id);
          if (rec && !TERMINAL_STATES.has(rec.job.state) && rec.job.state !== "active") this.cancel(id);
        },
        job: (id) => this.jobs.get(id)?.job,
        emit: (type, workflowId, data) => this.emitRaw({ type, workflowId, data }),
        changed: (workflowId) => this.changes?.workflow(workflowId),
      },
      opts.maxWorkflows ?? 10_000,
    );
  }

  // --- producing -------------------------------------------------------------

  enqueue(req: NormalizedJobRequest, extra?: JsonObject): JobRecord {
    return this.submit(req, extra ? { extra } : {}).rec;
  }

  /** Enqueue with the unique-policy outcome and the adapters' extras. */
  submit(req: NormalizedJobRequest, opts: SubmitOptions = {}): SubmitResult {
    this.tick();
    const rec = this.build(req, opts);
    this.checkCapacity(rec.job.queue, 1);
    if (req.rateLimit) this.rateLimits.check(req.rateLimit);
    const u = this.resolveUnique(rec, new Set());
    if (u?.kind === "ignore") return { rec: u.existing, deduplicated: true };
    if (u?.kind === "replace") this.replaceExisting(u.existing, rec);
    this.insert(rec, req.rateLimit);
    return { rec, deduplicated: false };
  }

  /**
   * All or nothing: every entry is built (and so validated), checked against
   * depth bounds and unique policies before any is stored. A unique "ignore"
   * inside a batch yields the existing job in that position.
   */
  enqueueBatch(reqs: ReadonlyArray<{ req: NormalizedJobRequest; extra?: JsonObject }>): JobRecord[] {
    this.tick();
    return this.insertAll(reqs.map(({ req, extra }) => ({ req, opts: extra ? { extra } : {} })));
  }

  private insertAll(items: ReadonlyArray<{ req: NormalizedJobRequest; opts: SubmitOptions; workflowId?: string; stepId?: string; parentResults?: JsonObject }>): JobRecord[] {
    const ids = new Set<string>();
    const recs = items.map(({ req, opts, workflowId, stepId, parentResults }, i) => {
      try {
        const rec = this.build(req, opts);
        if (ids.has(rec.id)) throw new DuplicateJobError(`id ${rec.id} appears twice in the batch`, { jobId: rec.id });
        ids.add(rec.id);
        if (workflowId) rec.job.workflowId = workflowId;
        if (stepId !== undefined) rec.workflowStep = stepId;
        if (parentResults) rec.job.parentResults = parentResults;
        return rec;
      } catch (e) {
        if (e instanceof Error && items.length > 1) e.message = `jobs[${i}]: ${e.message}`;
        throw e;
      }
    });
    const perQueue = new Map<string, number>();
    for (const r of recs) perQueue.set(r.job.queue, (perQueue.get(r.job.queue) ?? 0) + 1);
    for (const [q, n] of perQueue) this.checkCapacity(q, n);
    for (const { req } of items) if (req.rateLimit) this.rateLimits.check(req.rateLimit);
    // Unique conflicts are decided before anything is stored, keys within the batch included.
    const batchKeys = new Set<string>();
    const outcome = recs.map((r) => this.resolveUnique(r, batchKeys));
    return recs.map((r, i) => {
      const u = outcome[i];
      if (u?.kind === "ignore") return u.existing;
      if (u?.kind === "replace") this.replaceExisting(u.existing, r);
      this.insert(r, items[i]!.req.rateLimit);
      return r;
    });
  }

  private build(req: NormalizedJobRequest, opts: SubmitOptions): JobRecord {
    const now = this.clock.now();
    const id = req.id ?? uuidv7(now);
    if (this.jobs.has(id)) throw new DuplicateJobError(`a job with id ${id} already exists`, { jobId: id, details: { existing_job_id: id } });
    // Most jobs carry no policy of their own: they share one frozen default instead of two fresh objects each.
    const retry = req.retry ? mergeRetry(req.retry) : DEFAULT_EFFECTIVE_RETRY;
    const jobRetry = req.retry ? shownRetry(retry) : DEFAULT_SHOWN_RETRY;
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
      retry: jobRetry,
      errors: [],
      createdAt: created,
      enqueuedAt: created,
      tags: req.tags ?? [],
      specversion: "1.0",
    };
    if (req.unique) {
      checkUniquePolicy(req.unique, req.args);
      job.unique = req.unique;
    }
    if (req.timeout !== undefined) job.timeout = req.timeout;
    if (req.visibilityTimeout !== undefined) job.visibilityTimeout = req.visibilityTimeout;
    if (req.expiresAt) job.expiresAt = req.expiresAt;
    if (req.scheduledAt) {
      job.scheduledAt = req.scheduledAt;
      if (req.scheduledAt.getTime() > now) job.state = "scheduled";
    }
    const rec: JobRecord = {
      id,
      job,
      extra: opts.extra && Object.keys(opts.extra).length ? opts.extra : undefined,
      retry,
      ready: false,
      version: 0,
      lease: 0,
      leaseDeadline: 0,
      claim: 0,
      workerId: undefined,
      consumer: undefined,
      heldBy: undefined,
      started: false,
      freeReclaims: 0,
      uniqueKey: req.unique ? uniqueKey(job, req.unique) : undefined,
      deadLetter: false,
      finishSeq: 0,
      progress: undefined,
      directiveOnClaim: this.hooks && isWorkerDirective(job.meta["test_directive"]) ? job.meta["test_directive"] : undefined,
      workflowStep: undefined,
      queuedBytes: 0,
    };
    return rec;
  }

  /** Backpressure (extension): a queue with a depth bound refuses jobs beyond it. */
  private checkCapacity(queue: string, adding: number): void {
    const q = this.queues.get(queue);
    const bp = q?.backpressure;
    if (!q || !bp) return;
    const depth = depthOf(q);
    if (depth + adding > bp.maxDepth)
      throw new QueueFullError(`queue ${queue} is full: depth ${depth} of ${bp.maxDepth}`, depth, bp.maxDepth);
  }

  /**
   * Decides the job's unique policy (UQ §5) without changing anything: "reject"
   * throws, "ignore" and "replace" name the existing job, so that a batch that
   * fails later has cancelled nothing.
   */
  private resolveUnique(rec: JobRecord, batchKeys: Set<string>): { kind: "ignore" | "replace"; existing: JobRecord } | undefined {
    const key = rec.uniqueKey;
    const policy = rec.job.unique;
    if (!key || !policy) return undefined;
    if (batchKeys.has(key)) throw new DuplicateJobError(`two jobs of the batch have the same unique key`, { details: { uniqueness_key: key } });
    batchKeys.add(key);
    const existingId = this.uniqueIndex.get(key);
    const existing = existingId ? this.jobs.get(existingId) : undefined;
    if (!existing || !blocks({ state: existing.job.state, createdAt: existing.job.createdAt!.getTime() }, policy, this.clock.now())) return undefined;
    switch (policy.onConflict ?? "reject") {
      case "ignore":
        return { kind: "ignore", existing };
      case "replace":
      case "replace_except_schedule":
        return { kind: "replace", existing };
      case "reject":
        throw new DuplicateJobError(`a job with the same unique key already exists (${existing.id}, ${existing.job.state})`, {
          jobId: existing.id,
          details: { existing_job_id: existing.id, existing_job_state: existing.job.state, uniqueness_key: key },
        });
    }
  }

  private replaceExisting(old: JobRecord, rec: JobRecord): void {
    if (TERMINAL_STATES.has(old.job.state)) return;
    if (rec.job.unique?.onConflict === "replace_except_schedule" && old.job.scheduledAt) {
      rec.job.scheduledAt = old.job.scheduledAt;
      rec.job.state = old.job.scheduledAt.getTime() > this.clock.now() ? "scheduled" : "available";
    }
    this.cancel(old.id);
  }

  private insert(rec: JobRecord, rateLimit?: RateLimitPolicy): void {
    // Bound to its key before it can be fetched, so that no fetch can pass the limit.
    if (rateLimit) this.rateLimits.assign(rec.id, rec.job.queue, rateLimit);
    this.jobs.set(rec.id, rec);
    this.accounting?.enter(rec);
    this.changes?.job(rec.id);
    const q = this.queue(rec.job.queue);
    q.counts[rec.job.state]++;
    if (rec.uniqueKey) this.uniqueIndex.set(rec.uniqueKey, rec.id);
    this.emit("job.enqueued", rec);
    if (rec.job.expiresAt) this.pushTimer(rec.job.expiresAt.getTime(), { kind: "expire", rec, version: -1 });
    if (rec.job.state === "scheduled") {
      this.emit("job.scheduled", rec, { scheduled_at: rec.job.scheduledAt!.toISOString() });
      this.pushTimer(rec.job.scheduledAt!.getTime(), { kind: "due", rec, version: rec.version });
    } else {
      this.enterReady(rec, q);
    }
  }

  /** Root or newly runnable workflow steps, as one atomic batch. */
  private enqueueSteps(items: ReadonlyArray<{ req: NormalizedJobRequest; workflowId: string; stepId: string; parentResults?: JsonObject }>): JobRecord[] {
    return this.insertAll(items.map((i) => ({ ...i, opts: {} })));
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
    this.setState(rec, "cancelled");
    rec.job.cancelledAt = new Date(this.clock.now());
    this.emit("job.cancelled", rec);
    this.finish(rec);
    return rec;
  }

  // --- working -----------------------------------------------------------------

  fetch(req: FetchRequest): JobRecord[] {
    this.tick();
    if (req.workerId) {
      const w = this.touchWorker(req.workerId);
      // A worker told (or saying) to stop fetching gets nothing new (WP §6.6, graceful shutdown).
      if (!fetchAllowed(w)) return [];
    }
    let count = Math.max(1, Math.min(req.count ?? 1, MAX_FETCH));
    if (req.workerId) count = Math.min(count, this.inFlight.room(req.workerId));
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
    const now = this.clock.now();
    this.setState(rec, "completed");
    rec.job.completedAt = new Date(now);
    if (result !== undefined) rec.job.result = result;
    const duration = rec.job.startedAt ? now - rec.job.startedAt.getTime() : 0;
    this.queue(rec.job.queue).stats.complete(now, duration);
    this.emit("job.completed", rec, { attempt: rec.job.attempt, duration_ms: duration, ...(result !== undefined ? { result } : {}) });
    this.finish(rec);
    return rec;
  }

  /**
   * A failed attempt. The retry policy decides: retryable with a backoff, or
   * exhausted (discarded, into the dead-letter set when on_exhaustion says so).
   */
  nack(id: string, error: JobError, workerId?: string, opts: NackOptions = {}): JobRecord {
    const rec = this.activeJob(id, "fail", workerId);
    if (opts.requeue) {
      this.release(rec);
      this.emit("job.requeued", rec, { reason: error.message });
      return rec;
    }
    this.releaseLease(rec);
    this.failAttempt(rec, error, opts.response);
    return rec;
  }

  private failAttempt(rec: JobRecord, error: JobError, response?: NackOptions["response"]): void {
    const now = this.clock.now();
    const err: JobError = { ...error, attempt: rec.job.attempt, occurredAt: new Date(now) };
    if (err.retryable === undefined) err.retryable = true;
    rec.job.errors.push(err);
    this.queue(rec.job.queue).stats.fail(now);
    this.emit("job.failed", rec, { attempt: rec.job.attempt, error: { code: err.code, message: err.message } });
    const p = rec.retry;
    const exhausted = rec.job.attempt >= p.maxAttempts;
    if (response === "DISCARD" || response === "FAIL") return this.discard(rec, now, false);
    if (response === "DEAD_LETTER") return this.discard(rec, now, true);
    if (response !== "RETRY" && (err.retryable === false || isNonRetryable(err.code, p.nonRetryableErrors) || exhausted))
      return this.discard(rec, now, p.onExhaustion === "dead_letter");
    if (response === "RETRY" && exhausted) return this.discard(rec, now, p.onExhaustion === "dead_letter");
    const delay = retryDelayMs(p, rec.job.attempt, this.random);
    this.setState(rec, "retryable");
    rec.job.scheduledAt = new Date(now + delay);
    rec.job.retryDelayMs = delay;
    this.emit("job.retrying", rec, { attempt: rec.job.attempt, delay_ms: delay, next_attempt_at: rec.job.scheduledAt.toISOString() });
    this.pushTimer(now + delay, { kind: "due", rec, version: rec.version });
  }

  private discard(rec: JobRecord, now: number, deadLetter: boolean): void {
    this.setState(rec, "discarded");
    rec.job.completedAt = new Date(now);
    this.emit("job.discarded", rec, { attempt: rec.job.attempt });
    if (deadLetter) this.addDeadLetter(rec);
    this.finish(rec);
  }

  /**
   * Extends the leases of the listed jobs this worker holds, records the worker,
   * and answers with the directive the worker should follow.
   */
  heartbeat(req: HeartbeatRequest): HeartbeatOutcome {
    this.tick();
    const now = this.clock.now();
    const w = this.touchWorker(req.workerId);
    const wasAllowed = fetchAllowed(w);
    if (req.state) w.state = normalizeWorkerState(req.state);
    if (!wasAllowed && fetchAllowed(w)) this.wakeConsumersOf(w.id);
    w.activeJobIds = req.jobIds.slice(0, MAX_ACTIVE_IDS);
    const extended: string[] = [];
    const lost: string[] = [];
    let deadline = 0;
    for (const id of req.jobIds) {
      const rec = this.jobs.get(id);
      if (!rec || rec.job.state !== "active" || (rec.workerId && rec.workerId !== req.workerId)) {
        lost.push(id);
        continue;
      }
      // Over the standard methods a heartbeat is the only sign of life per job: it counts as started.
      if (!w.reportsStarts) rec.started = true;
      const ms = req.visibilityTimeoutMs ?? rec.job.visibilityTimeout ?? this.defaultVisibilityMs;
      rec.leaseDeadline = now + ms;
      rec.lease++;
      this.changes?.job(rec.id);
      this.pushTimer(rec.leaseDeadline, { kind: "lease", rec, lease: rec.lease });
      deadline = Math.max(deadline, rec.leaseDeadline);
      extended.push(id);
    }
    return { directive: directiveFor(w), extended, lost, deadline };
  }

  /**
   * The worker began running these jobs (the fast path's start call): from now
   * on a lease that runs out costs the attempt. Returns the ids it does not hold.
   */
  markStarted(jobIds: readonly string[], workerId: string): string[] {
    const w = this.touchWorker(workerId);
    w.reportsStarts = true;
    const lost: string[] = [];
    for (const id of jobIds) {
      const rec = this.jobs.get(id);
      if (!rec || rec.job.state !== "active" || (rec.workerId && rec.workerId !== workerId)) lost.push(id);
      else rec.started = true;
    }
    return lost;
  }

  /** Operator control: tell a worker (through its next heartbeat) to go quiet, terminate, or run. */
  directWorker(workerId: string, directive: WorkerDirective): WorkerInfo {
    const w = this.touchWorker(workerId, false);
    const wasAllowed = fetchAllowed(w);
    w.directive = directive;
    if (!wasAllowed && fetchAllowed(w)) this.wakeConsumersOf(workerId);
    this.emitRaw({ type: `worker.${directive === "running" ? "resumed" : directive}`, data: { worker_id: workerId } });
    return w;
  }

  /** A worker may take jobs again: its push streams were skipped while it could not, so refill them. */
  private wakeConsumersOf(workerId: string): void {
    for (const c of this.inFlight.streamsOf(workerId)) queueMicrotask(() => {
      if (!this.closed) this.pump(c);
    });
  }

  getWorker(workerId: string): WorkerInfo {
    const w = this.workers.get(workerId);
    if (!w) throw new NotFoundError(`worker ${workerId} not found`);
    return w;
  }

  listWorkers(): WorkerInfo[] {
    return [...this.workers.values()];
  }

  removeWorker(workerId: string): void {
    if (!this.workers.delete(workerId)) throw new NotFoundError(`worker ${workerId} not found`);
  }

  private touchWorker(workerId: string, seen = true): WorkerInfo {
    const now = this.clock.now();
    let w = this.workers.get(workerId);
    if (!w) {
      if (this.workers.size >= MAX_WORKERS) this.evictStaleWorker();
      w = { id: workerId, state: "running", directive: "running", firstSeen: now, lastSeen: now, activeJobIds: [] };
      this.workers.set(workerId, w);
    }
    if (seen) w.lastSeen = now;
    return w;
  }

  private evictStaleWorker(): void {
    let oldest: WorkerInfo | undefined;
    for (const w of this.workers.values()) if (!oldest || w.lastSeen < oldest.lastSeen) oldest = w;
    if (oldest) this.workers.delete(oldest.id);
  }

  /**
   * Hands an active job back as if it had never been fetched: used when a push
   * stream closed before the job reached the worker, or when a worker requeues
   * a job on shutdown. The attempt is not counted.
   */
  release(rec: JobRecord): void {
    if (rec.job.state !== "active") return;
    this.releaseLease(rec);
    rec.job.attempt = Math.max(0, rec.job.attempt - 1);
    delete rec.job.startedAt;
    rec.workerId = undefined;
    this.enterReady(rec, this.queue(rec.job.queue));
  }

  // --- progress (extension) ----------------------------------------------------

  /** Progress of an active job (PRG): values are clamped to [0, 1], not refused. */
  reportProgress(id: string, update: { progress?: number; message?: string; data?: JsonObject }): Progress {
    const rec = this.get(id);
    if (rec.job.state !== "active")
      throw new ConflictError(`job ${id} is ${rec.job.state}; progress is reported for active jobs only`, { jobId: id, details: { state: rec.job.state } });
    rec.started = true;
    const prev = rec.progress;
    const value = update.progress === undefined ? prev?.value : Math.min(1, Math.max(0, update.progress));
    rec.progress = {
      value,
      message: update.message ?? prev?.message,
      data: update.data ?? prev?.data,
      updatedAt: new Date(this.clock.now()),
    };
    this.changes?.job(rec.id);
    const data: JsonObject = {};
    if (value !== undefined) data.progress = value;
    if (rec.progress.message !== undefined) data.message = rec.progress.message;
    this.emit("job.progress", rec, data);
    return rec.progress;
  }

  // --- streaming ---------------------------------------------------------------

  /**
   * Registers a push consumer. Jobs are claimed for it and handed to `deliver`
   * while it has credit; settling one of its jobs (ack, nack, lease expiry,
   * cancel) gives the credit back.
   */
  openConsumer(c: {
    queues: readonly string[];
    workerId: string;
    maxConcurrent: number;
    visibilityTimeoutMs?: number;
    deliver: (rec: JobRecord) => void;
    onStale?: (reason: "lease" | "superseded") => void;
  }): Consumer {
    const consumer: Consumer = {
      queues: [...c.queues],
      workerId: c.workerId,
      credit: this.inFlight.streamCredit(c.maxConcurrent),
      visibilityTimeoutMs: c.visibilityTimeoutMs,
      deliver: c.deliver,
      onStale: c.onStale,
      closed: false,
    };
    for (const old of this.inFlight.open(consumer)) this.closeStale(old, "superseded");
    for (const q of consumer.queues) {
      let set = this.consumersByQueue.get(q);
      if (!set) this.consumersByQueue.set(q, (set = new Set()));
      set.add(consumer);
    }
    this.touchWorker(c.workerId);
    this.tick();
    this.pump(consumer);
    return consumer;
  }

  /** Jobs already delivered stay active until settled or until their lease expires. */
  closeConsumer(consumer: Consumer): void {
    if (consumer.closed) return;
    consumer.closed = true;
    this.inFlight.close(consumer);
    for (const q of consumer.queues) {
      const set = this.consumersByQueue.get(q);
      set?.delete(consumer);
      if (set?.size === 0) this.consumersByQueue.delete(q);
    }
  }

  private pump(consumer: Consumer): void {
    if (consumer.closed) return;
    const w = this.workers.get(consumer.workerId);
    if (w && !fetchAllowed(w)) return;
    while (!consumer.closed && consumer.credit > 0 && this.inFlight.room(consumer.workerId) > 0) {
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
        if (c.closed || c.credit <= 0 || this.inFlight.room(c.workerId) <= 0) continue;
        const w = this.workers.get(c.workerId);
        if (w && !fetchAllowed(w)) continue;
        const rec = this.takeNext(c.queues);
        if (!rec) return;
        this.claim(rec, c.workerId, c.visibilityTimeoutMs ?? rec.job.visibilityTimeout, c);
        c.deliver(rec);
        progress = true;
        if (q.ready.size === 0) break;
      }
    }
  }

  /** Deferred: the operation that made the job available answers with the job as it then was, before a push consumer claims it. */
  private scheduleDispatch(queue: string): void {
    if (!this.consumersByQueue.has(queue) || this.pendingDispatch.has(queue)) return;
    this.pendingDispatch.add(queue);
    queueMicrotask(() => {
      this.pendingDispatch.delete(queue);
      if (!this.closed) this.dispatch(queue);
    });
  }

  // --- queues ------------------------------------------------------------------------

  pauseQueue(name: string): QueueSummary {
    const q = this.queue(name);
    if (!q.paused) {
      q.paused = true;
      this.changes?.queue(name);
      this.emitRaw({ type: "queue.paused", queue: name, data: { queue: name } });
    }
    return this.queueSummary(name);
  }

  resumeQueue(name: string): QueueSummary {
    const q = this.queue(name);
    if (q.paused) {
      q.paused = false;
      this.changes?.queue(name);
      this.emitRaw({ type: "queue.resumed", queue: name, data: { queue: name } });
      this.scheduleDispatch(name);
    }
    return this.queueSummary(name);
  }

  configureQueue(name: string, cfg: QueueConfig): QueueSummary {
    const q = this.queue(name);
    if (cfg.rateLimitPerSecond !== undefined) {
      const n = Math.floor(cfg.rateLimitPerSecond);
      if (!Number.isFinite(n) || n < 0 || n > 100_000)
        throw new ValidationError("rate_limit.max_per_second: must be an integer from 0 to 100000", { issues: [{ path: "rate_limit.max_per_second", message: "must be an integer from 0 to 100000" }] });
      if (!q.rateLimit || q.rateLimit.max !== n) q.rateLimit = n > 0 ? new RateWindow(n, 1000) : undefined;
    }
    if (cfg.backpressure !== undefined) {
      const bp = cfg.backpressure;
      if (bp && (!Number.isInteger(bp.maxDepth) || bp.maxDepth < 1))
        throw new ValidationError("backpressure.max_depth: must be a positive integer", { issues: [{ path: "backpressure.max_depth", message: "must be a positive integer" }] });
      q.backpressure = bp ?? undefined;
    }
    this.changes?.queue(name);
    if (cfg.retention !== undefined) this.retention.set(name, cfg.retention ?? undefined);
    if (cfg.paused === true) this.pauseQueue(name);
    if (cfg.paused === false) this.resumeQueue(name);
    return this.queueSummary(name);
  }

  /** Depth and bound of a queue with a depth bound; undefined (cheaply) for the others. */
  pressure(name: string): { depth: number; backpressure: Backpressure } | undefined {
    const q = this.queues.get(name);
    return q?.backpressure ? { depth: depthOf(q), backpressure: q.backpressure } : undefined;
  }

  /** Known queues in name order; a queue exists once something named it. */
  listQueues(): QueueSummary[] {
    return [...this.queues.keys()].sort().map((n) => this.queueSummary(n));
  }

  /** Statistics of one queue; an unknown queue reads as empty rather than missing. */
  queueSummary(name: string): QueueSummary {
    this.tick();
    const q = this.queues.get(name);
    const now = this.clock.now();
    if (!q) {
      return {
        name,
        paused: false,
        createdAt: new Date(now),
        counts: zeroCounts(),
        dead: 0,
        depth: 0,
        backpressure: undefined,
        rateLimitPerSecond: undefined,
        lastHour: { completed: 0, failed: 0, avgDurationMs: 0, avgWaitMs: 0, throughputPerSecond: 0 },
      };
    }
    return {
      name,
      paused: q.paused,
      createdAt: q.createdAt,
      counts: { ...q.counts },
      dead: q.dead,
      depth: depthOf(q),
      backpressure: q.backpressure,
      rateLimitPerSecond: q.rateLimit?.max,
      lastHour: q.stats.lastHour(now),
    };
  }

  // --- dead letter -----------------------------------------------------------------

  private addDeadLetter(rec: JobRecord): void {
    rec.deadLetter = true;
    this.deadLetter.set(rec.id, rec);
    this.queue(rec.job.queue).dead++;
    this.emit("job.dead_lettered", rec, { attempt: rec.job.attempt });
    while (this.deadLetter.size > this.maxDeadLetter) {
      const oldest = this.deadLetter.keys().next().value as string;
      this.drop(this.deadLetter.get(oldest)!);
    }
  }

  /** Dead jobs, oldest first; `queue` filters. */
  listDeadLetter(opts: { queue?: string; offset?: number; limit?: number } = {}): { jobs: JobRecord[]; total: number } {
    this.tick();
    const all: JobRecord[] = [];
    for (const r of this.deadLetter.values()) if (!opts.queue || r.job.queue === opts.queue) all.push(r);
    const offset = Math.max(0, opts.offset ?? 0);
    const limit = Math.max(1, Math.min(opts.limit ?? 50, 1000));
    return { jobs: all.slice(offset, offset + limit), total: all.length };
  }

  deadLetterCount(queue?: string): number {
    if (!queue) return this.deadLetter.size;
    return this.queues.get(queue)?.dead ?? 0;
  }

  /** Puts a dead job back on its queue with a fresh attempt budget; its error history stays. */
  retryDeadLetter(id: string): JobRecord {
    const rec = this.deadJob(id);
    this.deadLetter.delete(id);
    rec.deadLetter = false;
    this.queue(rec.job.queue).dead--;
    rec.job.attempt = 0;
    rec.finishSeq = 0;
    delete rec.job.completedAt;
    delete rec.job.startedAt;
    delete rec.job.retryDelayMs;
    this.accounting?.enter(rec);
    this.enterReady(rec, this.queue(rec.job.queue));
    this.emit("job.retried", rec);
    return rec;
  }

  /** Removes a dead job for good: it is no longer readable either. */
  deleteDeadLetter(id: string): void {
    this.drop(this.deadJob(id));
  }

  private deadJob(id: string): JobRecord {
    this.tick();
    const rec = this.deadLetter.get(id);
    if (!rec) throw new NotFoundError(`job ${id} is not in the dead-letter queue`, { jobId: id });
    return rec;
  }

  // --- internals -------------------------------------------------------------------

  private queue(name: string): QueueRecord<JobRecord> {
    let q = this.queues.get(name);
    if (!q) {
      if (this.queues.size >= MAX_QUEUES) this.evictIdleQueue();
      q = newQueue<JobRecord>(name, this.clock.now());
      this.queues.set(name, q);
    }
    return q;
  }

  private evictIdleQueue(): void {
    for (const [name, q] of this.queues) {
      if (isIdle(q) && !this.consumersByQueue.has(name)) {
        this.queues.delete(name);
        return;
      }
    }
  }

  /** The one place a job's state changes: legality, counters and the timer version move together. */
  private setState(rec: JobRecord, to: JobState): void {
    const from = rec.job.state;
    if (from === to) return;
    if (!TRANSITIONS[from].has(to)) throw new IllegalTransitionError(from, to);
    const q = this.queue(rec.job.queue);
    q.counts[from]--;
    q.counts[to]++;
    rec.job.state = to;
    rec.version++;
    this.changes?.job(rec.id);
    this.rateLimits.transition(rec.id, from, to);
  }

  private enterReady(rec: JobRecord, q: QueueRecord<JobRecord>): void {
    this.setState(rec, "available");
    rec.ready = true;
    q.ready.push(rec.job.priority, rec);
    if (!q.paused) this.scheduleDispatch(q.name);
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
      if (!q || q.paused || q.ready.size === 0) continue;
      if (q.rateLimit) {
        const wait = q.rateLimit.waitMs(now);
        if (wait > 0) {
          // Come back when the window reopens, so push consumers are not left waiting (one wake per window).
          if (this.consumersByQueue.has(name) && q.wakeAt <= now) {
            q.wakeAt = now + wait;
            this.pushTimer(q.wakeAt, { kind: "wake", queue: name });
          }
          continue;
        }
      }
      // Rate-limiting extension (RL §8.1): a job whose key is at its limit stays available and
      // the next one is tried; those passed over go back to the head in order. The scan is bounded.
      let held: JobRecord[] | undefined;
      let heldWait = Infinity;
      let found: JobRecord | undefined;
      for (;;) {
        const rec = q.ready.shift();
        if (!rec) break;
        rec.ready = false;
        if (rec.job.expiresAt && rec.job.expiresAt.getTime() <= now) {
          this.expire(rec);
          continue;
        }
        const wait = this.rateLimits.admit(rec.id, now);
        if (wait > 0) {
          heldWait = Math.min(heldWait, wait);
          if ((held ??= []).push(rec) < MAX_PASSED_OVER) continue;
          break;
        }
        found = rec;
        break;
      }
      if (held) {
        putBack(held, (r) => {
          r.ready = true;
          q.ready.unshift(r.job.priority, r);
        });
        // A window reopens at a known time: wake the queue's stream consumers then.
        if (heldWait < Infinity && this.consumersByQueue.has(name) && (q.wakeAt <= now || q.wakeAt > now + heldWait)) {
          q.wakeAt = now + heldWait;
          this.pushTimer(q.wakeAt, { kind: "wake", queue: name });
        }
      }
      if (found) {
        q.rateLimit?.record(now);
        return found;
      }
    }
    return undefined;
  }

  /** The job was not started before its expires_at: discarded, with no completed_at (it never ran to an end). */
  private expire(rec: JobRecord): void {
    this.leaveReady(rec);
    this.setState(rec, "discarded");
    this.emit("job.expired", rec);
    this.finish(rec);
  }

  private claim(rec: JobRecord, workerId: string | undefined, visibilityMs: number | undefined, consumer: Consumer | undefined): void {
    const now = this.clock.now();
    this.setState(rec, "active");
    rec.job.attempt++;
    rec.job.startedAt = new Date(now);
    rec.workerId = workerId;
    rec.consumer = consumer;
    rec.progress = undefined;
    // Fetch is the worker asking for what it runs now; a push is started once the worker says so.
    rec.started = consumer === undefined;
    if (workerId) {
      rec.heldBy = workerId;
      this.inFlight.take(workerId);
    }
    if (consumer) consumer.credit--;
    rec.leaseDeadline = now + (visibilityMs ?? this.defaultVisibilityMs);
    rec.lease++;
    rec.claim++;
    this.pushTimer(rec.leaseDeadline, { kind: "lease", rec, lease: rec.lease });
    if (rec.job.timeout !== undefined) this.pushTimer(now + rec.job.timeout, { kind: "timeout", rec, claim: rec.claim });
    const since = rec.job.scheduledAt && rec.job.scheduledAt.getTime() <= now ? rec.job.scheduledAt.getTime() : rec.job.enqueuedAt!.getTime();
    this.queue(rec.job.queue).stats.started(now, Math.max(0, now - since));
    if (rec.directiveOnClaim && workerId) this.directWorker(workerId, rec.directiveOnClaim);
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
    rec.lease++;
    if (rec.heldBy !== undefined) {
      const wasFull = this.inFlight.give(rec.heldBy);
      // The worker was at its cap: its streams were skipped, so refill them.
      if (wasFull) this.wakeConsumersOf(rec.heldBy);
      rec.heldBy = undefined;
    }
    if (c && !c.closed) {
      c.credit++;
      // Refill the stream straight away: this is what keeps a streaming worker busy.
      queueMicrotask(() => {
        if (!this.closed) this.pump(c);
      });
    }
  }

  /** A job reached a terminal state: retention, and the workflow it belongs to moves on. */
  private finish(rec: JobRecord): void {
    this.accounting?.leave(rec);
    rec.finishSeq = ++this.finishSeq;
    if (!rec.deadLetter) this.finished.push({ id: rec.id, seq: rec.finishSeq });
    if (!rec.deadLetter) this.retention.finished(rec.job.queue, rec.job.state, rec.id, rec.finishSeq, this.clock.now(), keepForOf(rec.job.meta, rec.job.state));
    this.evictFinished();
    if (rec.job.workflowId && rec.workflowStep !== undefined) this.workflows.onJobFinished(rec.job.workflowId, rec.workflowStep, rec.job);
  }

  private evictFinished(): void {
    while (this.finished.length - this.finishedHead > this.maxFinished) {
      const entry = this.finished[this.finishedHead];
      this.finished[this.finishedHead++] = undefined;
      const r = entry ? this.jobs.get(entry.id) : undefined;
      if (r && r.finishSeq === entry!.seq && !r.deadLetter && TERMINAL_STATES.has(r.job.state)) this.drop(r);
    }
    if (this.finishedHead > 4096 && this.finishedHead * 2 > this.finished.length) {
      this.finished = this.finished.slice(this.finishedHead);
      this.finishedHead = 0;
    }
  }

  /** Retention's removal: the job, if it is still the finished job it was (not retried, not dead-lettered since). */
  private dropFinished(id: string, seq: number): boolean {
    const r = this.jobs.get(id);
    if (!r || r.finishSeq !== seq || r.deadLetter || !TERMINAL_STATES.has(r.job.state)) return false;
    this.drop(r);
    return true;
  }

  private *finishedOf(queue: string): Iterable<{ id: string; seq: number; state: JobState; at: number }> {
    for (const r of this.jobs.values())
      if (r.job.queue === queue && !r.deadLetter && TERMINAL_STATES.has(r.job.state))
        yield { id: r.id, seq: r.finishSeq, state: r.job.state, at: (r.job.completedAt ?? r.job.cancelledAt ?? r.job.createdAt)?.getTime() ?? 0 };
  }

  /** Forgets a job entirely: its counters, its unique key and its dead-letter entry go with it. */
  private drop(rec: JobRecord): void {
    if (this.jobs.get(rec.id) !== rec) return;
    this.jobs.delete(rec.id);
    this.changes?.job(rec.id);
    this.leaveReady(rec);
    this.rateLimits.forget(rec.id);
    this.checkpoints.forget(rec.id);
    const q = this.queues.get(rec.job.queue);
    if (q) {
      q.counts[rec.job.state]--;
      if (rec.deadLetter) q.dead--;
    }
    if (rec.deadLetter) {
      this.deadLetter.delete(rec.id);
      rec.deadLetter = false;
    }
    if (rec.uniqueKey && this.uniqueIndex.get(rec.uniqueKey) === rec.id) this.uniqueIndex.delete(rec.uniqueKey);
    rec.version++;
  }

  private pushTimer(at: number, e: TimerEntry): void {
    this.timers.push(at, e);
    // Settled jobs leave their lease entries behind until those fall due; at a high rate with a
    // long visibility timeout that is a lot of dead weight, so drop it once it dominates.
    if (this.timers.size > this.timersAfterCompaction * 2 + 4096) {
      this.timers.retain((t) => this.timerLive(t));
      this.timersAfterCompaction = this.timers.size;
    }
    this.armTimer();
  }

  /** Whether a timer entry would still do something when it falls due (the same tests as tick()). */
  private timerLive(e: TimerEntry): boolean {
    if (e.kind === "wake") return true;
    const rec = e.rec;
    if (this.jobs.get(rec.id) !== rec) return false;
    switch (e.kind) {
      case "due":
        return rec.version === e.version && (rec.job.state === "scheduled" || rec.job.state === "retryable");
      case "lease":
        return rec.lease === e.lease && rec.job.state === "active";
      case "timeout":
        return rec.claim === e.claim && rec.job.state === "active";
      case "expire":
        return WAITING.has(rec.job.state);
    }
  }

  /**
   * Applies everything that time has made due: scheduled and retryable jobs
   * become available, leases and execution timeouts run out, unstarted jobs
   * expire, rate-limited queues reopen. Called on every operation and from the
   * timer, so the state is right whenever anyone looks.
   */
  tick(): void {
    if (this.closed) return;
    const now = this.clock.now();
    while (this.timers.size && this.timers.peekKey()! <= now) {
      const e = this.timers.pop()!;
      if (!this.timerLive(e)) continue;
      switch (e.kind) {
        case "due":
          this.enterReady(e.rec, this.queue(e.rec.job.queue));
          break;
        case "lease":
          this.reclaim(e.rec, now);
          break;
        case "timeout":
          this.timeOut(e.rec);
          break;
        case "expire":
          this.expire(e.rec);
          break;
        case "wake":
          this.scheduleDispatch(e.queue);
          break;
      }
    }
  }

  /**
   * A lease ran out (WP §5.5): the job goes back to available for another
   * worker, and the attempt counts as failed with a visibility_timeout error.
   * With no attempt left it is exhausted like any failed job.
   */
  private reclaim(rec: JobRecord, now: number): void {
    // A stream whose job went unacknowledged past its lease is dead or stuck: it gets no more.
    if (rec.consumer && !rec.consumer.closed) this.closeStale(rec.consumer, "lease");
    if (!this.inFlight.charges(rec.started, rec.freeReclaims)) {
      // Never started as far as the server knows (it sat in a stream nobody read): no attempt used.
      rec.freeReclaims++;
      this.release(rec);
      this.emit("job.reclaimed", rec, { attempt: rec.job.attempt, charged: false });
      return;
    }
    this.releaseLease(rec);
    rec.job.errors.push({
      code: "visibility_timeout",
      message: "the worker did not settle the job before its visibility timeout",
      retryable: true,
      attempt: rec.job.attempt,
      occurredAt: new Date(now),
    });
    rec.workerId = undefined;
    this.emit("job.reclaimed", rec, { attempt: rec.job.attempt, charged: true });
    if (rec.job.attempt >= rec.retry.maxAttempts) return this.discard(rec, now, rec.retry.onExhaustion === "dead_letter");
    this.enterReady(rec, this.queue(rec.job.queue));
  }

  /** Ends a push stream from the server's side: it takes no more jobs, and its adapter ends the call. */
  private closeStale(c: Consumer, reason: "lease" | "superseded"): void {
    this.closeConsumer(c);
    c.onStale?.(reason);
  }

  /** The attempt ran past the job's execution timeout (TO): a failure under the retry policy. */
  private timeOut(rec: JobRecord): void {
    this.releaseLease(rec);
    rec.workerId = undefined;
    this.failAttempt(rec, { code: "timeout", message: `the attempt exceeded the job's execution timeout of ${rec.job.timeout} ms`, retryable: true });
  }

  private armTimer(): void {
    if (this.closed) return;
    const next = this.timers.peekKey() ?? Infinity;
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
    // Values, not the record: the event may be built much later, after the job moved on.
    const now = this.clock.now();
    const jobId = rec.id;
    const jobType = rec.job.type;
    const queue = rec.job.queue;
    const workflowId = rec.job.workflowId;
    const traceId = rec.job.meta["trace_id"];
    this.events.publishLazy(() => {
      const e: OjsEvent = {
        id: `evt_${uuidv7(now)}`,
        type,
        time: new Date(now),
        jobId,
        jobType,
        queue,
        data: { job_id: jobId, job_type: jobType, queue, ...data },
      };
      if (workflowId) e.workflowId = workflowId;
      if (typeof traceId === "string") e.data["trace_id"] = traceId;
      return e;
    });
  }

  private emitRaw(p: { type: string; queue?: string; workflowId?: string; data: JsonObject }): void {
    const e: OjsEvent = { id: `evt_${uuidv7(this.clock.now())}`, type: p.type, time: new Date(this.clock.now()), data: p.data };
    if (p.queue) e.queue = p.queue;
    if (p.workflowId) {
      e.workflowId = p.workflowId;
      e.data = { workflow_id: p.workflowId, ...e.data };
    }
    this.events.publish(e);
  }

  /** Recent events (oldest first), for GET /events. */
  recentEvents(filter: EventFilter, limit: number): OjsEvent[] {
    return this.events.recent(filter, limit);
  }

  // --- the storage seam (store/changes.ts): what a durable store reads and restores ---------

  /** A job without the side effects of get() (no tick): for the journal's writer. */
  peek(id: string): JobRecord | undefined {
    return this.jobs.get(id);
  }

  /** Every job as it is, without a tick: for the journal's snapshots. */
  rawJobRecords(): IterableIterator<JobRecord> {
    return this.jobs.values();
  }

  /** A queue's operator settings, undefined when the queue is unknown. */
  queueConfig(name: string): { paused: boolean; rateLimitPerSecond: number | undefined; backpressure: Backpressure | undefined; retention: QueueRetention | undefined } | undefined {
    const q = this.queues.get(name);
    return q && { paused: q.paused, rateLimitPerSecond: q.rateLimit?.max, backpressure: q.backpressure, retention: this.retention.get(name) };
  }

  queueNames(): string[] {
    return [...this.queues.keys()];
  }

  /**
   * Replay: puts a recorded job back with its indexes and timers, as if it had
   * got there live. An active job keeps its lease: the lease timer reclaims it
   * unless its worker settles it first (at-least-once across a crash).
   */
  restoreJob(saved: RestoredJob): void {
    // A job active at the crash counts as started: its lease running out costs an attempt, as it would have.
    const rec: JobRecord = {
      ...saved,
      ready: false,
      version: 0,
      lease: 1,
      claim: 1,
      consumer: undefined,
      finishSeq: 0,
      heldBy: undefined,
      started: saved.job.state === "active",
      freeReclaims: 0,
      queuedBytes: 0,
    };
    this.jobs.set(rec.id, rec);
    if (!TERMINAL_STATES.has(rec.job.state)) this.accounting?.enter(rec);
    const q = this.queue(rec.job.queue);
    const s = rec.job.state;
    q.counts[s]++;
    if (rec.uniqueKey) this.uniqueIndex.set(rec.uniqueKey, rec.id);
    if (rec.job.expiresAt && WAITING.has(s)) this.pushTimer(rec.job.expiresAt.getTime(), { kind: "expire", rec, version: -1 });
    if (s === "available") {
      rec.ready = true;
      q.ready.push(rec.job.priority, rec);
    } else if (s === "scheduled" || s === "retryable") {
      this.pushTimer(rec.job.scheduledAt?.getTime() ?? 0, { kind: "due", rec, version: rec.version });
    } else if (s === "active") {
      this.pushTimer(rec.leaseDeadline, { kind: "lease", rec, lease: rec.lease });
    } else if (TERMINAL_STATES.has(s)) {
      rec.finishSeq = ++this.finishSeq;
      if (rec.deadLetter) {
        this.deadLetter.set(rec.id, rec);
        q.dead++;
      } else {
        this.finished.push({ id: rec.id, seq: rec.finishSeq });
        const at = (rec.job.completedAt ?? rec.job.cancelledAt ?? rec.job.createdAt)?.getTime() ?? this.clock.now();
        this.retention.finished(rec.job.queue, s, rec.id, rec.finishSeq, at, keepForOf(rec.job.meta, s));
      }
    }
  }

  /** Stops timers; the store must not be used afterwards. */
  close(): void {
    this.closed = true;
    this.retention.close();
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = Infinity;
    for (const set of this.consumersByQueue.values()) for (const c of set) c.closed = true;
    this.consumersByQueue.clear();
    this.inFlight.clear();
  }

  /** Drops every job, queue, worker, workflow and event (test helper behind reset()). */
  reset(): void {
    this.jobs.clear();
    this.accounting?.clear();
    this.queues.clear();
    this.timers.clear();
    this.timersAfterCompaction = 0;
    this.finished = [];
    this.finishedHead = 0;
    this.deadLetter.clear();
    this.uniqueIndex.clear();
    this.workers.clear();
    this.inFlight.forgetHeld();
    this.events.clear();
    this.rateLimits.reset();
    this.checkpoints.clear();
    this.retention.clear();
    this.workflows.reset();
  }

  /** Counts by state, for stats and tests. */
  countByState(queue?: string): Record<JobState, number> {
    if (queue) return { ...(this.queues.get(queue)?.counts ?? zeroCounts()) };
    const out = zeroCounts();
    for (const q of this.queues.values()) for (const s of Object.keys(out) as JobState[]) out[s] += q.counts[s];
    return out;
  }

  // --- admin API (src/server/admin): reads and the few actions it needs beyond the above ---

  /** Every retained job in insertion order, for the admin API's filtered scans (bounded by retention). */
  jobRecords(): IterableIterator<JobRecord> {
    this.tick();
    return this.jobs.values();
  }

  /** Puts a discarded job (dead-lettered or not) back on its queue with a fresh attempt budget. */
  retryDiscarded(id: string): JobRecord {
    const rec = this.get(id);
    if (rec.deadLetter) return this.retryDeadLetter(id);
    if (rec.job.state !== "discarded") throw new ConflictError(`job ${id} is ${rec.job.state}; only a discarded job can be retried`, { jobId: id, details: { state: rec.job.state } });
    rec.job.attempt = 0;
    rec.finishSeq = 0;
    delete rec.job.completedAt;
    delete rec.job.startedAt;
    delete rec.job.retryDelayMs;
    this.enterReady(rec, this.queue(rec.job.queue));
    this.emit("job.retried", rec);
    return rec;
  }

  /** Forgets a finished job (completed, cancelled or discarded) for good. */
  deleteFinished(id: string): void {
    const rec = this.get(id);
    if (!TERMINAL_STATES.has(rec.job.state)) throw new ConflictError(`job ${id} is ${rec.job.state}; only a finished job can be deleted`, { jobId: id, details: { state: rec.job.state } });
    this.drop(rec);
  }

  /** Completions and failures per minute of one queue over the last hour, oldest first. */
  queueHistory(name: string): MinuteCounts[] {
    return this.queues.get(name)?.stats.perMinute(this.clock.now()) ?? [];
  }
}

/** UQ §2.2: what the schema cannot check because it depends on the job. */
function checkUniquePolicy(u: NonNullable<NormalizedJobRequest["unique"]>, args: JsonValue[]): void {
  const fail = (path: string, message: string) => {
    throw new ValidationError(`options.unique.${path}: ${message}`, { code: "validation_error", issues: [{ path: `options.unique.${path}`, message }] });
  };
  if (u.keys?.includes("meta") && !u.metaKeys?.length) fail("meta_keys", 'must name the meta keys when "meta" is one of the keys');
  if (u.argsKeys?.length && u.keys?.includes("args")) {
    const first = args[0];
    if (!isJsonObject(first)) fail("args_keys", "needs the first argument to be an object");
    const missing = u.argsKeys.filter((k) => !(k in (first as JsonObject)));
    if (missing.length) fail("args_keys", `names keys the args do not have: ${missing.join(", ")}`);
  }
}

/** Reported states beyond the three directives: "drain" and its spellings from the graceful-shutdown extension. */
export function normalizeWorkerState(s: string): string {
  const v = s.toLowerCase();
  if (v === "draining" || v === "shutting_down" || v === "stopping") return "drain";
  return v;
}

function fetchAllowed(w: WorkerInfo): boolean {
  return w.directive === "running" && (w.state === "running" || w.state === "");
}

/** A worker that says it is terminating stays told to terminate; otherwise the operator's word holds. */
function directiveFor(w: WorkerInfo): WorkerDirective {
  if (w.state === "terminate" || w.directive === "terminate") return "terminate";
  return w.directive;
}

export function isWorkerDirective(v: unknown): v is WorkerDirective {
  return v === "running" || v === "quiet" || v === "terminate";
}

