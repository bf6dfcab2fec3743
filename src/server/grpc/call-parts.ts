/**
 * What every hand-framed gRPC call (./raw.ts) shares, made once instead of per
 * call: its usual headers and trailers, the listener that sends the trailers,
 * the error for a request message over the limit. At tens of thousands of
 * calls a second, each per-call object or closure is garbage to collect.
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { limitError } from "../../model/limits.js";

/** The response headers of a call that adds none; node:http2 copies what respond() gets, so one object serves every call. */
export const GRPC_OK_HEADERS: OutgoingHttpHeaders = Object.freeze({ ":status": 200, "content-type": "application/grpc+proto" });
export const OK_TRAILERS: OutgoingHttpHeaders = Object.freeze({ "grpc-status": "0" });

/** Where the shared 'wantTrailers' listener finds the trailers of the stream's call. */
const TRAILERS_OF = Symbol("trailersOf");
type TrailerStream = ServerHttp2Stream & { [TRAILERS_OF]: { readonly trailers: OutgoingHttpHeaders } };

/** Sends `call.trailers` (read when node:http2 asks for them, so a later failure's status goes) once the response body is out. */
export function sendTrailersOnDemand(stream: ServerHttp2Stream, call: { readonly trailers: OutgoingHttpHeaders }): void {
  (stream as TrailerStream)[TRAILERS_OF] = call;
  stream.on("wantTrailers", sendTrailers);
}

function sendTrailers(this: TrailerStream): void {
  this.sendTrailers(this[TRAILERS_OF].trailers);
}

/** Over the limit is the caller's mistake, not a retryable RESOURCE_EXHAUSTED: INVALID_ARGUMENT naming the limit. */
export function requestTooLarge(len: number, max: number): Error {
  return limitError("maxMessageBytes", max, "request message", len);
}
