/**
 * gRPC over HTTP/2 at the level of bytes, for the few calls where connect-es's
 * per-call and per-message machinery costs more than the work itself (the job
 * stream, the fast path, batch enqueue). It is plain gRPC on the wire
 * (application/grpc+proto, length-prefixed messages, status in trailers), so
 * either end may still be connect-node or any other gRPC implementation; only
 * the message codec is ours (src/codec/wire). Errors are parsed by connect's
 * own trailer code, so they surface exactly as they do for connect calls.
 */
import { Http2SessionManager } from "@connectrpc/connect-node";
import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";

export const GRPC_CONTENT_TYPE = "application/grpc+proto";

/** How often a stream that keeps receiving tells the session manager so (its keepalive pings wait for silence). */
const ALIVE_NOTICE_MS = 100;

/** Prefixes a message with the 5-byte gRPC frame header (uncompressed). */
export function frameMessage(msg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + msg.length);
  out[0] = 0;
  out.writeUInt32BE(msg.length, 1);
  out.set(msg, 5);
  return out;
}

/**
 * Splits a byte stream into gRPC messages. Chunks may cut a frame anywhere,
 * and one chunk may hold many frames; whole frames are handed out as views,
 * copied only when a frame spans chunks. A frame that spans chunks is joined
 * once, when its last byte arrived: joining on every chunk would copy a large
 * message over and over (a 15 MiB message in 16 KiB chunks: gigabytes).
 */
/** The largest message a FrameParser takes unless told otherwise. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export class FrameParser {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the pending frame needs before it can be parsed (header, or header and message). */
  private need = 0;

  constructor(
    private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
    /** The error for a message over the limit; by default RESOURCE_EXHAUSTED, as connect says it. */
    private readonly tooLarge: (len: number, max: number) => Error = (len, max) =>
      new ConnectError(`message of ${len} bytes is over the limit of ${max}`, Code.ResourceExhausted),
  ) {}

  push(chunk: Buffer, out: (msg: Uint8Array) => void): void {
    let buf = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.need) return;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let off = 0;
    let need = 5;
    while (buf.length - off >= 5) {
      const flags = buf[off]!;
      const len = buf.readUInt32BE(off + 1);
      if (flags & 1) throw new ConnectError("compressed gRPC messages are not supported here", Code.Unimplemented);
      if (len > this.maxMessageBytes) throw this.tooLarge(len, this.maxMessageBytes);
      if (buf.length - off - 5 < len) {
        need = 5 + len;
        break;
      }
      out(buf.subarray(off + 5, off + 5 + len));
      off += 5 + len;
    }
    if (off < buf.length) {
      const rest = buf.subarray(off);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
      this.need = need;
    }
  }

  /** True when the stream ended in the middle of a frame. */
  get incomplete(): boolean {
    return this.pendingBytes > 0;
  }
}

export interface RawHandlers {
  /** One response message (synchronously, as it is parsed). */
  message(bytes: Uint8Array): void;
  /** The call ended: undefined for OK, else the error (a ConnectError for a gRPC status). */
  end(error: unknown): void;
}

export interface RawStream {
  /** Writes one request message now; false when the HTTP/2 stream wants the writer to wait for 'drain'. */
  send(bytes: Uint8Array): boolean;
  /** Half-closes: no more requests. */
  end(): void;
  /** Cancels the call (RST_STREAM CANCEL). */
  cancel(): void;
  /** Resolves on the next 'drain'. */
  drained(): Promise<void>;
}

/**
 * One gRPC call over the session, callback style: requests are written
 * synchronously, responses delivered as they are parsed, with no promise or
 * microtask per message. The pipelined fast path runs on this; rawCall below
 * wraps it for code that prefers `for await`.
 */
export function openRawStream(session: Http2SessionManager, path: string, headers: Record<string, string>, handlers: RawHandlers): Promise<RawStream> {
  return session.request("POST", path, { ...headers, "content-type": GRPC_CONTENT_TYPE, te: "trailers" }, {}).then((stream: ClientHttp2Stream) => {
    const parser = new FrameParser();
    let responseHeaders: IncomingHttpHeaders | undefined;
    let trailers: IncomingHttpHeaders | undefined;
    let ended = false;
    const finish = (error: unknown) => {
      if (ended) return;
      ended = true;
      handlers.end(error);
    };
    stream.on("response", (h) => {
      responseHeaders = h;
      // Trailers-only (a refusal at the door, an unknown method): the call is over even if
      // the server leaves the stream half-open, as a long-lived pipeline never half-closes.
      if (h["grpc-status"] === undefined) return;
      finish(findTrailerError(toHeaders(h)));
      if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
    });
    stream.on("trailers", (t) => (trailers = t));
    let aliveAt = 0;
    stream.on("data", (chunk: Buffer) => {
      // The session pings a connection that has been silent: tell it this one is not, but not on
      // every chunk (each notice re-arms its ping timer). A notice held back costs at most an extra ping.
      const now = Date.now();
      if (now - aliveAt >= ALIVE_NOTICE_MS) {
        aliveAt = now;
        session.notifyResponseByteRead(stream);
      }
      try {
        parser.push(chunk, handlers.message);
      } catch (e) {
        finish(e);
        stream.close(constants.NGHTTP2_CANCEL);
      }
    });
    stream.on("error", (e) => finish(ConnectError.from(e, Code.Unavailable)));
    stream.on("close", () => {
      if (stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR) {
        const cancelled = stream.rstCode === constants.NGHTTP2_CANCEL;
        return finish(new ConnectError(`http/2 stream closed with error code ${stream.rstCode}`, cancelled ? Code.Canceled : Code.Unavailable));
      }
      // Trailers-only responses carry the status in the headers.
      const status = trailers ?? responseHeaders;
      const error = status ? findTrailerError(toHeaders(status)) : new ConnectError("the stream ended without a status", Code.Internal);
      if (error) return finish(error);
      if (parser.incomplete) return finish(new ConnectError("the stream ended inside a message", Code.Internal));
      finish(undefined);
    });
    return {
      send: (bytes) => !ended && stream.write(frameMessage(bytes)),
      end: () => {
        if (!ended && !stream.writableEnded) stream.end();
      },
      cancel: () => {
        if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      },
      drained: () => new Promise<void>((r) => (ended || stream.destroyed ? r() : stream.once("drain", () => r()))),
    };
  });
}

/**
 * One gRPC call over the session: `requests` are written as they come (a
 * single message for unary and server-streaming calls), response messages are
 * yielded as they arrive, and a non-OK status is thrown as a ConnectError at the
 * end, as connect itself would. Aborting `signal` cancels the HTTP/2 stream.
 */
export async function* rawCall(
  /** The transport's wire, or a session manager (node:http2). */
  via: { open(path: string, headers: Record<string, string>, handlers: RawHandlers): Promise<RawStream> } | Http2SessionManager,
  path: string,
  headers: Record<string, string>,
  requests: Uint8Array | AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  if (signal.aborted) throw new ConnectError("the call was cancelled", Code.Canceled);
  const inbox: Uint8Array[] = [];
  let head = 0;
  let wake: (() => void) | undefined;
  let done = false;
  let failure: unknown;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const handlers: RawHandlers = {
    message: (m) => {
      inbox.push(m);
      notify();
    },
    end: (e) => {
      failure ??= e;
      done = true;
      notify();
    },
  };
  const stream = await (via instanceof Http2SessionManager ? openRawStream(via, path, headers, handlers) : via.open(path, headers, handlers));
  const onAbort = () => {
    failure ??= new ConnectError("the call was cancelled", Code.Canceled);
    stream.cancel();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  // Writes run beside the reads: a bidi call streams both ways at once.
  const writer = (async () => {
    try {
      if (requests instanceof Uint8Array) {
        stream.send(requests);
        stream.end();
        return;
      }
      for await (const m of requests) {
        if (done) return;
        if (!stream.send(m)) await stream.drained();
      }
      stream.end();
    } catch (e) {
      failure ??= e;
      stream.cancel();
    }
  })();
  try {
    for (;;) {
      while (head < inbox.length) {
        const m = inbox[head]!;
        inbox[head++] = undefined as unknown as Uint8Array;
        if (head > 64 && head * 2 > inbox.length) {
          inbox.splice(0, head);
          head = 0;
        }
        yield m;
      }
      if (done) break;
      await new Promise<void>((r) => (wake = r));
    }
    if (failure) throw failure;
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (!done) stream.cancel();
    await writer;
  }
}

function toHeaders(h: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(":") || v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.append(k, x);
    else out.set(k, String(v));
  }
  return out;
}
