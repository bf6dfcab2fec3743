/**
 * Claims and leases: picking the next ready job (priority, rate limits),
 * claiming it for a worker or consumer, lease and execution-timeout expiry,
 * giving a job back, and failing an attempt under its retry policy
 * (policies.ts decides).
 */
import { ConflictError } from "../../model/errors.js";
import type { JobError } from "../../model/job.js";
import type { WorkerDirective } from "../../model/system.js";
import { putBack } from "./rate-limits.js";
import { decideFailure, decideLeaseExpiry } from "./policies.js";
import { type JobRecord, type Consumer, type NackOptions, type WorkerInfo, MAX_PASSED_OVER } from "./records.js";
import { StoreState } from "./state.js";
import { onMicrotask } from "../../util/microtask.js";

export abstract class StoreClaims extends StoreState {
  /** The unsettled jobs of each open consumer (what closeConsumer may give back); bounded by its credit. */
  protected readonly pushed = new Map<Consumer, Set<JobRecord>>();

  protected takeNext(queues: readonly string[], tenant?: string): JobRecord | undefined {
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
        const rec = q.ready.shift(tenant);
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
  protected expire(rec: JobRecord): void {
    this.leaveReady(rec);
    this.setState(rec, "discarded");
    this.emit("job.expired", rec);
    this.finish(rec);
  }

  protected claim(rec: JobRecord, workerId: string | undefined, visibilityMs: number | undefined, consumer: Consumer | undefined): void {
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
    if (consumer) {
      consumer.credit--;
      this.pushed.get(consumer)?.add(rec);
    }
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

  protected activeJob(id: string, verb: string, workerId: string | undefined): JobRecord {
    const rec = this.get(id);
    if (rec.job.state !== "active")
      throw new ConflictError(`cannot ${verb} job ${id}: it is ${rec.job.state}, not active`, { jobId: id, details: { state: rec.job.state } });
    if (workerId && rec.workerId && workerId !== rec.workerId)
      throw new ConflictError(`cannot ${verb} job ${id}: it is reserved by another worker`, { jobId: id });
    return rec;
  }

  /** Ends the job's lease and returns its consumer's credit. */
  protected releaseLease(rec: JobRecord): void {
    const c = rec.consumer;
    rec.consumer = undefined;
    if (c) this.pushed.get(c)?.delete(rec);
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
      // Refill the stream straight away: this is what keeps a streaming worker busy. One refill
      // at the end of the tick takes the credit of every ack of a frame.
      if (!c.refillQueued) {
        c.refillQueued = true;
        onMicrotask(() => {
          c.refillQueued = false;
          if (!this.closed) this.pump(c);
        });
      }
    }
  }

  /**
   * Applies everything that time has made due: scheduled and retryable jobs
   * become available, leases and execution timeouts run out, unstarted jobs
   * expire, rate-limited queues reopen. Called on every operation and from the
   * timer, so the state is right whenever anyone looks. Returns the instant it used.
   */
  tick(): number {
    const now = this.clock.now();
    if (this.closed) return now;
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
    return now;
  }

  /**
   * A lease ran out (WP §5.5): the job goes back to available for another
   * worker, and the attempt counts as failed with a visibility_timeout error.
   * With no attempt left it is exhausted like any failed job.
   */
  protected reclaim(rec: JobRecord, now: number): void {
    // A stream whose job went unacknowledged past its lease is dead or stuck: it gets no more.
    if (rec.consumer && !rec.consumer.closed) this.closeStale(rec.consumer, "lease");
    const decision = decideLeaseExpiry(this.inFlight.charges(rec.started, rec.freeReclaims), rec.job.attempt, rec.retry);
    if (decision.kind === "free") {
      // Never started as far as the server knows (it sat in a stream nobody read): no attempt used.
      rec.freeReclaims++;
      this.release(rec);
      this.emit("job.reclaimed", rec, { attempt: rec.job.attempt, charged: false });
      return;
    }
    this.releaseLease(rec);
    // A new list, never a push: a restored job's empty errors is one frozen list all such jobs share (journal/revive.ts).
    rec.job.errors = [
      ...rec.job.errors,
      {
        code: "visibility_timeout",
        message: "the worker did not settle the job before its visibility timeout",
        retryable: true,
        attempt: rec.job.attempt,
        occurredAt: new Date(now),
      },
    ];
    rec.workerId = undefined;
    this.emit("job.reclaimed", rec, { attempt: rec.job.attempt, charged: true });
    if (decision.kind === "discard") return this.discard(rec, now, decision.deadLetter);
    this.enterReady(rec, this.queue(rec.job.queue));
  }

  /** Ends a push stream from the server's side: it takes no more jobs, and its adapter ends the call. */
  protected closeStale(c: Consumer, reason: "lease" | "superseded"): void {
    this.closeConsumer(c);
    c.onStale?.(reason);
  }

  /** The attempt ran past the job's execution timeout (TO): a failure under the retry policy. */
  protected timeOut(rec: JobRecord): void {
    this.releaseLease(rec);
    rec.workerId = undefined;
    this.failAttempt(rec, { code: "timeout", message: `the attempt exceeded the job's execution timeout of ${rec.job.timeout} ms`, retryable: true });
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

  protected failAttempt(rec: JobRecord, error: JobError, response?: NackOptions["response"]): void {
    const now = this.clock.now();
    const err: JobError = { ...error, attempt: rec.job.attempt, occurredAt: new Date(now) };
    if (err.retryable === undefined) err.retryable = true;
    rec.job.errors = [...rec.job.errors, err]; // a new list: see reclaim()
    this.queue(rec.job.queue).stats.fail(now);
    this.emit("job.failed", rec, { attempt: rec.job.attempt, error: { code: err.code, message: err.message } });
    const decision = decideFailure(rec.job.attempt, rec.retry, err, response, this.random);
    if (decision.kind === "discard") return this.discard(rec, now, decision.deadLetter);
    const delay = decision.delayMs;
    this.setState(rec, "retryable");
    rec.job.scheduledAt = new Date(now + delay);
    rec.job.retryDelayMs = delay;
    this.emit("job.retrying", rec, { attempt: rec.job.attempt, delay_ms: delay, next_attempt_at: rec.job.scheduledAt.toISOString() });
    this.pushTimer(now + delay, { kind: "due", rec, version: rec.version });
  }

  protected discard(rec: JobRecord, now: number, deadLetter: boolean): void {
    this.setState(rec, "discarded");
    rec.job.completedAt = new Date(now);
    this.emit("job.discarded", rec, { attempt: rec.job.attempt });
    if (deadLetter) this.addDeadLetter(rec);
    this.finish(rec);
  }

  // --- implemented by the layers above --------------------------------------------------
  abstract directWorker(workerId: string, directive: WorkerDirective): WorkerInfo;
  abstract closeConsumer(consumer: Consumer): number;
}
