/**
 * Operator calls and reads: queue control and statistics, the dead-letter
 * set, the workers registry, counts, and the admin API's job actions.
 */
import { ConflictError, NotFoundError, ValidationError } from "../../model/errors.js";
import type { EventFilter, OjsEvent } from "../../model/events.js";
import { TERMINAL_STATES, type JobState } from "../../model/job.js";
import type { WorkerDirective } from "../../model/system.js";
import { depthOf, RateWindow, zeroCounts, type Backpressure, type MinuteCounts } from "./queue.js";
import type { JobRecord, WorkerInfo, QueueConfig, QueueSummary } from "./records.js";
import { fetchAllowed } from "./policies.js";
import { StoreWorking } from "./working.js";

export abstract class StoreAdmin extends StoreWorking {
  /** Operator control: tell a worker (through its next heartbeat) to go quiet, terminate, or run. */
  directWorker(workerId: string, directive: WorkerDirective): WorkerInfo {
    const w = this.touchWorker(workerId, false);
    const wasAllowed = fetchAllowed(w);
    w.directive = directive;
    if (!wasAllowed && fetchAllowed(w)) this.wakeConsumersOf(workerId);
    this.emitRaw({ type: `worker.${directive === "running" ? "resumed" : directive}`, data: { worker_id: workerId } });
    return w;
  }

  getWorker(workerId: string): WorkerInfo {
    return this.workers.get(workerId);
  }

  listWorkers(): WorkerInfo[] {
    return this.workers.list();
  }

  removeWorker(workerId: string): void {
    this.workers.remove(workerId);
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
        throw new ValidationError("rate_limit.max_per_second: must be an integer from 0 to 100000", {
          issues: [{ path: "rate_limit.max_per_second", message: "must be an integer from 0 to 100000" }],
        });
      if (!q.rateLimit || q.rateLimit.max !== n) q.rateLimit = n > 0 ? new RateWindow(n, 1000) : undefined;
    }
    if (cfg.backpressure !== undefined) {
      const bp = cfg.backpressure;
      if (bp && (!Number.isInteger(bp.maxDepth) || bp.maxDepth < 1))
        throw new ValidationError("backpressure.max_depth: must be a positive integer", {
          issues: [{ path: "backpressure.max_depth", message: "must be a positive integer" }],
        });
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
        retention: this.retention.get(name),
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
      retention: this.retention.get(name),
      lastHour: q.stats.lastHour(now),
    };
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

  protected deadJob(id: string): JobRecord {
    this.tick();
    const rec = this.deadLetter.get(id);
    if (!rec) throw new NotFoundError(`job ${id} is not in the dead-letter queue`, { jobId: id });
    return rec;
  }

  /** Recent events (oldest first), for GET /events. */
  recentEvents(filter: EventFilter, limit: number): OjsEvent[] {
    return this.events.recent(filter, limit);
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
    if (rec.job.state !== "discarded")
      throw new ConflictError(`job ${id} is ${rec.job.state}; only a discarded job can be retried`, { jobId: id, details: { state: rec.job.state } });
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
    if (!TERMINAL_STATES.has(rec.job.state))
      throw new ConflictError(`job ${id} is ${rec.job.state}; only a finished job can be deleted`, { jobId: id, details: { state: rec.job.state } });
    this.drop(rec);
  }

  /** Completions and failures per minute of one queue over the last hour, oldest first. */
  queueHistory(name: string): MinuteCounts[] {
    return this.queues.get(name)?.stats.perMinute(this.clock.now()) ?? [];
  }
}
