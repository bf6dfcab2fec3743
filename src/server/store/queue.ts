import type { JobState } from "../../model/job.js";
import type { ReadyItem } from "./ready-queue.js";
import { TenantReadyQueue } from "../tenancy/ready-shards.js";

export type StateCounts = Record<JobState, number>;

export function zeroCounts(): StateCounts {
  return { scheduled: 0, available: 0, pending: 0, active: 0, completed: 0, retryable: 0, cancelled: 0, discarded: 0 };
}

/**
 * At most `max` deliveries in any window of `windowMs`: a ring of the last `max`
 * delivery times, so the check and the update are O(1) and memory is bounded
 * by the configured rate.
 */
export class RateWindow {
  private stamps: number[];
  private head = 0;

  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {
    this.stamps = new Array<number>(max).fill(-Infinity);
  }

  /** Milliseconds until one more delivery is allowed; 0 when allowed now. */
  waitMs(now: number): number {
    const oldest = this.stamps[this.head]!;
    return Math.max(0, oldest + this.windowMs - now);
  }

  record(now: number): void {
    this.stamps[this.head] = now;
    this.head = (this.head + 1) % this.max;
  }
}

export interface Backpressure {
  maxDepth: number;
  strategy: "reject";
  /** Fraction of maxDepth above which successful enqueues carry a pressure header. */
  warningThreshold?: number;
}

const BUCKETS = 60;
const BUCKET_MS = 60_000;

/**
 * Per-minute counters over the last hour, for queue statistics that must not
 * scan jobs: completions, failures, run time and wait time.
 */
export class RollingStats {
  private minute = new Array<number>(BUCKETS).fill(-1);
  private completed = new Array<number>(BUCKETS).fill(0);
  private failed = new Array<number>(BUCKETS).fill(0);
  private durationSum = new Array<number>(BUCKETS).fill(0);
  private waitSum = new Array<number>(BUCKETS).fill(0);
  private waits = new Array<number>(BUCKETS).fill(0);

  private slot(now: number): number {
    const m = Math.floor(now / BUCKET_MS);
    const i = m % BUCKETS;
    if (this.minute[i] !== m) {
      this.minute[i] = m;
      this.completed[i] = 0;
      this.failed[i] = 0;
      this.durationSum[i] = 0;
      this.waitSum[i] = 0;
      this.waits[i] = 0;
    }
    return i;
  }

  complete(now: number, durationMs: number): void {
    const i = this.slot(now);
    this.completed[i]!++;
    this.durationSum[i]! += durationMs;
  }

  fail(now: number): void {
    this.failed[this.slot(now)]!++;
  }

  started(now: number, waitMs: number): void {
    const i = this.slot(now);
    this.waitSum[i]! += waitMs;
    this.waits[i]!++;
  }

  lastHour(now: number): { completed: number; failed: number; avgDurationMs: number; avgWaitMs: number; throughputPerSecond: number } {
    const current = Math.floor(now / BUCKET_MS);
    let completed = 0;
    let failed = 0;
    let dur = 0;
    let wait = 0;
    let waits = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const m = this.minute[i]!;
      if (m < 0 || current - m >= BUCKETS) continue;
      completed += this.completed[i]!;
      failed += this.failed[i]!;
      dur += this.durationSum[i]!;
      wait += this.waitSum[i]!;
      waits += this.waits[i]!;
    }
    return lastHourFigures(completed, failed, dur, wait, waits);
  }

  /** The minutes of the last hour that saw anything, oldest first (minute = epoch ms of its start). */
  perMinute(now: number): MinuteCounts[] {
    const current = Math.floor(now / BUCKET_MS);
    const out: MinuteCounts[] = [];
    for (let i = 0; i < BUCKETS; i++) {
      const m = this.minute[i]!;
      if (m < 0 || current - m >= BUCKETS) continue;
      out.push({ minute: m * BUCKET_MS, completed: this.completed[i]!, failed: this.failed[i]! });
    }
    return out.sort((a, b) => a.minute - b.minute);
  }
}

export interface MinuteCounts {
  /** Start of the minute, epoch milliseconds. */
  minute: number;
  completed: number;
  failed: number;
}

export interface QueueRecord<T extends ReadyItem> {
  name: string;
  paused: boolean;
  createdAt: Date;
  /** Available jobs, sharded by tenant for fair, isolated fetches (multi-tenancy). */
  ready: TenantReadyQueue<T>;
  /** Retained jobs of this queue by state, maintained on every transition. */
  counts: StateCounts;
  /** Jobs of this queue in the dead-letter set. */
  dead: number;
  rateLimit: RateWindow | undefined;
  /** When a rate-limited queue is due to be offered to push consumers again. */
  wakeAt: number;
  backpressure: Backpressure | undefined;
  stats: RollingStats;
}

export function newQueue<T extends ReadyItem>(name: string, now: number): QueueRecord<T> {
  return {
    name,
    paused: false,
    createdAt: new Date(now),
    ready: new TenantReadyQueue<T>(),
    counts: zeroCounts(),
    dead: 0,
    rateLimit: undefined,
    wakeAt: 0,
    backpressure: undefined,
    stats: new RollingStats(),
  };
}

/** Jobs waiting to run: what a depth bound limits. */
export function depthOf(q: { counts: StateCounts }): number {
  const c = q.counts;
  return c.available + c.scheduled + c.retryable + c.pending;
}

/** A queue with nothing in it and nothing configured can be forgotten and recreated on demand. */
export function isIdle(q: QueueRecord<ReadyItem>): boolean {
  if (q.paused || q.rateLimit || q.backpressure || q.dead) return false;
  for (const n of Object.values(q.counts)) if (n) return false;
  return true;
}

/** A queue's last-hour figures from its sums over the hour (this file's minute buckets; postgres/throughput.ts's rows). */
export function lastHourFigures(
  completed: number,
  failed: number,
  durationSum: number,
  waitSum: number,
  waits: number,
): { completed: number; failed: number; avgDurationMs: number; avgWaitMs: number; throughputPerSecond: number } {
  return {
    completed,
    failed,
    avgDurationMs: completed ? durationSum / completed : 0,
    avgWaitMs: waits ? waitSum / waits : 0,
    throughputPerSecond: completed / 3600,
  };
}
