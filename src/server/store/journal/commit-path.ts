/**
 * Which way a small group commit goes to disk: on the event loop (writevSync)
 * or on libuv's thread pool (async). On a quiet machine the trip to the pool
 * and back costs a small group about as much as the write itself (~0.33 ms
 * async against ~0.2 ms on the loop, measured on a 2-core VM), so the loop
 * wins; on a busy one the loop thread, which has used much CPU, waits longer
 * to be scheduled again after the disk answers than a pool thread does, and
 * the pool wins (a p50 write of 1.2-2.8 ms on the loop against 0.3-1.0 ms in
 * the pool, measured with ten other processes busy on those 2 cores). So both
 * are timed as the writer sees them, and small groups take the one that has
 * been quicker lately, with every PROBE_EVERY-th small group taking the other
 * one so that its time stays current. A large group (many callers, a batch,
 * compaction) always goes to the pool, where the next group's requests are
 * read while the disk works; and when writes on the loop have been slow (a
 * disk that spins, a network volume) small groups leave the loop too, so a
 * slow disk never stalls the other requests for long. Either way the group is
 * on disk before anyone it covers is answered.
 */

/** At most this many records and bytes in a group written on the event loop. */
export const SYNC_MAX_RECORDS = 16;
export const SYNC_MAX_BYTES = 64 * 1024;
/**
 * Above this recent write time on the loop (ms, smoothed), small groups go to
 * the pool but for the probes: an SSD flushes in well under a millisecond, a
 * disk that spins or a network volume in several.
 */
export const SLOW_WRITE_MS = 5;
/** One small group in this many takes the way that has been slower lately, to keep its time current. */
export const PROBE_EVERY = 32;

/** "auto" (default): the quicker way, as above; "loop" or "pool": always that way for small groups (tests). */
export type CommitMode = "auto" | "loop" | "pool";

export class CommitPath {
  /** Smoothed times (ms) of recent small writes each way; undefined until one was made. */
  private loopMs: number | undefined;
  private poolMs: number | undefined;
  private smallGroups = 0;

  constructor(private readonly mode: CommitMode = "auto") {}

  /** Whether a group of `records` records and `bytes` bytes is written on the event loop. */
  onLoop(records: number, bytes: number): boolean {
    if (!small(records, bytes) || this.mode === "pool") return false;
    if (this.mode === "loop") return true;
    this.smallGroups++;
    if (this.loopMs === undefined) return true;
    if (this.poolMs === undefined) return false;
    const loopBetter = this.loopMs <= this.poolMs && this.loopMs <= SLOW_WRITE_MS;
    return this.smallGroups % PROBE_EVERY === 0 ? !loopBetter : loopBetter;
  }

  /** A small group's durable write took `ms`, on the loop or in the pool. */
  took(onLoop: boolean, ms: number): void {
    if (onLoop) this.loopMs = this.loopMs === undefined ? ms : this.loopMs + (ms - this.loopMs) / 4;
    else this.poolMs = this.poolMs === undefined ? ms : this.poolMs + (ms - this.poolMs) / 4;
  }
}

/** Whether a group is small enough to be written on the event loop at all. */
export function small(records: number, bytes: number): boolean {
  return records <= SYNC_MAX_RECORDS && bytes <= SYNC_MAX_BYTES;
}
