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
export class NonRetryableError extends Error {
  override name = "NonRetryableError";
  readonly code: string;
  readonly details: JsonObject | undefined;
  constructor(message: string, opts: { code?: string; details?: JsonObject; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = opts.code ?? "non_retryable";
    this.details = opts.details;
  }
}

/** Thrown into ctx.signal when a job runs past its timeout. */
export class JobTimeoutError extends Error {
  override name = "JobTimeoutError";
  readonly code = "timeout";
  constructor(readonly timeoutMs: number) {
    super(`job exceeded its timeout of ${timeoutMs} ms`);
  }
}

/** Thrown into ctx.signal when the worker's grace period ends with the job still running. */
export class ShutdownError extends Error {
  override name = "ShutdownError";
  readonly code = "shutdown";
  constructor() {
    super("the worker shut down before the job finished");
  }
}

/** Thrown into ctx.signal when the job was cancelled on the server. */
export class JobCancelledError extends Error {
  override name = "JobCancelledError";
  readonly code = "cancelled";
  constructor() {
    super("the job was cancelled");
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
