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
 *
 * The class is built in layers, one concern each: ./state.ts (indexes,
 * transitions, timers, dispatch), ./claims.ts (claims, leases, failures),
 * ./enqueue.ts, ./working.ts (the worker's calls), ./admin.ts (queues, dead
 * letter, workers, reads), and here the seam's restore methods and the
 * lifecycle. Records and options are in ./records.ts, pure decisions in
 * ./policies.ts. Adapters reach it through the JobStore seam (./job-store.ts).
 */
import { TERMINAL_STATES } from "../../model/job.js";
import type { Backpressure } from "./queue.js";
import type { RestoredJob } from "./changes.js";
import { keepForOf, type QueueRetention } from "./retention.js";
import { type JobRecord, WAITING } from "./records.js";
import { StoreAdmin } from "./admin.js";
export * from "./records.js";
export { isWorkerDirective, normalizeWorkerState } from "./policies.js";

export class Store extends StoreAdmin {
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
  queueConfig(
    name: string,
  ): { paused: boolean; rateLimitPerSecond: number | undefined; backpressure: Backpressure | undefined; retention: QueueRetention | undefined } | undefined {
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
    const rec = this.restoredRecord(saved);
    this.jobs.set(rec.id, rec);
    this.indexRestored(rec);
  }

  /**
   * Replay of many jobs at once: `recs` (made by restoredRecord, in the order
   * the jobs were first recorded) becomes the job index itself when the store
   * holds no job yet, so a start-up builds one map of a million entries, not two.
   * The store owns the map from then on.
   */
  restoreJobs(recs: Map<string, JobRecord>): void {
    if (this.jobs.size === 0) this.jobs = recs;
    else for (const [id, rec] of recs) this.jobs.set(id, rec);
    for (const rec of recs.values()) this.indexRestored(rec);
  }

  /** The record of a recorded job, not yet indexed (see restoreJobs). */
  restoredRecord(saved: RestoredJob): JobRecord {
    const s = saved.job.state;
    // Field by field in the order build() (enqueue.ts) uses, so restored and new records share one
    // shape; no spread: a million of these are made on a start-up (issue 11's restart budget).
    return {
      id: saved.id,
      job: saved.job,
      extra: saved.extra,
      retry: saved.retry,
      ready: s === "available",
      version: 0,
      lease: 1,
      leaseDeadline: saved.leaseDeadline,
      claim: 1,
      workerId: saved.workerId,
      consumer: undefined,
      heldBy: undefined,
      // A job active at the crash counts as started: its lease running out costs an attempt, as it would have.
      started: s === "active",
      freeReclaims: 0,
      uniqueKey: saved.uniqueKey,
      deadLetter: saved.deadLetter,
      finishSeq: 0,
      progress: saved.progress,
      directiveOnClaim: saved.directiveOnClaim,
      workflowStep: saved.workflowStep,
      queuedBytes: 0,
    };
  }

  /** Counters, ready queue, unique key, timers and retention of a restored job already in `jobs`. */
  private indexRestored(rec: JobRecord): void {
    const s = rec.job.state;
    const terminal = TERMINAL_STATES.has(s);
    if (!terminal) this.accounting?.enter(rec);
    const q = this.queue(rec.job.queue);
    q.counts[s]++;
    if (rec.uniqueKey) this.uniqueIndex.set(rec.uniqueKey, rec.id);
    if (rec.job.expiresAt && WAITING.has(s)) this.pushTimer(rec.job.expiresAt.getTime(), { kind: "expire", rec, version: -1 });
    if (s === "available") {
      q.ready.push(rec.job.priority, rec);
    } else if (s === "scheduled" || s === "retryable") {
      this.pushTimer(rec.job.scheduledAt?.getTime() ?? 0, { kind: "due", rec, version: rec.version });
    } else if (s === "active") {
      this.pushTimer(rec.leaseDeadline, { kind: "lease", rec, lease: rec.lease });
    } else if (terminal) {
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
    this.pushed.clear();
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
    for (const jobs of this.pushed.values()) jobs.clear();
    this.events.clear();
    this.rateLimits.reset();
    this.checkpoints.clear();
    this.retention.clear();
    this.workflows.reset();
  }
}
