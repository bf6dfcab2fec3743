/**
 * StreamJobs over raw frames as a plain AsyncIterable of jobs: each message is
 * decoded as it is parsed and queued, and next() hands queued jobs out at once.
 * One hand-written iterator instead of two stacked async generators (frames,
 * then jobs): a worker receives every job this way, and each generator layer
 * cost several promises and microtasks per job.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { decodeJob } from "../../codec/wire/index.js";
import type { Job } from "../../model/job.js";
import type { RawStream } from "./raw.js";
import type { GrpcWire } from "./wire.js";

export interface JobStreamOptions {
  wire: GrpcWire;
  path: string;
  /** Called at the first next(), so that a failure to build the call surfaces there, as from a generator. */
  prepare(): { headers: Record<string, string>; request: Uint8Array };
  signal: AbortSignal;
  /** Maps whatever ended the call (a ConnectError, a decode error) to what the caller sees. */
  mapError(e: unknown): unknown;
}

export function jobStream(o: JobStreamOptions): AsyncIterable<Job> {
  return { [Symbol.asyncIterator]: () => new JobIterator(o) };
}

class JobIterator implements AsyncIterator<Job> {
  private readonly jobs: Job[] = [];
  private head = 0;
  private done = false;
  private failure: unknown;
  private waiter: { resolve: (r: IteratorResult<Job>) => void; reject: (e: unknown) => void } | undefined;
  private stream: RawStream | undefined;
  private started = false;
  private readonly onAbort = () => {
    this.failure ??= new ConnectError("the call was cancelled", Code.Canceled);
    this.stream?.cancel();
    // Still opening: nothing to cancel yet, end here (the stream is cancelled once it opens).
    if (!this.stream) this.finish();
  };

  constructor(private readonly o: JobStreamOptions) {}

  private open(): void {
    this.started = true;
    const { signal } = this.o;
    if (signal.aborted) {
      this.failure = new ConnectError("the call was cancelled", Code.Canceled);
      this.done = true;
      return;
    }
    const { headers, request } = this.o.prepare();
    signal.addEventListener("abort", this.onAbort, { once: true });
    this.o.wire
      .open(this.o.path, headers, {
        message: (bytes) => {
          if (this.done) return;
          let job: Job;
          try {
            job = decodeJob(bytes);
          } catch (e) {
            this.failure ??= e;
            this.stream?.cancel();
            return this.finish();
          }
          const w = this.waiter;
          if (w) {
            this.waiter = undefined;
            w.resolve({ value: job, done: false });
          } else this.jobs.push(job);
        },
        end: (e) => {
          this.failure ??= e;
          this.finish();
        },
      })
      .then(
        (s) => {
          this.stream = s;
          if (this.done || signal.aborted) s.cancel();
          else {
            s.send(request);
            s.end();
          }
        },
        (e: unknown) => {
          this.failure ??= e;
          this.finish();
        },
      );
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.o.signal.removeEventListener("abort", this.onAbort);
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    // Queued jobs are handed out first; a waiter exists only when none is queued.
    const f = this.failure;
    this.failure = undefined;
    if (f !== undefined) w.reject(this.o.mapError(f));
    else w.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<Job>> {
    if (!this.started) {
      try {
        this.open();
      } catch (e) {
        this.done = true;
        return Promise.reject(e);
      }
    }
    if (this.head < this.jobs.length) {
      const job = this.jobs[this.head]!;
      this.jobs[this.head++] = undefined as unknown as Job;
      if (this.head === this.jobs.length) {
        this.jobs.length = 0;
        this.head = 0;
      }
      return Promise.resolve({ value: job, done: false });
    }
    if (this.done) {
      if (this.failure !== undefined) {
        const f = this.failure;
        // Reported once; later calls see the end.
        this.failure = undefined;
        return Promise.reject(this.o.mapError(f));
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The consumer stopped early (break, a throw): cancel the call. */
  return(): Promise<IteratorResult<Job>> {
    if (!this.done) {
      this.stream?.cancel();
      this.jobs.length = 0;
      this.head = 0;
      this.failure = undefined;
      this.finish();
    }
    return Promise.resolve({ value: undefined, done: true });
  }
}
