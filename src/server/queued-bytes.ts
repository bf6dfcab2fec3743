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
  // The last size measured, by the values measured: an enqueue measures at admission, and
  // the store's enter() right after asks again for the same job. One entry, no per-job map.
  private lastArgs: unknown;
  private lastMeta: unknown;
  private lastSize = 0;
  // The same for a batch: sizeOfAll measures every job, and the store's enter() asks again for
  // each, in the same order. Kept until another batch comes: at most one batch (maxBatchJobs).
  private batch: ReadonlyArray<{ args: JsonValue[]; meta?: JsonValue }> = [];
  private batchSizes: number[] = [];
  private batchNext = 0;

  constructor(readonly max: number) {}

  /** The bytes a job with these args and meta holds while it is unfinished. */
  sizeOf(args: JsonValue[], meta: JsonValue | undefined): number {
    const b = this.batch[this.batchNext];
    // A batch is not forgotten at its last job (a branch taken once per batch, which the store's
    // optimized insert lacked feedback for and deopted on at a process's first batches): it runs out
    // (the index passes its end) and is replaced by the next batch, or cleared by clear().
    if (b !== undefined && b.args === args && sameMeta(b.meta, meta)) return this.batchSizes[this.batchNext++]!;
    if (args === this.lastArgs && sameMeta(this.lastMeta, meta)) return this.lastSize;
    const n = measure(args, meta);
    this.lastArgs = args;
    this.lastMeta = meta;
    this.lastSize = n;
    return n;
  }

  /**
   * The bytes of all these jobs, each measured once for this and for the store's enter() that follows;
   * `known[i]`, when given and not -1, is job i's size measured already (by the limits check).
   */
  sizeOfAll(jobs: ReadonlyArray<{ args: JsonValue[]; meta?: JsonValue }>, known?: readonly number[]): number {
    const sizes = new Array<number>(jobs.length);
    let total = 0;
    for (let i = 0; i < jobs.length; i++) {
      const k = known?.[i] ?? -1;
      total += sizes[i] = k >= 0 ? k : measure(jobs[i]!.args, jobs[i]!.meta);
    }
    this.batch = jobs;
    this.batchSizes = sizes;
    this.batchNext = 0;
    return total;
  }

  private forgetBatch(): void {
    this.batch = [];
    this.batchSizes = [];
    this.batchNext = 0;
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
    if (rec.queuedBytes > 0) return;
    const n = this.sizeOf(rec.job.args, rec.job.meta);
    rec.queuedBytes = n;
    this.total += n;
  }

  leave(rec: JobRecord): void {
    this.total -= rec.queuedBytes;
    rec.queuedBytes = 0;
  }

  clear(): void {
    this.total = 0;
    this.lastArgs = undefined;
    this.lastMeta = undefined;
    this.forgetBatch();
  }
}

function measure(args: JsonValue[], meta: JsonValue | undefined): number {
  return jsonBytes(args) + (meta === undefined || isEmptyObject(meta) ? 0 : jsonBytes(meta));
}

/** The store keeps a request without meta as meta {}: the same job as far as size goes. */
function sameMeta(measured: unknown, meta: unknown): boolean {
  return meta === measured || (measured === undefined && isEmptyObject(meta));
}

function isEmptyObject(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  for (const _ in v) return false;
  return true;
}
