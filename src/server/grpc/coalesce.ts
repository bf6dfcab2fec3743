/**
 * Response messages of one gRPC call gathered until the end of the current
 * tick and written as one buffer: the store hands a streaming worker its jobs
 * one at a time (a refill after every ack of a frame), and a write per job costs
 * more in node:http2 (a write request, a DATA frame, a 'data' event and a
 * parser pass at the other end) than encoding the job. Messages are framed
 * (5-byte gRPC prefix) straight into the one buffer; nothing waits past the
 * current tick, so latency is unchanged (an enqueue answer behind a push waits
 * one turn on purpose: ./push-order.ts).
 */
import { Buffer } from "node:buffer";
import { onMicrotask } from "../../util/microtask.js";

export class FrameCoalescer {
  private pending: Uint8Array[] = [];
  private bytes = 0;
  private queued = false;
  private readonly flushNow = (): void => this.flush();

  /**
   * `write` gets the framed bytes of every message added in one tick; when
   * `later()` says so at the first message, of one turn of the event loop
   * (a setImmediate) instead.
   */
  constructor(
    private readonly write: (framed: Buffer) => void,
    private readonly later?: () => boolean,
  ) {}

  /** Adds one message; `msg` must stay unchanged until the flush (the codec's views do). */
  add(msg: Uint8Array): void {
    this.pending.push(msg);
    this.bytes += 5 + msg.length;
    if (!this.queued) {
      this.queued = true;
      if (this.later?.()) setImmediate(this.flushNow);
      else onMicrotask(this.flushNow);
    }
  }

  /** Writes what is pending now (before the call ends, say). */
  flush(): void {
    this.queued = false;
    const list = this.pending;
    if (list.length === 0) return;
    const out = Buffer.allocUnsafe(this.bytes);
    let at = 0;
    for (let i = 0; i < list.length; i++) {
      const m = list[i]!;
      out[at] = 0;
      out.writeUInt32BE(m.length, at + 1);
      out.set(m, at + 5);
      at += 5 + m.length;
    }
    this.pending = [];
    this.bytes = 0;
    this.write(out);
  }

  /** Drops what is pending (the call is over and its stream gone). */
  clear(): void {
    this.pending = [];
    this.bytes = 0;
  }
}
