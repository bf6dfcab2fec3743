/**
 * A unary gRPC answer in one write: response HEADERS, the message's DATA and
 * the OK trailers leave the server in one pass of nghttp2, as grpc-go sends
 * them, instead of two or three.
 *
 * Why node:http2's public API cannot: with `waitForTrailers`, node shuts the
 * stream's writable side only after the message's write callback (one pass for
 * HEADERS + DATA, a second that finds the end of the data and emits
 * 'wantTrailers'), and `sendTrailers()` defers the trailers to `setImmediate`
 * (a third pass, on the next turn of the event loop, after that turn's I/O).
 * The client then wakes two or three times per call and the server writes as
 * often (docs/performance.md, "The wait at 32 callers"; docs/performance-std.md).
 *
 * What this does instead, with two of node:http2's internals:
 * - it clears the stream's "has trailers" flag in node's JS state, so that
 *   `end(message)` shuts the writable side right after the write (as node does
 *   for an answer without trailers), and nghttp2 finds the end of the data in
 *   the same pass as the data;
 * - nghttp2 asks for the trailers from inside that pass ('wantTrailers' is
 *   emitted synchronously from its data callback), and they are submitted
 *   there, on the stream's native handle, instead of after `setImmediate`.
 *   nghttp2 allows trailers to be submitted from its data callback; they go
 *   out in the same send loop.
 *
 * Only the constant OK trailers are sent this way (their native form is made
 * once). The internals are looked up on the first stream and checked on every
 * one; where they are not what this expects (another Node release), the
 * public `sendTrailers()` path is used, as before.
 */
import type { ServerHttp2Stream } from "node:http2";

/** node:http2's "has trailers" bit in a stream's state flags (lib/internal/http2/core.js, Node 20-24). */
const STREAM_FLAGS_HAS_TRAILERS = 0x20;

/**
 * `grpc-status: 0` in the form node's native stream takes headers: one string
 * of name NUL value NUL flags (NGHTTP2_NV_FLAG_NONE) per header, and the count.
 */
const OK_TRAILERS_NATIVE: readonly [string, number] = Object.freeze(["grpc-status\0" + "0\0" + "\0", 1] as [string, number]);

interface NativeStream {
  trailers(list: readonly [string, number]): number;
}
interface Internals {
  handle: symbol;
  state: symbol;
}
type Internal = ServerHttp2Stream & Record<symbol, unknown>;

/** undefined until the first stream is seen, null when this Node's streams are not as expected. */
let internals: Internals | null | undefined;

function find(stream: ServerHttp2Stream): Internals | null {
  const major = Number(process.versions.node.split(".")[0]);
  // The native header format and the flag's value were read for these releases; others take the public path.
  if (!(major >= 20 && major <= 24)) return null;
  const symbols = Object.getOwnPropertySymbols(stream);
  const handle = symbols.find((s) => s.description === "kHandle");
  const state = symbols.find((s) => s.description === "state");
  return handle && state ? { handle, state } : null;
}

/**
 * Call right after `stream.respond(headers, { waitForTrailers: true })` and
 * before `stream.end(message)`, with no 'wantTrailers' listener on the
 * stream: arranges for the OK trailers to leave with the message and returns
 * true, or changes nothing and returns false (then send the trailers as usual).
 */
export function okTrailersWithMessage(stream: ServerHttp2Stream): boolean {
  if (internals === undefined) internals = find(stream);
  if (internals === null) return false;
  const s = stream as Internal;
  const state = s[internals.state] as { flags?: unknown } | undefined;
  const handle = s[internals.handle] as Partial<NativeStream> | undefined;
  if (!state || typeof state.flags !== "number" || !(state.flags & STREAM_FLAGS_HAS_TRAILERS)) return false;
  if (!handle || typeof handle.trailers !== "function") return false;
  state.flags &= ~STREAM_FLAGS_HAS_TRAILERS;
  stream.on("wantTrailers", submitOkTrailers);
  return true;
}

/** The 'wantTrailers' listener: runs inside nghttp2's pass over the stream's data. */
function submitOkTrailers(this: ServerHttp2Stream): void {
  if (this.destroyed || this.closed) return;
  const handle = (this as Internal)[internals!.handle] as NativeStream | undefined;
  if (!handle) return;
  const ret = handle.trailers(OK_TRAILERS_NATIVE);
  // As node's own finishSendTrailers: an nghttp2 error ends the stream.
  if (ret < 0) return void this.destroy(new Error(`nghttp2 refused the trailers (${ret})`));
  quietLateWrite(this);
}

/**
 * Said to the message's write callback, which comes after the stream is gone: the trailers end the
 * stream in this pass (the client half-closed before a unary answer), nghttp2 closes it and node
 * destroys it, and only after the pass does the write of the message report back. node's Writable
 * then makes an ERR_STREAM_DESTROYED, capturing its stack trace, for its (empty)
 * list of end callbacks unless the stream has an error already: one per answer, about a tenth of
 * the server's CPU for a standard unary call (docs/performance-stdp99.md). The stream's writable
 * state gets this one instead; nothing reads it (no end callback, no further write, and 'finish'
 * was never going to come: node destroyed the stream first).
 */
const ANSWERED = new Error("the gRPC answer and its trailers were sent; the stream is closed");

function quietLateWrite(stream: ServerHttp2Stream): void {
  // Only when the client has half-closed: then the trailers close the stream in this pass. A stream
  // still open on the client's side stays as node leaves it (its 'finish' still to come).
  if (!(stream as { _readableState?: { ended?: boolean } })._readableState?.ended) return;
  const w = (stream as { _writableState?: { errored?: unknown } })._writableState;
  if (w && w.errored == null) w.errored = ANSWERED;
}
