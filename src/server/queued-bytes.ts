/**
 * The queued-bytes limit (Limits.maxQueuedBytes): how much memory the args and
 * meta of unfinished jobs (waiting, scheduled, retrying or active) may hold.
 * The store tells this ledger when a job enters and leaves that set; the
 * bindings ask it to admit new jobs before they are stored, and a job that
 * would take the total past the limit is refused with the retryable
 * `queue_full` (429 / RESOURCE_EXHAUSTED, Retry-After): the server is full for
 * now, and room comes back as workers finish jobs.
 *
 * Finished jobs are not counted: their number is bounded by maxFinishedJobs and
 * maxDeadLetter, each at most maxArgsBytes + maxMetaBytes + maxResultBytes.
 */
import { jsonBytes } from "../model/limits.js";
import type { JsonValue } from "../model/json.js";
import { OjsError } from "../model/errors.js";
import type { JobAccounting, JobRecord } from "./store/store.js";

/** Retry-After of a refusal: about how long a busy worker pool takes to make room. */
const RETRY_AFTER_MS = 1000;

/** queue_full for the whole server: the details name the limit, not a queue's depth bound. */
export class QueuedBytesFullError extends OjsError {
  override name = "QueuedBytesFullError";
  readonly retryAfterMs = RETRY_AFTER_MS;
  constructor(message: string, held: number, max: number) {
    super(message, { code: "queue_full", retryable: true, details: { limit: "maxQueuedBytes", max, held } });
  }
}

export class QueuedBytes implements JobAccounting {
  /** Bytes held now by unfinished jobs. */
  total = 0;
  private held = new WeakMap<JobRecord, number>();
  /** Sizes measured at admission, by the args array the job will carry: no second walk at enter(). */
  private measured = new WeakMap<object, number>();

  constructor(readonly max: number) {}

  /** The bytes a job will hold, remembered for enter(). */
  sizeOf(args: JsonValue[], meta: JsonValue | undefined): number {
    const cached = this.measured.get(args);
    if (cached !== undefined) return cached;
    const n = jsonBytes(args) + jsonBytes(meta);
    this.measured.set(args, n);
    return n;
  }

  /** Throws the retryable queue_full when `bytes` more would pass the limit; stores nothing. */
  admit(bytes: number): void {
    if (this.total + bytes > this.max)
      throw new QueuedBytesFullError(
        `the server holds ${this.total} bytes of unfinished jobs; ${bytes} more would pass the limit maxQueuedBytes=${this.max}`,
        this.total,
        this.max,
      );
  }

  enter(rec: JobRecord): void {
    if (this.held.has(rec)) return;
    const n = this.sizeOf(rec.job.args, rec.job.meta);
    this.held.set(rec, n);
    this.total += n;
  }

  leave(rec: JobRecord): void {
    const n = this.held.get(rec);
    if (n === undefined) return;
    this.held.delete(rec);
    this.total -= n;
  }

  clear(): void {
    this.total = 0;
    this.held = new WeakMap();
  }
}
