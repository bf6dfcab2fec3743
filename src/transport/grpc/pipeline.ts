/**
 * Many logical calls over one bidirectional stream: each call gets a sequence
 * number, calls made in the same tick travel in one frame, and answers are
 * matched back by number. This is what makes the fast path fast: a unary call
 * costs a new HTTP/2 stream with headers and trailers, a pipelined call costs a
 * few bytes in a frame that is on its way anyway. Frames are written and
 * answers settled synchronously, from the stream's own callbacks.
 *
 * Failure semantics are those of a unary call: if the stream breaks, every call
 * in flight fails with a (retryable) ConnectionError and its effect on the
 * server is unknown; the next call opens a new stream.
 */
import { AbortError, ConnectionError, TimeoutError, ValidationError } from "../../model/errors.js";
import { onMicrotask } from "../../util/microtask.js";
import type { RawHandlers, RawStream } from "./raw.js";

/** Largest frame of several calls: well under the 4 MiB message limit servers default to. */
const FRAME_BYTES = 1024 * 1024;

interface Pending<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
  deadline: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export interface PipelineOptions<Call, Outcome> {
  /** Opens the stream; the handlers receive its answers and its end. */
  open(handlers: RawHandlers): Promise<RawStream>;
  frame(calls: Array<{ seq: number; call: Call }>): Uint8Array;
  /** The answers in one response, each carrying the seq of its call. */
  outcomes(response: Uint8Array): ReadonlyArray<Outcome & { seq: number }>;
  /** Wraps a stream failure for the calls it took down. */
  streamError(e: unknown): unknown;
  /** Most calls in flight at once; more wait for room. Default 8192. */
  maxInFlight?: number;
  operation: string;
  /**
   * When the calls gathered leave: "microtask" (default) at the end of the
   * current tick, for callers that wait on each answer; "immediate" after the
   * I/O callbacks of this turn of the event loop, so that calls made by
   * several of them (the acks of jobs pushed in several chunks) share a frame.
   */
  flushOn?: "microtask" | "immediate";
  /**
   * A call that need not travel any more (a later call in the same frame made
   * it redundant) is answered here with its outcome and left out of the frame;
   * undefined sends it.
   */
  answeredLocally?(call: Call): Outcome | undefined;
}

export class Pipeline<Call, Outcome> {
  private seq = 0;
  private readonly pending = new Map<number, Pending<Outcome>>();
  private batch: Array<{ seq: number; call: Call }> = [];
  private flushQueued = false;
  /** The stream being opened or open; undefined when there is none. */
  private stream: Promise<RawStream | undefined> | undefined;
  private sink: RawStream | undefined;
  private roomWaiters: Array<() => void> = [];
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: PipelineOptions<Call, Outcome>) {}

  get inFlight(): number {
    return this.pending.size;
  }

  call(call: Call, timeoutMs: number, signal?: AbortSignal): Promise<Outcome> {
    if (this.closed) return Promise.reject(new ConnectionError("the transport is closed", { operation: this.opts.operation }));
    if (signal?.aborted) return Promise.reject(new AbortError(`${this.opts.operation} was aborted`, { operation: this.opts.operation }));
    // No async function per call: most calls find room and are queued at once.
    if (this.pending.size >= (this.opts.maxInFlight ?? 8192)) return this.callWhenRoom(call, timeoutMs, signal);
    return this.queue(call, timeoutMs, signal);
  }

  private async callWhenRoom(call: Call, timeoutMs: number, signal?: AbortSignal): Promise<Outcome> {
    while (this.pending.size >= (this.opts.maxInFlight ?? 8192)) await new Promise<void>((r) => this.roomWaiters.push(r));
    if (this.closed) throw new ConnectionError("the transport is closed", { operation: this.opts.operation });
    if (signal?.aborted) throw new AbortError(`${this.opts.operation} was aborted`, { operation: this.opts.operation });
    return this.queue(call, timeoutMs, signal);
  }

  private queue(call: Call, timeoutMs: number, signal?: AbortSignal): Promise<Outcome> {
    this.ensureStream();
    const seq = (this.seq = (this.seq + 1) >>> 0);
    return new Promise<Outcome>((resolve, reject) => {
      const p: Pending<Outcome> = { resolve, reject, deadline: timeoutMs > 0 ? Date.now() + timeoutMs : Infinity, signal, onAbort: undefined };
      if (signal) {
        p.onAbort = () => this.settle(seq, undefined, new AbortError(`${this.opts.operation} was aborted`, { operation: this.opts.operation }));
        signal.addEventListener("abort", p.onAbort, { once: true });
      }
      this.pending.set(seq, p);
      this.batch.push({ seq, call });
      if (!this.flushQueued) {
        this.flushQueued = true;
        // Everything asked for in this tick (or this turn of the loop) leaves in one frame.
        if (this.opts.flushOn === "immediate") setImmediate(this.flushNow);
        else onMicrotask(this.flushNow);
      }
    });
  }

  private readonly flushNow = (): void => this.flush();

  private flush(): void {
    this.flushQueued = false;
    // While the stream is still opening, calls gather; the open flushes them.
    if (!this.sink || this.batch.length === 0) return;
    let calls = this.batch;
    this.batch = [];
    if (this.opts.answeredLocally) calls = this.leaveOutAnswered(calls, this.opts.answeredLocally);
    if (calls.length === 0) return;
    for (const bytes of this.frames(calls)) this.sink.send(bytes);
  }

  /** The calls that still need the server; the others are settled with their local outcome. */
  private leaveOutAnswered(calls: Array<{ seq: number; call: Call }>, answer: (call: Call) => Outcome | undefined): Array<{ seq: number; call: Call }> {
    const out: Array<{ seq: number; call: Call }> = [];
    for (let i = 0; i < calls.length; i++) {
      const c = calls[i]!;
      const local = answer(c.call);
      if (local === undefined) out.push(c);
      else this.settle(c.seq, local, undefined);
    }
    return out;
  }

  /**
   * The calls as frames of at most FRAME_BYTES each (a call larger than that
   * travels alone): calls made in one tick share a frame, but many large ones
   * together must not make a message the server refuses for its size, which
   * would fail them all although each one fits.
   */
  private frames(calls: Array<{ seq: number; call: Call }>): Uint8Array[] {
    const bytes = this.encode(calls);
    if (!bytes) return [];
    if (bytes.length <= FRAME_BYTES || calls.length === 1) return [bytes];
    const mid = calls.length >> 1;
    return [...this.frames(calls.slice(0, mid)), ...this.frames(calls.slice(mid))];
  }

  /**
   * The frame of these calls. This runs in a microtask, where a throw would
   * reach the process: a call that cannot be encoded (a value nested past the
   * codec's bound, say) fails alone, and the others travel without it.
   */
  private encode(calls: Array<{ seq: number; call: Call }>): Uint8Array | undefined {
    try {
      return this.opts.frame(calls);
    } catch {
      const good: Array<{ seq: number; call: Call }> = [];
      for (const c of calls) {
        try {
          this.opts.frame([c]);
          good.push(c);
        } catch (e) {
          const why = new ValidationError(`${this.opts.operation}: the request cannot be encoded: ${e instanceof Error ? e.message : String(e)}`, {
            operation: this.opts.operation,
            cause: e,
          });
          this.settle(c.seq, undefined, why);
        }
      }
      return good.length ? this.opts.frame(good) : undefined;
    }
  }

  private ensureStream(): void {
    if (this.stream) return;
    this.sweeper ??= setInterval(() => this.sweep(), 250);
    this.sweeper.unref();
    let opened: RawStream | undefined;
    const handlers: RawHandlers = {
      message: (bytes) => {
        const list = this.opts.outcomes(bytes);
        for (let i = 0; i < list.length; i++) this.settle(list[i]!.seq, list[i]!, undefined);
      },
      end: (error) => this.broken(opened, error ?? new ConnectionError(`the ${this.opts.operation} stream ended`, { operation: this.opts.operation })),
    };
    this.stream = this.opts.open(handlers).then(
      (s) => {
        opened = s;
        if (this.closed) {
          s.cancel();
          return undefined;
        }
        this.sink = s;
        this.flush();
        return s;
      },
      (e: unknown) => {
        this.broken(undefined, e);
        return undefined;
      },
    );
  }

  /** The stream is gone: what it carried failed, the next call opens another. */
  private broken(stream: RawStream | undefined, e: unknown): void {
    if (stream === undefined || this.sink === stream) {
      this.sink = undefined;
      this.stream = undefined;
    }
    const failure = this.opts.streamError(e);
    this.batch = [];
    for (const seq of [...this.pending.keys()]) this.settle(seq, undefined, failure);
  }

  private settle(seq: number, outcome: Outcome | undefined, error: unknown): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    if (p.onAbort) p.signal?.removeEventListener("abort", p.onAbort);
    if (error !== undefined) p.reject(error);
    else p.resolve(outcome as Outcome);
    const w = this.roomWaiters.shift();
    w?.();
  }

  /** One timer for all deadlines: a per-call timer would cost more than the call. */
  private sweep(): void {
    const now = Date.now();
    for (const [seq, p] of this.pending) {
      if (p.deadline <= now) this.settle(seq, undefined, new TimeoutError(`${this.opts.operation} timed out`, { operation: this.opts.operation }));
    }
  }

  close(): void {
    this.closed = true;
    this.sink?.end();
    this.sink?.cancel();
    this.sink = undefined;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const seq of [...this.pending.keys()]) this.settle(seq, undefined, new ConnectionError("the transport is closed", { operation: this.opts.operation }));
  }
}
