/**
 * The Store's state and the moves every part of it makes: the indexes (jobs,
 * queues, timers, finished and dead jobs, unique keys, consumers, workers),
 * state changes with their counters and events, retention, the timer heap,
 * and handing ready jobs to push consumers. The operations live in the layers
 * above (claims.ts, enqueue.ts, working.ts, admin.ts, store.ts).
 */
import { NotFoundError } from "../../model/errors.js";
import type { OjsEvent } from "../../model/events.js";
import { TERMINAL_STATES, type JobState, type NormalizedJobRequest } from "../../model/job.js";
import type { JsonObject } from "../../model/json.js";
import { uuidv7 } from "../../model/uuid.js";
import { RateLimits } from "./rate-limits.js";
import { systemClock, type Clock } from "./clock.js";
import { EventBus } from "./event-bus.js";
import { MinHeap } from "./heap.js";
import { InFlight } from "./in-flight.js";
import { isIdle, newQueue, type QueueRecord } from "./queue.js";
import { IllegalTransitionError, TRANSITIONS } from "./transitions.js";
import { WorkflowEngine } from "./workflows.js";
import type { ChangeSink } from "./changes.js";
import { Checkpoints } from "./checkpoints.js";
import { keepForOf, Retention } from "./retention.js";
import { type StoreOptions, type JobAccounting, type JobRecord, type Consumer, type WorkerInfo, type TimerEntry, MAX_QUEUES, WAITING } from "./records.js";
import { fetchAllowed } from "./policies.js";
import { WorkerRegistry } from "./worker-registry.js";
import { onMicrotask } from "../../util/microtask.js";

/** The data of an event with none of its own: spread into the event, never written (one object, not one per event). */
const NO_DATA: JsonObject = Object.freeze({}) as JsonObject;

export abstract class StoreState {
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
  protected readonly maxFinished: number;
  protected readonly maxDeadLetter: number;
  protected readonly random: () => number;
  protected readonly hooks: boolean;
  protected readonly accounting: JobAccounting | undefined;

  protected jobs = new Map<string, JobRecord>();
  protected queues = new Map<string, QueueRecord<JobRecord>>();
  protected timers = new MinHeap<TimerEntry>();
  protected timersAfterCompaction = 0;
  /** Finished jobs, oldest first, for retention; an entry counts only while its seq matches the job's. */
  protected finished: Array<{ id: string; seq: number } | undefined> = [];
  protected finishedHead = 0;
  protected finishSeq = 0;
  protected deadLetter = new Map<string, JobRecord>();
  protected uniqueIndex = new Map<string, string>();
  protected consumersByQueue = new Map<string, Set<Consumer>>();
  protected pendingDispatch = new Set<string>();
  protected workers = new WorkerRegistry(() => this.clock.now());
  protected timer: { cancel(): void } | undefined;
  protected timerAt = Infinity;
  protected closed = false;
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
      publish: (type, data, jobId) =>
        this.events.publish({ id: `evt_${uuidv7(this.clock.now())}`, type, time: new Date(this.clock.now()), ...(jobId ? { jobId } : {}), data }),
    });
    this.checkpoints = new Checkpoints({
      now: () => this.clock.now(),
      jobState: (id) => this.get(id).job.state,
      changed: (id) => this.changes?.checkpoint(id),
    });
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

  // --- internals -------------------------------------------------------------------

  protected queue(name: string): QueueRecord<JobRecord> {
    let q = this.queues.get(name);
    if (!q) {
      if (this.queues.size >= MAX_QUEUES) this.evictIdleQueue();
      q = newQueue<JobRecord>(name, this.clock.now());
      this.queues.set(name, q);
    }
    return q;
  }

  protected evictIdleQueue(): void {
    for (const [name, q] of this.queues) {
      if (isIdle(q) && !this.consumersByQueue.has(name)) {
        this.queues.delete(name);
        return;
      }
    }
  }

  /** The one place a job's state changes: legality, counters and the timer version move together. */
  protected setState(rec: JobRecord, to: JobState): void {
    const from = rec.job.state;
    if (from === to) return;
    if (!TRANSITIONS[from].has(to)) throw new IllegalTransitionError(from, to);
    const q = this.queue(rec.job.queue);
    q.counts[from]--;
    q.counts[to]++;
    rec.job.state = to;
    rec.version++;
    this.changes?.job(rec.id, rec);
    this.rateLimits.transition(rec.id, from, to);
  }

  protected enterReady(rec: JobRecord, q: QueueRecord<JobRecord>): void {
    this.setState(rec, "available");
    rec.ready = true;
    q.ready.push(rec.job.priority, rec);
    if (!q.paused) this.scheduleDispatch(q.name);
  }

  protected leaveReady(rec: JobRecord): void {
    if (!rec.ready) return;
    rec.ready = false;
    this.queues.get(rec.job.queue)?.ready.forget(rec);
  }

  /** A job reached a terminal state: retention, and the workflow it belongs to moves on. */
  protected finish(rec: JobRecord): void {
    this.accounting?.leave(rec);
    rec.finishSeq = ++this.finishSeq;
    if (!rec.deadLetter) this.finished.push({ id: rec.id, seq: rec.finishSeq });
    if (!rec.deadLetter) this.retention.finished(rec.job.queue, rec.job.state, rec.id, rec.finishSeq, this.clock.now(), keepForOf(rec.job.meta, rec.job.state));
    this.evictFinished();
    if (rec.job.workflowId && rec.workflowStep !== undefined) this.workflows.onJobFinished(rec.job.workflowId, rec.workflowStep, rec.job);
  }

  protected evictFinished(): void {
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
  protected drop(rec: JobRecord): void {
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

  protected emit(type: string, rec: JobRecord, data: JsonObject = NO_DATA, now = this.clock.now()): void {
    // Values, not the record: the event may be built much later, after the job moved on.
    const jobId = rec.id;
    const jobType = rec.job.type;
    const queue = rec.job.queue;
    const workflowId = rec.job.workflowId;
    const traceId = rec.job.meta["trace_id"];
    const tenantId = rec.job.meta["tenant_id"];
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
      if (typeof tenantId === "string") e.data["tenant_id"] = tenantId; // multi-tenancy: webhooks scope by it
      return e;
    });
  }

  protected emitRaw(p: { type: string; queue?: string; workflowId?: string; data: JsonObject }): void {
    const e: OjsEvent = { id: `evt_${uuidv7(this.clock.now())}`, type: p.type, time: new Date(this.clock.now()), data: p.data };
    if (p.queue) e.queue = p.queue;
    if (p.workflowId) {
      e.workflowId = p.workflowId;
      e.data = { workflow_id: p.workflowId, ...e.data };
    }
    this.events.publish(e);
  }

  protected touchWorker(workerId: string, seen = true): WorkerInfo {
    return this.workers.touch(workerId, seen);
  }

  // --- dead letter -----------------------------------------------------------------

  protected addDeadLetter(rec: JobRecord): void {
    rec.deadLetter = true;
    this.deadLetter.set(rec.id, rec);
    this.queue(rec.job.queue).dead++;
    this.emit("job.dead_lettered", rec, { attempt: rec.job.attempt });
    while (this.deadLetter.size > this.maxDeadLetter) {
      const oldest = this.deadLetter.keys().next().value as string;
      this.drop(this.deadLetter.get(oldest)!);
    }
  }

  /** Deferred: the operation that made the job available answers with the job as it then was, before a push consumer claims it. */
  protected scheduleDispatch(queue: string): void {
    if (!this.consumersByQueue.has(queue) || this.pendingDispatch.has(queue)) return;
    this.pendingDispatch.add(queue);
    onMicrotask(() => {
      this.pendingDispatch.delete(queue);
      if (!this.closed) this.dispatch(queue);
    });
  }

  /**
   * Jobs became available in `queue`: offer them to that queue's push consumers
   * one job per consumer per round, so that several workers share the work.
   */
  protected dispatch(queue: string): void {
    const set = this.consumersByQueue.get(queue);
    const q = this.queues.get(queue);
    if (!set || !q) return;
    let progress = true;
    while (progress && !q.paused && q.ready.size > 0) {
      progress = false;
      for (const c of [...set]) {
        if (c.closed || c.credit <= 0 || this.inFlight.room(c.workerId) <= 0) continue;
        const w = this.workers.find(c.workerId);
        if (w && !fetchAllowed(w)) continue;
        const rec = this.takeNext(c.queues, c.tenant);
        if (!rec) {
          if (c.tenant !== undefined) continue; // one tenant's consumer may find nothing where the next finds work
          return;
        }
        this.claim(rec, c.workerId, c.visibilityTimeoutMs ?? rec.job.visibilityTimeout, c);
        c.deliver(rec);
        progress = true;
        if (q.ready.size === 0) break;
      }
    }
  }

  protected pump(consumer: Consumer): void {
    if (consumer.closed) return;
    const w = this.workers.find(consumer.workerId);
    if (w && !fetchAllowed(w)) return;
    while (!consumer.closed && consumer.credit > 0 && this.inFlight.room(consumer.workerId) > 0) {
      const rec = this.takeNext(consumer.queues, consumer.tenant);
      if (!rec) return;
      this.claim(rec, consumer.workerId, consumer.visibilityTimeoutMs ?? rec.job.visibilityTimeout, consumer);
      consumer.deliver(rec);
    }
  }

  /** A worker may take jobs again: its push streams were skipped while it could not, so refill them. */
  protected wakeConsumersOf(workerId: string): void {
    for (const c of this.inFlight.streamsOf(workerId))
      queueMicrotask(() => {
        if (!this.closed) this.pump(c);
      });
  }

  protected pushTimer(at: number, e: TimerEntry): void {
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
  protected timerLive(e: TimerEntry): boolean {
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

  protected armTimer(): void {
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

  // --- implemented by the layers above --------------------------------------------------
  abstract cancel(id: string): JobRecord;
  abstract tick(): number;
  protected abstract enqueueSteps(
    items: ReadonlyArray<{ req: NormalizedJobRequest; workflowId: string; stepId: string; parentResults?: JsonObject }>,
  ): JobRecord[];
  protected abstract takeNext(queues: readonly string[], tenant?: string): JobRecord | undefined;
  protected abstract claim(rec: JobRecord, workerId: string | undefined, visibilityMs: number | undefined, consumer: Consumer | undefined): void;
}
