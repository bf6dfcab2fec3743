/**
 * Which way a group commit goes to disk. A write on the thread pool (async)
 * lets the event loop go on while the disk works, but the trip there and back
 * costs a small group about as much as the write itself: measured on a 2-core
 * VM, ~0.33 ms for an async O_DSYNC write against ~0.2 ms done on the event
 * loop. So a small group (a producer awaiting each enqueue, a few workers
 * acking) is written on the event loop, and a large one (many callers, a
 * batch, compaction) on the thread pool, where the next group's requests are
 * read while the disk works. A disk that turns slow (a busy device, a network
 * volume) would stall every other request while it is waited on: once recent
 * writes took long, every group goes to the thread pool until they are quick
 * again. Either way the group is on disk before anyone is answered.
 */

/** At most this many records and bytes in a group written on the event loop. */
export const SYNC_MAX_RECORDS = 16;
export const SYNC_MAX_BYTES = 64 * 1024;
/**
 * Above this recent write time (ms, smoothed), every group goes to the thread
 * pool: an SSD flushes in well under a millisecond, a disk that spins or a
 * network volume in several.
 */
export const SLOW_WRITE_MS = 5;

export class CommitPath {
  /** Smoothed time of recent durable writes, either way (ms). */
  private recentMs = 0;

  constructor(private readonly slowMs = SLOW_WRITE_MS) {}

  /** Whether a group of `records` records and `bytes` bytes is written on the event loop. */
  onLoop(records: number, bytes: number): boolean {
    return records <= SYNC_MAX_RECORDS && bytes <= SYNC_MAX_BYTES && this.recentMs <= this.slowMs;
  }

  /** A durable write took `ms`: a slow disk moves small groups off the event loop, a quick one back. */
  took(ms: number): void {
    this.recentMs += (ms - this.recentMs) / 4;
  }

  /** For stats and tests. */
  get smoothedMs(): number {
    return this.recentMs;
  }
}
