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
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { FrameParser, frameMessage, GRPC_CONTENT_TYPE } from "./raw.js";

/** gRPC's grpc-timeout allows at most 8 digits. */
const MAX_TIMEOUT_MS = 99_999_999;

export interface UnaryOptions {
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
  const headers: Record<string, string> = { ...o.headers, "content-type": GRPC_CONTENT_TYPE, te: "trailers" };
  if (timeoutMs) headers["grpc-timeout"] = `${timeoutMs}m`;
  return new Promise<Uint8Array>((resolve, reject) => {
    let stream: ClientHttp2Stream | undefined;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error: unknown, message?: Uint8Array) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      if (error !== undefined) {
        // The call is over for us: tell the server to stop working on it.
        if (stream && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
        reject(error);
      } else resolve(message!);
    };
    const onAbort = () => finish(new ConnectError("the call was cancelled", Code.Canceled));
    o.signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs) {
      timer = setTimeout(() => finish(new ConnectError(`the deadline of ${timeoutMs} ms passed`, Code.DeadlineExceeded)), timeoutMs);
      timer.unref();
    }
    session.request("POST", path, headers, {}).then(
      (s) => {
        stream = s;
        if (done) {
          if (!s.closed) s.close(constants.NGHTTP2_CANCEL);
          return;
        }
        attach(session, s, o.maxMessageBytes, finish);
        s.end(frameMessage(request));
      },
      (e: unknown) => finish(ConnectError.from(e, Code.Unavailable)),
    );
  });
}

function attach(
  session: Http2SessionManager,
  stream: ClientHttp2Stream,
  maxMessageBytes: number | undefined,
  finish: (error: unknown, message?: Uint8Array) => void,
): void {
  const parser = new FrameParser(maxMessageBytes);
  let responseHeaders: IncomingHttpHeaders | undefined;
  let trailers: IncomingHttpHeaders | undefined;
  let message: Uint8Array | undefined;
  stream.on("response", (h) => {
    responseHeaders = h;
    // The common answer (200, gRPC content, status to follow in trailers) needs no checking beyond a glance.
    if (h[":status"] === 200 && h["grpc-status"] === undefined && typeof h["content-type"] === "string" && h["content-type"].startsWith("application/grpc"))
      return;
    try {
      const { headerError } = validateResponse(Number(h[":status"]), toHeaders(h));
      if (headerError) finish(headerError);
    } catch (e) {
      finish(e);
    }
  });
  stream.on("trailers", (t) => (trailers = t));
  stream.on("data", (chunk: Buffer) => {
    session.notifyResponseByteRead(stream);
    try {
      parser.push(chunk, (m) => {
        if (message !== undefined) throw new ConnectError("protocol error: received extra output message for unary method", Code.Unimplemented);
        message = m;
      });
    } catch (e) {
      finish(e);
    }
  });
  stream.on("error", (e) => finish(ConnectError.from(e, Code.Unavailable)));
  stream.on("close", () => {
    if (stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR) {
      const cancelled = stream.rstCode === constants.NGHTTP2_CANCEL;
      return finish(new ConnectError(`http/2 stream closed with error code ${stream.rstCode}`, cancelled ? Code.Canceled : Code.Unavailable));
    }
    // OK in the trailers is the common end; anything else goes through connect's reading of the status.
    if (trailers?.["grpc-status"] !== "0") {
      try {
        validateTrailer(trailers ? toHeaders(trailers) : new Headers(), responseHeaders ? toHeaders(responseHeaders) : new Headers());
      } catch (e) {
        return finish(e);
      }
    }
    if (parser.incomplete) return finish(new ConnectError("protocol error: the response ended inside a message", Code.Internal));
    if (message === undefined) return finish(new ConnectError("protocol error: missing output message for unary method", Code.Unimplemented));
    finish(undefined, message);
  });
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
