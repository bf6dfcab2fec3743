/**
 * Who holds how many jobs, and what the store may still hand them: the caps on
 * jobs in flight per stream and per worker, the push streams of each worker,
 * and the rule for a lease that runs out on a job its worker never started.
 *
 * Why these rules (docs/connections.md): a consumer that stops acknowledging
 * must not keep receiving jobs, each of which would cost an attempt when its
 * lease runs out; and a job that only sat in a dead stream's buffers did not
 * run, so it goes back without using an attempt.
 */
import { ValidationError } from "../../model/errors.js";

export interface InFlightLimits {
  /** Most unsettled jobs pushed to one StreamJobs stream (its max_concurrent is clamped to it). */
  perStream: number;
  /** Most unsettled jobs one worker id holds across its streams and fetches. */
  perWorker: number;
  /**
   * How many times a job's lease may run out before its worker said it started
   * the job, at no cost in attempts. Past it the attempt counts anyway: a job
   * that kills its worker before the start signal leaves cannot loop for ever.
   */
  freeReclaims: number;
}

/**
 * What the adapters call a stream or fetch without a worker id. Calls under it
 * are many unrelated clients, not one worker: they are neither capped together
 * nor replace each other's streams.
 */
export const ANONYMOUS_WORKER = "anonymous";

export const DEFAULT_IN_FLIGHT_LIMITS: InFlightLimits = Object.freeze({ perStream: 1000, perWorker: 1000, freeReclaims: 3 });

/** A push stream as this module sees it; the store's Consumer satisfies it. */
export interface StreamHandle {
  readonly workerId: string;
  readonly queues: readonly string[];
  closed: boolean;
}

export class InFlight<S extends StreamHandle> {
  readonly limits: InFlightLimits;
  private readonly held = new Map<string, number>();
  private readonly streams = new Map<string, Set<S>>();

  constructor(limits: Partial<InFlightLimits> = {}) {
    this.limits = { ...DEFAULT_IN_FLIGHT_LIMITS, ...limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isInteger(v) || v < (k === "freeReclaims" ? 0 : 1))
        throw new ValidationError(`${k}: must be a ${k === "freeReclaims" ? "non-negative" : "positive"} integer, got ${v}`);
    }
  }

  /** The credit a new stream gets: what it asked for, within the per-stream cap. */
  streamCredit(asked: number): number {
    return Math.min(Math.max(1, asked), this.limits.perStream);
  }

  /** How many more jobs this worker may be handed now. */
  room(workerId: string): number {
    if (workerId === ANONYMOUS_WORKER) return Infinity;
    return this.limits.perWorker - (this.held.get(workerId) ?? 0);
  }

  /** A job was claimed by `workerId`. */
  take(workerId: string): void {
    if (workerId === ANONYMOUS_WORKER) return;
    this.held.set(workerId, (this.held.get(workerId) ?? 0) + 1);
  }

  /** A job `workerId` held was settled or taken back; true when the worker was at its cap until now. */
  give(workerId: string): boolean {
    if (workerId === ANONYMOUS_WORKER) return false;
    const n = (this.held.get(workerId) ?? 0) - 1;
    if (n <= 0) this.held.delete(workerId);
    else this.held.set(workerId, n);
    return n + 1 === this.limits.perWorker;
  }

  /**
   * Registers a new stream and returns the ones it replaces: earlier open
   * streams of the same worker id over the same queues. A worker opens its
   * stream again after a reconnect; the old one, if the server has not noticed
   * its death yet, would otherwise keep receiving jobs nobody reads.
   */
  open(s: S): S[] {
    let set = this.streams.get(s.workerId);
    if (!set) this.streams.set(s.workerId, (set = new Set()));
    const replaced = s.workerId === ANONYMOUS_WORKER ? [] : [...set].filter((o) => !o.closed && sameQueues(o.queues, s.queues));
    set.add(s);
    return replaced;
  }

  close(s: S): void {
    const set = this.streams.get(s.workerId);
    if (!set) return;
    set.delete(s);
    if (set.size === 0) this.streams.delete(s.workerId);
  }

  streamsOf(workerId: string): readonly S[] {
    return [...(this.streams.get(workerId) ?? [])];
  }

  /** Whether a lease that ran out costs the attempt: yes once started, or past the free reclaims. */
  charges(started: boolean, freeReclaimsUsed: number): boolean {
    return started || freeReclaimsUsed >= this.limits.freeReclaims;
  }

  /** Every job was dropped (reset): nobody holds any; open streams stay registered. */
  forgetHeld(): void {
    this.held.clear();
  }

  clear(): void {
    this.held.clear();
    this.streams.clear();
  }
}

function sameQueues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((q) => s.has(q));
}
