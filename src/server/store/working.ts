/**
 * The calls of workers: fetch, ack, nack, cancel, heartbeat, start signals,
 * progress, and push consumers (StreamJobs).
 */
import { ConflictError } from "../../model/errors.js";
import { TERMINAL_STATES, type JobError } from "../../model/job.js";
import type { JsonObject, JsonValue } from "../../model/json.js";
import {
  type Progress,
  type JobRecord,
  type Consumer,
  type FetchRequest,
  type NackOptions,
  type HeartbeatRequest,
  type HeartbeatOutcome,
  MAX_FETCH,
  MAX_ACTIVE_IDS,
} from "./records.js";
import { normalizeWorkerState, fetchAllowed, directiveFor, saidTerminate } from "./policies.js";
import { StoreEnqueue } from "./enqueue.js";
import type { ConsumerSpec } from "./job-store.js";

export abstract class StoreWorking extends StoreEnqueue {
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
      const rec = this.takeNext(req.queues, req.tenant);
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
      // So does every job a terminating worker lists: it may have started them (closeConsumer).
      if (!w.reportsStarts || saidTerminate(w)) rec.started = true;
      const ms = req.visibilityTimeoutMs ?? rec.job.visibilityTimeout ?? this.defaultVisibilityMs;
      rec.leaseDeadline = now + ms;
      rec.lease++;
      this.changes?.job(rec.id, rec);
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
    this.changes?.job(rec.id, rec);
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
  openConsumer(c: ConsumerSpec): Consumer {
    const consumer: Consumer = {
      queues: [...c.queues],
      workerId: c.workerId,
      credit: this.inFlight.streamCredit(c.maxConcurrent),
      visibilityTimeoutMs: c.visibilityTimeoutMs,
      deliver: c.deliver,
      onStale: c.onStale,
      ...(c.tenant !== undefined ? { tenant: c.tenant } : {}),
      closed: false,
      refillQueued: false,
    };
    this.pushed.set(consumer, new Set());
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

  /**
   * Ends a consumer. The jobs it delivered stay active until settled or until
   * their lease runs out, except with `releaseUnstarted` (a StreamJobs stream
   * that ended) when its worker has said it is terminating: such a worker
   * starts nothing more, so the jobs pushed to it that it never started (still
   * on the wire, or never read) go back now, their attempt not counted.
   * Answers how many did.
   */
  closeConsumer(consumer: Consumer, opts: { releaseUnstarted?: boolean } = {}): number {
    if (consumer.closed) return 0;
    consumer.closed = true;
    this.inFlight.close(consumer);
    for (const q of consumer.queues) {
      const set = this.consumersByQueue.get(q);
      set?.delete(consumer);
      if (set?.size === 0) this.consumersByQueue.delete(q);
    }
    const pushed = this.pushed.get(consumer);
    this.pushed.delete(consumer);
    if (!pushed || !opts.releaseUnstarted || !saidTerminate(this.workers.find(consumer.workerId))) return 0;
    let released = 0;
    for (const rec of pushed) {
      if (rec.started || rec.job.state !== "active" || rec.consumer !== consumer || rec.workerId !== consumer.workerId) continue;
      this.release(rec);
      this.emit("job.requeued", rec, { reason: "its worker stopped before the job reached it" });
      released++;
    }
    return released;
  }
}
