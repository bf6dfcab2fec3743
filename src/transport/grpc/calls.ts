/**
 * Small rules shared by the gRPC transport's calls: which requests the
 * standard messages can carry, when a call may go on the fast path, and how a
 * refused stream is retried.
 */
import type { NormalizedJobRequest } from "../../model/job.js";
import { UnimplementedError, ValidationError } from "../../model/errors.js";
import type { CallOptions } from "../transport.js";
import { fromConnectError } from "./errors.js";

/** Call options as connect-es and the hand-framed calls take them. */
export interface GrpcCallOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  headers: Record<string, string>;
}

/** Fields the standard ojs.v1 messages cannot carry: refused rather than silently dropped. */
export function checkStandard(req: Omit<NormalizedJobRequest, "type" | "args">, operation: string): void {
  const field = req.id !== undefined ? "id" : req.schema !== undefined ? "schema" : req.rateLimit !== undefined ? "rateLimit" : undefined;
  if (field)
    throw new UnimplementedError(
      `${field}: the server's gRPC binding has no field for it (only ojs-connect servers take it over gRPC); use the HTTP transport for this call`,
      { operation },
    );
}

/** A keepalive setting: default 5 000 ms; at least 10 ms so that a typo cannot flood the peer with pings. */
export function keepaliveMs(v: number | undefined, name: string): number {
  if (v === undefined) return 5_000;
  if (!Number.isFinite(v) || v < 10) throw new ValidationError(`${name}: must be a number of milliseconds >= 10, got ${v}`);
  return v;
}

/**
 * A fast-path call made without the call() wrapper: errors as call() reports
 * them, and a stream the server refused (a burst on a new connection) goes
 * through call() (`again`), which retries it after a pause.
 */
export function settleFast<T>(p: Promise<T>, operation: string, opts: CallOptions | undefined, again: () => Promise<T>): Promise<T> {
  return p.catch((e: unknown) => fastFailed(e, operation, opts, again));
}

/** settleFast's rejection handler, for a caller that puts it in its own then. */
export function fastFailed<T>(e: unknown, operation: string, opts: CallOptions | undefined, again: () => Promise<T>): Promise<T> {
  if (refusedStream(e) && !opts?.signal?.aborted) return again();
  throw fromConnectError(e, operation, opts?.signal);
}

/** RST_STREAM with REFUSED_STREAM (7), as connect-node and ./raw.ts report it. */
export function refusedStream(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : "";
  return /NGHTTP2_REFUSED_STREAM|stream closed with error code 7$/.test(msg);
}

/**
 * Whether a call brings headers of its own. The fast path's streams carry the
 * connection's headers only (they are shared by every call), so such a call
 * goes as the standard unary RPC, which sends them.
 */
export function hasOwnHeaders(opts: CallOptions | undefined): boolean {
  const h = opts?.headers;
  if (!h) return false;
  for (const _ in h) return true;
  return false;
}
