/**
 * The worker's slots (its concurrency): the handlers running now, the settles
 * (acks and nacks) in flight, the jobs received beyond the free slots (the
 * backlog), and who waits for a slot to free or for the last job to end. Every
 * accepted job is started exactly once, or handed back; none is dropped.
 *
 * A slot is a running handler: it frees when the handler returns (or throws),
 * not when the server answers the settle, so the next job runs during the
 * ack's round trip (on the journal store that trip includes the fsync). Settles
 * in flight are bounded by the concurrency as well: a settle that finds no room
 * waits holding its handler's slot, so once the server is that far behind the
 * slots fill with finished handlers and nothing new starts (a slow server still
 * pushes back). Not stopping new jobs as soon as the bound is reached is
 * deliberate: handlers of equal length would then run and settle in lockstep,
 * N at a time, no faster than when a slot waited for its ack (docs/performance.md).
 * A job stays held (heartbeats, duplicate deliveries, drain) until its settle is
 * answered.
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
  /** True while its handler holds a slot (running, or returned and waiting for room to settle). */
  running: boolean;
  /** The ack or nack in flight (or waiting for room), once one was started through the slots: a start signal is then needless. */
  settle: Promise<void> | undefined;
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

/** Runs `f` once `p` settles either way; an argument, not a named local closure (tsx names each one as it is made). */
function always(p: Promise<void>, f: () => void): Promise<void> {
  return p.then(f, f);
}

/** Every job's `done` until its run begins: one promise for all. */
const RESOLVED: Promise<void> = Promise.resolve();

export function newActiveJob(job: Job, abort = new LazyAbort()): ActiveJob {
  return {
    job,
    abort,
    progress: undefined,
    settled: false,
    running: true,
    settle: undefined,
    startedAt: Date.now(),
    done: RESOLVED,
    forceTimer: undefined,
  };
}

/** What running one attempt needs from the slots: when its handler is done, and room for its settle. */
export interface SlotGate {
  /** The handler returned with its job already settled (cancelled, or failed after an ignored abort): its slot is free. */
  handlerReturned(a: ActiveJob): void;
  /**
   * Runs `settle` (an ack or nack that never rejects) once fewer than `concurrency`
   * settles are in flight. With `handlerReturned`, the job's slot frees as the
   * settle starts; without, the handler still runs (a failure forced after an
   * ignored abort) and keeps its slot. Resolves when the settle is answered.
   */
  settle(a: ActiveJob, settle: () => Promise<unknown>, handlerReturned: boolean): Promise<void>;
}

export class JobSlots implements SlotGate {
  /** Every job started and not yet settled: its handler runs, or its settle is not answered yet. */
  readonly active = new Map<string, ActiveJob>();
  /** Handlers holding a slot; at most `concurrency`. */
  private running = 0;
  /** Settles (acks, nacks) in flight; at most `concurrency`. */
  private settling = 0;
  /** Settles waiting for room, each starting as one in flight is answered; at most one per running handler. */
  private settleQueue: Array<() => void> = [];
  /** Received but not started yet, waiting for a slot; bounded by the stream's credit. */
  private backlog: WaitingJob[] = [];
  private slotWaiters: Array<() => void> = [];
  private drainWaiters: Array<() => void> = [];
  private settleWaiters: Array<() => void> = [];

  /**
   * @param execute runs one attempt to its end (settled, or left to its lease); `pushed` when it came from a stream
   * @param onEmpty called each time the last held job ends
   */
  constructor(
    private readonly concurrency: number,
    private readonly execute: (a: ActiveJob, pushed: boolean, gate: SlotGate) => Promise<void>,
    private readonly emit: EmitWorkerEvent,
    private readonly onEmpty: () => void,
  ) {}

  /** Jobs that could start now: free slots, less what waits in the backlog. */
  get free(): number {
    return this.concurrency - this.running - this.backlog.length;
  }

  private canStart(): boolean {
    return this.running < this.concurrency;
  }

  /** Ids of every job held: running, settling, or waiting in the backlog (the heartbeat extends them all). */
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

  /** Resolves once no settle is in flight or waiting for room (handlers may still run). */
  settlesAnswered(): Promise<void> {
    if (this.settling === 0 && this.settleQueue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.settleWaiters.push(resolve));
  }

  /** Resolves once no job is held: every handler returned and every settle answered. */
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
    // when the server gets a job's settle, and a job failed after an ignored abort is settled
    // before its handler returns, or a handler that returned waits for room to settle). Such
    // jobs wait here, bounded by that credit, and start when a slot frees.
    if (!this.canStart()) {
      this.backlog.push({ job, onSettled });
      return;
    }
    this.run(job, onSettled);
  }

  private run(job: Job, onSettled: (() => void) | undefined): void {
    const a = newActiveJob(job);
    this.active.set(job.id, a);
    this.running++;
    // Jobs from a stream come with a credit callback; fetched ones do not.
    // then(f, f) rather than finally(f): finally costs two more closures, a promise and a microtask per job.
    a.done = always(this.execute(a, onSettled !== undefined, this), () => {
      // execute never throws, but a slot must never leak if it did.
      if (a.running) this.handlerReturned(a);
      a.progress?.stop();
      this.active.delete(job.id);
      onSettled?.();
      if (this.active.size === 0) {
        this.wakeDrainWaiters();
        this.onEmpty();
      }
    });
  }

  handlerReturned(a: ActiveJob): void {
    if (!a.running) return;
    a.running = false;
    this.running--;
    this.startWaiting();
  }

  settle(a: ActiveJob, settle: () => Promise<unknown>, handlerReturned: boolean): Promise<void> {
    if (this.settling < this.concurrency) return (a.settle = this.startSettle(a, settle, handlerReturned));
    return (a.settle = new Promise<void>((resolve) => this.settleQueue.push(() => void this.startSettle(a, settle, handlerReturned).then(resolve))));
  }

  // A method and one bound callback, not closures made per job (tsx names each named closure as it is made).
  private startSettle(a: ActiveJob, settle: () => Promise<unknown>, handlerReturned: boolean): Promise<void> {
    this.settling++;
    // Sent before the next job starts in the freed slot: the ack leaves in this tick.
    const answered = settle();
    if (handlerReturned) this.handlerReturned(a);
    return answered.then(this.answeredOne, this.answeredOne);
  }

  private readonly answeredOne = (): void => this.settleAnswered();

  private settleAnswered(): void {
    this.settling--;
    // Room goes to a settle that waits for it first: its handler holds a slot meanwhile.
    const next = this.settleQueue.shift();
    if (next) next();
    else if (this.settling === 0) {
      const w = this.settleWaiters;
      this.settleWaiters = [];
      for (const f of w) f();
    }
  }

  /** A slot freed: start what waits in the backlog, then let the dispatcher ask for more. */
  private startWaiting(): void {
    while (this.backlog.length > 0 && this.canStart()) {
      const next = this.backlog.shift()!;
      this.run(next.job, next.onSettled);
    }
    if (this.slotWaiters.length > 0 && this.free > 0) this.slotWaiters.shift()!();
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
