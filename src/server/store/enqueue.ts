/**
 * Creating jobs: building the record from a validated request, unique
 * policies (policies.ts decides), depth bounds, atomic batches, workflow steps.
 */
import { DuplicateJobError } from "../../model/errors.js";
import { TERMINAL_STATES, type NormalizedJobRequest } from "../../model/job.js";
import type { JsonObject } from "../../model/json.js";
import { uuidv7 } from "../../model/uuid.js";
import type { RateLimitPolicy } from "../../model/rate-limit.js";
import { mergeRetry } from "./backoff.js";
import { depthOf } from "./queue.js";
import { uniqueKey } from "./unique.js";
import { type JobRecord, type SubmitOptions, type SubmitResult, QueueFullError, shownRetry, DEFAULT_EFFECTIVE_RETRY, DEFAULT_SHOWN_RETRY } from "./records.js";
import { decideUnique, isWorkerDirective, newJob } from "./policies.js";
import { StoreClaims } from "./claims.js";

export abstract class StoreEnqueue extends StoreClaims {
  // --- producing -------------------------------------------------------------

  enqueue(req: NormalizedJobRequest, extra?: JsonObject): JobRecord {
    return this.submit(req, extra ? { extra } : {}).rec;
  }

  /** Enqueue with the unique-policy outcome and the adapters' extras. */
  submit(req: NormalizedJobRequest, opts: SubmitOptions = {}): SubmitResult {
    const now = this.tick();
    const rec = this.build(req, opts.extra, now);
    this.checkCapacity(rec.job.queue, 1);
    if (req.rateLimit) this.rateLimits.check(req.rateLimit);
    const u = this.resolveUnique(rec, new Set());
    if (u?.kind === "ignore") return { rec: u.existing, deduplicated: true };
    if (u?.kind === "replace") this.replaceExisting(u.existing, rec);
    this.insert(rec, req.rateLimit, now);
    return { rec, deduplicated: false };
  }

  /**
   * All or nothing: every entry is built (and so validated), checked against
   * depth bounds and unique policies before any is stored. A unique "ignore"
   * inside a batch yields the existing job in that position.
   */
  enqueueBatch(reqs: ReadonlyArray<{ req: NormalizedJobRequest; extra?: JsonObject }>): JobRecord[] {
    // Each entry is its own SubmitOptions ({ extra }): no copy of a thousand entries first.
    return this.insertAll(reqs, this.tick());
  }

  protected insertAll(
    items: ReadonlyArray<{ req: NormalizedJobRequest; extra?: JsonObject; workflowId?: string; stepId?: string; parentResults?: JsonObject }>,
    // One instant for the whole batch: it is stored at once, and a clock read is not free (~0.2 µs in a VM).
    now = this.clock.now(),
  ): JobRecord[] {
    // Ids made here are distinct by construction (uuidv7: one (millisecond, counter) pair each, in
    // this process), so a batch where no entry chose its id needs no set of a thousand ids to
    // find one twice. With a chosen id, every id is checked, made ones included.
    const ids = items.some((item) => item.req.id !== undefined) ? new Set<string>() : undefined;
    // One Date for the batch's creation instant, as createdAt and enqueuedAt of a job already share
    // one and the journal's replay shares one per millisecond: the store never changes a Date in
    // place (it assigns new ones). A Date is ~100 bytes that every stored job kept and the
    // collector copied (~11 % of a stored job).
    const created = new Date(now);
    const recs = items.map((item, i) => {
      const { req, workflowId, stepId, parentResults } = item;
      try {
        const rec = this.build(req, item.extra, now, created);
        if (ids) {
          if (ids.has(rec.id)) throw new DuplicateJobError(`id ${rec.id} appears twice in the batch`, { jobId: rec.id });
          ids.add(rec.id);
        }
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
      this.insert(r, items[i]!.req.rateLimit, now);
      return r;
    });
  }

  /**
   * `extra` is passed, not the options object it comes in: a single submit's options and a batch's
   * entries are objects of different shapes, and reading it here from both made this function's
   * optimized code deopt at a process's first batch (bench/batch-cold.ts --diag).
   */
  protected build(req: NormalizedJobRequest, extra: JsonObject | undefined, now = this.clock.now(), created?: Date): JobRecord {
    const id = req.id ?? uuidv7(now);
    if (this.jobs.has(id)) throw new DuplicateJobError(`a job with id ${id} already exists`, { jobId: id, details: { existing_job_id: id } });
    // Most jobs carry no policy of their own: they share one frozen default instead of two fresh objects each.
    const retry = req.retry ? mergeRetry(req.retry) : DEFAULT_EFFECTIVE_RETRY;
    const jobRetry = req.retry ? shownRetry(retry) : DEFAULT_SHOWN_RETRY;
    const job = newJob(req, id, { maxAttempts: retry.maxAttempts, shown: jobRetry }, now, created);
    const rec: JobRecord = {
      id,
      job,
      extra: extra && Object.keys(extra).length ? extra : undefined,
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
  protected checkCapacity(queue: string, adding: number): void {
    const q = this.queues.get(queue);
    const bp = q?.backpressure;
    if (!q || !bp) return;
    const depth = depthOf(q);
    if (depth + adding > bp.maxDepth) throw new QueueFullError(`queue ${queue} is full: depth ${depth} of ${bp.maxDepth}`, depth, bp.maxDepth);
  }

  /**
   * Decides the job's unique policy (UQ §5) without changing anything: "reject"
   * throws, "ignore" and "replace" name the existing job, so that a batch that
   * fails later has cancelled nothing.
   */
  protected resolveUnique(rec: JobRecord, batchKeys: Set<string>): { kind: "ignore" | "replace"; existing: JobRecord } | undefined {
    const key = rec.uniqueKey;
    const policy = rec.job.unique;
    if (!key || !policy) return undefined;
    if (batchKeys.has(key)) throw new DuplicateJobError(`two jobs of the batch have the same unique key`, { details: { uniqueness_key: key } });
    batchKeys.add(key);
    const existingId = this.uniqueIndex.get(key);
    const existing = existingId ? this.jobs.get(existingId) : undefined;
    const decision = decideUnique(existing && { state: existing.job.state, createdAt: existing.job.createdAt!.getTime() }, policy, this.clock.now());
    switch (decision) {
      case "insert":
        return undefined;
      case "ignore":
      case "replace":
        return { kind: decision, existing: existing! };
      case "reject": {
        const { id, job } = existing!;
        throw new DuplicateJobError(`a job with the same unique key already exists (${id}, ${job.state})`, {
          jobId: id,
          details: { existing_job_id: id, existing_job_state: job.state, uniqueness_key: key },
        });
      }
    }
  }

  protected replaceExisting(old: JobRecord, rec: JobRecord): void {
    if (TERMINAL_STATES.has(old.job.state)) return;
    if (rec.job.unique?.onConflict === "replace_except_schedule" && old.job.scheduledAt) {
      rec.job.scheduledAt = old.job.scheduledAt;
      rec.job.state = old.job.scheduledAt.getTime() > this.clock.now() ? "scheduled" : "available";
    }
    this.cancel(old.id);
  }

  protected insert(rec: JobRecord, rateLimit?: RateLimitPolicy, now = this.clock.now()): void {
    // Bound to its key before it can be fetched, so that no fetch can pass the limit.
    if (rateLimit) this.rateLimits.assign(rec.id, rec.job.queue, rateLimit);
    this.jobs.set(rec.id, rec);
    this.accounting?.enter(rec);
    this.changes?.jobCreated(rec.id, rec);
    const q = this.queue(rec.job.queue);
    q.counts[rec.job.state]++;
    if (rec.uniqueKey) this.uniqueIndex.set(rec.uniqueKey, rec.id);
    this.emit("job.enqueued", rec, undefined, now);
    if (rec.job.expiresAt) this.pushTimer(rec.job.expiresAt.getTime(), { kind: "expire", rec, version: -1 });
    if (rec.job.state === "scheduled") {
      this.emit("job.scheduled", rec, { scheduled_at: rec.job.scheduledAt!.toISOString() }, now);
      this.pushTimer(rec.job.scheduledAt!.getTime(), { kind: "due", rec, version: rec.version });
    } else {
      this.enterReady(rec, q);
    }
  }

  /** Root or newly runnable workflow steps, as one atomic batch. */
  protected enqueueSteps(items: ReadonlyArray<{ req: NormalizedJobRequest; workflowId: string; stepId: string; parentResults?: JsonObject }>): JobRecord[] {
    return this.insertAll(items);
  }
}
