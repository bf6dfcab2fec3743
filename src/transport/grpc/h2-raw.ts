/**
 * openRawStream (./raw.ts) on the transport's own HTTP/2 client: the long-lived
 * calls (the fast path's pipelines, StreamJobs, EnqueueBatch) with the call
 * object as the stream's handler and as the RawStream its caller writes to.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import type { H2Client } from "../h2/client.js";
import { CANCEL, NO_ERROR } from "../h2/frames.js";
import type { H2Stream, StreamHandler } from "../h2/stream.js";
import { get, toHeaders } from "./h2-unary.js";
import { FrameParser, frameMessage, GRPC_CONTENT_TYPE, type RawHandlers, type RawStream } from "./raw.js";

export function h2OpenRawStream(client: H2Client, path: string, headers: Record<string, string>, handlers: RawHandlers): Promise<RawStream> {
  const call = new H2RawCall(handlers);
  call.stream = client.request(path, { ...headers, "content-type": GRPC_CONTENT_TYPE, te: "trailers" }, call);
  return Promise.resolve(call);
}

class H2RawCall implements StreamHandler, RawStream {
  stream!: H2Stream;
  private readonly parser = new FrameParser();
  private responseHeaders: string[] | undefined;
  private trailers: string[] | undefined;
  private ended = false;
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly handlers: RawHandlers) {}

  send(bytes: Uint8Array): boolean {
    return !this.ended && this.stream.write(frameMessage(bytes));
  }

  end(): void {
    if (!this.ended) this.stream.end();
  }

  cancel(): void {
    this.stream.cancel(CANCEL);
  }

  drained(): Promise<void> {
    if (this.ended || this.stream.closed) return Promise.resolve();
    return new Promise<void>((r) => this.drainWaiters.push(r));
  }

  onDrain(): void {
    this.wake();
  }

  onHeaders(s: H2Stream, h: string[], end: boolean): void {
    if (this.responseHeaders !== undefined) {
      this.trailers = h;
      return;
    }
    this.responseHeaders = h;
    // Trailers-only (a refusal at the door, an unknown method): the call is over even if
    // the server leaves the stream half-open, as a long-lived pipeline never half-closes.
    if (get(h, "grpc-status") === undefined) return;
    this.finish(findTrailerError(toHeaders(h)));
    if (!end) s.cancel(NO_ERROR);
  }

  onData(s: H2Stream, chunk: Buffer): void {
    if (this.ended) return;
    try {
      this.parser.push(chunk, this.handlers.message);
    } catch (e) {
      this.finish(e);
      s.cancel(CANCEL);
    }
  }

  onClose(_s: H2Stream, code: number, error: Error | undefined): void {
    if (error) return this.finish(new ConnectError(`http/2 connection failed: ${error.message}`, Code.Unavailable, undefined, undefined, error));
    if (code !== NO_ERROR)
      return this.finish(new ConnectError(`http/2 stream closed with error code ${code}`, code === CANCEL ? Code.Canceled : Code.Unavailable));
    // Trailers-only responses carry the status in the headers.
    const status = this.trailers ?? this.responseHeaders;
    const error2 = status ? findTrailerError(toHeaders(status)) : new ConnectError("the stream ended without a status", Code.Internal);
    if (error2) return this.finish(error2);
    if (this.parser.incomplete) return this.finish(new ConnectError("the stream ended inside a message", Code.Internal));
    this.finish(undefined);
  }

  private finish(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.wake();
    this.handlers.end(error);
  }

  private wake(): void {
    const w = this.drainWaiters;
    if (w.length === 0) return;
    this.drainWaiters = [];
    for (const r of w) r();
  }
}
