/**
 * The ordered, durable answers of one fast-path call stream (EnqueueStream,
 * SettleStream): kept apart from raw.ts, which reads and frames the calls.
 */
import { onMicrotask } from "../../util/microtask.js";
import type { ServerCore } from "../core.js";

/** What the answers need of a call: send a message, fail it, end it. */
export interface ReplyCall {
  send(bytes: Uint8Array): void;
  fail(e: unknown): void;
  end(): void;
}

/** The frame of these outcomes; when that fails, of the same calls failed as unavailable. */
function encodeOr<O>(encode: (os: O[]) => Uint8Array, unavailable: (os: O[], e: unknown) => O[], os: O[]): Uint8Array {
  try {
    return encode(os);
  } catch (e) {
    return encode(unavailable(os, e));
  }
}

function allKnown<O>(issued: ReadonlyArray<O | Promise<O>>): issued is O[] {
  for (let i = 0; i < issued.length; i++) if (issued[i] instanceof Promise) return false;
  return true;
}

/**
 * Answers of one fast-path stream, in order, each sent once the changes it
 * reports are durable. The calls of a frame are issued together (the store
 * applies them in order) and awaited together: one wait per frame, so the
 * stream stays pipelined. A write's promise resolves once the store has it on
 * disk (the journal) or at once (memory); the barrier after it covers what
 * else the frame changed. When the journal cannot be written, the calls of
 * that frame are answered with a retryable "unavailable" error.
 */
export class DurableReplies {
  private tail: Promise<void> | undefined;
  private pending = 0;
  /** The client half-closed while answers were still waiting: the last one ends the call. */
  private ending = false;

  constructor(
    /** The server (its durability barrier). */
    private readonly core: Pick<ServerCore, "durable">,
    private readonly call: ReplyCall,
  ) {}

  /**
   * The outcomes of one frame's calls, each given as it is or as a promise that never rejects (a
   * failed call is an outcome; outcomes are plain objects, never thenables). `unavailable` turns
   * the successes into errors when durability fails.
   */
  send<O>(issued: ReadonlyArray<O | Promise<O>>, encode: (os: O[]) => Uint8Array, unavailable: (os: O[], e: unknown) => O[]): void {
    // Every outcome known, nothing ahead of them and nothing to wait for (the memory store, or a
    // journal with every write on disk): answered in this tick, with one microtask and no promise.
    // That one turn lets the pushes the calls caused (the store dispatches in a microtask) go first,
    // so that the answer waits for them (./push-order.ts).
    if (this.pending === 0 && allKnown(issued) && this.core.durable() === undefined) {
      this.pending++;
      onMicrotask(() => {
        let bytes: Uint8Array;
        try {
          bytes = encodeOr(encode, unavailable, issued);
        } catch (e) {
          return this.failed(e);
        }
        this.deliver(bytes);
      });
      return;
    }
    const outcomes = Promise.all(issued);
    this.pending++;
    const prev = this.tail;
    // Started at once: a rejection must not wait for the frames ahead of it to be noticed. Plain
    // thens and no named closures (tsx names each one as it is made): a frame of one call, a
    // producer awaiting each enqueue, is answered a few promises and microtask turns sooner.
    const answer = outcomes.then((os) => {
      const barrier = this.core.durable();
      return barrier
        ? barrier.then(
            () => encodeOr(encode, unavailable, os),
            (e: unknown) => encode(unavailable(os, e)),
          )
        : encodeOr(encode, unavailable, os);
    });
    this.tail = (prev ? prev.then(() => answer) : answer).then(
      (bytes) => this.deliver(bytes),
      (e: unknown) => this.failed(e),
    );
  }

  private deliver(bytes: Uint8Array): void {
    try {
      this.call.send(bytes);
    } catch (e) {
      return this.failed(e);
    }
    this.answered();
  }

  /** An answer that cannot be encoded (or sent) ends the call instead of the process. */
  private failed(e: unknown): void {
    this.call.fail(e);
    this.answered();
  }

  private answered(): void {
    if (--this.pending === 0 && this.ending) this.call.end();
  }

  /** The client half-closed: end the call after the answers still waiting. */
  end(): void {
    if (this.pending === 0) this.call.end();
    else this.ending = true;
  }
}
