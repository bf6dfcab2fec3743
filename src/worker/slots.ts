/**
 * The worker's slots (its concurrency): the jobs running now, the jobs received
 * beyond the free slots (the backlog), and who waits for a slot to free or for
 * the last job to end. Every accepted job is started exactly once, or handed
 * back; none is dropped.
 */
import type { Job } from "../model/job.js";
import { LazyAbort } from "../util/lazy-abort.js";
import { JobCancelledError } from "./errors.js";
import type { EmitWorkerEvent } from "./events.js";
import type { ProgressReporter } from "./progress.js";

/** One attempt of a job this worker holds. */
export interface ActiveJob {
  job: Job;
  abort: LazyAbort;
  /** Created on the first ctx.progress() call. */
  progress: ProgressReporter | undefined;
  /** Set once an ack or nack has been decided, so that nothing settles the job twice. */
  settled: boolean;
  startedAt: number;
  done: Promise<void>;
  /** Fails the job if its handler outlives an abort by more than abortGraceMs. */
  forceTimer: NodeJS.Timeout | undefined;
}

/** A job received but not started yet; onSettled gives its credit back to the stream it came from. */
export interface WaitingJob {
  job: Job;
  onSettled: (() => void) | undefined;
}

export function newActiveJob(job: Job, abort = new LazyAbort()): ActiveJob {
  return { job, abort, progress: undefined, settled: false, startedAt: Date.now(), done: Promise.resolve(), forceTimer: undefined };
}

export class JobSlots {
  readonly active = new Map<string, ActiveJob>();
  /** Received but not started yet, waiting for a slot; bounded by the stream's credit. */
  private backlog: WaitingJob[] = [];
  private slotWaiters: Array<() => void> = [];
  private drainWaiters: Array<() => void> = [];

  /**
   * @param execute runs one attempt to its end (settled, or left to its lease); `pushed` when it came from a stream
   * @param onEmpty called each time the last running job ends
   */
  constructor(
    private readonly concurrency: number,
    private readonly execute: (a: ActiveJob, pushed: boolean) => Promise<void>,
    private readonly emit: EmitWorkerEvent,
    private readonly onEmpty: () => void,
  ) {}

  get free(): number {
    return this.concurrency - this.active.size - this.backlog.length;
  }

  /** Ids of every job held: running, or waiting in the backlog (the heartbeat extends them all). */
  heldIds(): string[] {
    return [...this.active.keys(), ...this.backlog.map((b) => b.job.id)];
  }

  /** Resolves once a slot is free, or at once when the worker no longer fetches. */
  waitForSlot(fetching: boolean): Promise<void> {
    if (this.free > 0 || !fetching) return Promise.resolve();
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  wakeSlotWaiters(): void {
    const w = this.slotWaiters;
    this.slotWaiters = [];
    for (const f of w) f();
  }

  /** Resolves once no job is running. */
  drained(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private wakeDrainWaiters(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  /** Empties the backlog: for jobs received but never started (shutdown began), to hand back. */
  takeBacklog(): WaitingJob[] {
    return this.backlog.splice(0);
  }

  /**
   * Takes ownership of a job the server handed us. Every accepted job ends in
   * exactly one ack or nack (or, if the server cannot be reached, is left to its
   * visibility timeout); none is dropped.
   */
  accept(job: Job, onSettled?: () => void): void {
    const held = this.active.get(job.id);
    if (held && job.attempt > held.job.attempt) {
      // The next attempt of a job whose last attempt we are still settling: the server took our
      // nack and the retry came due before its answer reached us. Run it once that attempt is
      // done, never beside it, and never drop it (it would sit out its whole lease).
      const later = () => this.accept(job, onSettled);
      void held.done.then(later, later);
      return;
    }
    if (held || this.backlog.some((b) => b.job.id === job.id)) {
      // The server delivered a job we already hold (its lease expired and it came back to us):
      // running it twice concurrently would be our bug, so leave the copy to the attempt we hold.
      onSettled?.();
      return;
    }
    // The server may hand over more than there are free slots (a stream's credit is freed
    // when a job is settled, and a job failed after an ignored abort is settled before its
    // handler returns). Such jobs wait here, bounded by that credit, and start when a slot frees.
    if (this.active.size >= this.concurrency) {
      this.backlog.push({ job, onSettled });
      return;
    }
    this.run(job, onSettled);
  }

  private run(job: Job, onSettled: (() => void) | undefined): void {
    const a = newActiveJob(job);
    this.active.set(job.id, a);
    // Jobs from a stream come with a credit callback; fetched ones do not.
    a.done = this.execute(a, onSettled !== undefined).finally(() => {
      a.progress?.stop();
      this.active.delete(job.id);
      onSettled?.();
      const next = this.backlog.shift();
      if (next) this.run(next.job, next.onSettled);
      else if (this.slotWaiters.length) this.slotWaiters.shift()!();
      if (this.active.size === 0) {
        this.wakeDrainWaiters();
        this.onEmpty();
      }
    });
  }

  /**
   * The server says a job is no longer ours (cancelled, or its lease went to
   * another worker): abort its signal and settle nothing, since the server
   * would refuse an ack or nack for it anyway.
   */
  lose(id: string): void {
    const waiting = this.backlog.findIndex((b) => b.job.id === id);
    if (waiting >= 0) {
      const [b] = this.backlog.splice(waiting, 1);
      b!.onSettled?.();
      this.emit("job.cancelled", { job: b!.job });
      return;
    }
    const a = this.active.get(id);
    if (!a || a.settled) return;
    a.settled = true;
    a.abort.abort(new JobCancelledError());
    this.emit("job.cancelled", { job: a.job });
  }
}
