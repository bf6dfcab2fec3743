/**
 * unaryCall (./unary.ts) on the transport's own HTTP/2 client (src/transport/h2):
 * the same call, the same errors, with the call object itself as the
 * stream's handler, so a call allocates its state, its stream and the header
 * lists it receives, and nothing per event.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { validateResponse, validateTrailer } from "@connectrpc/connect/protocol-grpc";
import type { H2Client } from "../h2/client.js";
import { CANCEL } from "../h2/frames.js";
import type { H2Stream, StreamHandler } from "../h2/stream.js";
import { DEFAULT_MAX_MESSAGE_BYTES, FrameParser, frameMessage, GRPC_CONTENT_TYPE } from "./raw.js";
import type { UnaryOptions } from "./unary.js";

/** gRPC's grpc-timeout allows at most 8 digits. */
const MAX_TIMEOUT_MS = 99_999_999;

export function h2UnaryCall(client: H2Client, path: string, request: Uint8Array, o: UnaryOptions): Promise<Uint8Array> {
  if (o.signal?.aborted) return Promise.reject(new ConnectError("the call was cancelled", Code.Canceled));
  const timeoutMs = o.timeoutMs > 0 ? Math.min(Math.ceil(o.timeoutMs), MAX_TIMEOUT_MS) : 0;
  const headers = o.headers;
  headers["content-type"] = GRPC_CONTENT_TYPE;
  headers.te = "trailers";
  if (timeoutMs) headers["grpc-timeout"] = `${timeoutMs}m`;
  return new Promise<Uint8Array>((resolve, reject) => {
    const call = new H2UnaryCall(resolve, reject, o.signal, o.maxMessageBytes);
    if (timeoutMs) {
      call.timer = setTimeout(deadlinePassed, timeoutMs, call, timeoutMs);
      call.timer.unref();
    }
    const s = client.request(path, headers, call);
    call.stream = s;
    s.write(frameMessage(request), true);
  });
}

class H2UnaryCall implements StreamHandler {
  stream: H2Stream | undefined;
  timer: NodeJS.Timeout | undefined;
  private done = false;
  private parser: FrameParser | undefined;
  private responseHeaders: string[] | undefined;
  private trailers: string[] | undefined;
  private message: Uint8Array | undefined;

  constructor(
    private readonly resolve: (m: Uint8Array) => void,
    private readonly reject: (e: unknown) => void,
    private readonly signal: AbortSignal | undefined,
    private readonly maxMessageBytes: number | undefined,
  ) {
    signal?.addEventListener("abort", this, { once: true });
  }

  /** The signal's abort (EventTarget calls an object's handleEvent). */
  handleEvent(): void {
    this.finish(new ConnectError("the call was cancelled", Code.Canceled));
  }

  onHeaders(_s: H2Stream, h: string[]): void {
    if (this.responseHeaders !== undefined) {
      this.trailers = h;
      return;
    }
    this.responseHeaders = h;
    // The common answer (200, gRPC content, status to follow in trailers) needs no checking beyond a glance.
    if (get(h, ":status") === "200" && get(h, "grpc-status") === undefined && get(h, "content-type")?.startsWith("application/grpc")) return;
    try {
      const { headerError } = validateResponse(Number(get(h, ":status")), toHeaders(h));
      if (headerError) this.finish(headerError);
    } catch (e) {
      this.finish(e);
    }
  }

  onData(_s: H2Stream, chunk: Buffer): void {
    if (this.done) return;
    try {
      this.take(chunk);
    } catch (e) {
      this.finish(e);
    }
  }

  onClose(_s: H2Stream, code: number, error: Error | undefined): void {
    if (this.done) return;
    if (error) return this.finish(new ConnectError(`http/2 connection failed: ${error.message}`, Code.Unavailable, undefined, undefined, error));
    if (code !== 0) return this.finish(new ConnectError(`http/2 stream closed with error code ${code}`, code === CANCEL ? Code.Canceled : Code.Unavailable));
    // OK in the trailers is the common end; anything else goes through connect's reading of the status.
    const { trailers, responseHeaders, message } = this;
    if (trailers === undefined || get(trailers, "grpc-status") !== "0") {
      try {
        validateTrailer(trailers ? toHeaders(trailers) : new Headers(), responseHeaders ? toHeaders(responseHeaders) : new Headers());
      } catch (e) {
        return this.finish(e);
      }
    }
    if (this.parser?.incomplete) return this.finish(new ConnectError("protocol error: the response ended inside a message", Code.Internal));
    if (message === undefined) return this.finish(new ConnectError("protocol error: missing output message for unary method", Code.Unimplemented));
    this.finish(undefined, message);
  }

  /** The one response message, or a protocol error for a second one. */
  private take(chunk: Buffer): void {
    // The usual answer: one uncompressed message, whole, in one chunk; no parser needed.
    if (this.parser === undefined && this.message === undefined && chunk.length >= 5 && chunk[0] === 0) {
      const len = chunk.readUInt32BE(1);
      if (len + 5 === chunk.length && len <= (this.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES)) {
        this.message = chunk.subarray(5);
        return;
      }
    }
    this.parser ??= new FrameParser(this.maxMessageBytes);
    this.parser.push(chunk, (m) => {
      if (this.message !== undefined) throw new ConnectError("protocol error: received extra output message for unary method", Code.Unimplemented);
      this.message = m;
    });
  }

  finish(error: unknown, message?: Uint8Array): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.signal?.removeEventListener("abort", this);
    if (error !== undefined) {
      // The call is over for us: tell the server to stop working on it.
      this.stream?.cancel(CANCEL);
      this.reject(error);
    } else this.resolve(message!);
  }
}

function deadlinePassed(call: H2UnaryCall, timeoutMs: number): void {
  call.finish(new ConnectError(`the deadline of ${timeoutMs} ms passed`, Code.DeadlineExceeded));
}

/** The first value of `name` in a received header list. */
export function get(h: string[], name: string): string | undefined {
  for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
  return undefined;
}

/** A received header list as Headers, pseudo-headers left out (for connect's status reading). */
export function toHeaders(h: string[]): Headers {
  const out = new Headers();
  for (let i = 0; i < h.length; i += 2) if (h[i]!.charCodeAt(0) !== 58 /* ":" */) out.append(h[i]!, h[i + 1]!);
  return out;
}
