/**
 * One standard gRPC unary call at the level of bytes: a request stream on the
 * transport's shared HTTP/2 session (many such calls run at once on it, one
 * HTTP/2 stream each), one length-prefixed request message, one response
 * message, the status in trailers (or in the headers of a trailers-only
 * answer). No per-call promise chains, interceptors or message objects: the
 * caller encodes and decodes with the hand-written codec (src/codec/wire).
 *
 * It speaks to any gRPC server. Failures are ConnectErrors built by connect's
 * own gRPC protocol code (HTTP status, content type, grpc-status,
 * grpc-message, grpc-status-details-bin, response headers and trailers as
 * metadata), so fromConnectError maps them exactly as for a connect call.
 */
import type { Http2SessionManager } from "@connectrpc/connect-node";
import { Code, ConnectError } from "@connectrpc/connect";
import { validateResponse, validateTrailer } from "@connectrpc/connect/protocol-grpc";
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders, type IncomingHttpStatusHeader } from "node:http2";
import { DEFAULT_MAX_MESSAGE_BYTES, FrameParser, frameMessage, GRPC_CONTENT_TYPE } from "./raw.js";

/** gRPC's grpc-timeout allows at most 8 digits. */
const MAX_TIMEOUT_MS = 99_999_999;

export interface UnaryOptions {
  /** This call's own headers (a fresh object per call): the gRPC ones are added to it, not to a copy. */
  headers: Record<string, string>;
  /** 0 or less: no deadline. Sent as grpc-timeout and enforced here too. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Largest response message accepted. */
  maxMessageBytes?: number;
}

/**
 * Calls `path` with one request message and resolves with the response
 * message's bytes; rejects with a ConnectError (CANCELED when `signal` aborts,
 * DEADLINE_EXCEEDED when the deadline passes).
 */
export function unaryCall(session: Http2SessionManager, path: string, request: Uint8Array, o: UnaryOptions): Promise<Uint8Array> {
  if (o.signal?.aborted) return Promise.reject(new ConnectError("the call was cancelled", Code.Canceled));
  const timeoutMs = o.timeoutMs > 0 ? Math.min(Math.ceil(o.timeoutMs), MAX_TIMEOUT_MS) : 0;
  const headers = o.headers;
  headers["content-type"] = GRPC_CONTENT_TYPE;
  headers.te = "trailers";
  if (timeoutMs) headers["grpc-timeout"] = `${timeoutMs}m`;
  return new Promise<Uint8Array>((resolve, reject) => {
    const call = new UnaryCall(session, resolve, reject, o.signal, o.maxMessageBytes);
    if (timeoutMs) {
      call.timer = setTimeout(deadlinePassed, timeoutMs, call, timeoutMs);
      call.timer.unref();
    }
    session.request("POST", path, headers, {}).then(
      (s) => call.start(s, request),
      (e: unknown) => call.finish(ConnectError.from(e, Code.Unavailable)),
    );
  });
}

/** Where a stream's listeners (shared by every call, see below) find their call. */
const CALL = Symbol("unaryCall");
type CallStream = ClientHttp2Stream & { [CALL]: UnaryCall };

/**
 * The state of one call. Its stream's listeners and its abort and deadline
 * handlers are module functions that find the call on the stream (or get it as
 * an argument): a call in a loop allocates no closures for them.
 */
class UnaryCall {
  stream: ClientHttp2Stream | undefined;
  timer: NodeJS.Timeout | undefined;
  private done = false;
  private parser: FrameParser | undefined;
  responseHeaders: IncomingHttpHeaders | undefined;
  trailers: IncomingHttpHeaders | undefined;
  message: Uint8Array | undefined;

  constructor(
    readonly session: Http2SessionManager,
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

  start(s: ClientHttp2Stream, request: Uint8Array): void {
    this.stream = s;
    if (this.done) {
      if (!s.closed) s.close(constants.NGHTTP2_CANCEL);
      return;
    }
    (s as CallStream)[CALL] = this;
    s.on("response", onResponse);
    s.on("trailers", onTrailers);
    s.on("data", onData);
    s.on("error", onError);
    s.on("close", onClose);
    s.end(frameMessage(request));
  }

  /** The one response message, or a protocol error for a second one. */
  take(chunk: Buffer): void {
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

  get incomplete(): boolean {
    return this.parser?.incomplete ?? false;
  }

  finish(error: unknown, message?: Uint8Array): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.signal?.removeEventListener("abort", this);
    if (error !== undefined) {
      // The call is over for us: tell the server to stop working on it.
      const stream = this.stream;
      if (stream && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      this.reject(error);
    } else this.resolve(message!);
  }
}

function deadlinePassed(call: UnaryCall, timeoutMs: number): void {
  call.finish(new ConnectError(`the deadline of ${timeoutMs} ms passed`, Code.DeadlineExceeded));
}

function onResponse(this: CallStream, h: IncomingHttpHeaders & IncomingHttpStatusHeader): void {
  const call = this[CALL];
  call.responseHeaders = h;
  // The common answer (200, gRPC content, status to follow in trailers) needs no checking beyond a glance.
  if (h[":status"] === 200 && h["grpc-status"] === undefined && typeof h["content-type"] === "string" && h["content-type"].startsWith("application/grpc"))
    return;
  try {
    const { headerError } = validateResponse(Number(h[":status"]), toHeaders(h));
    if (headerError) call.finish(headerError);
  } catch (e) {
    call.finish(e);
  }
}

function onTrailers(this: CallStream, t: IncomingHttpHeaders): void {
  this[CALL].trailers = t;
}

function onData(this: CallStream, chunk: Buffer): void {
  const call = this[CALL];
  // The session's keepalive counts the response headers as a sign of life already (each notice
  // re-arms its ping timer): only a response that goes on after its first chunk needs telling.
  if (call.message !== undefined || call.incomplete) call.session.notifyResponseByteRead(this);
  try {
    call.take(chunk);
  } catch (e) {
    call.finish(e);
  }
}

function onError(this: CallStream, e: unknown): void {
  this[CALL].finish(ConnectError.from(e, Code.Unavailable));
}

function onClose(this: CallStream): void {
  const call = this[CALL];
  if (this.rstCode !== undefined && this.rstCode !== constants.NGHTTP2_NO_ERROR) {
    const cancelled = this.rstCode === constants.NGHTTP2_CANCEL;
    return call.finish(new ConnectError(`http/2 stream closed with error code ${this.rstCode}`, cancelled ? Code.Canceled : Code.Unavailable));
  }
  // OK in the trailers is the common end; anything else goes through connect's reading of the status.
  const { trailers, responseHeaders, message } = call;
  if (trailers?.["grpc-status"] !== "0") {
    try {
      validateTrailer(trailers ? toHeaders(trailers) : new Headers(), responseHeaders ? toHeaders(responseHeaders) : new Headers());
    } catch (e) {
      return call.finish(e);
    }
  }
  if (call.incomplete) return call.finish(new ConnectError("protocol error: the response ended inside a message", Code.Internal));
  if (message === undefined) return call.finish(new ConnectError("protocol error: missing output message for unary method", Code.Unimplemented));
  call.finish(undefined, message);
}

function toHeaders(h: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const k in h) {
    const v = h[k];
    if (k.charCodeAt(0) === 58 /* ":" */ || v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.append(k, x);
    else out.set(k, String(v));
  }
  return out;
}
