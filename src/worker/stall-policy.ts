/**
 * When to give up on StreamJobs for a while. Some servers (the official Go
 * backends among them) let a stream go silent while work waits; the worker's
 * watchdog finds that work with a unary Fetch and reopens the stream. A server
 * that does this again and again costs a watchdog interval of idle slots each
 * time, so after `count` stalls within `withinMs` the worker polls with Fetch
 * for `pollForMs`, then tries the stream again (the server may have been
 * fixed or restarted). The counts are bounded: only the stalls inside the
 * window are kept.
 */
import { ValidationError } from "../model/errors.js";

/** When a worker gives up on a stalling StreamJobs for a while and polls with Fetch instead (WorkerOptions.stallFallback). */
export interface StallFallbackOptions {
  /** Stalls within `withinMs` that make the worker poll instead; default 3. */
  count?: number;
  /** The window the stalls are counted in; default 180 000 ms (three minutes). */
  withinMs?: number;
  /** How long the worker polls before it tries the stream again; default 300 000 ms. */
  pollForMs?: number;
}

export interface StallFallback {
  /** Stalls counted in the window that led to it. */
  stalls: number;
  withinMs: number;
  pollForMs: number;
  /** What the worker says in its log, once per fallback. */
  message: string;
}

export class StallPolicy {
  readonly count: number;
  readonly withinMs: number;
  readonly pollForMs: number;
  /** Times (ms) of the stalls inside the window, oldest first; never more than `count`. */
  private stalls: number[] = [];
  /** Stalls seen since the worker started, for the record. */
  total = 0;

  constructor(
    opts: StallFallbackOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.count = whole(opts.count, 3, 1, "stallFallback.count");
    this.withinMs = whole(opts.withinMs, 180_000, 1, "stallFallback.withinMs");
    this.pollForMs = whole(opts.pollForMs, 300_000, 1, "stallFallback.pollForMs");
  }

  /** Notes one stall; returns the fallback to make when it is the count-th within the window. */
  recordStall(): StallFallback | undefined {
    const t = this.now();
    this.total++;
    this.stalls = this.stalls.filter((s) => t - s < this.withinMs);
    this.stalls.push(t);
    if (this.stalls.length < this.count) return undefined;
    const stalls = this.stalls.length;
    // A fresh start after the fallback: the stream gets `count` more chances when it comes back.
    this.stalls = [];
    const s = (ms: number) => `${Math.round(ms / 1000)} s`;
    return {
      stalls,
      withinMs: this.withinMs,
      pollForMs: this.pollForMs,
      message: `ojs worker: StreamJobs stalled ${stalls} times within ${s(this.withinMs)} (the server stopped pushing while work was waiting); polling with Fetch for ${s(this.pollForMs)}, then trying the stream again`,
    };
  }
}

function whole(v: number | undefined, fallback: number, min: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < min) throw new ValidationError(`${name}: must be a whole number >= ${min}, got ${v}`);
  return v;
}
