import { OjsError } from "../model/errors.js";
import type { JobError } from "../model/job.js";
import type { JsonObject } from "../model/json.js";
import { isJsonObject } from "../model/json.js";

/**
 * Throw from a handler to fail the job for good: no retry, whatever its policy.
 *
 * ```ts
 * if (!user) throw new NonRetryableError("user deleted", { code: "user.not_found" });
 * ```
 */
export class NonRetryableError extends OjsError {
  override name = "NonRetryableError";
  constructor(message: string, opts: { code?: string; details?: JsonObject; cause?: unknown } = {}) {
    super(message, { code: opts.code ?? "non_retryable", retryable: false, details: opts.details, cause: opts.cause });
  }
}

/** Thrown into ctx.signal when a job runs past its timeout. */
export class JobTimeoutError extends OjsError {
  override name = "JobTimeoutError";
  declare readonly code: "timeout";
  constructor(readonly timeoutMs: number) {
    // retryable: a timed-out attempt is retried as its retry policy says (the nack carries retryable: true).
    super(`job exceeded its timeout of ${timeoutMs} ms`, { code: "timeout", retryable: true });
  }
}

/** Thrown into ctx.signal when the worker's grace period ends with the job still running. */
export class ShutdownError extends OjsError {
  override name = "ShutdownError";
  declare readonly code: "shutdown";
  constructor() {
    super("the worker shut down before the job finished", { code: "shutdown", retryable: true });
  }
}

/** Thrown into ctx.signal when the job was cancelled on the server. */
export class JobCancelledError extends OjsError {
  override name = "JobCancelledError";
  declare readonly code: "cancelled";
  constructor() {
    // retryable as before this was an OjsError: a handler that rethrows it is nacked as retryable (the server has cancelled the job anyway).
    super("the job was cancelled", { code: "cancelled", retryable: true });
  }
}

/** A job arrived whose type has no handler on this worker; it is nacked (retryable, so another worker may run it). */
export class HandlerNotFoundError extends OjsError {
  override name = "HandlerNotFoundError";
  constructor(message: string) {
    super(message, { code: "handler_not_found", retryable: true });
  }
}

/** A handler aborted its own job (ctx.abort()), or the worker was forced to stop; carried by the job's signal. */
export class JobAbortedError extends OjsError {
  override name = "JobAbortedError";
  constructor(message: string) {
    super(message, { code: "aborted", retryable: true });
  }
}

/** A middleware misused the chain, e.g. called next() twice. */
export class MiddlewareError extends OjsError {
  override name = "MiddlewareError";
  constructor(message: string) {
    super(message, { code: "middleware_error", retryable: true });
  }
}

/**
 * Whatever a handler threw, as the structured error sent with the nack: the
 * error's string `code` (or its class name) as the type matched against
 * non_retryable_errors, its message, its stack, and `retryable: false` for
 * NonRetryableError or any error with `retryable === false`.
 */
export function toJobError(e: unknown): JobError {
  if (e instanceof Error) {
    const rec = e as Error & { code?: unknown; retryable?: unknown; details?: unknown };
    const out: JobError = {
      code: typeof rec.code === "string" && rec.code ? rec.code : e.name || "Error",
      message: e.message || String(e),
      retryable: !(e instanceof NonRetryableError || rec.retryable === false),
    };
    if (e.stack) out.backtrace = e.stack;
    if (isJsonObject(rec.details)) out.details = rec.details;
    return out;
  }
  return { code: "handler_error", message: typeof e === "string" ? e : safeString(e), retryable: true };
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
